/**
 * End to end with the real virsh 9.0 client: a Daemon (in process) with the
 * storage handlers registered through `extraHandlers`, over the simulator,
 * listening on 127.0.0.1:0. Covers what MAAS's pod driver runs: pool-list
 * --type, pool-dumpxml, pool-define-as/build/start/autostart, vol-create-as
 * raw, vol-path, vol-delete, domcapabilities, define (add-chassis boot-order
 * rewrite and compose template), attach-interface --config, undefine flags,
 * and the XML error for an empty definition.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Daemon } from '../../src/daemon.js';
import { createSimHost as createVBoxSimHost } from '../../src/vbox/index.js';
import type { VBoxManageHost } from '../../src/vbox/index.js';
import { storageHandlers } from '../../src/driver/storage/index.js';
import { createSimHost, type SimHost } from '../helpers/simhost.js';
import { virsh, virshOk } from '../helpers/virsh.js';
import { xpath, xpathEach } from '../helpers/xml.js';
import { run } from '../helpers/proc.js';
import { SYSTEM_PYTHON } from '../helpers/paths.js';
import { cleanupTmp, serveOnTcp, expectValid, rows } from './helpers.js';

let sim: SimHost;
let host: VBoxManageHost;
let daemon: Daemon;
let served: { uri: string; stop(): Promise<void> } | undefined;
let uri: string;
let work: string;
let defaultPool: string;
/** How clients see the default pool: its folder has a space, so the one-word alias <state>/pools/default (docs/xml.md). */
let shownPool: string;
let table: import('../../src/rpc/dispatch.js').HandlerTable;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'vboxvirt-storage-'));
  defaultPool = path.join(work, 'VirtualBox VMs');
  fs.mkdirSync(defaultPool);
  shownPool = path.join(work, 'state', 'pools', 'default');
  sim = await createSimHost();
  await sim.createVm('vm1', { memoryMb: 1024, cpus: 1, macs: ['080027AABB01'], boot: ['dvd', 'disk'] });
  host = createVBoxSimHost({ home: sim.home, cacheTtlMs: 0 });
  // Until VBoxManageHost grows storageCtl/storageAttach (backend work in progress), give this host
  // those two methods by running the simulator's own `storagectl`/`storageattach` (real vboxsim spawns).
  const h = host as unknown as Record<string, unknown>;
  if (typeof h.storageCtl !== 'function') {
    h.storageCtl = async (uuid: string, c: { name: string; add?: string; controller?: string; portCount?: number; bootable?: boolean }) => {
      const argv = ['storagectl', uuid, '--name', c.name];
      if (c.add) argv.push('--add', c.add);
      if (c.controller) argv.push('--controller', c.controller);
      if (c.portCount !== undefined) argv.push('--portcount', String(c.portCount));
      if (c.bootable !== undefined) argv.push('--bootable', c.bootable ? 'on' : 'off');
      await sim.vbox(argv);
    };
  }
  if (typeof h.storageAttach !== 'function') {
    h.storageAttach = async (uuid: string, a: { controller: string; port: number; device: number; type?: string; medium: string }) => {
      await sim.vbox(['storageattach', uuid, '--storagectl', a.controller, '--port', String(a.port), '--device', String(a.device),
        ...(a.type ? ['--type', a.type] : []), '--medium', a.medium]);
    };
  }
  if (typeof h.listHostOnlyIfs !== 'function') {
    // (same stand-in as above, for the network listings: `list hostonlyifs` / `list natnets` of the simulator)
    const blocks = (out: string) => out.trim().split(/\n\s*\n/).map((b) => Object.fromEntries(
      b.split('\n').map((l) => /^([^:]+):\s*(.*)$/.exec(l)).filter((m) => m).map((m) => [m![1]!.trim(), m![2]!.trim()])));
    h.listHostOnlyIfs = async () => blocks(await sim.vbox(['list', 'hostonlyifs'])).filter((b) => b.Name).map((b) => ({
      name: b.Name, ipAddress: b.IPAddress, networkMask: b.NetworkMask, dhcp: b.DHCP === 'Enabled', mac: b.HardwareAddress, vboxNetworkName: b.VBoxNetworkName,
    }));
    h.listNatNets = async () => blocks(await sim.vbox(['list', 'natnets'])).filter((b) => b.Name).map((b) => ({
      name: b.Name, network: b.Network, gateway: b.Gateway, dhcp: b['DHCP Server'] === 'Yes',
    }));
  }
  daemon = new Daemon({
    host,
    keepalive: false,
    storage: { defaultFolder: defaultPool, stateDir: path.join(work, 'state'), networkAliases: { maas: 'vboxnet0' } },
  });
  table = daemon.rpc.handlers;
  served = await serveOnTcp(daemon);
  uri = served.uri;
}, 60_000);

