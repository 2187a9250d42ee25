/**
 * What a lookup + GetState sweep costs in VBoxManage runs, and what it answers,
 * on a real simulated VirtualBox host with 100 VMs (createSimHost: the
 * simulator's command line run in-process, state on disk in a temp dir).
 * Invocations are counted by the host itself (`host.stats()`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSimHost, type VBoxManageHost } from '../../src/vbox/index.js';
import { VBoxDriver, type Session } from '../../src/driver/driver.js';

const FAST = { VBOXSIM_START_MS: '20', VBOXSIM_ACPI_DELAY_MS: '50', VBOXSIM_STOPPING_MS: '20' };
const RW: Session = { uri: 'qemu:///system', readOnly: false, who: 'test:state-cost' };
const N = 100;

let dir: string;
let host: VBoxManageHost;
let driver: VBoxDriver;
/** name → uuid, in creation order */
const vms: Array<{ name: string; uuid: string; running: boolean }> = [];
/** Host instances standing for "someone else" (VirtualBox GUI, another script). */
const others: VBoxManageHost[] = [];

function outsider(): VBoxManageHost {
  const h = createSimHost({ home: dir, env: FAST, cacheTtlMs: 0 });
  others.push(h);
  return h;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vboxvirt-statecost-'));
  // a long list cache: the run counts below must not depend on how fast this machine is
  host = createSimHost({ home: dir, env: FAST, cacheTtlMs: 600_000, detailsMaxAgeMs: 600_000 });
  const ctx = { who: 'fixture' };
  for (let i = 0; i < N; i++) {
    const name = `vm-${String(i).padStart(3, '0')}`;
    const uuid = await host.createVm({ name, osType: 'Ubuntu_64', changes: { memoryMB: 256, cpus: 1 } }, ctx);
    vms.push({ name, uuid, running: i % 4 === 0 });
  }
  for (const v of vms) if (v.running) await host.startVm(v.uuid, ctx);
  driver = new VBoxDriver(host, { rebootPollMs: 25 });
}, 60_000);

