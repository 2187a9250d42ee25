/**
 * Host-side XML and image facts: capabilities / domain capabilities / network
 * XML against the real schemas, and disk image sizes read from headers checked
 * against `qemu-img info` (qemu-utils) on images qemu-img itself created.
 */
import fs from 'node:fs';
import path from 'node:path';
import { capabilitiesXml, domainCapabilitiesXml, DomainCapabilitiesError } from '../../src/driver/xml/capabilities.js';
import { imageInfo } from '../../src/driver/storage/images.js';
import { networkXml, listNetworks } from '../../src/driver/storage/networks.js';
import { parsePoolXml } from '../../src/driver/storage/pools.js';
import { parseVolumeXml } from '../../src/driver/storage/volumes.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import type { HostInfo } from '../../src/vbox/types.js';
import { run } from '../helpers/proc.js';
import { xpath, xpathEach } from '../helpers/xml.js';
import { cleanupTmp, expectValid, tmpDir, validate } from './helpers.js';

afterAll(() => cleanupTmp());

const host: HostInfo = {
  vboxVersion: '7.0.18r162988', hostname: 'vbox-host', arch: 'x86_64', cpuCount: 6, cpuMhz: 2600,
  cpuModel: 'Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz', memoryKiB: 16 * 1024 * 1024,
};