afterAll(async () => {
  await served?.stop();
  await sim?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  cleanupTmp();
});

/** MAAS's _get_column_values: header row split on whitespace, rows[2:] split on whitespace. */
function columns(out: string, keys: string[]): string[][] {
  const entries = out.trim().split('\n').map((r) => r.trim().split(/\s+/));
  const idx = keys.map((k) => entries[0]!.indexOf(k));
  expect(idx.every((i) => i >= 0)).toBe(true);
  return entries.slice(2).map((e) => idx.map((i) => e[i]!));
}

describe('storage pools as MAAS uses them', () => {
  test('pool-list --type dir,logical,zfs shows the default pool; pool-dumpxml has bytes, uuid, path and validates', async () => {
    const out = await virshOk(['pool-list', '--type', 'dir,logical,zfs'], { uri });
    expect(columns(out, ['Name']).map((r) => r[0])).toEqual(['default']);
    const xml = await virshOk(['pool-dumpxml', 'default'], { uri });
    expect(xml.startsWith('<pool ')).toBe(true);
    await expectValid(xml, 'storagepool');
    expect(await xpath(xml, 'string(/pool/@type)')).toBe('dir');
    expect(await xpath(xml, 'string(/pool/target/path)')).toBe(shownPool);
    expect(fs.realpathSync(shownPool)).toBe(fs.realpathSync(defaultPool));
    expect(await xpath(xml, 'string(/pool/uuid)')).toMatch(/^[0-9a-f-]{36}$/);
    const st = fs.statfsSync(defaultPool);
    expect(Number(await xpath(xml, 'string(/pool/capacity)'))).toBe(st.blocks * st.bsize);
    const avail = Number(await xpath(xml, 'string(/pool/available)'));
    expect(Math.abs(avail - st.bavail * st.bsize)).toBeLessThan(256 * 1024 * 1024); // the disk may change meanwhile
    const info = await virshOk(['pool-info', 'default'], { uri });
    expect(info).toMatch(/State:\s+running/);
    expect(info).toMatch(/Autostart:\s+yes/);
  });

  test('pool-define-as maas dir … PATH, pool-build, pool-start, pool-autostart (MAAS create_storage_pool)', async () => {
    const p = path.join(work, 'maas-images');
    await virshOk(['pool-define-as', 'maas', 'dir', '-', '-', '-', '-', p], { uri });
    let all = await virshOk(['pool-list', '--all'], { uri });
    expect(all).toMatch(/maas\s+inactive\s+no/);
    const notBuilt = await virsh(['pool-start', 'maas'], { uri });
    expect(notBuilt.rc).toBe(1);
    expect(notBuilt.stderr).toContain(`cannot open directory '${p}'`);
    await virshOk(['pool-build', 'maas'], { uri });
    expect(fs.statSync(p).isDirectory()).toBe(true);
    await virshOk(['pool-start', 'maas'], { uri });
    await virshOk(['pool-autostart', 'maas'], { uri });
    all = await virshOk(['pool-list', '--type', 'dir,logical,zfs'], { uri });
    expect(columns(all, ['Name']).map((r) => r[0]).sort()).toEqual(['default', 'maas']);
    await expectValid(await virshOk(['pool-dumpxml', 'maas'], { uri }), 'storagepool');
    // persisted for the next start of the daemon
    const saved = JSON.parse(fs.readFileSync(path.join(work, 'state', 'pools.json'), 'utf8'));
    expect(saved).toEqual([expect.objectContaining({ name: 'maas', path: p, autostart: true, active: true })]);
    // pool types other than dir are refused clearly
    const lv = await virsh(['pool-define-as', 'vg', 'logical', '-', '-', '-', 'vg0', '/dev/vg0'], { uri });
    expect(lv.rc).toBe(1);
    expect(lv.stderr).toContain("unsupported configuration: storage pool type 'logical'");
  });

  test('vol-create-as raw (MAAS compose), vol-list, vol-info, vol-path, vol-dumpxml, vol-delete', async () => {
    const p = path.join(work, 'maas-images');
    await virshOk(['vol-create-as', 'maas', 'v1', '1073741824', '--allocation', '0', '--format', 'raw'], { uri });
    const file = path.join(p, 'v1.img');
    const st = fs.statSync(file);
    expect(st.size).toBe(1073741824);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024); // sparse
    expect((await virshOk(['vol-path', 'v1', '--pool', 'maas'], { uri })).trim()).toBe(file);
    expect(await virshOk(['vol-list', 'maas'], { uri })).toContain('v1.img');
    const info = await virshOk(['vol-info', 'v1', '--pool', 'maas', '--bytes'], { uri });
    expect(info).toMatch(/Capacity:\s+1073741824 bytes/);
    const xml = await virshOk(['vol-dumpxml', 'v1', '--pool', 'maas'], { uri });
    await expectValid(xml, 'storagevol');
    expect(await xpath(xml, 'string(/volume/target/format/@type)')).toBe('raw');
    const dup = await virsh(['vol-create-as', 'maas', 'v1', '1M', '--format', 'raw'], { uri });
    expect(dup.rc).toBe(1);
    expect(dup.stderr).toContain("storage volume name 'v1' already in use");
    await virshOk(['vol-delete', 'v1', '--pool', 'maas'], { uri });
    expect(fs.existsSync(file)).toBe(false);
    const gone = await virsh(['vol-info', 'v1', '--pool', 'maas'], { uri });
    expect(gone.rc).toBe(1);
    expect(gone.stderr).toContain("failed to get vol 'v1'"); // virsh tried the name, then the path
    expect(gone.stderr).toContain('Storage volume not found: no storage vol with matching');
  });
});

