/**
 * Simulator controls through real processes: every fault mode, fault scoping
 * (command, controlvm subcommand, VM, shared count), per-command delays read
 * from vboxsim.json while "running", and the invocation log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimHome, assertBuilt, waitFor } from './simproc.js';

let h: SimHome;
beforeAll(() => assertBuilt());
beforeEach(() => {
  h = new SimHome({ VBOXSIM_START_MS: '30', VBOXSIM_STOPPING_MS: '30' });
});
afterEach(() => h.cleanup());

test('hang: the command never returns until it is killed', async () => {
  await h.create('h1');
  h.writeSettings({ faults: [{ mode: 'hang', command: 'showvminfo' }], log: true });
  const p = h.spawn(['showvminfo', 'h1', '--machinereadable']);
  // other commands are unaffected while it hangs
  expect((await h.run(['list', 'vms'])).code).toBe(0);
  await h.ok(['modifyvm', 'h1', '--memory', '256']);
  expect(p.child.exitCode).toBeNull();
  p.child.kill('SIGTERM');
  const r = await p.done;
  expect(r.signal).toBe('SIGTERM');
  expect(r.stdout).toBe('');
});

test('crash: killed by a signal mid-output', async () => {
  await h.create('c1');
  const full = await h.ok(['showvminfo', 'c1', '--machinereadable']);
  h.writeSettings({ faults: [{ mode: 'crash', command: 'showvminfo', count: 1 }] });
  const r = await h.run(['showvminfo', 'c1', '--machinereadable']);
  expect(r.code).toBeNull();
  expect(r.signal).toBe('SIGKILL');
  expect(r.stdout.length).toBeGreaterThan(0);
  expect(r.stdout.length).toBeLessThan(full.length);
  expect(full.startsWith(r.stdout)).toBe(true);
  // count: 1 → the next run is healthy
  expect(await h.ok(['showvminfo', 'c1', '--machinereadable'])).toBe(full);
});

test('lock: the recorded collision errors for startvm and modifyvm, scoped to one VM', async () => {
  await h.create('locked', '--ostype', 'Ubuntu_64');
  await h.create('free', '--ostype', 'Ubuntu_64');
  h.writeSettings({ faults: [{ mode: 'lock', vm: 'locked' }] });
  const s = await h.run(['startvm', 'locked', '--type', 'headless']);
  expect(s.code).toBe(1);
  expect(s.stderr.split('\n')[0]).toBe("VBoxManage: error: The machine 'locked' is already locked by a session (or being locked or unlocked)");
  expect(s.stderr).toContain('at line 880 of file VBoxManageMisc.cpp');
  const m = await h.run(['modifyvm', 'locked', '--cpus', '2']);
  expect(m.stderr.split('\n')[0]).toBe("VBoxManage: error: The machine 'locked' is already locked for a session (or being unlocked)");
  expect(m.stderr).toContain('"LockMachine(a->session, LockType_Write)" at line 640 of file VBoxManageModifyVM.cpp');
  // scoped by VM (by name, also when addressed by UUID)
  expect((await h.run(['startvm', 'free', '--type', 'headless'])).code).toBe(0);
  const uuid = (await h.info('locked')).get('UUID')!;
  expect((await h.run(['modifyvm', uuid, '--cpus', '2'])).code).toBe(1);
  expect(await h.state('locked')).toBe('poweroff');
});

test('garbage: nonsense on stdout with exit 0', async () => {
  await h.create('g1');
  h.writeSettings({ faults: [{ mode: 'garbage', command: 'showvminfo' }] });
  const r = await h.run(['showvminfo', 'g1', '--machinereadable']);
  expect(r.code).toBe(0);
  expect(r.stdout.length).toBeGreaterThan(0);
  expect(r.stdout).not.toContain('VMState=');
  expect(r.stdout).not.toContain('name="g1"');
});

test('error-exit0: an error block on stderr while the exit code is 0', async () => {
  await h.create('e1');
  h.writeSettings({ faults: [{ mode: 'error-exit0', command: 'showvminfo' }] });
  const r = await h.run(['showvminfo', 'e1', '--machinereadable']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('name="e1"');
  expect(r.stderr).toMatch(/^VBoxManage: error: .+\nVBoxManage: error: Details: code E_ACCESSDENIED \(0x80070005\), component SessionMachine, interface IMachine, callee nsISupports\nVBoxManage: error: Context: ".+" at line \d+ of file VBoxManageInfo\.cpp\n$/);
});

test('vm-dies-on-start: "terminated unexpectedly", VM ends aborted, other commands unaffected', async () => {
  await h.create('d1', '--ostype', 'Ubuntu_64');
  h.writeSettings({ faults: [{ mode: 'vm-dies-on-start', command: 'startvm', vm: 'd1', count: 1 }] });
  const r = await h.run(['startvm', 'd1', '--type', 'headless']);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('Waiting for VM "d1" to power on...\n');
  expect(r.stderr).toBe(
    "VBoxManage: error: The virtual machine 'd1' has terminated unexpectedly during startup with exit code 1 (0x1)\n" +
      'VBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component MachineWrap, interface IMachine\n',
  );
  expect(await h.state('d1')).toBe('aborted');
  // aborted VMs can be started again (count exhausted)
  await h.ok(['startvm', 'd1', '--type', 'headless']);
  expect(await h.state('d1')).toBe('running');
});

test('svc-down: every command fails with the "Failed to create the VirtualBox object!" block', async () => {
  h.writeSettings({ faults: [{ mode: 'svc-down' }] });
  for (const argv of [['list', 'vms'], ['showvminfo', 'x'], ['createvm', '--name', 'x']]) {
    const r = await h.run(argv);
    expect([argv.join(' '), r.code, r.stdout, r.stderr]).toEqual([
      argv.join(' '),
      1,
      '',
      'VBoxManage: error: Failed to create the VirtualBox object!\n' +
        'VBoxManage: error: Code NS_ERROR_FACTORY_NOT_REGISTERED (0x80040154) - Class not registered (extended info not available)\n' +
        'VBoxManage: error: Most likely, the VirtualBox COM server is not running or failed to start.\n',
    ]);
  }
  // --version does not talk to VBoxSVC
  expect((await h.run(['--version'])).code).toBe(0);
});

test('fault scoping by controlvm subcommand and shared count across processes', async () => {
  await h.create('k', '--ostype', 'Ubuntu_64');
  await h.ok(['startvm', 'k', '--type', 'headless']);
  h.writeSettings({ faults: [{ mode: 'svc-down', command: 'controlvm', subcommand: 'poweroff', count: 2 }] });
  await h.ok(['controlvm', 'k', 'pause']);
  await h.ok(['controlvm', 'k', 'resume']);
  const results = await Promise.all([1, 2, 3].map(() => h.run(['controlvm', 'k', 'poweroff'])));
  const failed = results.filter((r) => r.stderr.includes('Failed to create the VirtualBox object!'));
  expect(failed).toHaveLength(2);
  expect(await h.state('k')).toBe('poweroff');
});

test('a bad vboxsim.json is a clear error, not a crash', async () => {
  fs.writeFileSync(path.join(h.home, 'vboxsim.json'), '{"faults": [{"mode": "explode"}]}');
  const r = await h.run(['list', 'vms']);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('vboxsim: faults[0]: unknown mode explode\n');
  fs.writeFileSync(path.join(h.home, 'vboxsim.json'), '{not json');
  const r2 = await h.run(['list', 'vms']);
  expect(r2.code).toBe(1);
  expect(r2.stderr).toMatch(/^vboxsim: vboxsim\.json: invalid JSON/);
});

test('per-command delays from vboxsim.json hold the lock for their duration; changes apply to the next invocation', async () => {
  const uuid = await h.create('slow');
  h.writeSettings({ delays: { showvminfo: 2500 } });
  const lock = path.join(h.home, 'vboxsim-state', 'session', `${uuid}.lock`);
  const p = h.spawn(['showvminfo', 'slow']);
  await waitFor('lock held during the delay', () => fs.existsSync(lock));
  expect((await h.run(['modifyvm', 'slow', '--cpus', '2'])).code).toBe(1);
  await p.done;
  expect(fs.existsSync(lock)).toBe(false);
  h.writeSettings({ delays: { showvminfo: 0 } });
  expect((await h.run(['modifyvm', 'slow', '--cpus', '2'])).code).toBe(0);
});

test('invocation log: one JSON line per run with time, pid, argv, exit code, duration', async () => {
  h.writeSettings({ log: true });
  await h.create('l1');
  await h.run(['showvminfo', 'nope']);
  await h.run(['list', 'vms']);
  const lines = fs.readFileSync(path.join(h.home, 'vboxsim-invocations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.map((l) => (l.argv as string[])[0])).toEqual(['createvm', 'showvminfo', 'list']);
  expect(lines.map((l) => l.exitCode)).toEqual([0, 1, 0]);
  for (const l of lines) {
    expect(typeof l.pid).toBe('number');
    expect(typeof l.durationMs).toBe('number');
    expect(Number.isNaN(Date.parse(l.time as string))).toBe(false);
  }
  expect(new Set(lines.map((l) => l.pid)).size).toBe(3);
  // off again: nothing more is logged
  h.writeSettings({ log: false });
  await h.run(['list', 'vms']);
  expect(fs.readFileSync(path.join(h.home, 'vboxsim-invocations.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
});

test('wrapper warnings: the VBox.sh blocks on stdout before the output; no kernel driver → VMs cannot start', async () => {
  await h.create('w', '--ostype', 'Ubuntu_64');
  h.writeSettings({ wrapperWarnings: ['kernel-module'] });
  const list = await h.run(['list', 'vms']);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/^WARNING: The vboxdrv kernel module is not loaded\. Either there is no module\n {9}available for the current kernel \(.+\) or it failed to\n {9}load\. Please recompile the kernel module and install it by\n\n {11}sudo \/sbin\/vboxconfig\n\n {9}You will not be able to start VMs until this problem is fixed\.\n"w" \{[0-9a-f-]{36}\}\n$/);
  const start = await h.run(['startvm', 'w', '--type', 'headless']);
  expect(start.code).toBe(1);
  expect(start.stdout.endsWith('Waiting for VM "w" to power on...\n')).toBe(true);
  expect(start.stderr).toContain("The virtual machine 'w' has terminated unexpectedly during startup with exit code 1 (0x1)");
  h.writeSettings({ wrapperWarnings: ['user-env'] });
  const warn = 'WARNING: Environment variable LOGNAME or USER does not correspond to effective user id.\n';
  expect((await h.run(['--version'], { USER: 'someone-else', LOGNAME: 'someone-else' })).stdout).toBe(warn + '7.0.18r162988\n');
  const me = (await import('node:os')).userInfo().username;
  expect((await h.run(['--version'], { USER: me, LOGNAME: me })).stdout).toBe('7.0.18r162988\n');
  expect(await h.state('w')).toBe('poweroff');
});
