/**
 * Storage and network methods of VBoxManageHost against the in-process
 * simulator, and their parsers on the simulator's output plus the other
 * layouts VirtualBox prints (6.1 `list natnets`, `list dhcpservers`). No real
 * VBoxManage sample of these listings exists in ../shared/vbox-samples.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  parseDhcpServers, parseHostIfs, parseHostInfo, parseMediumInfo, parseMediumList, parseNatNets, parseSystemProperties,
} from '../../src/vbox/parse.js';
import { VBoxError } from '../../src/vbox/types.js';
import { simCreate, simOk, simSettings } from './helpers.js';
import { useHostFixtures, who } from './hostsuite.js';

const fx = useHostFixtures();

describe('storage and networks through the host (in-process simulator)', () => {
  test('create a medium, attach it, see it in the VM and in the media list, refuse to close it while attached, detach, delete', async () => {
    const h = fx.home();
    const vm = await simCreate(h, 'storage vm');
    const host = fx.makeHost('in-process', h, { cacheTtlMs: 0 });
    const file = path.join(h, `disk "one" it's $(x).vdi`);

    const uuid = await host.createMedium({ path: file, sizeMB: 64, format: 'vdi' }, who);
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(existsSync(file)).toBe(true);
    const info = await host.showMediumInfo(file);
    expect(info).toMatchObject({ uuid, path: file, format: 'VDI', capacityBytes: 64 * 1024 * 1024, state: 'created', inUseBy: [] });
    expect(info.parentUuid).toBeUndefined();
    expect(await host.showMediumInfo(uuid)).toMatchObject({ uuid, path: file });

    await host.storageCtl(vm, { name: 'SATA Controller', add: 'sata', controller: 'IntelAhci', portCount: 2, bootable: true }, who);
    await host.storageAttach(vm, { controller: 'SATA Controller', port: 1, device: 0, type: 'hdd', medium: file, nonRotational: true }, who);
    const details = await host.getVm(vm);
    expect(details.storageControllers).toEqual([expect.objectContaining({ name: 'SATA Controller', type: 'IntelAhci', portCount: 2, bootable: true })]);
    expect(details.storage).toEqual([{ controller: 'SATA Controller', port: 1, device: 0, medium: file, imageUuid: uuid, kind: 'disk' }]);

    const listed = (await host.listHdds()).find((m) => m.uuid === uuid)!;
    expect(listed).toMatchObject({ path: file, format: 'VDI', capacityBytes: 64 * 1024 * 1024 });
    expect(await host.showMediumInfo(file)).toMatchObject({ inUseBy: [vm], inUseByNames: ['storage vm'] });

    await expect(host.closeMedium(uuid, who)).rejects.toMatchObject({ kind: 'invalid-state', vboxCode: 'VBOX_E_OBJECT_IN_USE' });

    await host.storageAttach(vm, { controller: 'SATA Controller', port: 1, device: 0, medium: 'none' }, who);
    expect((await host.getVm(vm)).storage).toEqual([]);
    await host.closeMedium(uuid, who, { delete: true });
    expect(existsSync(file)).toBe(false);
    await expect(host.showMediumInfo(file)).rejects.toMatchObject({ kind: 'not-found' });
    expect((await host.listHdds()).some((m) => m.uuid === uuid)).toBe(false);

    // DVD drive with no medium
    await host.storageCtl(vm, { name: 'IDE', add: 'ide' }, who);
    await host.storageAttach(vm, { controller: 'IDE', port: 1, device: 0, type: 'dvddrive', medium: 'emptydrive' }, who);
    expect((await host.getVm(vm)).storage).toEqual([expect.objectContaining({ controller: 'IDE', port: 1, device: 0, medium: 'emptydrive', kind: 'dvd' })]);
    await host.storageCtl(vm, { name: 'IDE', remove: true }, who);
    expect((await host.getVm(vm)).storageControllers.map((c) => c.name)).toEqual(['SATA Controller']);
  });

  test('bad input is rejected before anything runs; VirtualBox refusals are typed', async () => {
    const h = fx.home();
    const vm = await simCreate(h, 'v');
    const host = fx.makeHost('in-process', h);
    const runs = host.stats().runs;
    await expect(host.createMedium({ path: '', sizeMB: 1 }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.createMedium({ path: '/x.vdi', sizeMB: 0 }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.createMedium({ path: '/x.vdi', sizeMB: 1, format: 'EXE' }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.storageCtl(vm, { name: 'X', add: 'warp' }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.storageAttach(vm, { controller: 'X', port: -1, device: 0, medium: 'none' }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.storageAttach(vm, { controller: 'X', port: 0, device: 0, type: 'tape', medium: 'none' }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.closeMedium('/x', who, { kind: 'tape' as 'disk' })).rejects.toMatchObject({ kind: 'invalid-argument' });
    expect(host.stats().runs).toBe(runs);
    await expect(host.storageAttach(vm, { controller: 'Nope', port: 0, device: 0, type: 'hdd', medium: 'none' }, who)).rejects.toBeInstanceOf(VBoxError);
    await expect(host.storageCtl('0a0b0c0d-1111-2222-3333-444455556666', { name: 'S', add: 'sata' }, who)).rejects.toMatchObject({ kind: 'not-found' });
  });

  test('host-only interfaces, bridged interfaces, NAT networks, system properties', async () => {
    const h = fx.home();
    simSettings(h, { machineFolder: path.join(h, 'my VMs') });
    await simOk(h, 'hostonlyif', 'create');
    await simOk(h, 'hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.99.1', '--netmask', '255.255.255.0');
    await simOk(h, 'natnetwork', 'add', '--netname', 'nat net', '--network', '10.9.0.0/24', '--enable', '--dhcp', 'on');
    const host = fx.makeHost('in-process', h);
    expect(await host.listHostOnlyIfs()).toEqual([
      expect.objectContaining({ name: 'vboxnet0', ipAddress: '192.168.99.1', networkMask: '255.255.255.0', dhcp: false, vboxNetworkName: 'HostInterfaceNetworking-vboxnet0' }),
    ]);
    expect(await host.listNatNets()).toEqual([
      { name: 'nat net', network: '10.9.0.0/24', gateway: '10.9.0.1', dhcp: true, ipv6: false, enabled: true },
    ]);
    const bridged = await host.listBridgedIfs();
    expect(bridged.length).toBeGreaterThan(0);
    expect(bridged[0].name).toBeTruthy();
    const props = await host.systemProperties();
    expect(props.defaultMachineFolder).toBe(path.join(h, 'my VMs'));
    expect(props['Maximum guest CPU count']).toBe('64');
    expect(props.defaultHardDiskFormat).toBe('VDI');
    const info = await host.hostInfo();
    expect(info).toMatchObject({ cpuCount: 8, cpuMhz: 2400, memoryKiB: 32768 * 1024 });
    expect(info.cpuModel).toMatch(/Xeon/);
  });
});

describe('listing parsers: other VirtualBox layouts', () => {
  test('6.1 list natnets layout', () => {
    const out = 'NetworkName:    NatNetwork\nIP:             10.0.2.1\nNetwork:        10.0.2.0/24\nIPv6 Enabled:   No\nIPv6 Prefix:    fd17:625c:f037:2::/64\nDHCP Enabled:   Yes\nEnabled:        Yes\nloopback mappings (ipv4)\n        127.0.0.1=2\n\n';
    expect(parseNatNets(out)).toEqual([{ name: 'NatNetwork', network: '10.0.2.0/24', gateway: '10.0.2.1', dhcp: true, ipv6: false, enabled: true }]);
  });

  test('list dhcpservers (7.x layout with indented per-option lines)', () => {
    const out = [
      'NetworkName:    HostInterfaceNetworking-vboxnet0', 'Dhcpd IP:       192.168.56.100', 'LowerIPAddress: 192.168.56.101',
      'UpperIPAddress: 192.168.56.254', 'NetworkMask:    255.255.255.0', 'Enabled:        Yes', 'Global Configuration:',
      '    minLeaseTime:     default', '    1/legacy: 255.255.255.0', '', 'NetworkName:    NatNet', 'Dhcpd IP:       10.0.2.3',
      'NetworkMask:    255.255.255.0', 'Enabled:        No', '',
    ].join('\r\n');
    expect(parseDhcpServers(out)).toEqual([
      { networkName: 'HostInterfaceNetworking-vboxnet0', ip: '192.168.56.100', lowerIp: '192.168.56.101', upperIp: '192.168.56.254', networkMask: '255.255.255.0', enabled: true },
      { networkName: 'NatNet', ip: '10.0.2.3', networkMask: '255.255.255.0', enabled: false },
    ]);
  });

  test('media: differencing child, several users (with snapshot suffix), inaccessible, Windows paths, GBytes', () => {
    const out = [
      'UUID:           11111111-2222-3333-4444-555555555555', 'Parent UUID:    base', 'State:          created', 'Type:           normal (base)',
      'Location:       C:\\Users\\me\\VirtualBox VMs\\a\\a.vdi', 'Storage format: VDI', 'Capacity:       2 GBytes', 'Encryption:     disabled',
      'In use by VMs:  a: first (UUID: aaaaaaaa-2222-3333-4444-555555555555)', '                b (UUID: bbbbbbbb-2222-3333-4444-555555555555) [snap (UUID: cccccccc-2222-3333-4444-555555555555)]',
      '', 'UUID:           99999999-2222-3333-4444-555555555555', 'Parent UUID:    11111111-2222-3333-4444-555555555555', 'State:          inaccessible',
      'Access Error:   Could not open the medium', 'Type:           normal (differencing)', 'Location:       /x/{99999999-2222-3333-4444-555555555555}.vdi',
      'Storage format: VDI', 'Capacity:       2048 MBytes', '',
    ].join('\n');
    const [a, b] = parseMediumList(out);
    expect(a).toMatchObject({
      uuid: '11111111-2222-3333-4444-555555555555', path: 'C:\\Users\\me\\VirtualBox VMs\\a\\a.vdi', capacityBytes: 2 * 1024 ** 3,
      inUseBy: ['aaaaaaaa-2222-3333-4444-555555555555', 'bbbbbbbb-2222-3333-4444-555555555555'], inUseByNames: ['a: first', 'b'],
    });
    expect(a.parentUuid).toBeUndefined();
    expect(b).toMatchObject({ parentUuid: '11111111-2222-3333-4444-555555555555', state: 'inaccessible', accessError: 'Could not open the medium', capacityBytes: 2048 * 1024 ** 2 });
    expect(() => parseMediumInfo('nothing here')).toThrow(VBoxError);
  });

  test('host interfaces on Windows (names with spaces), system properties, hostinfo variants', () => {
    const out = 'Name:            VirtualBox Host-Only Ethernet Adapter #2\r\nGUID:            5f1b2a7c-0000-0000-0000-000000000000\r\nDHCP:            Enabled\r\nIPAddress:       192.168.57.1\r\nNetworkMask:     255.255.255.0\r\nIPV6Address:     fe80::1\r\nIPV6NetworkMaskPrefixLength: 64\r\nHardwareAddress: 0a:00:27:00:00:0f\r\nMediumType:      Ethernet\r\nWireless:        No\r\nStatus:          Up\r\nVBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2\r\n\r\n';
    expect(parseHostIfs(out)).toEqual([{
      name: 'VirtualBox Host-Only Ethernet Adapter #2', guid: '5f1b2a7c-0000-0000-0000-000000000000', dhcp: true, ipAddress: '192.168.57.1',
      networkMask: '255.255.255.0', ipv6Address: 'fe80::1', ipv6PrefixLength: 64, mac: '0a:00:27:00:00:0f', status: 'Up',
      vboxNetworkName: 'HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2',
    }]);
    const props = parseSystemProperties('API version:                     7_0\nDefault machine folder:          C:\\Users\\me\\VirtualBox VMs\nFree disk space warning at:      2147483648 Bytes\nFree disk space warning at:      95 %\n');
    expect(props.defaultMachineFolder).toBe('C:\\Users\\me\\VirtualBox VMs');
    expect(props['Free disk space warning at']).toBe('2147483648 Bytes');
    expect(parseHostInfo('Processor#0 speed: 3000 MHz\nProcessor#0 description: X\nProcessor#1 speed: 1000 MHz\n')).toMatchObject({ cpuMhz: 3000, cpuModel: 'X' });
  });
});