describe('domains: capabilities, define, attach, undefine', () => {
  test('domcapabilities --virttype kvm answers /domainCapabilities/path (MAAS compose); xen is refused', async () => {
    const xml = await virshOk(['domcapabilities', '--virttype', 'kvm'], { uri });
    await expectValid(xml, 'domaincaps');
    expect(await xpath(xml, 'string(/domainCapabilities/path)')).toBe('/usr/bin/VBoxHeadless');
    const bad = await virsh(['domcapabilities', '--virttype', 'xen'], { uri });
    expect(bad.rc).toBe(1);
    expect(bad.stderr).toContain("unsupported configuration: virttype 'xen'");
  });

  test('add-chassis: dumpxml → MAAS boot rewrite → define sets boot1=net boot2=disk; dumpxml then shows network,hd', async () => {
    const xml = await virshOk(['dumpxml', 'vm1'], { uri });
    expect(await xpathEach(xml, '/domain/os/boot', 'string(@dev)')).toEqual(['cdrom', 'hd']);
    const script = `
import sys, xml.etree.ElementTree as ET
doc = ET.fromstring(sys.stdin.read())
os_ = doc.find('os')
for b in os_.findall('boot'):
    os_.remove(b)
ET.SubElement(os_, 'boot', dev='network')
ET.SubElement(os_, 'boot', dev='hd')
sys.stdout.write(ET.tostring(doc, encoding='unicode'))
`;
    const edited = await run(SYSTEM_PYTHON, ['-c', script], { input: xml });
    expect(edited.rc).toBe(0);
    const file = path.join(work, 'vm1.xml');
    fs.writeFileSync(file, edited.stdout);
    const out = await virshOk(['define', file], { uri });
    expect(out).toContain("Domain 'vm1' defined from");
    const info = await sim.info('vm1');
    expect([info.boot1, info.boot2, info.boot3, info.boot4]).toEqual(['net', 'disk', 'none', 'none']);
    const after = await virshOk(['dumpxml', 'vm1'], { uri });
    expect(await xpathEach(after, '/domain/os/boot', 'string(@dev)')).toEqual(['network', 'hd']);
    // defining the same XML again changes nothing and still succeeds
    await virshOk(['define', file], { uri });
  });

  test('compose: define MAAS template, attach-interface --config, autostart-free undefine with --managed-save --nvram', async () => {
    const template = `<domain type="kvm">
  <name>c1</name>
  <uuid>0e4b6c1c-a9b8-4b2a-b2b5-6b1c3f3d6f11</uuid>
  <memory unit="MiB">2048</memory>
  <vcpu>2</vcpu>
  <cpu mode="host-passthrough"/>
  <os><type arch="x86_64">hvm</type></os>
  <features><acpi/><apic/></features>
  <clock offset="utc"/>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>restart</on_crash>
  <pm><suspend-to-mem enabled="no"/><suspend-to-disk enabled="no"/></pm>
  <devices>
    <emulator>/usr/bin/VBoxHeadless</emulator>
    <controller type="pci" index="0" model="pci-root"/>
    <serial type="pty"><target port="0"/></serial>
    <console type="pty"><target type="serial" port="0"/></console>
    <graphics type="spice" autoport="yes"><image compression="off"/></graphics>
  </devices>
</domain>`;
    const file = path.join(work, 'c1.xml');
    fs.writeFileSync(file, template);
    expect(await virshOk(['define', file], { uri })).toContain("Domain 'c1' defined from");
    const dominfo = await virshOk(['dominfo', 'c1'], { uri });
    expect(dominfo).toMatch(/UUID:\s+0e4b6c1c-a9b8-4b2a-b2b5-6b1c3f3d6f11/);
    expect(dominfo).toMatch(/Max memory:\s+2097152 KiB/);
    expect(dominfo).toMatch(/CPU\(s\):\s+2/);
    // a host interface VirtualBox can bridge to, as the simulator lists it
    const bridged = /^Name:\s+(\S+)$/m.exec(await sim.vbox(['list', 'bridgedifs']))![1]!;
    await virshOk(['attach-interface', 'c1', 'bridge', bridged, '--mac', '52:54:00:01:02:03', '--model', 'virtio', '--config'], { uri });
    const ifs = await virshOk(['domiflist', 'c1'], { uri });
    expect(columns(ifs, ['Type', 'Source', 'Model', 'MAC'])).toEqual([['bridge', bridged, 'virtio', '52:54:00:01:02:03']]);
    const info = await sim.info('c1');
    expect([info.nic1, info.bridgeadapter1, info.nictype1, info.macaddress1]).toEqual(['bridged', bridged, 'virtio', '525400010203']);
    // re-defining with the same name but another UUID is refused like libvirt does
    fs.writeFileSync(file, template.replace('0e4b6c1c', '1e4b6c1c'));
    const clash = await virsh(['define', file], { uri });
    expect(clash.rc).toBe(1);
    expect(clash.stderr).toContain("operation failed: domain 'c1' already exists with uuid 0e4b6c1c-a9b8-4b2a-b2b5-6b1c3f3d6f11");
    await virshOk(['undefine', 'c1', '--managed-save', '--nvram'], { uri });
    const list = await virshOk(['list', '--all', '--name'], { uri });
    expect(list.split('\n').map((s) => s.trim())).not.toContain('c1');
  });

  test('define of an empty document gets libvirt\'s XML error; unsupported devices are named', async () => {
    const empty = path.join(work, 'empty.xml');
    fs.writeFileSync(empty, '');
    const r = await virsh(['define', empty], { uri });
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('error: (domain_definition):1: Document is empty');
    const hostdev = path.join(work, 'hostdev.xml');
    fs.writeFileSync(hostdev, "<domain type='vbox'><name>h1</name><memory>1024</memory><os><type>hvm</type></os><devices><hostdev mode='subsystem' type='pci'/></devices></domain>");
    const h = await virsh(['define', hostdev], { uri });
    expect(h.rc).toBe(1);
    expect(h.stderr).toContain('unsupported configuration: <hostdev> devices are not supported');
    expect((await virshOk(['list', '--all', '--name'], { uri }))).not.toContain('h1');
  });

  test('undefine of a running domain is refused; a stopped one is unregistered (its files stay)', async () => {
    await sim.createVm('vm2', { memoryMb: 256, start: true });
    const r = await virsh(['undefine', 'vm2'], { uri });
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('cannot undefine running domain');
    await virshOk(['destroy', 'vm2'], { uri });
    await virshOk(['undefine', 'vm2'], { uri });
    expect(await virshOk(['list', '--all', '--name'], { uri })).not.toContain('vm2');
  });
});

