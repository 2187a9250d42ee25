/**
 * VBoxManageHost over real process spawns (LocalRunner → bin/vboxsim.js, one
 * process per command): the life-cycle suite, serialisation, real session-lock
 * collisions between two daemons, the process bound, a hanging command, and
 * crash / garbage / error-with-exit-0 / VBoxSVC-down faults.
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

describe('VBoxManageHost over spawned vboxsim', () => {
  lifecycleTests('spawned', fx);
});

describe('serialisation, lock collisions, process bound', () => {
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

  test('concurrent starts of distinct VMs overlap: startvm has its own bound, reads are not queued behind it, one read after each start', async () => {
    const h = home();
    const n = 20;
    const uuids: string[] = [];
    for (let i = 0; i < n; i++) uuids.push(await simCreate(h, `burst-${i}`));
    // each startvm takes 300 ms in the simulator; log every invocation from now on
    simSettings(h, { startMs: 300, log: true });
    const host = makeHost('spawned', h, { maxProcs: 2, maxChangeProcs: 6 });
    await Promise.all(uuids.map((u) => host.startVm(u, who)));

    const log = invocations(h);
    const starts = log.filter((e) => e.argv[0] === 'startvm');
    expect(starts.map((e) => e.exitCode)).toEqual(Array(n).fill(0));
    // one startvm per VM, none twice
    expect(new Set(starts.map((e) => e.argv[1])).size).toBe(n);
    expect(starts).toHaveLength(n);
    // overlap observed from the simulator's own log: intervals [time, time + durationMs]
    const edges = starts.flatMap((e) => [
      { at: Date.parse(e.time), d: 1 },
      { at: Date.parse(e.time) + e.durationMs, d: -1 },
    ]).sort((x, y) => x.at - y.at || x.d - y.d);
    let cur = 0;
    let maxStartvm = 0;
    for (const e of edges) maxStartvm = Math.max(maxStartvm, (cur += e.d));
    expect(maxStartvm).toBeGreaterThan(1);
    expect(maxStartvm).toBeLessThanOrEqual(6);
    const st = host.stats();
    expect(st.maxConcurrentChanges).toBeGreaterThan(1);
    expect(st.maxConcurrentChanges).toBeLessThanOrEqual(6);
    expect(st.maxConcurrentReads).toBeLessThanOrEqual(2);
    expect(st.maxConcurrent).toBeLessThanOrEqual(2 + 6);
    // a start costs at most one showvminfo before (cold cache) and one after
    expect(st.byCommand.startvm).toBe(n);
    expect(st.byCommand.showvminfo).toBeLessThanOrEqual(2 * n);
    // every VM ends running, as the simulator (not the host's cache) says
    for (const u of uuids) expect(await simOk(h, 'showvminfo', u, '--machinereadable')).toMatch(/^VMState="running"$/m);
  });
});

describe('timeouts and faults', () => {
  hangTimeoutTest('spawned', fx);

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
});
