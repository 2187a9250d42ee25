/**
 * A pool folder with a space ("VirtualBox VMs") is presented to clients
 * through a one-word alias (the symlink `<state-dir>/pools/<pool>`): pool path,
 * volume paths/keys and domain disk sources are single tokens; incoming paths
 * in either form work. Real virsh 9.0 against an in-process Daemon over the
 * simulator (real vboxsim spawns), on 127.0.0.1:0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Daemon } from '../../src/daemon.js';
import { createSimHost as createVBoxSimHost } from '../../src/vbox/index.js';
import { createSimHost, type SimHost } from '../helpers/simhost.js';
import { virsh, virshOk } from '../helpers/virsh.js';
import { xpath } from '../helpers/xml.js';
import { cleanupTmp, serveOnTcp, expectValid } from './helpers.js';

let sim: SimHost;
let daemon: Daemon;
let served: { uri: string; stop(): Promise<void> } | undefined;
let uri: string;
let work: string;
let realFolder: string;
let stateDir: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'vboxvirt-alias-'));
  realFolder = path.join(work, 'VirtualBox VMs');
  stateDir = path.join(work, 'state');
  sim = await createSimHost();
  await sim.createVm('a1', { memoryMb: 512, cpus: 1 });
  await sim.vbox(['storagectl', 'a1', '--name', 'SATA', '--add', 'sata', '--controller', 'IntelAhci']);
  // a disk VirtualBox holds by its real path (with the space) before the daemon starts
  fs.mkdirSync(realFolder);
  fs.writeFileSync(path.join(realFolder, 'r0.img'), Buffer.alloc(4096));
  await sim.vbox(['storageattach', 'a1', '--storagectl', 'SATA', '--port', '2', '--device', '0', '--type', 'hdd', '--medium', path.join(realFolder, 'r0.img')]);
  daemon = new Daemon({ host: createVBoxSimHost({ home: sim.home, cacheTtlMs: 0 }), keepalive: false, storage: { defaultFolder: realFolder, stateDir } });
  served = await serveOnTcp(daemon);
  uri = served.uri;
}, 60_000);

afterAll(async () => {
  await served?.stop();
  await sim?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  cleanupTmp();
});

describe('a pool folder with a space is presented through a one-word alias', () => {
  let shown: string;
  test('dumpxml as the first call of a fresh daemon already shows the disk under the alias', async () => {
    const xml = await virshOk(['dumpxml', 'a1'], { uri });
    expect(await xpath(xml, "string(/domain/devices/disk/source/@file)")).toBe(path.join(stateDir, 'pools', 'default', 'r0.img'));
    expect(xml).not.toContain('VirtualBox VMs');
  });

  test('pool-dumpxml: target path is the alias symlink <state-dir>/pools/default → the real folder; validates', async () => {
    const xml = await virshOk(['pool-dumpxml', 'default'], { uri });
    await expectValid(xml, 'storagepool');
    shown = await xpath(xml, 'string(/pool/target/path)');
    expect(shown).toBe(path.join(stateDir, 'pools', 'default'));
    expect(shown).toMatch(/^\S+$/);
    expect(fs.readlinkSync(shown)).toBe(realFolder);
    expect(fs.statSync(realFolder).isDirectory()).toBe(true);
  });

  test('vol-create-as, vol-path, vol-list and vol key are one token under the presented path; the file is in the real folder', async () => {
    await virshOk(['vol-create-as', 'default', 'd1', '1048576', '--format', 'raw'], { uri });
    const volPath = (await virshOk(['vol-path', 'd1', '--pool', 'default'], { uri })).trim();
    expect(volPath).toBe(path.join(shown, 'd1.img'));
    expect(fs.statSync(path.join(realFolder, 'd1.img')).size).toBe(1048576);
    const list = (await virshOk(['vol-list', 'default'], { uri })).trim().split('\n').slice(2).map((l) => l.trim().split(/\s+/));
    expect(list).toEqual([['d1.img', volPath], ['r0.img', path.join(shown, 'r0.img')]]);
    const key = await xpath(await virshOk(['vol-dumpxml', 'd1.img', '--pool', 'default'], { uri }), 'string(/volume/key)');
    expect(key).toBe(volPath);
    // lookups by either form of the path find the volume, shown under the alias
    expect((await virshOk(['vol-path', volPath], { uri })).trim()).toBe(volPath);
    expect((await virshOk(['vol-path', path.join(realFolder, 'd1.img')], { uri })).trim()).toBe(volPath);
  });

  test('attach-disk with the presented path: VirtualBox has the disk; dumpxml/domblklist source is one token starting with the pool path; define is a fixed point', async () => {
    const volPath = path.join(shown, 'd1.img');
    await virshOk(['attach-disk', 'a1', volPath, 'vda', '--targetbus', 'virtio', '--sourcetype', 'file', '--config'], { uri });
    const info = await sim.info('a1');
    const attached = Object.values(info).find((v) => v === volPath || v === path.join(realFolder, 'd1.img'));
    expect(attached).toBeDefined();
    expect(fs.statSync(attached!).size).toBe(1048576); // VirtualBox's path opens the image
    const xml = await virshOk(['dumpxml', 'a1'], { uri });
    await expectValid(xml, 'domain');
    const src = await xpath(xml, "string(/domain/devices/disk[target/@dev='vda']/source/@file)");
    expect(src).toMatch(/^\S+$/);
    expect(src.startsWith(shown + '/')).toBe(true);
    const blk = (await virshOk(['domblklist', 'a1', '--details'], { uri })).trim().split('\n').slice(2).map((l) => l.trim().split(/\s+/));
    expect(blk).toContainEqual(['file', 'disk', 'vda', src]);
    expect((await virshOk(['domblkinfo', 'a1', src], { uri }))).toMatch(/Capacity:\s+1048576/);
    expect((await virshOk(['domblkinfo', 'a1', path.join(realFolder, 'd1.img')], { uri }))).toMatch(/Capacity:\s+1048576/);
    // dumpxml → define changes nothing
    const file = path.join(work, 'a1.xml');
    fs.writeFileSync(file, xml);
    await virshOk(['define', file], { uri });
    expect(await virshOk(['dumpxml', 'a1'], { uri })).toBe(xml);
    // deleting an attached volume is refused whichever form VirtualBox holds
    const del = await virsh(['vol-delete', 'd1.img', '--pool', 'default'], { uri });
    expect(del.rc).not.toBe(0);
    expect(del.stderr).toMatch(/attached/);
  });

  test('attach-disk with the real path (space): VirtualBox holds the real path, clients see it under the alias', async () => {
    const real = path.join(realFolder, 'r2.img');
    fs.writeFileSync(real, Buffer.alloc(4096));
    await virshOk(['attach-disk', 'a1', real, 'sdb', '--targetbus', 'sata', '--config'], { uri });
    expect(Object.values(await sim.info('a1'))).toContain(real);
    const xml = await virshOk(['dumpxml', 'a1'], { uri });
    const srcs = (await virshOk(['domblklist', 'a1'], { uri })).trim().split('\n').slice(2).map((l) => l.trim().split(/\s+/));
    expect(srcs).toContainEqual([expect.any(String), path.join(shown, 'r2.img')]);
    expect(xml).not.toContain('VirtualBox VMs');
    const file = path.join(work, 'a1b.xml');
    fs.writeFileSync(file, xml);
    await virshOk(['define', file], { uri });
    expect(await virshOk(['dumpxml', 'a1'], { uri })).toBe(xml);
  });
});
