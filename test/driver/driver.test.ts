/**
 * VBoxDriver against a real simulated VirtualBox host (createSimHost: the
 * simulator's VBoxManage command line run in-process, state on disk in a temp
 * dir). Every assertion reads state back through the driver or the host.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSimHost, type VBoxManageHost } from '../../src/vbox/index.js';
import { VBoxDriver, ListFlags, snapshotCount, parseVBoxVersion, kernelArch, type DomainRef, type Session } from '../../src/driver/driver.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import type { VmInfo } from '../../src/vbox/types.js';

const FAST = {
  VBOXSIM_START_MS: '20',
  VBOXSIM_ACPI_DELAY_MS: '50',
  VBOXSIM_STOPPING_MS: '20',
};

interface Fixture {
  dir: string;
  host: VBoxManageHost;
  driver: VBoxDriver;
  uuids: Record<string, string>;
}

const RW: Session = { uri: 'qemu:///system', readOnly: false, who: 'test:driver' };
const RO: Session = { uri: 'qemu:///system', readOnly: true, who: 'test:readonly' };

async function fixture(env: Record<string, string> = {}, driverOpts: ConstructorParameters<typeof VBoxDriver>[1] = {}): Promise<Fixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vboxvirt-driver-'));
  const host = createSimHost({ home: dir, env: { ...FAST, ...env }, cacheTtlMs: 0 });
  const ctx = { who: 'fixture' };
  const uuids: Record<string, string> = {};
  const mk = async (name: string, memoryMB: number, cpus: number) =>
    (uuids[name] = await host.createVm({ name, osType: 'Ubuntu_64', changes: { memoryMB, cpus } }, ctx));
  await mk('alpha', 1024, 1);
  await mk('beta', 2048, 2);
  await mk('My VM', 512, 1);
  await mk('saved-one', 768, 1);
  await host.startVm(uuids.beta!, ctx);
  await host.startVm(uuids['saved-one']!, ctx);
  await host.saveState(uuids['saved-one']!, ctx);
  await host.modifyVm(uuids.alpha!, { autostart: true }, ctx);
  host.invalidate();
  const driver = new VBoxDriver(host, { rebootPollMs: 25, ...driverOpts });
  return { dir, host, driver, uuids };
}

async function teardown(f: Fixture | undefined): Promise<void> {
  if (!f) return;
  await f.driver.close();
  await f.host.close();
  await rm(f.dir, { recursive: true, force: true });
}

async function rejectsWith(p: Promise<unknown>, code: number, message: string | RegExp): Promise<LibvirtError> {
  const err = await p.then(
    () => {
      throw new Error('expected a LibvirtError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LibvirtError);
  const le = err as LibvirtError;
  expect(le.code).toBe(code);
  if (typeof message === 'string') expect(le.message).toBe(message);
  else expect(le.message).toMatch(message);
  return le;
}

/** Poll the driver's state until `pred` holds (the simulator's guest reacts asynchronously). */
async function until(f: Fixture, dom: DomainRef, pred: (s: { state: number; reason: number }) => boolean, what: string): Promise<{ state: number; reason: number }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = await f.driver.getState(dom);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('lookups, names and ids', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });
  afterAll(() => teardown(f));

  test('by name, raw name, alias, UUID text; not found like libvirtd', async () => {
    const a = await f.driver.lookupByName('alpha');
    expect(a).toEqual({ name: 'alpha', uuid: f.uuids.alpha, id: -1 });
    const alias = `My-VM-${f.uuids['My VM']!.slice(0, 8)}`;
    expect(await f.driver.lookupByName(alias)).toMatchObject({ name: alias, uuid: f.uuids['My VM'] });
    expect(await f.driver.lookupByName('My VM')).toMatchObject({ name: alias, uuid: f.uuids['My VM'] });
    expect(await f.driver.lookupByName(f.uuids.alpha!.toUpperCase())).toMatchObject({ name: 'alpha' });
    const e = await rejectsWith(f.driver.lookupByName('nosuchvm'), 42, "Domain not found: no domain with matching name 'nosuchvm'");
    expect(e.domain).toBe(25);
    await rejectsWith(
      f.driver.lookupByUuid('11111111-2222-3333-4444-555555555555'),
      42,
      "Domain not found: no domain with matching uuid '11111111-2222-3333-4444-555555555555'",
    );
    await rejectsWith(f.driver.lookupById(4242), 42, 'Domain not found: no domain with matching id 4242');
    await rejectsWith(f.driver.lookupById(-1), 42, /matching id -1/);
  });

  test('a running VM has a positive id, stable across calls, found by id and UUID', async () => {
    const b1 = await f.driver.lookupByName('beta');
    expect(b1.id).toBeGreaterThan(0);
    const b2 = await f.driver.lookupByUuid(f.uuids.beta!);
    expect(b2).toEqual(b1);
    expect(await f.driver.lookupById(b1.id)).toEqual(b1);
    expect((await f.driver.lookupByName('saved-one')).id).toBe(-1);
  });

  test('list --all presents every VM once, unsafe names aliased; flag filters', async () => {
    const names = async (flags: number) => (await f.driver.listAllDomains(flags)).map((d) => d.name).sort();
    const alias = `My-VM-${f.uuids['My VM']!.slice(0, 8)}`;
    expect(await names(ListFlags.ACTIVE | ListFlags.INACTIVE)).toEqual([alias, 'alpha', 'beta', 'saved-one'].sort());
    expect(await names(0)).toEqual([alias, 'alpha', 'beta', 'saved-one'].sort());
    expect(await names(ListFlags.ACTIVE)).toEqual(['beta']);
    expect(await names(ListFlags.INACTIVE)).toEqual([alias, 'alpha', 'saved-one'].sort());
    expect(await names(ListFlags.RUNNING)).toEqual(['beta']);
    expect(await names(ListFlags.PAUSED)).toEqual([]);
    expect(await names(ListFlags.SHUTOFF)).toEqual([alias, 'alpha', 'saved-one'].sort());
    expect(await names(ListFlags.OTHER)).toEqual([]);
    expect(await names(ListFlags.MANAGEDSAVE)).toEqual(['saved-one']);
    expect(await names(ListFlags.INACTIVE | ListFlags.NO_MANAGEDSAVE)).toEqual([alias, 'alpha'].sort());
    expect(await names(ListFlags.AUTOSTART)).toEqual(['alpha']);
    expect(await names(ListFlags.NO_AUTOSTART)).toEqual([alias, 'beta', 'saved-one'].sort());
    expect(await names(ListFlags.HAS_SNAPSHOT)).toEqual([]);
    expect((await names(ListFlags.NO_SNAPSHOT)).length).toBe(4);
    expect(await names(ListFlags.TRANSIENT)).toEqual([]);
    expect((await names(ListFlags.PERSISTENT)).length).toBe(4);
    await rejectsWith(f.driver.listAllDomains(1 << 20), 8, /unsupported flags \(0x100000\) in function virConnectListAllDomains/);
  });

  test('legacy list procedures (51, 37, 25, 21)', async () => {
    const beta = await f.driver.lookupByName('beta');
    expect(await f.driver.numOfDomains()).toBe(1);
    expect(await f.driver.listDomainIds(10)).toEqual([beta.id]);
    expect(await f.driver.listDomainIds(0)).toEqual([]);
    expect(await f.driver.numOfDefinedDomains()).toBe(3);
    expect((await f.driver.listDefinedDomains(10)).sort()).toEqual([`My-VM-${f.uuids['My VM']!.slice(0, 8)}`, 'alpha', 'saved-one'].sort());
    expect(await f.driver.listDefinedDomains(1)).toHaveLength(1);
  });

  test('state, info, managed save, autostart, os type, XML', async () => {
    const alpha = await f.driver.lookupByName('alpha');
    const beta = await f.driver.lookupByName('beta');
    const saved = await f.driver.lookupByName('saved-one');
    expect(await f.driver.getState(alpha)).toEqual({ state: 5, reason: 0 });
    expect(await f.driver.getState(beta)).toEqual({ state: 1, reason: 1 });
    expect(await f.driver.getState(saved)).toEqual({ state: 5, reason: 5 });
    expect(await f.driver.getInfo(beta)).toEqual({ state: 1, maxMem: 2048n * 1024n, memory: 2048n * 1024n, nrVirtCpu: 2, cpuTime: 0n });
    expect(await f.driver.hasManagedSaveImage(saved)).toBe(true);
    expect(await f.driver.hasManagedSaveImage(alpha)).toBe(false);
    expect(await f.driver.isActive(beta)).toBe(true);
    expect(await f.driver.isActive(saved)).toBe(false);
    expect(await f.driver.isPersistent(alpha)).toBe(true);
    expect(await f.driver.getAutostart(alpha)).toBe(true);
    expect(await f.driver.getAutostart(beta)).toBe(false);
    expect(await f.driver.getOsType(alpha)).toBe('hvm');
    expect(await f.driver.snapshotNum(alpha)).toBe(0);
    expect(await f.driver.getMessages(alpha)).toEqual([]);
    expect(await f.driver.getSecurityLabel(alpha)).toEqual({ label: '', enforcing: 0 });
    const live = await f.driver.getXmlDesc(beta, 0);
    expect(live).toContain(`<domain type='vbox' id='${beta.id}'>`);
    expect(live).toContain('<name>beta</name>');
    const inactive = await f.driver.getXmlDesc(beta, 2);
    expect(inactive).not.toContain('id=');
    const aliased = await f.driver.getXmlDesc(await f.driver.lookupByName('My VM'), 0);
    expect(aliased).toContain(`<name>My-VM-${f.uuids['My VM']!.slice(0, 8)}</name>`);
    await rejectsWith(f.driver.getXmlDesc(beta, 64), 8, /unsupported flags \(0x40\)/);
    // A request naming a VM that no longer exists (stale client handle).
    await rejectsWith(
      f.driver.getState({ name: 'ghost', uuid: '99999999-0000-4000-8000-000000000000', id: -1 }),
      42,
      "Domain not found: no domain with matching uuid '99999999-0000-4000-8000-000000000000' (ghost)",
    );
  });

  test('host: node info, version, capabilities, hostname', async () => {
    const n = await f.driver.nodeGetInfo();
    expect(['x86_64', 'aarch64']).toContain(n.model);
    expect(n.cpus).toBeGreaterThan(0);
    expect(n.memory).toBeGreaterThan(0n);
    expect(n.cores * n.sockets * n.threads * n.nodes).toBe(n.cpus);
    const hi = await f.host.hostInfo();
    expect(await f.driver.getVersion()).toBe(BigInt(parseVBoxVersion(hi.vboxVersion)));
    expect(await f.driver.getVersion()).toBeGreaterThan(6_000_000n);
    expect(f.driver.getLibVersion()).toBe(9_000_000n);
    expect(f.driver.getType()).toBe('VBOX');
    expect(await f.driver.getHostname()).toBe(hi.hostname);
    const caps = await f.driver.getCapabilities();
    expect(caps).toMatch(/^<capabilities>/);
    expect(caps).toContain(`<arch>${n.model}</arch>`);
  });
});

