/**
 * VBoxManageHost against the simulator, both in-process (InProcessSimRunner)
 * and through real process spawns (LocalRunner → bin/vboxsim.js): the whole VM
 * life cycle with a hostile name, errors, the cache's invocation counts (from
 * the simulator's own invocation log), per-VM serialisation, lock retries
 * against real lock collisions, the process bound, timeouts and the
 * simulator's fault modes.
 */
import { execFileSync } from 'node:child_process';
import { VBoxManageHost } from '../../src/vbox/host.js';
import { InProcessSimRunner, LocalRunner, type Runner } from '../../src/vbox/runner.js';
import { createSimHost } from '../../src/vbox/index.js';
import { VBoxError } from '../../src/vbox/types.js';
import {
  builtSimExists, captureLogger, CountingRunner, invocations, PROJECT, removeHome, sim, simCreate, simOk, simSettings, tempHome, VBOXSIM_BIN,
} from './helpers.js';

const who = { who: 'test:alice@127.0.0.1' };
const HOSTILE = `it's a "VM" $(x) \`y\` ; & | % ! ^ ☃`;
const homes: string[] = [];
const hosts: VBoxManageHost[] = [];

function home(): string {
  const h = tempHome('vboxvirt-host-');
  homes.push(h);
  return h;
}

type Kind = 'in-process' | 'spawned';
function makeRunner(kind: Kind, h: string, env: Record<string, string> = {}): Runner {
  return kind === 'in-process'
    ? new InProcessSimRunner({ home: h, env })
    : new LocalRunner({ vboxmanage: VBOXSIM_BIN, vboxUserHome: h, env: { HOME: h, ...env } });
}
function makeHost(kind: Kind, h: string, opts: Partial<ConstructorParameters<typeof VBoxManageHost>[0]> = {}, env: Record<string, string> = {}) {
  const host = new VBoxManageHost({ runner: makeRunner(kind, h, env), cacheTtlMs: 60_000, pollIntervalMs: 50, ...opts });
  hosts.push(host);
  return host;
}

beforeAll(() => {
  if (!builtSimExists()) execFileSync('npx', ['tsc', '-p', '.'], { cwd: PROJECT, stdio: 'ignore' }).toString();
});
afterAll(async () => {
  for (const h of hosts) await h.close();
  for (const h of homes) removeHome(h);
});