afterAll(async () => {
  await driver?.close();
  for (const h of others) await h.close();
  await host?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** lookup + GetState for every VM, as `virsh domstate <name>` does; returns the VBoxManage runs it cost. */
async function sweep(): Promise<{ runs: number; showvminfo: number; states: Map<string, { state: number; reason: number }> }> {
  const before = host.stats();
  const states = new Map<string, { state: number; reason: number }>();
  for (const v of vms) {
    const dom = await driver.lookupByName(v.name, RW);
    expect(dom.uuid).toBe(v.uuid);
    states.set(v.name, await driver.getState(dom, 0, RW));
  }
  const after = host.stats();
  return { runs: after.runs - before.runs, showvminfo: (after.byCommand.showvminfo ?? 0) - (before.byCommand.showvminfo ?? 0), states };
}

describe('lookup + GetState over 100 VMs', () => {
  it('costs at most 2 VBoxManage runs with no details cached, and every state is right', async () => {
    host.invalidate(); // cold: no list, no details
    const r = await sweep();
    expect(r.runs).toBeLessThanOrEqual(2);
    expect(r.showvminfo).toBe(0);
    for (const v of vms) expect(r.states.get(v.name)).toEqual(v.running ? { state: 1, reason: 1 } : { state: 5, reason: 0 });
    // the presented view was built once for the whole sweep, not per RPC
    const builds = driver.viewRebuilds;
    const again = await sweep();
    expect(again.runs).toBe(0);
    expect(driver.viewRebuilds).toBe(builds);
    expect(again.states).toEqual(r.states);
  });

  it('once the view is current, lookup and GetState answer synchronously, with the same answers as the async calls', async () => {
    await sweep(); // view current
    const list1 = await host.listVms();
    expect(await host.listVms()).toBe(list1); // same array: no O(VMs) rebuild per call
    expect(host.peekVms()).toBe(list1);
    for (const v of vms) {
      const dom = driver.lookupByNameNow(v.name, RW);
      expect(dom).toEqual(await driver.lookupByName(v.name, RW));
      expect(driver.getStateNow(dom!, 0, RW)).toEqual(await driver.getState(dom!, 0, RW));
    }
    // unknown names and bad flags: the sync path defers or throws exactly like the async one
    expect(driver.lookupByNameNow('no-such-vm', RW)).toBeUndefined();
    await expect(driver.lookupByName('no-such-vm', RW)).rejects.toMatchObject({ code: 42 });
    expect(() => driver.getStateNow(driver.lookupByNameNow(vms[0]!.name, RW)!, 1, RW)).toThrow(/unsupported flags/);
    // details read since (a dominfo): a new list array, and the sync path waits for it
    await driver.getInfo(driver.lookupByNameNow(vms[1]!.name, RW)!, RW);
    expect(host.peekVms()).toBeUndefined();
    const list2 = await host.listVms();
    expect(list2).not.toBe(list1);
    expect(list2.find((x) => x.uuid === vms[1]!.uuid)!.stateFromDetails).toBe(true);
    // an invalidated snapshot: nothing answers synchronously until the list is re-read
    host.invalidate();
    expect(host.peekVms()).toBeUndefined();
    expect(driver.lookupByNameNow(vms[0]!.name, RW)).toBeUndefined();
    expect(driver.getStateNow({ name: vms[0]!.name, uuid: vms[0]!.uuid, id: -1 }, 0, RW)).toBeUndefined();
    await sweep();
    expect(driver.lookupByNameNow(vms[0]!.name, RW)?.uuid).toBe(vms[0]!.uuid);
  });

  it('reflects our own pause without a showvminfo, even once the details are gone', async () => {
    const v = vms.find((x) => x.running)!;
    const dom = await driver.lookupByName(v.name, RW);
    await driver.suspend(RW, dom);
    host.invalidate(); // details expired (MAAS polls every few minutes)
    const r = await sweep();
    expect(r.runs).toBeLessThanOrEqual(2);
    expect(r.showvminfo).toBe(0);
    expect(r.states.get(v.name)).toEqual({ state: 3, reason: 1 }); // paused (user)
    await driver.resume(RW, dom);
    host.invalidate();
    expect((await sweep()).states.get(v.name)).toEqual({ state: 1, reason: 5 }); // running (unpaused)
  });

  it('a change still re-reads the VM before and after, and the sweep shows its result', async () => {
    const v = vms.find((x) => x.running && x.name !== vms[0]!.name)!;
    const dom = await driver.lookupByName(v.name, RW);
    const before = host.stats().byCommand.showvminfo ?? 0;
    await driver.destroy(RW, dom);
    expect((host.stats().byCommand.showvminfo ?? 0) - before).toBeGreaterThanOrEqual(2);
    host.invalidate();
    const r = await sweep();
    expect(r.runs).toBeLessThanOrEqual(2);
    expect(r.states.get(v.name)).toEqual({ state: 5, reason: 2 }); // shut off (destroyed)
    v.running = false;
    expect(await driver.isActive(dom, RW)).toBe(false);
    expect((await driver.lookupByName(v.name, RW)).id).toBe(-1);
  });

  it('a VM started outside vboxvirt reads running as soon as the list is re-read', async () => {
    const v = vms.find((x) => !x.running)!;
    await outsider().startVm(v.uuid, { who: 'someone else' });
    host.invalidate();
    const r = await sweep();
    expect(r.runs).toBeLessThanOrEqual(2);
    expect(r.states.get(v.name)).toEqual({ state: 1, reason: 1 });
    expect((await driver.lookupByName(v.name, RW)).id).toBeGreaterThan(0);
    v.running = true;
  });

  it('documented precision: paused outside vboxvirt reads running until the details are read; a VM that leaves runningvms costs one showvminfo, then reads exactly', async () => {
    const [p, s] = vms.filter((x) => x.running).slice(-2);
    p!.running = s!.running = false; // no longer plain running: later tests leave them alone
    const other = outsider();
    await other.pause(p!.uuid, { who: 'someone else' });
    await other.saveState(s!.uuid, { who: 'someone else' });
    host.invalidate();
    const r = await sweep();
    // the two lists, plus one showvminfo for the one VM that left runningvms (it
    // could still be stopping or saving, states `list runningvms` omits)
    expect(r.runs).toBeLessThanOrEqual(3);
    expect(r.states.get(p!.name)).toEqual({ state: 1, reason: 1 }); // really paused: still in runningvms, list says running
    expect(r.states.get(s!.name)).toEqual({ state: 5, reason: 5 }); // really saved: read once on leaving runningvms → shut off (saved)
    // dominfo (GetInfo) reads the details; from then on GetState is exact
    expect((await driver.getInfo(await driver.lookupByName(p!.name, RW), RW)).state).toBe(3);
    expect((await driver.getInfo(await driver.lookupByName(s!.name, RW), RW)).state).toBe(5);
    const exact = await sweep();
    expect(exact.runs).toBeLessThanOrEqual(1);
    expect(exact.states.get(p!.name)).toEqual({ state: 3, reason: 1 }); // paused (user)
    expect(exact.states.get(s!.name)).toEqual({ state: 5, reason: 5 }); // shut off (saved)
    expect(await driver.hasManagedSaveImage(await driver.lookupByName(s!.name, RW), 0, RW)).toBe(true);
  });

  it('our own managed save reads shut off (saved) without details; unknown names still fail', async () => {
    const v = vms.find((x) => x.running)!;
    const dom = await driver.lookupByName(v.name, RW);
    await driver.managedSave(RW, dom);
    host.invalidate();
    const r = await sweep();
    expect(r.showvminfo).toBe(0);
    expect(r.states.get(v.name)).toEqual({ state: 5, reason: 5 });
    await expect(driver.lookupByName('no-such-vm', RW)).rejects.toMatchObject({ code: 42 });
  });
});

describe('DomainCreate of a VM the list shows stopped (a MAAS power-on)', () => {
  const count = (before: ReturnType<VBoxManageHost['stats']>, cmd: string) => (host.stats().byCommand[cmd] ?? 0) - (before.byCommand[cmd] ?? 0);

  it('runs startvm with no showvminfo before or after, and the VM reads running (booted)', async () => {
    const v = vms.find((x) => !x.running)!;
    const dom = await driver.lookupByName(v.name, RW); // the list is current
    const before = host.stats();
    const started = await driver.create(RW, dom);
    expect(count(before, 'startvm')).toBe(1);
    expect(count(before, 'showvminfo')).toBe(0);
    expect(host.stats().runs - before.runs).toBeLessThanOrEqual(3); // startvm + the shared list refresh after it
    expect(started.id).toBeGreaterThan(0);
    expect(await driver.getState(started, 0, RW)).toEqual({ state: 1, reason: 1 });
    // what VirtualBox itself says, through another host object
    expect((await outsider().getVm(v.uuid)).state).toBe('running');
    v.running = true;
  });

  it('a VM started outside after the list was read: "already running" at once, nothing else done', async () => {
    const v = vms.find((x) => !x.running)!;
    const dom = await driver.lookupByName(v.name, RW); // list says stopped (and stays cached: long TTL)
    await outsider().startVm(v.uuid, { who: 'someone else' });
    v.running = true;
    const before = host.stats();
    const t0 = Date.now();
    await expect(driver.create(RW, dom)).rejects.toMatchObject({ code: 55, message: 'Requested operation is not valid: domain is already running' });
    expect(Date.now() - t0).toBeLessThan(3000); // no lock back-off for seconds
    expect(count(before, 'startvm')).toBe(1);
    expect(host.stats().lockRetries - before.lockRetries).toBe(0);
    expect((await outsider().getVm(v.uuid)).state).toBe('running');
    expect(await driver.getState(await driver.lookupByName(v.name, RW), 0, RW)).toEqual({ state: 1, reason: 1 });
  });

  it('our own managed save is restored through the full path (reason: restored)', async () => {
    const v = vms.find((x) => x.running && x.name !== vms[0]!.name)!;
    const dom = await driver.lookupByName(v.name, RW);
    await driver.managedSave(RW, dom);
    const before = host.stats();
    const started = await driver.create(RW, dom);
    expect(count(before, 'showvminfo')).toBeGreaterThanOrEqual(1); // read before: it must know the VM is saved
    expect(await driver.getState(started, 0, RW)).toEqual({ state: 1, reason: 3 }); // running (restored)
  });
});