describe('lifecycle', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(() => teardown(f));

  test('start → running with a new id (what LOOKUP_BY_UUID returns); destroy → -1; restart → a larger id', async () => {
    const alpha = await f.driver.lookupByName('alpha');
    const beta = await f.driver.lookupByName('beta');
    const started = await f.driver.create(RW, alpha);
    expect(started.id).toBeGreaterThan(beta.id);
    expect(await f.driver.lookupByUuid(alpha.uuid)).toEqual(started);
    expect(await f.driver.getState(started)).toEqual({ state: 1, reason: 1 });
    expect(await f.host.getVm(alpha.uuid, { fresh: true })).toMatchObject({ state: 'running' });
    await rejectsWith(f.driver.create(RW, started), 55, 'Requested operation is not valid: domain is already running');
    await f.driver.destroy(RW, started);
    expect(await f.driver.getState(started)).toEqual({ state: 5, reason: 2 });
    expect((await f.driver.lookupByName('alpha')).id).toBe(-1);
    await rejectsWith(f.driver.destroy(RW, started), 55, 'Requested operation is not valid: domain is not running');
    await rejectsWith(f.driver.shutdown(RW, started), 55, 'Requested operation is not valid: domain is not running');
    await rejectsWith(f.driver.suspend(RW, started), 55, 'Requested operation is not valid: domain is not running');
    await rejectsWith(f.driver.reset(RW, started), 55, 'Requested operation is not valid: domain is not running');
    const again = await f.driver.create(RW, started);
    expect(again.id).toBeGreaterThan(started.id);
    expect(await f.driver.lookupById(started.id).catch((e: LibvirtError) => e.code)).toBe(42);
  });

  test('the live XML follows the VM: the id comes and goes with each run, a change shows at once', async () => {
    const alpha = await f.driver.lookupByName('alpha');
    const off = await f.driver.getXmlDesc(alpha, 0);
    expect(off.split('\n')[0]).toBe("<domain type='vbox'>");
    expect(await f.driver.getXmlDesc(alpha, 0)).toBe(off);
    const first = await f.driver.create(RW, alpha);
    expect((await f.driver.getXmlDesc(first, 0)).split('\n')[0]).toBe(`<domain type='vbox' id='${first.id}'>`);
    await f.driver.destroy(RW, first);
    expect(await f.driver.getXmlDesc(alpha, 0)).toBe(off);
    const second = await f.driver.create(RW, alpha);
    expect(second.id).toBeGreaterThan(first.id);
    expect((await f.driver.getXmlDesc(second, 0)).split('\n')[0]).toBe(`<domain type='vbox' id='${second.id}'>`);
    await f.driver.destroy(RW, second);
    await f.host.modifyVm(alpha.uuid, { memoryMB: 1536 }, { who: 'test' });
    const changed = await f.driver.getXmlDesc(alpha, 0);
    expect(changed).toContain(`<memory unit='KiB'>${1536 * 1024}</memory>`);
    expect(changed).not.toContain(`<memory unit='KiB'>${1024 * 1024}</memory>`);
  });

  test('the live XML follows the name: an alias becomes the real name once its twin is gone', async () => {
    const ctx = { who: 'test' };
    const one = await f.host.createVm({ name: 'twin', osType: 'Ubuntu_64' }, ctx);
    const two = await f.host.createVm({ name: 'twin-to-be', osType: 'Ubuntu_64' }, ctx);
    await f.host.modifyVm(two, { name: 'twin' }, ctx);
    const ref = await f.driver.lookupByUuid(two);
    expect(ref.name).toBe(`twin-${two.slice(0, 8)}`);
    expect(await f.driver.getXmlDesc(ref, 0)).toContain(`<name>twin-${two.slice(0, 8)}</name>`);
    await f.host.unregisterVm(one, ctx, { deleteFiles: true });
    const xml = await f.driver.getXmlDesc(ref, 0);
    expect(xml).toContain('<name>twin</name>');
    expect(xml).not.toContain('<title>');
  });

  test('start --paused, suspend/resume with reasons', async () => {
    const alpha = await f.driver.lookupByName('alpha');
    const p = await f.driver.create(RW, alpha, 1);
    expect(p.id).toBeGreaterThan(0);
    expect(await f.driver.getState(p)).toEqual({ state: 3, reason: 1 });
    await f.driver.resume(RW, p);
    expect(await f.driver.getState(p)).toEqual({ state: 1, reason: 5 });
    await rejectsWith(f.driver.resume(RW, p), 55, 'Requested operation is not valid: domain is not paused');
    await f.driver.suspend(RW, p);
    expect(await f.driver.getState(p)).toEqual({ state: 3, reason: 1 });
    await f.driver.suspend(RW, p); // already paused: nothing to do
    expect((await f.driver.lookupByName('alpha')).id).toBe(p.id);
    await rejectsWith(f.driver.create(RW, p, 2), 8, /unsupported flags \(0x2\) in function vboxDomainCreateWithFlags/);
  });

  test('managed save: save → shut off (saved) + image; start restores; managedsave-remove discards', async () => {
    const beta = await f.driver.lookupByName('beta');
    await f.driver.managedSave(RW, beta);
    expect(await f.driver.getState(beta)).toEqual({ state: 5, reason: 5 });
    expect(await f.driver.hasManagedSaveImage(beta)).toBe(true);
    expect((await f.driver.lookupByName('beta')).id).toBe(-1);
    expect((await f.driver.listAllDomains(ListFlags.MANAGEDSAVE)).map((d) => d.name).sort()).toEqual(['beta', 'saved-one']);
    const restored = await f.driver.create(RW, beta);
    expect(await f.driver.getState(restored)).toEqual({ state: 1, reason: 3 });
    expect(await f.driver.hasManagedSaveImage(restored)).toBe(false);

    const saved = await f.driver.lookupByName('saved-one');
    await f.driver.managedSaveRemove(RW, saved);
    expect(await f.driver.hasManagedSaveImage(saved)).toBe(false);
    expect(await f.driver.getState(saved)).toEqual({ state: 5, reason: 0 });
    await f.driver.managedSaveRemove(RW, saved); // nothing to remove: fine
    await rejectsWith(f.driver.managedSave(RW, saved), 55, 'Requested operation is not valid: domain is not running');
  });

  test('shutdown presses ACPI and returns; the guest powers off → shut off (shutdown)', async () => {
    const beta = await f.driver.lookupByName('beta');
    await f.driver.shutdown(RW, beta);
    const s = await until(f, beta, (x) => x.state === 5, 'power-off after ACPI');
    expect(s).toEqual({ state: 5, reason: 1 });
    expect((await f.driver.lookupByName('beta')).id).toBe(-1);
  });

  test('autostart on/off through modifyvm', async () => {
    const beta = await f.driver.lookupByName('saved-one');
    await f.driver.setAutostart(RW, beta, true);
    expect(await f.driver.getAutostart(beta)).toBe(true);
    expect((await f.host.getVm(beta.uuid, { fresh: true })).autostart).toBe(true);
    await f.driver.setAutostart(RW, beta, false);
    expect(await f.driver.getAutostart(beta)).toBe(false);
  });

  test('a read-only session is refused every change, with libvirt\'s message', async () => {
    const beta = await f.driver.lookupByName('beta');
    const e = await rejectsWith(f.driver.destroy(RO, beta), 29, 'operation forbidden: read only access prevents virDomainDestroy');
    expect(e.domain).toBe(25);
    await rejectsWith(f.driver.create(RO, beta), 29, /virDomainCreateWithFlags/);
    await rejectsWith(f.driver.setAutostart(RO, beta, true), 29, /virDomainSetAutostart/);
    expect(await f.driver.getState(beta)).toEqual({ state: 1, reason: 1 });
  });

  test('concurrent starts of one VM: exactly one succeeds, the other is told it is already running', async () => {
    const alpha = await f.driver.lookupByName('alpha');
    const results = await Promise.allSettled([f.driver.create(RW, alpha), f.driver.create(RW, alpha)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as LibvirtError).message).toBe('Requested operation is not valid: domain is already running');
  });
});