describe.each<Kind>(['in-process', 'spawned'])('VBoxManageHost over the simulator (%s)', (kind) => {
  test('life cycle of a VM with a hostile name', async () => {
    const h = home();
    simSettings(h, { startMs: 50, stoppingMs: 20, acpiDelayMs: 50 });
    const { logger, entries } = captureLogger();
    const host = makeHost(kind, h, { logger, cacheTtlMs: 1000 });
    expect(await host.listVms()).toEqual([]);

    const uuid = await host.createVm(
      { name: HOSTILE, osType: 'Ubuntu_64', changes: { memoryMB: 768, cpus: 2, boot: ['net', 'disk'], nics: [{ slot: 1, mac: '08:00:27:aa:bb:cc' }] } },
      who,
    );
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    const list = await host.listVms();
    expect(list).toEqual([{ uuid, name: HOSTILE, accessible: true, state: 'poweroff', stateFromDetails: expect.any(Boolean) }]);
    let vm = await host.getVm(uuid);
    expect(vm).toMatchObject({ uuid, name: HOSTILE, state: 'poweroff', memoryMB: 768, cpus: 2, boot: ['net', 'disk', 'none', 'none'] });
    expect(vm.nics[0]).toMatchObject({ slot: 1, attachment: 'nat', mac: '080027AABBCC' });

    await host.modifyVm(uuid, { description: 'line 1\nline "2"', memoryMB: 1024, boot: ['disk'] }, who);
    vm = await host.getVm(uuid);
    expect(vm).toMatchObject({ description: 'line 1\nline "2"', memoryMB: 1024, boot: ['disk', 'none', 'none', 'none'] });

    await host.startVm(uuid, who);
    expect((await host.getVm(uuid)).state).toBe('running');
    expect((await host.listVms())[0]).toMatchObject({ uuid, state: 'running' });
    await host.pause(uuid, who);
    expect((await host.getVm(uuid)).state).toBe('paused');
    expect((await host.listVms())[0]).toMatchObject({ state: 'paused', stateFromDetails: true });
    await host.resume(uuid, who);
    await host.reset(uuid, who);
    expect((await host.getVm(uuid)).state).toBe('running');
    await host.saveState(uuid, who);
    vm = await host.getVm(uuid);
    expect(vm.state).toBe('saved');
    expect(vm.stateFile).toBeTruthy();
    await host.startVm(uuid, who); // a saved VM is restored by start
    expect((await host.getVm(uuid)).state).toBe('running');
    await host.acpiPowerButton(uuid, who);
    // the guest reacts later: poll like the driver would
    for (let i = 0; i < 100 && (await host.getVm(uuid, { fresh: true })).state !== 'poweroff'; i++) await new Promise((r) => setTimeout(r, 30));
    expect((await host.getVm(uuid)).state).toBe('poweroff');

    await host.startVm(uuid, who, { paused: true });
    expect((await host.getVm(uuid)).state).toBe('paused');
    await host.saveState(uuid, who);
    await host.discardState(uuid, who);
    expect((await host.getVm(uuid)).state).toBe('poweroff');

    await host.unregisterVm(uuid, who, { deleteFiles: true });
    expect(await host.listVms()).toEqual([]);
    await expect(host.getVm(uuid)).rejects.toMatchObject({ kind: 'not-found' });

    // every change logged at info with who asked
    const changes = entries.filter((e) => e.level === 'info');
    expect(changes.map((e) => e.op)).toEqual(expect.arrayContaining(['create', 'modify', 'start', 'pause', 'resume', 'reset', 'save-state', 'acpi-power-button', 'discard-state', 'unregister-delete']));
    expect(changes.every((e) => e.who === who.who)).toBe(true);
    const start = changes.find((e) => e.op === 'start')!;
    expect(start).toMatchObject({ uuid, before: 'poweroff', after: 'running' });
  });

  test('VMs are addressed by UUID in argv, never by name', async () => {
    const h = home();
    simSettings(h, { startMs: 10, log: true });
    const uuid = await simCreate(h, '-evil --name');
    const host = makeHost(kind, h);
    await host.modifyVm(uuid, { cpus: 2 }, who);
    await host.startVm(uuid, who);
    await host.powerOff(uuid, who);
    const log = invocations(h).filter((l) => ['modifyvm', 'startvm', 'controlvm', 'showvminfo'].includes(l.argv[0]));
    expect(log.length).toBeGreaterThan(4);
    for (const l of log) expect(l.argv[1]).toBe(uuid);
    expect(log.find((l) => l.argv[0] === 'startvm')!.argv).toEqual(['startvm', uuid, '--type', 'headless']);
  });

  test('errors are typed: not-found, not-running, invalid-state, invalid-argument (before running anything)', async () => {
    const h = home();
    simSettings(h, { startMs: 10 });
    const uuid = await simCreate(h, 'e1');
    const host = makeHost(kind, h, { lockRetry: { attempts: 2, baseDelayMs: 50 } });
    await expect(host.getVm('0a0b0c0d-1111-2222-3333-444455556666')).rejects.toMatchObject({ kind: 'not-found', vboxCode: 'VBOX_E_OBJECT_NOT_FOUND' });
    await expect(host.powerOff(uuid, who)).rejects.toMatchObject({ kind: 'not-running' });
    await expect(host.resume(uuid, who)).rejects.toMatchObject({ kind: 'not-running' });
    await host.startVm(uuid, who);
    await expect(host.startVm(uuid, who)).rejects.toMatchObject({ kind: 'invalid-state' });
    await expect(host.resume(uuid, who)).rejects.toMatchObject({ kind: 'invalid-state' });
    await expect(host.modifyVm(uuid, { memoryMB: 2048 }, who)).rejects.toMatchObject({ kind: 'locked' });
    await host.powerOff(uuid, who);
    const before = host.stats().runs;
    await expect(host.getVm('not-a-uuid')).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.modifyVm(uuid, { nics: [{ slot: 1, mac: 'zz:00:27:aa:bb:cc' }] }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.modifyVm(uuid, { boot: ['usb'] }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.modifyVm(uuid, { memoryMB: 1.5 }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.modifyVm(uuid, { name: 'a\0b' }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(host.createVm({ name: '' }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
    expect(host.stats().runs).toBe(before);
    // VirtualBox's own validation
    await expect(host.modifyVm(uuid, { memoryMB: 100_000_000 }, who)).rejects.toBeInstanceOf(VBoxError);
    await expect(host.createVm({ name: 'x', osType: 'NoSuchOs' }, who)).rejects.toMatchObject({ kind: 'invalid-argument' });
  });

  test('a failing modifyvm after createvm removes the half-made VM', async () => {
    const h = home();
    const host = makeHost(kind, h);
    await expect(host.createVm({ name: 'half', changes: { memoryMB: 100_000_000 } }, who)).rejects.toBeInstanceOf(VBoxError);
    expect(await host.listVms()).toEqual([]);
  });
});

describe('snapshot cache: invocation counts (simulator invocation log)', () => {
  test('a sweep over 100 VMs costs 2 VBoxManage runs per snapshot refresh, concurrent callers share one refresh', async () => {
    const h = home();
    const uuids: string[] = [];
    for (let i = 0; i < 100; i++) uuids.push(await simCreate(h, `vm ${i}`));
    for (const u of uuids.slice(0, 10)) await simOk(h, 'startvm', u, '--type', 'headless');
    simSettings(h, { log: true, delays: { list: 30 } });
    const host = makeHost('in-process', h, { cacheTtlMs: 500 });

    // 20 clients at once, each looking up every VM's state
    const sweeps = await Promise.all(Array.from({ length: 20 }, () => host.listVms()));
    for (const s of sweeps) {
      expect(s).toHaveLength(100);
      expect(s.filter((v) => v.state === 'running').map((v) => v.uuid).sort()).toEqual(uuids.slice(0, 10).sort());
    }
    let log = invocations(h);
    expect(log.map((l) => l.argv.join(' ')).sort()).toEqual(['list runningvms', 'list vms']);
    // more sweeps within the TTL: no new runs
    for (let i = 0; i < 10; i++) await host.listVms();
    expect(invocations(h)).toHaveLength(2);
    // after the TTL: exactly one more refresh
    await new Promise((r) => setTimeout(r, 600));
    await Promise.all([host.listVms(), host.listVms(), host.listVms()]);
    log = invocations(h);
    expect(log).toHaveLength(4);
    expect(host.stats().byCommand).toEqual({ 'list vms': 2, 'list runningvms': 2 });
  });

  test('details are cached, refine list state, and are dropped when the VM changes running-ness behind our back', async () => {
    const h = home();
    simSettings(h, { startMs: 10 });
    const a = await simCreate(h, 'a');
    await simOk(h, 'startvm', a, '--type', 'headless');
    await simOk(h, 'controlvm', a, 'pause');
    const host = makeHost('in-process', h, { cacheTtlMs: 200 });
    expect((await host.listVms())[0]).toMatchObject({ state: 'running', stateFromDetails: false }); // list alone: "running or paused"
    expect((await host.getVm(a)).state).toBe('paused');
    await host.getVm(a);
    expect(host.stats().byCommand.showvminfo).toBe(1);
    expect((await host.listVms())[0]).toMatchObject({ state: 'paused', stateFromDetails: true });
    // another tool powers it off
    await simOk(h, 'controlvm', a, 'poweroff');
    await new Promise((r) => setTimeout(r, 250));
    expect((await host.listVms())[0]).toMatchObject({ state: 'poweroff', stateFromDetails: false });
    expect((await host.getVm(a)).state).toBe('poweroff');
    expect(host.stats().byCommand.showvminfo).toBe(2);
    // fresh forces a re-read
    await host.getVm(a, { fresh: true });
    expect(host.stats().byCommand.showvminfo).toBe(3);
  });

  test('our own change refreshes the snapshot at once, even within the TTL', async () => {
    const h = home();
    simSettings(h, { startMs: 10 });
    const a = await simCreate(h, 'a');
    const host = makeHost('in-process', h, { cacheTtlMs: 60_000 });
    expect((await host.listVms())[0].state).toBe('poweroff');
    await host.startVm(a, who);
    expect((await host.listVms())[0]).toMatchObject({ state: 'running' });
    const b = await host.createVm({ name: 'b' }, who);
    expect((await host.listVms()).map((v) => v.uuid)).toEqual([a, b]);
  });

  test('an empty host logs one warning naming the user and VBOX_USER_HOME', async () => {
    const h = home();
    const { logger, entries } = captureLogger();
    const host = makeHost('in-process', h, { cacheTtlMs: 0, logger });
    await host.listVms();
    await host.listVms();
    const warns = entries.filter((e) => e.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(String(warns[0].message)).toMatch(/per OS user and per VBOX_USER_HOME/);
    expect(warns[0].vboxUserHome).toBe(h);
    expect(warns[0].user).toBeTruthy();
  });
});

describe('serialisation, lock retries, process bound', () => {
  test('concurrent changes to one VM through one host are serialised (no lock errors, no retries)', async () => {
    const h = home();
    simSettings(h, { delays: { modifyvm: 80, showvminfo: 20 } });
    const a = await simCreate(h, 'a');
    const host = makeHost('spawned', h, { lockRetry: { attempts: 1 } });
    await Promise.all([
      host.modifyVm(a, { memoryMB: 600 }, who),
      host.modifyVm(a, { cpus: 3 }, who),
      host.modifyVm(a, { description: 'x' }, who),
      host.getVm(a, { fresh: true }),
    ]);
    expect(await host.getVm(a, { fresh: true })).toMatchObject({ memoryMB: 600, cpus: 3, description: 'x' });
    expect(host.stats().lockRetries).toBe(0);
  });

  test('two daemons changing one VM at once: real session-lock collisions are retried with back-off', async () => {
    const h = home();
    // modifyvm holds the VM's write lock for 2 s; the second daemon arrives while it is held
    simSettings(h, { delays: { modifyvm: 2000 } });
    const a = await simCreate(h, 'a');
    const one = makeHost('spawned', h, { lockRetry: { attempts: 20, baseDelayMs: 100, maxDelayMs: 400 } });
    const two = makeHost('spawned', h, { lockRetry: { attempts: 20, baseDelayMs: 100, maxDelayMs: 400 } });
    await Promise.all([one.getVm(a), two.getVm(a)]);
    await Promise.all([
      one.modifyVm(a, { memoryMB: 700 }, who),
      new Promise((r) => setTimeout(r, 500)).then(() => two.modifyVm(a, { cpus: 4 }, who)),
    ]);
    expect(await one.getVm(a, { fresh: true })).toMatchObject({ memoryMB: 700, cpus: 4 });
    expect(one.stats().lockRetries + two.stats().lockRetries).toBeGreaterThan(0);
  });

  test('the unlock window after poweroff is ridden out by retries', async () => {
    const h = home();
    simSettings(h, { startMs: 10, unlockMs: 400 });
    const a = await simCreate(h, 'a');
    const host = makeHost('in-process', h, { lockRetry: { attempts: 10, baseDelayMs: 50, maxDelayMs: 200 } });
    await host.startVm(a, who);
    await host.powerOff(a, who);
    await host.modifyVm(a, { boot: ['net', 'disk'] }, who);
    expect((await host.getVm(a)).boot).toEqual(['net', 'disk', 'none', 'none']);
    expect(host.stats().lockRetries).toBeGreaterThan(0);
  });

  test('injected lock faults: retried up to the limit, then a typed locked error', async () => {
    const h = home();
    const a = await simCreate(h, 'a');
    simSettings(h, { faults: [{ mode: 'lock', command: 'modifyvm', count: 2, id: 'two' }] });
    const host = makeHost('in-process', h, { lockRetry: { attempts: 3, baseDelayMs: 10 } });
    await host.modifyVm(a, { cpus: 2 }, who);
    expect(host.stats().lockRetries).toBe(2);
    simSettings(h, { faults: [{ mode: 'lock', command: 'modifyvm', count: 5, id: 'five' }] });
    const err = await host.modifyVm(a, { cpus: 3 }, who).catch((e) => e);
    expect(err).toMatchObject({ kind: 'locked', vboxCode: 'VBOX_E_INVALID_OBJECT_STATE' });
    expect(host.stats().lockRetries).toBe(4);
  });

  test('at most maxProcs VBoxManage processes at once', async () => {
    const h = home();
    simSettings(h, { delays: { showvminfo: 100 } });
    const uuids: string[] = [];
    for (let i = 0; i < 8; i++) uuids.push(await simCreate(h, `p${i}`));
    const counting = new CountingRunner(new LocalRunner({ vboxmanage: VBOXSIM_BIN, vboxUserHome: h, env: { HOME: h } }));
    const host = new VBoxManageHost({ runner: counting, maxProcs: 3 });
    hosts.push(host);
    await Promise.all(uuids.map((u) => host.getVm(u)));
    expect(counting.calls).toHaveLength(8);
    expect(counting.maxInFlight).toBe(3);
    expect(host.stats().maxConcurrent).toBe(3);
  });
});

describe('timeouts and simulator faults', () => {
  test.each<Kind>(['in-process', 'spawned'])('a hanging VBoxManage times out (%s)', async (kind) => {
    const h = home();
    const a = await simCreate(h, 'a');
    simSettings(h, { faults: [{ mode: 'hang', command: 'showvminfo', count: 1, id: 'h1' }] });
    const host = makeHost(kind, h, { timeoutMs: 700 });
    await expect(host.getVm(a)).rejects.toMatchObject({ kind: 'timeout' });
    // the next call works (fault used up)
    expect((await host.getVm(a)).uuid).toBe(a);
  });

  test('a crash, garbage output and an error with exit code 0 are failures, never wrong answers', async () => {
    const h = home();
    const a = await simCreate(h, 'a');
    const host = makeHost('spawned', h, { cacheTtlMs: 0, lockRetry: { attempts: 1 } });
    simSettings(h, { faults: [{ mode: 'crash', command: 'showvminfo', count: 1, id: 'c' }] });
    await expect(host.getVm(a)).rejects.toMatchObject({ kind: 'failed' });
    simSettings(h, { faults: [{ mode: 'garbage', command: 'showvminfo', count: 1, id: 'g' }] });
    await expect(host.getVm(a)).rejects.toMatchObject({ kind: 'failed' });
    simSettings(h, { faults: [{ mode: 'garbage', command: 'list', count: 1, id: 'g2' }] });
    await expect(host.listVms()).rejects.toBeInstanceOf(VBoxError);
    simSettings(h, { faults: [{ mode: 'error-exit0', command: 'showvminfo', count: 1, id: 'e0' }] });
    await expect(host.getVm(a)).rejects.toMatchObject({ vboxCode: 'E_ACCESSDENIED' });
    simSettings(h, { faults: [{ mode: 'svc-down', count: 1, id: 's' }] });
    await expect(host.listVms()).rejects.toMatchObject({ kind: 'unavailable' });
    simSettings(h, {});
    expect((await host.listVms()).map((v) => v.uuid)).toEqual([a]);
  });

  test('a VM that dies during power-up: startVm fails with the reason, state re-read', async () => {
    const h = home();
    const a = await simCreate(h, 'a');
    simSettings(h, { startMs: 10, faults: [{ mode: 'vm-dies-on-start', command: 'startvm', count: 1, id: 'd' }] });
    const host = makeHost('in-process', h);
    const err = await host.startVm(a, who).catch((e) => e);
    expect(err).toBeInstanceOf(VBoxError);
    expect(err.kind).toBe('failed');
    expect(['poweroff', 'aborted']).toContain((await host.getVm(a)).state);
  });
});

describe('factories', () => {
  test('createSimHost works on an empty home and closes', async () => {
    const h = home();
    const host = createSimHost({ home: h, cacheTtlMs: 10 });
    expect(await host.listVms()).toEqual([]);
    const info = await host.hostInfo();
    expect(info.vboxVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.cpuCount).toBeGreaterThan(0);
    expect(info.memoryKiB).toBeGreaterThan(0);
    await host.close();
    await expect(host.listVms()).rejects.toMatchObject({ kind: 'unavailable' });
  });

  test('direct sim helper sanity: the simulator is the real thing', async () => {
    const h = home();
    const r = await sim(h, 'showvminfo', 'nope');
    expect(r.exitCode).toBe(1);
  });
});