describe('block info and pending changes', () => {
  test('domblklist --details / domblkinfo for every disk target as MAAS discovery does (real VDI made by qemu-img)', async () => {
    const vdi = path.join(defaultPool, 'vm3-disk.vdi');
    expect((await run('qemu-img', ['create', '-q', '-f', 'vdi', vdi, '5G'])).rc).toBe(0);
    await sim.createVm('vm3', { memoryMb: 512 });
    await sim.vbox(['storagectl', 'vm3', '--name', 'IDE', '--add', 'ide', '--controller', 'PIIX4']);
    await sim.vbox(['storagectl', 'vm3', '--name', 'SATA', '--add', 'sata', '--controller', 'IntelAhci']);
    await sim.vbox(['storageattach', 'vm3', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', vdi]);
    await sim.vbox(['storageattach', 'vm3', '--storagectl', 'IDE', '--port', '1', '--device', '0', '--type', 'dvddrive', '--medium', 'emptydrive']);
    const blk = await virshOk(['domblklist', 'vm3', '--details'], { uri });
    const disks = columns(blk, ['Device', 'Target', 'Source']).filter((r) => r[0] === 'disk');
    expect(disks).toEqual([['disk', 'sda', path.join(shownPool, 'vm3-disk.vdi')]]);
    expect(columns(blk, ['Device', 'Target'])).toContainEqual(['cdrom', 'hdc']);
    for (const [, target] of disks) {
      const info = await virshOk(['domblkinfo', 'vm3', target!], { uri });
      expect(info).toMatch(/Capacity:\s+5368709120\n/);
      expect(info).toMatch(/Physical:\s+\d+/);
    }
    expect(await virshOk(['domblkinfo', 'vm3', vdi], { uri })).toMatch(/Capacity:\s+5368709120\n/);
    const empty = await virsh(['domblkinfo', 'vm3', 'hdc'], { uri });
    expect(empty.rc).toBe(1);
    expect(empty.stderr).toContain("disk 'hdc' does not have source");
    const none = await virsh(['domblkinfo', 'vm3', 'sdq'], { uri });
    expect(none.rc).toBe(1);
    expect(none.stderr).toContain('invalid path sdq not assigned to domain');
  });

  test('define on a running VM is kept pending (pending.json) and applied after power-off', async () => {
    await sim.createVm('vm4', { memoryMb: 512, start: true });
    const xml = await virshOk(['dumpxml', 'vm4'], { uri });
    const file = path.join(work, 'vm4.xml');
    fs.writeFileSync(file, xml.replace(/<memory unit='KiB'>\d+<\/memory>/, "<memory unit='KiB'>1048576</memory>")
      .replace(/<currentMemory unit='KiB'>\d+<\/currentMemory>/, "<currentMemory unit='KiB'>1048576</currentMemory>"));
    await virshOk(['define', file], { uri });
    expect((await sim.info('vm4')).memory).toBe('512');
    const uuid = (await virshOk(['domuuid', 'vm4'], { uri })).trim();
    const saved = JSON.parse(fs.readFileSync(path.join(work, 'state', 'pending.json'), 'utf8'));
    expect(saved[uuid]).toEqual({ memoryMB: 1024 });
    // the inactive XML already shows the next configuration, the live one does not
    expect(await xpath(await virshOk(['dumpxml', '--inactive', 'vm4'], { uri }), 'string(/domain/memory)')).toBe('1048576');
    expect(await xpath(await virshOk(['dumpxml', 'vm4'], { uri }), 'string(/domain/memory)')).toBe('524288');
    await virshOk(['destroy', 'vm4'], { uri });
    // the driver applies pending changes once it sees the VM stopped (whenStopped hook → applyIfStopped)
    const svc = storageHandlers.service(table)!;
    const deadline = Date.now() + 15_000;
    while (svc.pending.get(uuid) && Date.now() < deadline) {
      await virshOk(['list', '--all'], { uri });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(svc.pending.get(uuid)).toBeUndefined();
    expect((await sim.info('vm4')).memory).toBe('1024');
    expect(await xpath(await virshOk(['dumpxml', 'vm4'], { uri }), 'string(/domain/memory)')).toBe('1048576');
  });
});

describe('disks through define and attach-disk', () => {
  test('MAAS compose disks: vol-create-as, vol-path, attach-disk vda --targetbus virtio --config, then domblklist/domblkinfo', async () => {
    const tpl = "<domain type='kvm'><name>c2</name><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";
    const file = path.join(work, 'c2.xml');
    fs.writeFileSync(file, tpl);
    await virshOk(['define', file], { uri });
    await virshOk(['vol-create-as', 'default', 'c2-root', '1073741824', '--allocation', '0', '--format', 'raw'], { uri });
    const volPath = (await virshOk(['vol-path', 'c2-root', '--pool', 'default'], { uri })).trim();
    expect(volPath).toBe(path.join(shownPool, 'c2-root.img'));
    await virshOk(['attach-disk', 'c2', volPath, 'vda', '--targetbus', 'virtio', '--sourcetype', 'file', '--config', '--serial', 'c2-root'], { uri });
    const info = await sim.info('c2');
    expect(info.storagecontrollertype0).toBe('VirtioSCSI');
    expect(info[`${info.storagecontrollername0}-0-0`]).toBe(volPath);
    const blk = await virshOk(['domblklist', 'c2', '--details'], { uri });
    // (the pool folder has a space: MAAS, too, only uses the first token of Source)
    expect(columns(blk, ['Device', 'Target', 'Source'])).toEqual([['disk', 'vda', volPath.split(' ')[0]]]);
    expect(await virshOk(['domblkinfo', 'c2', 'vda'], { uri })).toMatch(/Capacity:\s+1073741824\n/);
    // a second disk on the same bus goes to the next port of the same controller
    await virshOk(['vol-create-as', 'default', 'c2-data', '1M', '--format', 'raw'], { uri });
    await virshOk(['attach-disk', 'c2', path.join(defaultPool, 'c2-data.img'), 'vdb', '--targetbus', 'virtio', '--config'], { uri });
    const blk2 = await virshOk(['domblklist', 'c2'], { uri });
    expect(blk2).toMatch(/vdb\s+.*c2-data\.img/);
    const info2 = await sim.info('c2');
    expect(info2[`${info2.storagecontrollername0}-1-0`]).toBe(path.join(defaultPool, 'c2-data.img'));
    expect(info2.storagecontrollername1).toBeUndefined();
    const dup = await virsh(['attach-disk', 'c2', volPath, 'vda', '--targetbus', 'virtio', '--config'], { uri });
    expect(dup.rc).toBe(1);
    expect(dup.stderr).toContain('target vda already exists');
    const missing = await virsh(['attach-disk', 'c2', '/nonexistent.img', 'vdc', '--config'], { uri });
    expect(missing.rc).toBe(1);
    expect(missing.stderr).toContain("cannot access storage file '/nonexistent.img'");
  });

  test('MAAS decompose: undefine --remove-all-storage --managed-save --nvram removes the VM and its pool volumes', async () => {
    const files = [path.join(defaultPool, 'c2-root.img'), path.join(defaultPool, 'c2-data.img')];
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    const r = await virshOk(['undefine', 'c2', '--remove-all-storage', '--managed-save', '--nvram'], { uri });
    expect(r).toContain("Domain 'c2' has been undefined");
    expect(r).toContain('Volume \'vda\'');
    for (const f of files) expect(fs.existsSync(f)).toBe(false);
    expect(await virshOk(['list', '--all', '--name'], { uri })).not.toMatch(/^c2$/m);
    expect(await sim.vbox(['list', 'hdds'])).not.toContain('c2-root.img');
  });

  test('a new VM defined with SATA disk and IDE CD-ROM gets its controllers and media', async () => {
    const disk = path.join(defaultPool, 'd1.img');
    await virshOk(['vol-create-as', 'default', 'd1', '64M', '--format', 'raw'], { uri });
    const xml = `<domain type='vbox'><name>d1</name><memory unit='MiB'>256</memory>
<os><type arch='x86_64'>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os>
<devices>
<disk type='file' device='disk'><source file='${disk}'/><target dev='sda' bus='sata'/></disk>
<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
</devices></domain>`;
    const file = path.join(work, 'd1.xml');
    fs.writeFileSync(file, xml);
    await virshOk(['define', file], { uri });
    const info = await sim.info('d1');
    expect(info['SATA-0-0']).toBe(disk);
    expect(info['IDE-1-0']).toBe('emptydrive');
    expect([info.boot1, info.boot2]).toEqual(['dvd', 'disk']);
    // and its own XML defines it again without any change
    const again = path.join(work, 'd1-again.xml');
    fs.writeFileSync(again, await virshOk(['dumpxml', 'd1'], { uri }));
    await virshOk(['define', again], { uri });
  });
});

describe('names', () => {
  test('a new VM may have a name that is not a virsh word: it is presented under its alias', async () => {
    const file = path.join(work, 'spaced.xml');
    fs.writeFileSync(file, "<domain type='vbox'><name>My Lab VM</name><uuid>abcdef01-2345-4678-89ab-cdef01234567</uuid><memory unit='MiB'>128</memory><os><type arch='x86_64'>hvm</type></os></domain>");
    const out = await virshOk(['define', file], { uri });
    expect(out).toContain("Domain 'My-Lab-VM-abcdef01' defined from");
    expect((await sim.info('My Lab VM')).UUID).toBe('abcdef01-2345-4678-89ab-cdef01234567');
    fs.writeFileSync(file, "<domain type='vbox'><name>a/b</name><memory unit='MiB'>128</memory><os><type>hvm</type></os></domain>");
    const bad = await virsh(['define', file], { uri });
    expect(bad.rc).toBe(1);
    expect(bad.stderr).toContain("XML error: name 'a/b' cannot contain '/'");
    await virshOk(['undefine', 'My-Lab-VM-abcdef01'], { uri });
  });
});

describe('saved VMs', () => {
  test('define on a saved VM is kept pending; undefine needs --managed-save, which discards the state', async () => {
    await sim.createVm('vm5', { memoryMb: 256, cpus: 1, start: true });
    await sim.vbox(['controlvm', 'vm5', 'savestate']);
    expect(await sim.state('vm5')).toBe('saved');
    const file = path.join(work, 'vm5.xml');
    fs.writeFileSync(file, (await virshOk(['dumpxml', 'vm5'], { uri })).replace(/<vcpu placement='static'>1<\/vcpu>/, "<vcpu placement='static'>2</vcpu>"));
    await virshOk(['define', file], { uri });
    expect((await sim.info('vm5')).cpus).toBe('1');
    const uuid = (await virshOk(['domuuid', 'vm5'], { uri })).trim();
    expect(storageHandlers.service(table)!.pending.get(uuid)).toEqual({ cpus: 2 });
    const refused = await virsh(['undefine', 'vm5'], { uri });
    expect(refused.rc).toBe(1);
    expect(refused.stderr).toContain('Refusing to undefine while domain managed save image exists');
    await virshOk(['undefine', 'vm5', '--managed-save'], { uri });
    expect(await virshOk(['list', '--all', '--name'], { uri })).not.toMatch(/^vm5$/m);
    expect(storageHandlers.service(table)!.pending.get(uuid)).toBeUndefined();
  });
});

describe('detach and change-media', () => {
  test('change-media --insert/--eject on the CD, detach-disk and detach-interface --config', async () => {
    // d1 (from the test above): SATA disk sda, empty IDE CD hdc
    const iso = path.join(work, 'install.iso');
    fs.writeFileSync(iso, 'not really an ISO, the simulator does not read it');
    await virshOk(['change-media', 'd1', 'hdc', iso, '--insert', '--config'], { uri });
    expect((await sim.info('d1'))['IDE-1-0']).toBe(iso);
    const blk = columns(await virshOk(['domblklist', 'd1', '--details'], { uri }), ['Device', 'Target', 'Source']);
    expect(blk).toContainEqual(['cdrom', 'hdc', iso]);
    await virshOk(['change-media', 'd1', 'hdc', '--eject', '--config'], { uri });
    expect((await sim.info('d1'))['IDE-1-0']).toBe('emptydrive');
    const notCd = await virsh(['change-media', 'd1', 'sda', iso, '--update', '--config'], { uri });
    expect(notCd.rc).toBe(1);

    const disk = path.join(defaultPool, 'd1.img');
    await virshOk(['detach-disk', 'd1', 'sda', '--config'], { uri });
    expect((await sim.info('d1'))['SATA-0-0']).toBe('none');
    expect(fs.existsSync(disk)).toBe(true); // detaching never deletes the medium
    const gone = await virsh(['detach-disk', 'd1', 'sda', '--config'], { uri });
    expect(gone.rc).toBe(1);

    const bridged = /^Name:\s+(\S+)$/m.exec(await sim.vbox(['list', 'bridgedifs']))![1]!;
    await virshOk(['attach-interface', 'd1', 'bridge', bridged, '--mac', '52:54:00:11:22:33', '--config'], { uri });
    expect((await sim.info('d1')).macaddress1).toBe('525400112233');
    await virshOk(['detach-interface', 'd1', 'bridge', '--mac', '52:54:00:11:22:33', '--config'], { uri });
    expect((await sim.info('d1')).nic1).toBe('none');
    const none = await virsh(['detach-interface', 'd1', 'bridge', '--mac', '52:54:00:11:22:33', '--config'], { uri });
    expect(none.rc).toBe(1);
    expect(none.stderr).toContain('No interface found'); // virsh looks in our XML first: it is gone
  });
});

describe('python3-libvirt (an independent client of the same procedures)', () => {
  // uses vm3 (with its 5 GiB VDI) from the block-info test above
  test('pools, volumes, block info, domain capabilities, define and undefine through the binding', async () => {
    const script = `
import json, sys, libvirt
conn = libvirt.open(sys.argv[1])
out = {}
pools = conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_DIR)
out['pools'] = sorted(p.name() for p in pools)
p = conn.storagePoolLookupByName('default')
out['info'] = [int(x) for x in p.info()]
out['active'] = p.isActive()
vol = p.createXML("<volume><name>py1</name><capacity unit='M'>8</capacity><target><format type='raw'/></target></volume>", 0)
out['vol'] = [vol.name(), vol.path(), vol.info()]
out['lookup'] = conn.storageVolLookupByPath(vol.path()).name()
vol.delete(0)
out['after'] = p.listVolumes()
out['blk'] = conn.lookupByName('vm3').blockInfo('sda')
caps = conn.getDomainCapabilities(None, None, None, 'kvm', 0)
out['caps'] = caps.startswith('<domainCapabilities>')
d = conn.defineXML("<domain type='vbox'><name>py-vm</name><memory unit='MiB'>256</memory><os><type arch='x86_64'>hvm</type><boot dev='network'/></os></domain>")
out['defined'] = [d.name(), d.isActive(), d.isPersistent()]
d.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
try:
    conn.lookupByName('py-vm')
    out['gone'] = False
except libvirt.libvirtError as e:
    out['gone'] = e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
try:
    conn.defineXML('<domain')
except libvirt.libvirtError as e:
    out['xmlerr'] = [e.get_error_code(), e.get_error_domain()]
print(json.dumps(out))
`;
    const r = await run(SYSTEM_PYTHON, ['-c', script, uri], { timeoutMs: 60_000 });
    if (r.rc !== 0) throw new Error(r.stderr + r.stdout);
    const out = JSON.parse(r.stdout);
    expect(out.pools).toContain('default');
    expect(out.info[0]).toBe(2); // VIR_STORAGE_POOL_RUNNING
    expect(out.info[1]).toBe(fs.statfsSync(defaultPool).blocks * fs.statfsSync(defaultPool).bsize);
    expect(out.active).toBe(1);
    expect(out.vol).toEqual(['py1.img', path.join(shownPool, 'py1.img'), [0, 8 * 1024 * 1024, expect.any(Number)]]);
    expect(out.lookup).toBe('py1.img');
    expect(out.after).not.toContain('py1.img');
    expect(out.blk[0]).toBe(5368709120);
    expect(out.caps).toBe(true);
    expect(out.defined).toEqual(['py-vm', 0, 1]);
    expect(out.gone).toBe(true);
    expect(out.xmlerr).toEqual([35, 20]);
  });
});

describe('networks', () => {
  test('host-only adapter, NAT network and the maas alias: net-list, net-dumpxml, attach-interface network maas', async () => {
    await sim.vbox(['hostonlyif', 'create']);
    await sim.vbox(['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.56.1', '--netmask', '255.255.255.0']);
    await sim.vbox(['natnetwork', 'add', '--netname', 'NatNetwork', '--network', '10.0.2.0/24', '--enable', '--dhcp', 'on']);
    const names = (await virshOk(['net-list', '--name'], { uri })).split('\n').map((x) => x.trim()).filter(Boolean);
    expect(names.sort()).toEqual(['NatNetwork', 'maas', 'vboxnet0']);
    const maas = await virshOk(['net-dumpxml', 'maas'], { uri });
    await expectValid(maas, 'network');
    expect(await xpath(maas, 'string(/network/bridge/@name)')).toBe('vboxnet0');
    expect(await xpath(maas, 'string(/network/ip/@address)')).toBe('192.168.56.1');
    expect(await xpath(maas, 'count(//dhcp)')).toBe('0');
    const nat = await virshOk(['net-dumpxml', 'NatNetwork'], { uri });
    await expectValid(nat, 'network');
    expect(await xpath(nat, 'string(/network/forward/@mode)')).toBe('nat');
    expect(await xpath(nat, 'count(//dhcp)')).toBe('1');
    expect((await virshOk(['net-info', 'vboxnet0'], { uri }))).toMatch(/Bridge:\s+vboxnet0/);
    await virshOk(['attach-interface', 'vm1', 'network', 'maas', '--mac', '52:54:00:0a:0b:0c', '--model', 'virtio', '--config'], { uri });
    const info = await sim.info('vm1');
    const slot = Object.keys(info).find((k) => /^macaddress\d+$/.test(k) && info[k] === '5254000A0B0C')!.slice('macaddress'.length);
    expect([info[`nic${slot}`], info[`hostonlyadapter${slot}`], info[`nictype${slot}`]]).toEqual(['hostonly', 'vboxnet0', 'virtio']);
    const ifs = columns(await virshOk(['domiflist', 'vm1'], { uri }), ['Type', 'Source', 'Model', 'MAC']);
    expect(ifs).toContainEqual(['network', 'vboxnet0', 'virtio', '52:54:00:0a:0b:0c']);
    // and vm1's XML still defines without changes
    const file = path.join(work, 'vm1-net.xml');
    fs.writeFileSync(file, await virshOk(['dumpxml', 'vm1'], { uri }));
    await virshOk(['define', file], { uri });
  });

  test('net-list works (names are single tokens) and an unknown network is not found', async () => {
    const out = await virshOk(['net-list', '--all'], { uri });
    for (const row of rows(out)) expect(row.length).toBe(4); // Name State Autostart Persistent
    const r = await virsh(['net-dumpxml', 'nosuch'], { uri });
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain("Network not found: no network with matching name 'nosuch'");
  });
});