describe('VirtualBox failures become libvirt errors', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await teardown(f);
    f = undefined;
  });

  test('a VM dying during power-up → internal error with VirtualBox\'s own message', async () => {
    f = await fixture();
    // vboxsim.json is re-read on every invocation: from now on, alpha dies while powering up.
    await writeFile(path.join(f.dir, 'vboxsim.json'), JSON.stringify({ faults: [{ mode: 'vm-dies-on-start', command: 'startvm', vm: f.uuids.alpha }] }));
    const alpha = await f.driver.lookupByName('alpha');
    const e = await rejectsWith(f.driver.create(RW, alpha), 1, /^internal error: .*terminated unexpectedly/);
    expect(e.domain).toBe(25);
    expect((await f.driver.lookupByName('alpha')).id).toBe(-1);
  });
});

describe('reboot emulation', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await teardown(f);
    f = undefined;
  });

  test('guest honours ACPI: it powers off, the driver starts it again (new id), reply was immediate', async () => {
    f = await fixture({}, { rebootTimeoutMs: 20_000 });
    const beta = await f.driver.lookupByName('beta');
    await f.driver.reboot(RW, beta);
    expect(f.driver.pendingReboots).toBe(1);
    await f.driver.waitForReboot(beta.uuid);
    const after = await f.driver.lookupByName('beta');
    expect(after.id).toBeGreaterThan(beta.id);
    expect(await f.driver.getState(after)).toEqual({ state: 1, reason: 1 });
    expect(f.driver.pendingReboots).toBe(0);
  });

  test('guest ignores ACPI: after the timeout the VM is reset and keeps running with the same id', async () => {
    f = await fixture({ VBOXSIM_ACPI_IGNORE: '1' }, { rebootTimeoutMs: 200 });
    const beta = await f.driver.lookupByName('beta');
    await f.driver.reboot(RW, beta);
    await f.driver.waitForReboot(beta.uuid);
    expect(await f.driver.lookupByName('beta')).toEqual(beta);
    expect(await f.driver.getState(beta)).toEqual({ state: 1, reason: 1 });
  });

  test('destroy cancels a pending reboot: the VM stays off', async () => {
    f = await fixture({ VBOXSIM_ACPI_IGNORE: '1' }, { rebootTimeoutMs: 60_000 });
    const beta = await f.driver.lookupByName('beta');
    await f.driver.reboot(RW, beta);
    expect(f.driver.pendingReboots).toBe(1);
    await f.driver.destroy(RW, beta);
    expect(f.driver.pendingReboots).toBe(0);
    expect(await f.driver.getState(beta)).toEqual({ state: 5, reason: 2 });
  });

  test('reboot of a stopped domain is refused; unsupported modes are refused', async () => {
    f = await fixture();
    const alpha = await f.driver.lookupByName('alpha');
    await rejectsWith(f.driver.reboot(RW, alpha), 55, 'Requested operation is not valid: domain is not running');
    const beta = await f.driver.lookupByName('beta');
    await rejectsWith(f.driver.reboot(RW, beta, 2), 8, /unsupported flags \(0x2\) in function vboxDomainReboot/);
  });

  test('close() stops pending reboots and leaves no timer behind', async () => {
    f = await fixture({ VBOXSIM_ACPI_IGNORE: '1' }, { rebootTimeoutMs: 60_000 });
    const beta = await f.driver.lookupByName('beta');
    await f.driver.reboot(RW, beta);
    await f.driver.close();
    expect(f.driver.pendingReboots).toBe(0);
    await rejectsWith(f.driver.destroy(RW, beta), 55, /shutting down/);
  });
});

