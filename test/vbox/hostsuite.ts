/**
 * Shared fixtures and the VM life-cycle suite for host.test.ts (in-process
 * simulator) and host-spawned.test.ts (bin/vboxsim.js spawned per command).
 */
import { execFileSync } from 'node:child_process';
import { VBoxManageHost, type VBoxManageHostOptions } from '../../src/vbox/host.js';
import { InProcessSimRunner, LocalRunner, type Runner } from '../../src/vbox/runner.js';
import { VBoxError } from '../../src/vbox/types.js';
import { builtSimExists, captureLogger, invocations, PROJECT, removeHome, simCreate, simSettings, tempHome, VBOXSIM_BIN } from './helpers.js';

export const who = { who: 'test:alice@127.0.0.1' };
export const HOSTILE = `it's a "VM" $(x) \`y\` ; & | % ! ^ ☃`;
export type Kind = 'in-process' | 'spawned';

export interface HostFixtures {
  home(): string;
  makeHost(kind: Kind, h: string, opts?: Partial<VBoxManageHostOptions>, env?: Record<string, string>): VBoxManageHost;
  track(host: VBoxManageHost): VBoxManageHost;
}

export function makeRunner(kind: Kind, h: string, env: Record<string, string> = {}): Runner {
  return kind === 'in-process'
    ? new InProcessSimRunner({ home: h, env })
    : new LocalRunner({ vboxmanage: VBOXSIM_BIN, vboxUserHome: h, env: { HOME: h, ...env } });
}

/** Registers beforeAll/afterAll: builds dist/ if needed; closes hosts and removes homes afterwards. */
export function useHostFixtures(): HostFixtures {
  const homes: string[] = [];
  const hosts: VBoxManageHost[] = [];
  beforeAll(() => {
    if (!builtSimExists()) execFileSync('npx', ['tsc', '-p', '.'], { cwd: PROJECT, stdio: 'ignore' });
  });
  afterAll(async () => {
    for (const h of hosts) await h.close();
    for (const h of homes) removeHome(h);
  });
  const track = (host: VBoxManageHost) => {
    hosts.push(host);
    return host;
  };
  return {
    home() {
      const h = tempHome('vboxvirt-host-');
      homes.push(h);
      return h;
    },
    makeHost(kind, h, opts = {}, env = {}) {
      return track(new VBoxManageHost({ runner: makeRunner(kind, h, env), cacheTtlMs: 60_000, pollIntervalMs: 50, ...opts }));
    },
    track,
  };
}

/** The life cycle, UUID-only argv, typed errors and create rollback, over one kind of runner. */
export function lifecycleTests(kind: Kind, fx: HostFixtures): void {
  const home = () => fx.home();
  const makeHost = (k: Kind, h: string, opts: Partial<VBoxManageHostOptions> = {}) => fx.makeHost(k, h, opts);
  test('life cycle of a VM with a hostile name', async () => {
    const h = home();
    simSettings(h, { startMs: 50, stoppingMs: 20, acpiDelayMs: 50 });
    const { logger, entries } = captureLogger();
    const host = makeHost(kind, h, { logger, cacheTtlMs: 60_000 }); // our own post-change re-reads keep it current
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
}

/** A VBoxManage that hangs past `timeoutMs` is a typed timeout; the next call works (the fault is used up). */
export function hangTimeoutTest(kind: Kind, fx: HostFixtures): void {
  test.each<Kind>([kind])('a hanging VBoxManage times out (%s)', async (k) => {
    const h = fx.home();
    const a = await simCreate(h, 'a');
    simSettings(h, { faults: [{ mode: 'hang', command: 'showvminfo', count: 1, id: 'h1' }] });
    const host = fx.makeHost(k, h, { timeoutMs: 700 });
    await expect(host.getVm(a)).rejects.toMatchObject({ kind: 'timeout' });
    // the next call works (fault used up)
    expect((await host.getVm(a)).uuid).toBe(a);
  });
}
