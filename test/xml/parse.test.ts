/**
 * Domain XML in: MAAS's add-chassis define (our dumpxml with the boot order
 * rewritten by a real XML library, as MAAS does), MAAS's compose template,
 * the fixed point dumpxml → parse → changes = {}, also through libvirt's own
 * normalisation, and the errors for bad or unsupported XML.
 */
import { domainXml } from '../../src/driver/xml/domain.js';
import {
  changesForExisting, parseDeviceXml, parseDomainXml, planNewVm, type DefineContext,
} from '../../src/driver/xml/parse.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import type { VmChanges, VmInfo } from '../../src/vbox/types.js';
import { run } from '../helpers/proc.js';
import { SYSTEM_PYTHON } from '../helpers/paths.js';
import { att, cleanupTmp, ctl, makeVm, nic, virshOnXml } from './helpers.js';

afterAll(() => cleanupTmp());

/** MAAS configure_pxe_boot(), with Python's ElementTree instead of lxml (same edits). */
async function maasPxeRewrite(xml: string): Promise<{ arch: string; xml: string; rewritten: boolean }> {
  const script = `
import sys, json, xml.etree.ElementTree as ET
doc = ET.fromstring(sys.stdin.read())
arch = doc.find('os/type').get('arch')
boots = [b.get('dev') for b in doc.findall('os/boot')]
rewritten = False
if boots != ['network', 'hd']:
    os_ = doc.find('os')
    for b in os_.findall('boot'):
        os_.remove(b)
    ET.SubElement(os_, 'boot', dev='network')
    ET.SubElement(os_, 'boot', dev='hd')
    rewritten = True
print(json.dumps({'arch': arch, 'xml': ET.tostring(doc, encoding='unicode'), 'rewritten': rewritten}))
`;
  const r = await run(SYSTEM_PYTHON, ['-c', script], { input: xml });
  if (r.rc !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Apply VmChanges to a VmInfo the way modifyvm would (enough for fixed-point checks). */
function apply(vm: VmInfo, c: VmChanges): VmInfo {
  const out: VmInfo = structuredClone(vm);
  if (c.memoryMB !== undefined) out.memoryMB = c.memoryMB;
  if (c.cpus !== undefined) out.cpus = c.cpus;
  if (c.boot) out.boot = [...c.boot, 'none', 'none', 'none', 'none'].slice(0, 4);
  if (c.description !== undefined) out.description = c.description;
  if (c.firmware !== undefined) out.firmware = c.firmware;
  if (c.name !== undefined) out.name = c.name;
  for (const n of c.nics ?? []) {
    let cur = out.nics.find((x) => x.slot === n.slot);
    if (!cur) { cur = { slot: n.slot, attachment: 'none', mac: '000000000000', model: '82540EM', cableConnected: true }; out.nics.push(cur); }
    if (n.attachment !== undefined) cur.attachment = n.attachment;
    if (n.target !== undefined) cur.target = n.target;
    if (n.mac !== undefined) cur.mac = n.mac;
    if (n.model !== undefined) cur.model = n.model;
    if (n.cableConnected !== undefined) cur.cableConnected = n.cableConnected;
  }
  return out;
}

const networks: Record<string, { attachment: 'hostonly' | 'natnetwork'; target: string }> = {
  vboxnet0: { attachment: 'hostonly', target: 'vboxnet0' },
  maas: { attachment: 'hostonly', target: 'vboxnet1' },
  NatNetwork: { attachment: 'natnetwork', target: 'NatNetwork' },
};
const ctx: DefineContext = {
  currentName: 'vm1',
  resolveNetwork: (n) => networks[n],
  bridgedIfs: ['en0: Wi-Fi (AirPort)', 'eth1'],
  newMac: () => '080027FEDCBA',
};

function richVm(): VmInfo {
  return makeVm({
    state: 'running',
    boot: ['dvd', 'disk', 'none', 'none'],
    description: 'line one\nline two & <three>',
    nics: [
      nic(1, 'nat'), nic(2, 'bridged', { target: 'en0: Wi-Fi (AirPort)', model: 'virtio' }),
      nic(3, 'hostonly', { target: 'vboxnet0', cableConnected: false }), nic(4, 'intnet', { target: 'lab' }),
      nic(5, 'natnetwork', { target: 'NatNetwork', model: 'Am79C973' }), nic(6, 'none'), nic(7, 'none'), nic(8, 'none'),
    ],
    storageControllers: [ctl(0, 'IDE', 'PIIX4'), ctl(1, 'SATA', 'IntelAhci', 2)],
    storage: [att('IDE', 1, 0, 'emptydrive', 'dvd'), att('SATA', 0, 0, '/vms/vm1/vm1.vdi'), att('SATA', 1, 0, '/vms/vm1/data.vdi')],
  });
}

describe('fixed point: dumpxml → parse → changes', () => {
  test('our own XML (live, with id) gives no changes', () => {
    const vm = richVm();
    const def = parseDomainXml(domainXml(vm, { name: 'vm1', id: 4 }));
    expect(changesForExisting(vm, def, ctx)).toEqual({});
  });

  test('after libvirt normalises our XML (test driver dumpxml) there are still no changes', async () => {
    const vm = richVm();
    const r = await virshOnXml([domainXml(vm, { name: 'vm1' })], ['dumpxml', 'vm1']);
    expect(r.rc).toBe(0);
    const normalised = r.stdout.replace(/^<domain type='test'( id='\d+')?>/, "<domain type='vbox'>")
      // the test driver invents per-NIC target devs and PCI addresses; harmless to us
      ;
    const def = parseDomainXml(normalised);
    expect(changesForExisting(vm, def, ctx)).toEqual({});
  });

  test('an aliased VM (name differs from VirtualBox name) is not renamed by its own XML', () => {
    const vm = makeVm({ name: 'My VM' });
    const def = parseDomainXml(domainXml(vm, { name: 'My-VM-11111111' }));
    expect(changesForExisting(vm, def, { ...ctx, currentName: 'My-VM-11111111' })).toEqual({});
  });

  test('boot gaps and repeats: {none,disk,none,net} and {dvd,disk,disk,none} round-trip without changes', () => {
    for (const boot of [['none', 'disk', 'none', 'net'], ['dvd', 'disk', 'disk', 'none']]) {
      const vm = makeVm({ boot });
      expect(changesForExisting(vm, parseDomainXml(domainXml(vm, { name: 'vm1' })), ctx)).toEqual({});
    }
  });
});

describe('MAAS add-chassis: boot order rewrite and define', () => {
  test('dumpxml → MAAS rewrite → define gives exactly --boot1 net --boot2 disk; applying it reaches the fixed point', async () => {
    const vm = richVm();
    const xml = domainXml(vm, { name: 'vm1', id: 2 });
    const m = await maasPxeRewrite(xml);
    expect(m.arch).toBe('x86_64');
    expect(m.rewritten).toBe(true);
    const changes = changesForExisting(vm, parseDomainXml(m.xml), ctx);
    expect(changes).toEqual({ boot: ['net', 'disk', 'none', 'none'] });
    const after = apply(vm, changes);
    const again = await maasPxeRewrite(domainXml(after, { name: 'vm1', id: 2 }));
    expect(again.rewritten).toBe(false); // MAAS sees network,hd and leaves it alone
    expect(changesForExisting(after, parseDomainXml(again.xml), ctx)).toEqual({});
  });
});

describe('MAAS compose: template define, attach-interface, attach-disk', () => {
  const template = `<domain type="kvm">
  <name>c1</name>
  <uuid>0e4b6c1c-a9b8-4b2a-b2b5-6b1c3f3d6f11</uuid>
  <memory unit="MiB">2048</memory>
  <vcpu>2</vcpu>
  <cpu mode="host-passthrough"/>
  <os>
    <type arch="x86_64">hvm</type>
  </os>
  <features><acpi/><apic/></features>
  <clock offset="utc"/>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>restart</on_crash>
  <pm><suspend-to-mem enabled="no"/><suspend-to-disk enabled="no"/></pm>
  <devices>
    <emulator>/usr/bin/VBoxHeadless</emulator>
    <controller type="pci" index="0" model="pci-root"/>
    <controller type="virtio-serial" index="0">
      <address type="pci" domain="0x0000" bus="0x00" slot="0x05" function="0x0"/>
    </controller>
    <serial type="pty"><log file="/var/log/libvirt/qemu/c1-serial0.log" append="off" /><target port="0"/></serial>
    <console type="pty"><target type="serial" port="0"/></console>
    <channel type="spicevmc">
      <target type="virtio" name="com.redhat.spice.0"/>
      <address type="virtio-serial" controller="0" bus="0" port="1"/>
    </channel>
    <graphics type="spice" autoport="yes"><image compression="off"/></graphics>
  </devices>
</domain>`;

  test('the compose template becomes a createvm spec (memory MiB, vcpus, uuid, Linux_64) and ignores emulator plumbing', () => {
    const def = parseDomainXml(template);
    expect(def.virtType).toBe('kvm');
    const plan = planNewVm(def, ctx);
    expect(plan.spec).toEqual({
      name: 'c1', uuid: '0e4b6c1c-a9b8-4b2a-b2b5-6b1c3f3d6f11', osType: 'Linux_64',
      changes: { memoryMB: 2048, cpus: 2, boot: ['disk', 'none', 'none', 'none'], firmware: 'BIOS', nics: [{ slot: 1, attachment: 'none' }] },
    });
    expect(plan.controllers).toEqual([]);
    expect(def.ignored).toEqual(expect.arrayContaining(['cpu', 'pm', 'devices/emulator', 'devices/graphics', 'devices/channel']));
  });

  test('attach-interface XML (network maas, 52:54:00 MAC, virtio) parses to a host-only adapter', () => {
    const d = parseDeviceXml(`<interface type='network'>
  <mac address='52:54:00:01:02:03'/>
  <source network='maas'/>
  <model type='virtio'/>
</interface>`);
    expect(d.kind).toBe('interface');
    if (d.kind !== 'interface') return;
    expect(d.iface).toEqual({ type: 'network', mac: '525400010203', source: 'maas', model: 'virtio', linkDown: false, bootOrder: undefined });
    // on a VM with only disabled adapters it lands in slot 1
    const vm = makeVm({ nics: [nic(1, 'none'), nic(2, 'none')] });
    const def = parseDomainXml(domainXml(vm, { name: 'vm1' }));
    def.interfaces.push(d.iface);
    expect(changesForExisting(vm, def, ctx).nics).toEqual([
      { slot: 1, attachment: 'hostonly', target: 'vboxnet1', mac: '525400010203', model: 'virtio', cableConnected: true },
    ]);
  });

  test('attach-disk XML (vda, virtio, serial) parses to a VirtIO controller disk', () => {
    const d = parseDeviceXml(`<disk type='file'>
  <source file='/var/lib/libvirt/maas-images/3f1c.vdi'/>
  <target dev='vda' bus='virtio'/>
  <serial>3f1c</serial>
</disk>`);
    expect(d.kind).toBe('disk');
    if (d.kind !== 'disk') return;
    expect(d.disk).toMatchObject({ device: 'disk', file: '/var/lib/libvirt/maas-images/3f1c.vdi', target: 'vda', bus: 'virtio', serial: '3f1c' });
  });

  test('a new VM from XML with disks, CD and NICs gets controllers and attachments', () => {
    const def = parseDomainXml(`<domain type='vbox'><name>n1</name><memory unit='GiB'>1</memory><vcpu>1</vcpu>
<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os>
<devices>
 <disk type='file' device='disk'><source file='/d/a.vdi'/><target dev='sda' bus='sata'/></disk>
 <disk type='file' device='disk'><source file='/d/b.vdi'/><target dev='sdc'/></disk>
 <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
 <disk type='file' device='disk'><source file='/d/v.vdi'/><target dev='vdb' bus='virtio'/></disk>
 <interface type='bridge'><source bridge='en0'/><model type='e1000'/></interface>
 <interface type='user'><mac address='08:00:27:00:00:01'/></interface>
</devices></domain>`);
    const plan = planNewVm(def, ctx);
    expect(plan.chipset).toBe('ich9');
    expect(plan.spec.changes).toMatchObject({ memoryMB: 1024, boot: ['dvd', 'disk', 'none', 'none'], firmware: 'EFI' });
    expect(plan.controllers.map((c) => [c.name, c.add, c.controller, c.portCount])).toEqual([
      ['SATA', 'sata', 'IntelAhci', 3], ['IDE', 'ide', 'PIIX4', 2], ['VirtIO', 'virtio', 'VirtIO', 2],
    ]);
    expect(plan.attachments).toEqual([
      { controller: 'SATA', port: 0, device: 0, type: 'hdd', medium: '/d/a.vdi' },
      { controller: 'SATA', port: 2, device: 0, type: 'hdd', medium: '/d/b.vdi' },
      { controller: 'IDE', port: 1, device: 0, type: 'dvddrive', medium: 'emptydrive' },
      { controller: 'VirtIO', port: 1, device: 0, type: 'hdd', medium: '/d/v.vdi' },
    ]);
    expect(plan.spec.changes!.nics).toEqual([
      { slot: 1, attachment: 'bridged', target: 'en0: Wi-Fi (AirPort)', mac: '080027FEDCBA', model: '82540EM', cableConnected: true },
      { slot: 2, attachment: 'nat', mac: '080027000001', model: '82540EM', cableConnected: true },
    ]);
  });
});

describe('changes on existing VMs', () => {
  const base = () => parseDomainXml(domainXml(richVm(), { name: 'vm1' }));

  test('memory, vcpus, description, firmware and rename', () => {
    const def = { ...base(), memoryMB: 4096, cpus: 4, description: '', firmware: 'EFI' as const, name: 'vm1-renamed' };
    expect(changesForExisting(richVm(), def, ctx)).toEqual({ memoryMB: 4096, cpus: 4, description: '', firmware: 'EFI', name: 'vm1-renamed' });
  });

  test('NICs: removed interfaces are disabled, new ones take free slots, MAC/model changes are per slot', () => {
    const def = base();
    def.interfaces = [
      { ...def.interfaces[1]!, model: '82545EM' }, // bridged en0, model change
      { ...def.interfaces[0]! }, // NAT unchanged (matched by MAC, order irrelevant)
      { type: 'network', source: 'vboxnet0', linkDown: false }, // new, no MAC
    ];
    const c = changesForExisting(richVm(), def, ctx);
    expect(c.nics).toEqual([
      { slot: 2, model: '82545EM' },
      { slot: 3, cableConnected: true }, // was host-only vboxnet0 with cable down: reused, MAC kept
      { slot: 4, attachment: 'none' },
      { slot: 5, attachment: 'none' },
    ]);
  });

  test('a bridge token resolves to the real VirtualBox adapter name', () => {
    const vm = makeVm({ nics: [nic(1, 'nat')] });
    const def = parseDomainXml(domainXml(vm, { name: 'vm1' }));
    def.interfaces[0] = { ...def.interfaces[0]!, type: 'bridge', source: 'en0' };
    expect(changesForExisting(vm, def, ctx).nics).toEqual([{ slot: 1, attachment: 'bridged', target: 'en0: Wi-Fi (AirPort)' }]);
  });

  const refusals: Array<[string, (x: string) => string, number, RegExp]> = [
    ['disk added', (x) => x.replace('</devices>', "<disk type='file' device='disk'><source file='/x.vdi'/><target dev='sdz' bus='sata'/></disk></devices>"), 67, /adding disk 'sdz'.*attach-disk/],
    ['disk removed', (x) => x.replace(/<disk type='file' device='disk'>\s*<source file='\/vms\/vm1\/data.vdi'\/>[\s\S]*?<\/disk>/, ''), 67, /removing disk 'sdb'/],
    ['disk changed', (x) => x.replace('/vms/vm1/data.vdi', '/other.vdi'), 67, /changing disk 'sdb'/],
    ['arch changed', (x) => x.replace("arch='x86_64'", "arch='aarch64'"), 67, /architecture/],
    ['machine changed', (x) => x.replace("machine='pc'", "machine='q35'"), 67, /machine type 'q35'/],
    ['feature dropped', (x) => x.replace('<acpi/>', ''), 67, /feature <acpi\/>/],
    ['unknown network', (x) => x.replace("network='vboxnet0'", "network='nosuch'"), 43, /Network not found: no network with matching name 'nosuch'/],
    ['unsupported NIC model', (x) => x.replace("<model type='e1000'/>", "<model type='rtl8139'/>"), 67, /interface model 'rtl8139'/],
    ['hostdev', (x) => x.replace('</devices>', "<hostdev mode='subsystem' type='usb'/></devices>"), 67, /<hostdev> devices/],
    ['balloon', (x) => x.replace(/<currentMemory unit='KiB'>\d+<\/currentMemory>/, "<currentMemory unit='KiB'>1024</currentMemory>"), 67, /currentMemory/],
    ['vcpu hotplug', (x) => x.replace("<vcpu placement='static'>1</vcpu>", "<vcpu current='1'>2</vcpu>"), 67, /vcpu current/],
    ['xen', (x) => x.replace("type='vbox'", "type='xen'"), 67, /domain type 'xen'/],
    ['direct kernel boot', (x) => x.replace('<boot', '<kernel>/vmlinuz</kernel><boot'), 67, /direct kernel boot/],
    ['bad MAC', (x) => x.replace("address='08:00:27:a0:00:01'", "address='08:00:27:zz:00:01'"), 27, /unable to parse mac address/],
    ['multicast MAC', (x) => x.replace("address='08:00:27:a0:00:01'", "address='09:00:27:a0:00:01'"), 27, /multicast/],
    ['bad memory', (x) => x.replace(/<memory unit='KiB'>\d+/, "<memory unit='KiB'>lots"), 27, /invalid value 'lots' for memory/],
    ['bad unit', (x) => x.replace(/<memory unit='KiB'>/, "<memory unit='parsecs'>"), 27, /unknown suffix 'parsecs'/],
    ['boot device', (x) => x.replace("<boot dev='cdrom'/>", "<boot dev='usb'/>"), 27, /unknown boot device 'usb'/],
    ['five boots', (x) => x.replace("<boot dev='cdrom'/>", "<boot dev='cdrom'/>".repeat(5)), 67, /6 boot devices/],
    ['block disk', (x) => x.replace("<disk type='file' device='disk'>", "<disk type='block' device='disk'>"), 67, /disk type 'block'/],
    ['os/boot mixed with per-device boot', (x) => x.replace("<target dev='sda' bus='sata'/>", "<target dev='sda' bus='sata'/><boot order='1'/>"), 27, /per-device boot/],
  ];
  test.each(refusals)('refused: %s', (_n, edit, code, msg) => {
    const xml = edit(domainXml(richVm(), { name: 'vm1' }));
    let err: unknown;
    try { changesForExisting(richVm(), parseDomainXml(xml), ctx); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LibvirtError);
    expect((err as LibvirtError).code).toBe(code);
    expect((err as LibvirtError).message).toMatch(msg);
  });
});

describe('malformed XML gets libvirt\'s XML error shape', () => {
  test('empty document: code 35, domain 20, libxml2 three-line message (as libvirtd sends it)', () => {
    for (const xml of ['', '   \n']) {
      let err: LibvirtError | undefined;
      try { parseDomainXml(xml); } catch (e) { err = e as LibvirtError; }
      expect(err).toBeInstanceOf(LibvirtError);
      expect(err!.code).toBe(35);
      expect(err!.domain).toBe(20);
      expect(err!.message).toBe('(domain_definition):1: Document is empty\n(null)\n^');
    }
  });

  test.each([
    ['truncated', "<domain type='vbox'><name>x</name>"],
    ['mismatched tags', "<domain type='vbox'><name>x</nom></domain>"],
    ['two roots', "<domain type='vbox'/><domain type='vbox'/>"],
    ['undefined entity', "<domain type='vbox'><name>&xxe;</name></domain>"],
    ['external entity', "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain type='vbox'><name>&x;</name></domain>"],
    ['not XML', 'hello world'],
  ])('%s → code 35 with a line number', (_n, xml) => {
    let err: LibvirtError | undefined;
    try { parseDomainXml(xml); } catch (e) { err = e as LibvirtError; }
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err!.code).toBe(35);
    expect(err!.message).toMatch(/^\(domain_definition\):\d+: .+\n\(null\)\n\^$/);
    expect(err!.message).not.toContain('root:'); // never the contents of a local file
  });

  test('pathological documents (huge element counts, deep nesting) are refused fast with code 27', () => {
    const head = "<domain type='vbox'><name>a</name><memory>1024</memory><os><type>hvm</type></os><metadata>";
    const cases: Array<[string, RegExp]> = [
      [head + '<x>'.repeat(200_000) + '</x>'.repeat(200_000) + '</metadata></domain>', /deeper than 128 levels/],
      [head + '<x/>'.repeat(500_000) + '</metadata></domain>', /more than 20000 elements/],
    ];
    for (const [xml, msg] of cases) {
      let err: LibvirtError | undefined;
      try { parseDomainXml(xml); } catch (e) { err = e as LibvirtError; }
      expect(err?.code).toBe(27);
      expect(err!.message).toMatch(msg);
    }
    // a realistic large definition still parses: 36 NICs and 100 disks
    const many = head.replace('<metadata>', '<devices>')
      + Array.from({ length: 36 }, (_, i) => `<interface type='user'><mac address='08:00:27:00:00:${i.toString(16).padStart(2, '0')}'/></interface>`).join('')
      + Array.from({ length: 100 }, (_, i) => `<disk type='file' device='disk'><source file='/d/${i}.vdi'/><target dev='sd${String.fromCharCode(97 + (i % 26))}${i >= 26 ? String.fromCharCode(97 + Math.floor(i / 26)) : ''}'/></disk>`).join('')
      + '</devices></domain>';
    const def = parseDomainXml(many);
    expect(def.interfaces).toHaveLength(36);
    expect(def.disks).toHaveLength(100);
  });

  test('wrong root and missing pieces → code 27 XML error', () => {
    for (const [xml, msg] of [
      ['<pool/>', /expected root element <domain>/],
      ["<domain type='vbox'><memory>1</memory><os><type>hvm</type></os></domain>", /missing domain name/],
      ["<domain><name>a</name></domain>", /missing domain type/],
      ["<domain type='vbox'><name>a</name><os><type>hvm</type></os></domain>", /missing memory/],
      ["<domain type='vbox'><name>a</name><uuid>nope</uuid><memory>1024</memory><os><type>hvm</type></os></domain>", /malformed uuid/],
    ] as const) {
      let err: LibvirtError | undefined;
      try { parseDomainXml(xml); } catch (e) { err = e as LibvirtError; }
      expect(err?.code).toBe(27);
      expect(err!.message).toMatch(msg);
    }
  });
});