describe('CONNECT_OPEN names', () => {
  const d = new VBoxDriver({} as never);
  test.each(['qemu:///system', 'qemu:///session', 'vbox:///session', 'vbox:///system', 'test:///default', 'qemu://', 'qemu:///', 'test:///default?foo=bar'])(
    'accepts %s',
    (name) => {
      expect(d.open(name, 0).uri).toBe(name.split('?')[0]);
    },
  );
  test('accepts the name-less open as qemu:///system; flags RO make the session read-only', () => {
    expect(d.open(null, 0)).toMatchObject({ uri: 'qemu:///system', readOnly: false, who: 'local' });
    expect(d.open('qemu:///system', 1).readOnly).toBe(true);
    expect(d.open('qemu:///system', 0, { transport: 'ssh', address: '10.0.0.1:22', user: 'maas', readOnlyTransport: true })).toMatchObject({
      readOnly: true,
      who: 'ssh:maas@10.0.0.1:22',
    });
  });
  test.each(['xen:///system', 'lxc:///', 'qemu:///embed', 'garbage'])('refuses %s like libvirtd (5/0)', (name) => {
    let err: unknown;
    try {
      d.open(name, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LibvirtError);
    expect((err as LibvirtError).code).toBe(5);
    expect((err as LibvirtError).domain).toBe(0);
    expect((err as LibvirtError).message).toBe(`no connection driver available for ${name}`);
  });
});

test('helpers: snapshot count, version parsing, kernel arch names', () => {
  const vm = { raw: { SnapshotName: 'a', 'SnapshotName-1': 'b', 'SnapshotName-1-1': 'c', SnapshotUUID: 'x', CurrentSnapshotName: 'c' } } as unknown as VmInfo;
  expect(snapshotCount(vm)).toBe(3);
  expect(parseVBoxVersion('7.0.18r162988')).toBe(7000018);
  expect(parseVBoxVersion('6.1.38_Ubuntur153438')).toBe(6001038);
  expect(parseVBoxVersion('garbage')).toBe(0);
  expect(kernelArch('arm64')).toBe('aarch64');
  expect(kernelArch('amd64')).toBe('x86_64');
  expect(kernelArch('x86_64')).toBe('x86_64');
});

describe('access policy', () => {
  let f: Fixture;
  beforeAll(async () => {
    const { parsePolicy } = await import('../../src/policy/index.js');
    f = await fixture({}, {
      policy: parsePolicy({
        default: 'deny',
        rules: [{ name: 'maas', match: { user: 'maas' }, see: ['name:alpha', 'name:beta'], change: ['name:alpha'] }],
      }),
    });
  });
  afterAll(() => teardown(f));

  const maas = () => f.driver.open('qemu:///system', 0, { transport: 'ssh', address: '10.0.0.5:4000', user: 'maas', authMethod: 'publickey' });
  const other = () => f.driver.open('qemu:///system', 0, { transport: 'tcp', address: '127.0.0.1:4000' });

  test('hidden VMs do not exist for the identity: lists, lookups by name, uuid and id', async () => {
    const s = maas();
    expect((await f.driver.listAllDomains(3, s)).map((d) => d.name).sort()).toEqual(['alpha', 'beta']);
    expect(await f.driver.numOfDefinedDomains(s)).toBe(1);
    await rejectsWith(f.driver.lookupByName('saved-one', s), 42, /no domain with matching name 'saved-one'/);
    await rejectsWith(f.driver.lookupByUuid(f.uuids['saved-one']!, s), 42, /matching uuid/);
    const o = other();
    expect(await f.driver.listAllDomains(3, o)).toEqual([]);
    const beta = await f.driver.lookupByName('beta');
    await rejectsWith(f.driver.lookupById(beta.id, o), 42, /matching id/);
    await rejectsWith(f.driver.getState(beta, 0, o), 42, /matching uuid/);
    expect(await f.driver.getState(beta, 0, s)).toEqual({ state: 1, reason: 1 });
  });

  test('a visible VM that may not be changed answers access denied; an allowed one works', async () => {
    const s = maas();
    const beta = await f.driver.lookupByName('beta', s);
    await rejectsWith(f.driver.destroy(s, beta), 88, /^access denied: ssh:maas@10\.0\.0\.5:4000 may not change domain 'beta'/);
    expect(await f.driver.getState(beta, 0, s)).toEqual({ state: 1, reason: 1 });
    const alpha = await f.driver.lookupByName('alpha', s);
    const started = await f.driver.create(s, alpha);
    expect(started.id).toBeGreaterThan(0);
    await f.driver.destroy(s, started);
  });
});
