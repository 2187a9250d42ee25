/**
 * VBoxManageHost over the simulator in this process (InProcessSimRunner): the
 * VM life cycle, the cache's invocation counts (from the simulator's own
 * invocation log), lock retries, timeouts, faults, factories. The same
 * life-cycle suite over real process spawns is in host-spawned.test.ts.
 */
import { VBoxManageHost } from '../../src/vbox/host.js';
import { LocalRunner } from '../../src/vbox/runner.js';
import { createSimHost } from '../../src/vbox/index.js';
import { VBoxError } from '../../src/vbox/types.js';
import { captureLogger, CountingRunner, invocations, sim, simCreate, simOk, simSettings, VBOXSIM_BIN } from './helpers.js';
import { hangTimeoutTest, lifecycleTests, useHostFixtures, who } from './hostsuite.js';

const fx = useHostFixtures();
const home = () => fx.home();
const makeHost = fx.makeHost;
const hosts = { push: (h: VBoxManageHost) => fx.track(h) };

describe('VBoxManageHost over the in-process simulator', () => {
  lifecycleTests('in-process', fx);
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

  test('a failing refresh is shared too: 20 callers during a VBoxSVC outage cost 2 runs and all get the error', async () => {
    const h = home();
    await simCreate(h, 'a');
    simSettings(h, { log: true, faults: [{ mode: 'svc-down', count: 1000, id: 'down' }] });
    const host = makeHost('in-process', h, { cacheTtlMs: 60_000 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => host.listVms()));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as VBoxError).kind === 'unavailable')).toBe(true);
    expect(invocations(h)).toHaveLength(2);
    simSettings(h, { log: true });
    expect(await host.listVms()).toHaveLength(1); // recovers on the next call
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

describe('lock retries', () => {
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
});

describe('timeouts and simulator faults', () => {
  hangTimeoutTest('in-process', fx);

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
