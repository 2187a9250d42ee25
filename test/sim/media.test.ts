/**
 * Storage and host-network commands (issue 6) through real vboxsim processes:
 * storagectl, createmedium, storageattach, showvminfo's storage keys,
 * closemedium, list hdds/dvds, hostonlyif, natnetwork, host listings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimHome, assertBuilt, parseMr } from './simproc.js';

let h: SimHome;
beforeAll(() => assertBuilt());
beforeEach(() => {
  h = new SimHome({ VBOXSIM_START_MS: '20', VBOXSIM_STOPPING_MS: '20' });
});
afterEach(() => h.cleanup());

const PROGRESS = '0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n';

test('controllers, a disk and a DVD: storage keys in showvminfo as the real 7.0 layout', async () => {
  await h.create('st', '--ostype', 'Ubuntu_64');
  await h.ok(['storagectl', 'st', '--name', 'SATA Controller', '--add', 'sata', '--controller', 'IntelAhci', '--portcount', '2']);
  await h.ok(['storagectl', 'st', '--name', 'IDE Controller', '--add', 'ide']);
  const disk = path.join(h.dir, 'st-disk1.vdi');
  const cr = await h.run(['createmedium', 'disk', '--filename', disk, '--size', '20480', '--format', 'VDI']);
  expect(cr.code).toBe(0);
  expect(cr.stderr).toBe(PROGRESS);
  const diskUuid = /^Medium created\. UUID: ([0-9a-f-]{36})\n$/.exec(cr.stdout)![1]!;
  expect(fs.existsSync(disk)).toBe(true);
  await h.ok(['storageattach', 'st', '--storagectl', 'SATA Controller', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', disk, '--nonrotational', 'on']);
  await h.ok(['storageattach', 'st', '--storagectl', 'IDE Controller', '--port', '1', '--device', '0', '--type', 'dvddrive', '--medium', 'emptydrive']);
  const out = await h.ok(['showvminfo', 'st', '--machinereadable']);
  expect(out).toContain(
    'storagecontrollername0="SATA Controller"\nstoragecontrollertype0="IntelAhci"\nstoragecontrollerinstance0="0"\n' +
      'storagecontrollermaxportcount0="30"\nstoragecontrollerportcount0="2"\nstoragecontrollerbootable0="on"\n' +
      'storagecontrollername1="IDE Controller"\nstoragecontrollertype1="PIIX4"\nstoragecontrollerinstance1="0"\n' +
      'storagecontrollermaxportcount1="2"\nstoragecontrollerportcount1="2"\nstoragecontrollerbootable1="on"\n' +
      `"SATA Controller-0-0"="${disk}"\n"SATA Controller-ImageUUID-0-0"="${diskUuid}"\n` +
      '"SATA Controller-hot-pluggable-0-0"="off"\n"SATA Controller-nonrotational-0-0"="on"\n"SATA Controller-discard-0-0"="off"\n' +
      '"SATA Controller-1-0"="none"\n' +
      '"IDE Controller-0-0"="none"\n"IDE Controller-0-1"="none"\n"IDE Controller-1-0"="emptydrive"\n"IDE Controller-IsEjected-1-0"="off"\n"IDE Controller-1-1"="none"\n',
  );
  // list hdds shows the base disk; showmediuminfo names its user
  const hdds = await h.ok(['list', 'hdds']);
  expect(hdds).toBe(
    `UUID:           ${diskUuid}\nParent UUID:    base\nState:          created\nType:           normal (base)\n` +
      `Location:       ${disk}\nStorage format: VDI\nCapacity:       20480 MBytes\nEncryption:     disabled\n\n`,
  );
  const info = await h.ok(['showmediuminfo', disk]);
  expect(info).toContain(`In use by VMs:  st (UUID: `);
  // still attached → closemedium refuses
  const cl = await h.run(['closemedium', 'disk', diskUuid]);
  expect(cl.code).toBe(1);
  expect(cl.stderr.split('\n')[0]).toBe(`VBoxManage: error: Medium '${disk}' cannot be closed because it is still attached to 1 virtual machines`);
  // detach, then close with --delete
  await h.ok(['storageattach', 'st', '--storagectl', 'SATA Controller', '--port', '0', '--device', '0', '--medium', 'none']);
  expect(parseMr(await h.ok(['showvminfo', 'st', '--machinereadable'])).get('SATA Controller-0-0')).toBe('none');
  const del = await h.run(['closemedium', 'disk', disk, '--delete']);
  expect(del).toMatchObject({ code: 0, stderr: PROGRESS });
  expect(fs.existsSync(disk)).toBe(false);
  expect(await h.ok(['list', 'hdds'])).toBe('');
});

test('storage errors: duplicate controller, unknown controller, missing image, disk used by another VM, running VM', async () => {
  await h.create('a');
  await h.create('b');
  await h.ok(['storagectl', 'a', '--name', 'SATA', '--add', 'sata']);
  await h.ok(['storagectl', 'b', '--name', 'SATA', '--add', 'sata']);
  const dup = await h.run(['storagectl', 'a', '--name', 'SATA', '--add', 'sata']);
  expect(dup.code).toBe(1);
  expect(dup.stderr).toBe(
    "VBoxManage: error: Storage controller named 'SATA' already exists\n" +
      'VBoxManage: error: Details: code VBOX_E_OBJECT_IN_USE (0x80bb000c), component SessionMachine, interface IMachine, callee nsISupports\n' +
      'VBoxManage: error: Context: "AddStorageController(Bstr(pszCtl).raw(), StorageBus_SATA, ctl.asOutParam())" at line 1087 of file VBoxManageStorageController.cpp\n',
  );
  const noCtl = await h.run(['storageattach', 'a', '--storagectl', 'NVMe', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', 'x.vdi']);
  expect(noCtl).toMatchObject({ code: 1, stderr: "VBoxManage: error: Could not find a controller named 'NVMe'\n" });
  const missing = path.join(h.dir, 'nope.vdi');
  const noFile = await h.run(['storageattach', 'a', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', missing]);
  expect(noFile.code).toBe(1);
  expect(noFile.stderr).toBe(
    `VBoxManage: error: Could not find file for the medium '${missing}' (VERR_FILE_NOT_FOUND)\n` +
      'VBoxManage: error: Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MediumWrap, interface IMedium, callee nsISupports\n' +
      'VBoxManage: error: Context: "OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())" at line 197 of file VBoxManageDisk.cpp\n' +
      `VBoxManage: error: Invalid UUID or filename "${missing}"\n`,
  );
  const disk = path.join(h.dir, 'shared.vdi');
  await h.ok(['createhd', '--filename', disk, '--size', '10']);
  await h.ok(['storageattach', 'a', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', disk]);
  const twice = await h.run(['storageattach', 'b', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', disk]);
  expect(twice.code).toBe(1);
  expect(twice.stderr.split('\n')[0]).toBe(`VBoxManage: error: Medium '${disk}' is already attached to another virtual machine`);
  const exists = await h.run(['createmedium', '--filename', disk, '--size', '10']);
  expect(exists.code).toBe(1);
  // running VM: the storage commands collide with the VM's session
  await h.ok(['modifyvm', 'b', '--ostype', 'Ubuntu_64']);
  await h.ok(['startvm', 'b', '--type', 'headless']);
  const run = await h.run(['storagectl', 'b', '--name', 'IDE', '--add', 'ide']);
  expect(run.stderr.split('\n')[0]).toBe("VBoxManage: error: The machine 'b' is already locked for a session (or being unlocked)");
});

test('createmedium: the .vdi suffix is added, relative names resolve against VBOX_USER_HOME, --size is required', async () => {
  const r = await h.run(['createmedium', 'disk', '--filename', 'rel/disk2', '--size', '8']);
  expect(r.code).toBe(0);
  expect(fs.existsSync(path.join(h.home, 'rel', 'disk2.vdi'))).toBe(true);
  const noSize = await h.run(['createmedium', 'disk', '--filename', 'x']);
  expect(noSize.code).toBe(2);
  expect(noSize.stderr).toContain('VBoxManage: error: Parameter --size is required\n');
});

test('host-only interfaces: create, list, ipconfig, remove', async () => {
  const c = await h.run(['hostonlyif', 'create']);
  expect(c).toMatchObject({ code: 0, stdout: "Interface 'vboxnet0' was successfully created\n", stderr: PROGRESS });
  expect((await h.ok(['hostonlyif', 'create']))).toBe("Interface 'vboxnet1' was successfully created\n");
  await h.ok(['hostonlyif', 'ipconfig', 'vboxnet1', '--ip', '10.9.8.1', '--netmask', '255.255.0.0']);
  const list = await h.ok(['list', 'hostonlyifs']);
  const blocks = list.split('\n\n').filter(Boolean);
  expect(blocks).toHaveLength(2);
  expect(blocks[0]).toMatch(/^Name: {12}vboxnet0\nGUID: {12}[0-9a-f-]{36}\nDHCP: {12}Disabled\nIPAddress: {7}192\.168\.56\.1\nNetworkMask: {5}255\.255\.255\.0\n/);
  expect(blocks[0]).toContain('\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0');
  expect(blocks[1]).toContain('IPAddress:       10.9.8.1\nNetworkMask:     255.255.0.0\n');
  await h.ok(['hostonlyif', 'remove', 'vboxnet0']);
  expect((await h.ok(['list', 'hostonlyifs'])).match(/^Name:/gm)).toHaveLength(1);
  const gone = await h.run(['hostonlyif', 'remove', 'vboxnet0']);
  expect(gone.code).toBe(1);
  expect(gone.stderr.split('\n')[0]).toBe("VBoxManage: error: The host network interface named 'vboxnet0' could not be found");
});

test('NAT networks: add, list natnets, duplicate and missing', async () => {
  await h.ok(['natnetwork', 'add', '--netname', 'maasnet', '--network', '10.0.2.0/24', '--enable', '--dhcp', 'off']);
  expect(await h.ok(['list', 'natnets'])).toBe(
    'Name:         maasnet\nNetwork:      10.0.2.0/24\nGateway:      10.0.2.1\nDHCP Server:  No\nIPv6:         No\n' +
      'IPv6 Prefix:  fd17:625c:f037:2::/64\nIPv6 Default: No\n\n',
  );
  const dup = await h.run(['natnetwork', 'add', '--netname', 'maasnet', '--network', '10.0.3.0/24']);
  expect(dup).toMatchObject({ code: 2, stderr: 'VBoxManage: error: NATNetwork server already exists\n' });
  const missing = await h.run(['natnetwork', 'remove', '--netname', 'other']);
  expect(missing).toMatchObject({ code: 2, stderr: 'VBoxManage: error: NATNetwork server does not exist\n' });
  await h.ok(['natnetwork', 'remove', '--netname', 'maasnet']);
  expect(await h.ok(['list', 'natnets'])).toBe('');
});

test('host listings: hostinfo, systemproperties (default machine folder), bridgedifs', async () => {
  h.writeSettings({ host: { cpus: 4, mhz: 3100, memoryMB: 16000 } });
  const hi = await h.ok(['list', 'hostinfo']);
  expect(hi).toMatch(/^Host Information:\n\nHost time: \d{4}-\d\d-\d\dT[\d:.]+\nProcessor online count: 4\nProcessor count: 4\n/);
  expect(hi).toContain('Processor#3 speed: 3100 MHz\n');
  expect(hi).toContain('Memory size: 16000 MByte\n');
  const sp = await h.ok(['list', 'systemproperties']);
  expect(sp).toContain(`Default machine folder:          ${path.join(h.home, 'VirtualBox VMs')}\n`);
  expect(sp).toContain('Maximum guest CPU count:         64\n');
  expect(await h.ok(['list', 'bridgedifs'])).toMatch(/^Name: {12}eth0\n/);
  const bad = await h.run(['list', 'nothing']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('VBoxManage: error: Unknown subcommand "nothing".\n');
});

test('DHCP servers: add for a host-only interface and a named network, list, modify, remove', async () => {
  await h.ok(['hostonlyif', 'create']);
  await h.ok(['dhcpserver', 'add', '--interface', 'vboxnet0', '--server-ip', '192.168.56.100', '--netmask', '255.255.255.0', '--lower-ip', '192.168.56.101', '--upper-ip', '192.168.56.254', '--enable']);
  await h.ok(['dhcpserver', 'add', '--network=maas', '--server-ip=10.0.0.2', '--netmask=255.255.255.0', '--lower-ip=10.0.0.10', '--upper-ip=10.0.0.99', '--disable']);
  const list = await h.ok(['list', 'dhcpservers']);
  const blocks = list.split('\n\n');
  expect(blocks).toHaveLength(2);
  expect(blocks[0]).toMatch(/^NetworkName: {4}HostInterfaceNetworking-vboxnet0\nDhcpd IP: {7}192\.168\.56\.100\nLowerIPAddress: 192\.168\.56\.101\nUpperIPAddress: 192\.168\.56\.254\nNetworkMask: {4}255\.255\.255\.0\nEnabled: {8}Yes\nGlobal Configuration:\n/);
  expect(blocks[1]).toContain('NetworkName:    maas\n');
  expect(blocks[1]).toContain('Enabled:        No\n');
  const dup = await h.run(['dhcpserver', 'add', '--network', 'maas', '--server-ip', '1.2.3.4', '--netmask', '255.0.0.0', '--lower-ip', '1.2.3.5', '--upper-ip', '1.2.3.6']);
  expect(dup).toMatchObject({ code: 2, stderr: 'VBoxManage: error: DHCP server already exists\n' });
  await h.ok(['dhcpserver', 'modify', '--network', 'maas', '--enable']);
  expect(await h.ok(['list', 'dhcpservers'])).toContain('NetworkName:    maas\nDhcpd IP:       10.0.0.2\nLowerIPAddress: 10.0.0.10\nUpperIPAddress: 10.0.0.99\nNetworkMask:    255.255.255.0\nEnabled:        Yes\n');
  await h.ok(['dhcpserver', 'remove', '--network', 'maas']);
  const gone = await h.run(['dhcpserver', 'remove', '--network', 'maas']);
  expect(gone).toMatchObject({ code: 2, stderr: "VBoxManage: error: Failed to find DHCP server for network 'maas'\n" });
  const noIf = await h.run(['dhcpserver', 'add', '--interface', 'vboxnet7', '--server-ip', '1.2.3.4', '--netmask', '255.0.0.0', '--lower-ip', '1.2.3.5', '--upper-ip', '1.2.3.6']);
  expect(noIf).toMatchObject({ code: 2, stderr: "VBoxManage: error: Failed to locate host-only interface 'vboxnet7'\n" });
});
