/**
 * domainXml: every XML we emit passes the real virt-xml-validate, libvirt's own
 * parser accepts it (virsh's test driver) and virsh's client-side renderings
 * (domiflist, domblklist --details) split into MAAS's columns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { domainXml } from '../../src/driver/xml/domain.js';
import { hostIfToken, placeDisks } from '../../src/driver/xml/mapping.js';
import { parseShowVmInfo } from '../../src/vbox/parse.js';
import type { NicAttachment, VmInfo } from '../../src/vbox/types.js';
import { SHARED } from '../helpers/paths.js';
import { xpath, xpathEach } from '../helpers/xml.js';
import { att, cleanupTmp, ctl, expectValid, makeVm, nic, rows, virshOnXml } from './helpers.js';

const SAMPLES = path.join(SHARED, 'vbox-samples');

/** Real showvminfo outputs; fragments without a UUID get one prepended so the backend parser accepts them. */
function realSamples(): Array<{ file: string; vm: VmInfo }> {
  const files = [
    ...fs.readdirSync(SAMPLES).filter((f) => f.startsWith('showvminfo')).map((f) => path.join(SAMPLES, f)),
    ...fs.readdirSync(path.join(SAMPLES, 'fragments')).filter((f) => f.startsWith('showvminfo')).map((f) => path.join(SAMPLES, 'fragments', f)),
  ];
  return files.map((file, i) => {
    let text = fs.readFileSync(file, 'utf8');
    // Fragments lack the head of the output: give them the identity and sizes they miss.
    if (!/^UUID=/m.test(text)) text = `name="fragment${i}"\nUUID="00000000-0000-4000-8000-00000000000${i}"\n` + text;
    if (!/^memory=/m.test(text)) text = `memory=512\n` + text;
    return { file: path.basename(file), vm: parseShowVmInfo(text) };
  });
}

afterAll(() => cleanupTmp());

describe('real showvminfo samples', () => {
  const samples = realSamples();

  test('there are real samples to test (including the complete 7.0 one)', () => {
    expect(samples.length).toBeGreaterThanOrEqual(4);
    expect(samples.some((s) => s.file.includes('7.0.x'))).toBe(true);
  });

  test.each(samples.map((s) => [s.file, s.vm] as const))('%s: valid domain XML, libvirt parses it', async (_f, vm) => {
    const xml = domainXml(vm, { name: 'sample' });
    expect(xml.startsWith('<domain ')).toBe(true); // no XML declaration
    await expectValid(xml, 'domain');
    const r = await virshOnXml([xml], ['dumpxml', 'sample']);
    expect(r.stderr).toBe('');
    expect(r.rc).toBe(0);
  });

  test('vedv 7.0 sample: arch, boot order, disks, NAT NIC as the VM is configured', async () => {
    const vm = samples.find((s) => s.file.includes('vedv'))!.vm;
    const xml = domainXml(vm, { name: 'manjaro-gnome-x64-full-clean' });
    expect(await xpath(xml, 'string(/domain/os/type/@arch)')).toBe('x86_64');
    expect(await xpath(xml, 'string(/domain/os/type/@machine)')).toBe('pc');
    expect(await xpathEach(xml, '/domain/os/boot', 'string(@dev)')).toEqual(['cdrom', 'hd']);
    expect(await xpath(xml, 'string(/domain/memory)')).toBe(String(4096 * 1024));
    expect(await xpath(xml, 'string(/domain/vcpu)')).toBe('4');
    expect(await xpath(xml, 'string(/domain/clock/@offset)')).toBe('utc');
    expect(await xpath(xml, 'string(/domain/description)')).toBe('name1=value1\nname2=value2');
    const blk = rows((await virshOnXml([xml], ['domblklist', 'manjaro-gnome-x64-full-clean', '--details'])).stdout, false);
    // -q drops the header: Type Device Target Source
    expect(blk).toEqual([
      ['file', 'cdrom', 'hdc', '-'],
      ['file', 'disk', 'sda', '/home/user/VirtualBox', 'VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean-disk001.vdi'],
    ]);
    const ifs = rows((await virshOnXml([xml], ['domiflist', 'manjaro-gnome-x64-full-clean'])).stdout, false);
    expect(ifs.map((r) => r.slice(1))).toEqual([['user', '-', 'e1000', '08:00:27:44:d7:f6']]);
  });

  test('6.1 NIC fragment: host-only, bridged and NAT adapters keep their MACs as the last column', async () => {
    const s = samples.find((x) => x.file.includes('NICS-ONLY'))!;
    const enabled = s.vm.nics.filter((n) => n.attachment !== 'none');
    expect(enabled.length).toBeGreaterThanOrEqual(3);
    const xml = domainXml(s.vm, { name: 'nics' });
    const out = (await virshOnXml([xml], ['domiflist', 'nics'])).stdout;
    const r = rows(out, false);
    expect(r.length).toBe(enabled.length);
    for (const [i, row] of r.entries()) {
      expect(row).toHaveLength(5); // Interface Type Source Model MAC: single tokens
      const mac = enabled[i]!.mac.toLowerCase().match(/../g)!.join(':');
      expect(row[4]).toBe(mac);
    }
    expect(r.map((x) => x[1])).toEqual(enabled.map((n) => ({ nat: 'user', hostonly: 'network', bridged: 'bridge' } as Record<string, string>)[n.attachment]));
  });
});