describe('capabilities', () => {
  /**
   * libvirt 9.0's capability.rng lists the guest <domain type> values qemu, kqemu,
   * kvm, xen, uml, lxc, openvz, test — not vbox, although libvirt's own vbox driver
   * emits <domain type='vbox'/>. We validate against a copy of the stock schema
   * with 'vbox' added to that one choice, and check that the stock schema's only
   * complaint is that attribute.
   */
  function patchedSchemaDir(): string {
    const dir = path.join(tmpDir(), 'schemas');
    if (!fs.existsSync(dir)) {
      fs.cpSync('/usr/share/libvirt/schemas', dir, { recursive: true });
      const f = path.join(dir, 'capability.rng');
      const rng = fs.readFileSync(f, 'utf8');
      const patched = rng.replace('<value>test</value>', '<value>test</value>\n          <value>vbox</value>');
      expect(patched).not.toBe(rng);
      fs.writeFileSync(f, patched);
    }
    return dir;
  }

  test.each([
    ['x86_64 host', host, ['x86_64', 'i686']],
    ['arm64 host (macOS Apple silicon)', { ...host, arch: 'arm64', cpuModel: undefined }, ['aarch64']],
  ] as const)('%s: valid, host arch, guests with domain type vbox', async (_n, h, arches) => {
    const xml = capabilitiesXml(h as HostInfo, { hostUuid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE' });
    expect(xml.startsWith('<capabilities>')).toBe(true);
    const stock = await validate(xml, 'capability');
    if (!stock.ok) {
      const errors = stock.output.split('\n').filter((l) => /validity error/.test(l));
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e).toMatch(/element domain: Relax-NG validity error : Element domain failed to validate attributes/);
    }
    const patched = await validate(xml, 'capability', patchedSchemaDir());
    if (!patched.ok) throw new Error(patched.output);
    expect(await xpathEach(xml, '/capabilities/guest/arch', 'string(@name)')).toEqual([...arches]);
    expect(await xpath(xml, 'string(/capabilities/host/cpu/arch)')).toBe(arches[0]);
    expect(await xpath(xml, 'string(/capabilities/host/uuid)')).toBe('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    expect(await xpath(xml, 'count(/capabilities/guest/arch/domain[@type="vbox"])')).toBe(String(arches.length));
    expect(await xpath(xml, 'string(/capabilities/host/topology/cells/cell/memory)')).toBe(String(h.memoryKiB));
  });

  test('domain capabilities: valid for vbox/kvm/qemu, path = emulator, refusals are typed', async () => {
    for (const virttype of [null, 'vbox', 'kvm', 'qemu']) {
      const xml = domainCapabilitiesXml(host, { virttype }, '/opt/VirtualBox/VBoxHeadless');
      await expectValid(xml, 'domaincaps');
      expect(await xpath(xml, 'string(/domainCapabilities/path)')).toBe('/opt/VirtualBox/VBoxHeadless');
      expect(await xpath(xml, 'string(/domainCapabilities/domain)')).toBe(virttype ?? 'vbox');
    }
    const i686 = domainCapabilitiesXml(host, { arch: 'i686', machine: 'q35' });
    await expectValid(i686, 'domaincaps');
    expect(await xpath(i686, 'string(/domainCapabilities/machine)')).toBe('q35');
    for (const bad of [{ virttype: 'xen' }, { arch: 'ppc64le' }, { machine: 'pseries' }, { emulatorbin: '/usr/bin/qemu-system-x86_64' }]) {
      expect(() => domainCapabilitiesXml(host, bad)).toThrow(DomainCapabilitiesError);
    }
    expect(() => domainCapabilitiesXml({ ...host, arch: 'aarch64' }, { arch: 'x86_64' })).toThrow(/architecture 'x86_64'/);
  });
});

describe('network XML', () => {
  test('host-only (with and without DHCP), NAT network and an alias: valid, single-token names', async () => {
    const ops = {
      listHostOnlyIfs: async () => [
        { name: 'vboxnet0', ipAddress: '192.168.56.1', networkMask: '255.255.255.0', mac: '0A0027000000' },
        { name: 'VirtualBox Host-Only Ethernet Adapter #2', ipAddress: '192.168.57.1', networkMask: '255.255.255.0', dhcp: true },
      ],
      listNatNets: async () => [{ name: 'NatNetwork', network: '10.0.2.0/24', dhcp: true }],
      listDhcpServers: async () => [{ networkName: 'HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2', lowerIp: '192.168.57.100', upperIp: '192.168.57.200', enabled: true }],
    };
    const nets = await listNetworks(ops, { maas: 'vboxnet0', default: 'nosuch' });
    expect(nets.map((n) => n.name)).toEqual(['vboxnet0', 'VirtualBox_Host-Only_Ethernet_Adapter_2', 'NatNetwork', 'maas']);
    for (const n of nets) {
      const xml = networkXml(n);
      await expectValid(xml, 'network');
      expect(n.name).not.toMatch(/\s/);
    }
    const ho = networkXml(nets[0]!);
    expect(await xpath(ho, 'string(/network/bridge/@name)')).toBe('vboxnet0');
    expect(await xpath(ho, 'count(//dhcp)')).toBe('0'); // MAAS skips networks with DHCP
    const dhcp = networkXml(nets[1]!);
    expect(await xpath(dhcp, 'string(//dhcp/range/@start)')).toBe('192.168.57.100');
    const nat = networkXml(nets[2]!);
    expect(await xpath(nat, 'string(/network/forward/@mode)')).toBe('nat');
    expect(await xpath(nat, 'string(/network/ip/@netmask)')).toBe('255.255.255.0');
    expect(nets[3]).toMatchObject({ name: 'maas', aliasOf: 'vboxnet0', vboxName: 'vboxnet0' });
  });
});

describe('pool and volume XML in', () => {
  test('pool-define-as XML parses; bad pools are refused with typed errors', () => {
    expect(parsePoolXml("<pool type='dir'><name>maas</name><target><path>/var/lib/libvirt/maas-images</path></target></pool>"))
      .toEqual({ name: 'maas', uuid: undefined, path: '/var/lib/libvirt/maas-images' });
    const cases: Array<[string, number, RegExp]> = [
      ['', 35, /\(storage_pool_definition\):1: Document is empty/],
      ["<pool type='logical'><name>x</name><target><path>/x</path></target></pool>", 67, /storage pool type 'logical'/],
      ["<pool type='dir'><name>a b</name><target><path>/x</path></target></pool>", 27, /pool name 'a b'/],
      ["<pool type='dir'><name>x</name></pool>", 27, /target path/],
      ["<pool type='dir'><name>x</name><target><path>rel/dir</path></target></pool>", 27, /must be absolute/],
    ];
    for (const [xml, code, msg] of cases) {
      let err: LibvirtError | undefined;
      try { parsePoolXml(xml); } catch (e) { err = e as LibvirtError; }
      expect(err).toBeInstanceOf(LibvirtError);
      expect(err!.code).toBe(code);
      expect(err!.message).toMatch(msg);
      expect(err!.domain).toBe(18);
    }
  });

  test('vol-create-as XML (units, formats) and refusals', () => {
    expect(parseVolumeXml("<volume><name>v1</name><capacity>1073741824</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>"))
      .toEqual({ name: 'v1', capacity: 1073741824, allocation: 0, format: 'raw' });
    expect(parseVolumeXml("<volume><name>d.vdi</name><capacity unit='G'>2</capacity><target><format type='vdi'/></target></volume>"))
      .toEqual({ name: 'd.vdi', capacity: 2 * 1024 ** 3, allocation: 2 * 1024 ** 3, format: 'vdi' });
    for (const [xml, msg] of [
      ["<volume><name>v</name><capacity>1</capacity><target><format type='qcow2'/></target></volume>", /volume format 'qcow2'/],
      ["<volume><name>../etc/x</name><capacity>1</capacity></volume>", /plain file name/],
      ['<volume><name>v</name></volume>', /missing capacity/],
      ["<volume><name>v</name><capacity>0</capacity></volume>", /greater than 0/],
    ] as const) {
      expect(() => parseVolumeXml(xml)).toThrow(msg);
    }
  });
});

describe('disk image headers', () => {
  const images: Array<[string, string[], string]> = [
    ['a.vdi', ['-f', 'vdi'], 'vdi'],
    ['a.vmdk', ['-f', 'vmdk'], 'vmdk'],
    ['flat.vmdk', ['-f', 'vmdk', '-o', 'subformat=monolithicFlat'], 'vmdk'],
    ['a.vhd', ['-f', 'vpc'], 'vpc'],
    // (fixed VHDs are left out: qemu sizes them from the file, VirtualBox — and we — from the footer's current size)
    ['a.qcow2', ['-f', 'qcow2'], 'qcow2'],
    ['a.img', ['-f', 'raw'], 'raw'],
  ];
  test.each(images)('%s: capacity and allocation match qemu-img info', async (name, args, format) => {
    const file = path.join(tmpDir(), name);
    const mk = await run('qemu-img', ['create', '-q', ...args, file, '3G']);
    expect(mk.rc).toBe(0);
    const qi = await run('qemu-img', ['info', '--output=json', file]);
    expect(qi.rc).toBe(0);
    const facts = JSON.parse(qi.stdout) as { 'virtual-size': number; 'actual-size': number };
    const info = await imageInfo(file);
    expect(info.format).toBe(format);
    expect(info.capacity).toBe(facts['virtual-size']);
    if (!name.startsWith('flat')) expect(info.allocation).toBe(facts['actual-size']);
    expect(info.physical).toBe(fs.statSync(file).size);
  });

  test('a missing file is an ENOENT error, not a crash', async () => {
    await expect(imageInfo(path.join(tmpDir(), 'nope.vdi'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