describe('synthetic VMs: every NIC, storage, boot and firmware case', () => {
  const attachments: Array<[NicAttachment, string | undefined]> = [
    ['nat', undefined], ['bridged', 'en0: Wi-Fi (AirPort)'], ['bridged', 'Intel(R) Ethernet Connection I217-V'],
    ['hostonly', 'VirtualBox Host-Only Ethernet Adapter #2'], ['hostonly', 'vboxnet0'], ['intnet', 'intnet'],
    ['natnetwork', 'NatNetwork'], ['hostonlynetwork', 'HostOnly Net'], ['generic', 'UDPTunnel'], ['null', undefined],
    ['cloudnetwork', 'oci'],
  ];
  const models = ['Am79C970A', 'Am79C973', 'Am79C960', '82540EM', '82543GC', '82545EM', 'virtio', 'virtio_1.0'];
  const nicVm = makeVm({
    chipset: 'ich9',
    nics: [
      ...attachments.map(([a, t], i) => nic(i + 1, a, { target: t, model: models[i % models.length]!, cableConnected: i % 3 !== 0 })),
      nic(attachments.length + 1, 'none'),
    ],
  });

  test('all attachments × models: valid, single-token sources and models, lowercase colon MACs', async () => {
    const xml = domainXml(nicVm, { name: 'nics', id: 7 });
    await expectValid(xml, 'domain');
    expect(await xpath(xml, 'string(/domain/@id)')).toBe('7');
    const r = await virshOnXml([xml], ['domiflist', 'nics']);
    expect(r.stderr).toBe('');
    const table = rows(r.stdout, false);
    expect(table).toHaveLength(attachments.length); // the disabled adapter is not a device
    for (const row of table) {
      expect(row).toHaveLength(5);
      expect(row[4]).toMatch(/^08:00:27:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    }
    const sources = table.map((x) => x[2]);
    expect(sources[1]).toBe('en0');
    expect(sources[2]).toBe('Intel_R_Ethernet_Connection_I217-V');
    expect(sources[3]).toBe('VirtualBox_Host-Only_Ethernet_Adapter_2');
    expect(sources[7]).toBe('HostOnly_Net');
    // link state follows "cable connected"
    const links = await xpathEach(xml, '/domain/devices/interface', 'string(link/@state)');
    expect(links).toEqual(attachments.map((_, i) => (i % 3 !== 0 ? '' : 'down')));
  });

  test('each NIC model maps to a distinct libvirt model token', async () => {
    const vm = makeVm({ nics: models.map((m, i) => nic(i + 1, 'nat', { model: m })) , chipset: 'ich9' });
    const xml = domainXml(vm, { name: 'models' });
    await expectValid(xml, 'domain');
    const got = await xpathEach(xml, '/domain/devices/interface', 'string(model/@type)');
    expect(new Set(got).size).toBe(models.length);
    expect(got.slice(3, 4)).toEqual(['e1000']);
    expect(got[6]).toBe('virtio');
    expect(got[0]).toBe('pcnet');
  });

  const controllers = [
    ctl(0, 'IDE', 'PIIX4'), ctl(1, 'SATA', 'IntelAhci', 4), ctl(2, 'SCSI', 'LsiLogic', 16), ctl(3, 'SAS', 'LsiLogicSas', 8),
    ctl(4, 'Floppy', 'I82078', 1), ctl(5, 'NVMe', 'NVMe', 2), ctl(6, 'VirtIO', 'VirtioSCSI', 2), ctl(7, 'USB', 'USB', 8),
    ctl(8, 'BusLogic', 'BusLogic', 16), ctl(9, 'IDE2', 'PIIX3'),
  ];
  const storage = [
    att('IDE', 0, 0, '/d/ide00.vdi'), att('IDE', 0, 1, 'emptydrive', 'dvd'), att('IDE', 1, 0, '/iso/a b.iso', 'dvd'), att('IDE', 1, 1, '/d/ide11.vdi'),
    att('SATA', 0, 0, '/d/sata0.vdi'), att('SATA', 3, 0, "/d/it's & <x>.vdi"), att('SCSI', 2, 0, '/d/scsi2.vmdk'), att('SAS', 1, 0, '/d/sas1.vhd'),
    att('Floppy', 0, 0, '/f/floppy.img', 'floppy'), att('Floppy', 0, 1, 'emptydrive', 'floppy'), att('NVMe', 0, 0, '/d/nvme.vdi'),
    att('VirtIO', 1, 0, '/d/virtio1.vdi'), att('USB', 0, 0, '/d/usb.vdi'), att('BusLogic', 0, 0, '/d/bl.vdi'), att('IDE2', 0, 0, '/d/ide2.vdi'),
  ];
  const storVm = makeVm({ storageControllers: controllers, storage });

  test('every controller type: valid, unique targets, virsh domblklist columns', async () => {
    const xml = domainXml(storVm, { name: 'disks' });
    await expectValid(xml, 'domain');
    const targets = await xpathEach(xml, '/domain/devices/disk', 'string(target/@dev)');
    expect(new Set(targets).size).toBe(storage.length);
    const r = await virshOnXml([xml], ['domblklist', 'disks', '--details']);
    expect(r.stderr).toBe('');
    const table = rows(r.stdout, false);
    expect(table).toHaveLength(storage.length);
    const byTarget = new Map(table.map((row) => [row[2], row]));
    expect(byTarget.get('hda')!.slice(0, 2)).toEqual(['file', 'disk']);
    expect(byTarget.get('hdb')).toEqual(['file', 'cdrom', 'hdb', '-']); // empty drive: no source
    expect(byTarget.get('hdc')!.slice(1, 4)).toEqual(['cdrom', 'hdc', '/iso/a']);
    expect(byTarget.get('hdd')![1]).toBe('disk');
    expect(byTarget.get('hde')![3]).toBe('/d/ide2.vdi'); // second IDE controller: next block of 4
    expect(byTarget.get('sda')![3]).toBe('/d/sata0.vdi');
    expect(byTarget.get('sdd')![3]).toBe("/d/it's");
    expect(byTarget.get('fda')![1]).toBe('floppy');
    expect(byTarget.get('fdb')).toEqual(['file', 'floppy', 'fdb', '-']);
    expect(byTarget.get('vdb')![3]).toBe('/d/virtio1.vdi');
    // MAAS keeps rows whose Device is exactly "disk"; CD/DVD and floppies are never reported as disks
    const disks = table.filter((row) => row[1] === 'disk').map((row) => row[2]);
    expect(disks).toHaveLength(storage.filter((s) => s.kind === 'disk').length);
  });

  test('target names are stable: attaching or removing other media never renames a disk', () => {
    const base = new Map(placeDisks(storVm).map((p) => [`${p.attachment.controller}-${p.attachment.port}-${p.attachment.device}`, p.target]));
    for (let drop = 0; drop < storage.length; drop++) {
      const fewer = makeVm({ storageControllers: controllers, storage: storage.filter((_, i) => i !== drop) });
      for (const p of placeDisks(fewer)) {
        expect(p.target).toBe(base.get(`${p.attachment.controller}-${p.attachment.port}-${p.attachment.device}`));
      }
    }
    const more = makeVm({ storageControllers: controllers, storage: [...storage, att('SATA', 1, 0, '/d/new.vdi')] });
    for (const p of placeDisks(more)) {
      const key = `${p.attachment.controller}-${p.attachment.port}-${p.attachment.device}`;
      if (base.has(key)) expect(p.target).toBe(base.get(key));
    }
  });

  test('boot order follows boot1..4, skipping none/usb/sharedfolder without gaps', async () => {
    const cases: Array<[string[], string[]]> = [
      [['none', 'disk', 'none', 'net'], ['hd', 'network']],
      [['net', 'disk', 'none', 'none'], ['network', 'hd']],
      [['floppy', 'dvd', 'disk', 'net'], ['fd', 'cdrom', 'hd', 'network']],
      [['usb', 'sharedfolder', 'dvd', 'none'], ['cdrom']],
      [['none', 'none', 'none', 'none'], []],
      [['dvd', 'disk', 'disk', 'none'], ['cdrom', 'hd']], // a repeated device is listed once
    ];
    for (const [boot, want] of cases) {
      const xml = domainXml(makeVm({ boot }), { name: 'b' });
      await expectValid(xml, 'domain');
      expect(await xpathEach(xml, '/domain/os/boot', 'string(@dev)')).toEqual(want);
    }
  });

  test('firmware, chipset and architecture variants', async () => {
    const cases: Array<[Partial<VmInfo>, { arch: string; machine: string; fw: string }]> = [
      [{ firmware: 'BIOS', osType: 'Windows 10 (64-bit)' }, { arch: 'x86_64', machine: 'pc', fw: '' }],
      [{ firmware: 'EFI', chipset: 'ich9', osType: 'Ubuntu (64-bit)' }, { arch: 'x86_64', machine: 'q35', fw: 'efi' }],
      [{ firmware: 'EFI64', osType: 'Other_64' }, { arch: 'x86_64', machine: 'pc', fw: 'efi' }],
      [{ firmware: 'EFI32', osType: 'Other/Unknown' }, { arch: 'i686', machine: 'pc', fw: 'efi' }],
      [{ firmware: 'BIOS', osType: 'Windows XP (32-bit)' }, { arch: 'i686', machine: 'pc', fw: '' }],
      [{ firmware: 'EFI', chipset: 'armv8virtual', platformArchitecture: 'ARM', osType: 'Other/Unknown (ARM 64-bit)' }, { arch: 'aarch64', machine: 'virt', fw: 'efi' }],
    ];
    for (const [over, want] of cases) {
      const xml = domainXml(makeVm({ ...over, raw: { ...makeVm().raw, SecureBoot: 'off' } }), { name: 'fw' });
      await expectValid(xml, 'domain');
      expect(await xpath(xml, 'string(/domain/os/type/@arch)')).toBe(want.arch);
      expect(await xpath(xml, 'string(/domain/os/type/@machine)')).toBe(want.machine);
      expect(await xpath(xml, 'string(/domain/os/@firmware)')).toBe(want.fw);
    }
  });

  test('awkward names and descriptions are escaped; aliases keep the real name as <title>', async () => {
    const names = ['My VM', "it's \"quoted\" & <tagged>", 'Ünïcødé 虚拟机', 'tab\tand\u0001control'];
    for (const n of names) {
      const vm = makeVm({ name: n, description: `desc of ${n}\nsecond line\u0007` });
      const xml = domainXml(vm, { name: 'alias-11111111' });
      await expectValid(xml, 'domain');
      expect(await xpath(xml, 'string(/domain/name)')).toBe('alias-11111111');
      expect(await xpath(xml, 'string(/domain/title)')).toBe(n.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, ''));
      expect(await xpath(xml, 'string(/domain/description)')).toBe(`desc of ${n}\nsecond line`.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, ''));
    }
  });

  test('inactive XML never carries an id; running XML does', async () => {
    const vm = makeVm({ state: 'running' });
    expect(await xpath(domainXml(vm, { name: 'a', id: 3 }), 'string(/domain/@id)')).toBe('3');
    expect(await xpath(domainXml(vm, { name: 'a', id: 3, inactive: true }), 'string(/domain/@id)')).toBe('');
    expect(await xpath(domainXml(vm, { name: 'a' }), 'string(/domain/@id)')).toBe('');
  });

  test('pending changes show in the inactive XML only', async () => {
    const vm = makeVm({ state: 'running' });
    const pending = { memoryMB: 4096, boot: ['net', 'disk'], nics: [{ slot: 1, model: 'virtio' }] };
    const live = domainXml(vm, { name: 'a', id: 2, pending });
    expect(await xpath(live, 'string(/domain/memory)')).toBe(String(1024 * 1024));
    const inactive = domainXml(vm, { name: 'a', inactive: true, pending });
    await expectValid(inactive, 'domain');
    expect(await xpath(inactive, 'string(/domain/memory)')).toBe(String(4096 * 1024));
    expect(await xpathEach(inactive, '/domain/os/boot', 'string(@dev)')).toEqual(['network', 'hd']);
    expect(await xpath(inactive, 'string(/domain/devices/interface/model/@type)')).toBe('virtio');
    expect(vm.memoryMB).toBe(1024); // the VmInfo itself is untouched
  });

  test('a VM with no NICs, no storage and no video still validates', async () => {
    const xml = domainXml(makeVm({ nics: [], storage: [], storageControllers: [], raw: {} }), { name: 'bare' });
    await expectValid(xml, 'domain');
    expect(await xpath(xml, 'count(/domain/devices/*)')).toBe('0');
  });

  test('hostIfToken: single tokens, macOS BSD names kept', () => {
    expect(hostIfToken('en0: Wi-Fi (AirPort)')).toBe('en0');
    expect(hostIfToken('en1: Thunderbolt 1')).toBe('en1');
    expect(hostIfToken('eth0')).toBe('eth0');
    expect(hostIfToken('  ')).toBe('none');
    expect(hostIfToken(undefined)).toBe('none');
    for (const s of ['a b', 'Intel(R) PRO/1000', 'x\ty', '名前 ネット']) expect(hostIfToken(s)).not.toMatch(/\s/);
  });
});
