/**
 * Several vboxsim processes on one host: session-lock collisions as VirtualBox
 * reports them, lock-free `list`, registry updates from parallel processes,
 * stale locks of dead processes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimHome, SAMPLES, assertBuilt, waitFor } from './simproc.js';

let h: SimHome;
beforeAll(() => assertBuilt());
beforeEach(() => {
  h = new SimHome();
});
afterEach(() => h.cleanup());

const lockFile = (uuid: string) => path.join(h.home, 'vboxsim-state', 'session', `${uuid}.lock`);

test('showvminfo on a stopped VM write-locks it: concurrent startvm and modifyvm fail with the recorded lock errors', async () => {
  const uuid = await h.create('busy', '--ostype', 'Ubuntu_64');
  h.writeSettings({ delays: { showvminfo: 4000 } });
  const reader = h.spawn(['showvminfo', 'busy', '--machinereadable']);
  await waitFor('showvminfo to take the session lock', () => fs.existsSync(lockFile(uuid)));

  const start = await h.run(['startvm', 'busy', '--type', 'headless']);
  expect(start.code).toBe(1);
  expect(start.stdout).toBe('');
  expect(start.stderr).toBe(
    "VBoxManage: error: The machine 'busy' is already locked by a session (or being locked or unlocked)\n" +
      'VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\n' +
      'VBoxManage: error: Context: "LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())" at line 880 of file VBoxManageMisc.cpp\n',
  );
  // this test process as a third client (in-process entry, no spawn delay)
  const mod = await h.inproc(['modifyvm', 'busy', '--memory', '256']);
  expect(mod.exitCode).toBe(1);
  expect(mod.stderr).toBe(
    "VBoxManage: error: The machine 'busy' is already locked for a session (or being unlocked)\n" +
      'VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\n' +
      'VBoxManage: error: Context: "LockMachine(a->session, LockType_Write)" at line 640 of file VBoxManageModifyVM.cpp\n',
  );
  // list takes no lock
  expect(await h.inproc(['list', 'vms'])).toMatchObject({ exitCode: 0, stdout: `"busy" {${uuid}}\n` });
  expect(fs.existsSync(lockFile(uuid))).toBe(true);
  const r = await reader.done;
  expect(r.code).toBe(0);
  expect(fs.existsSync(lockFile(uuid))).toBe(false);
  // once the reader is done the VM is free again and nothing was changed by the failed modifyvm
  await h.ok(['modifyvm', 'busy', '--memory', '512']);
  expect((await h.info('busy')).get('memory')).toBe('512');
});

test('modifyvm holding the lock (with its delay) makes storagectl fail like the real write-lock sample', async () => {
  const uuid = await h.create('packer-virtualbox-iso-1470421601');
  h.writeSettings({ delays: { modifyvm: 3000 } });
  const writer = h.spawn(['modifyvm', 'packer-virtualbox-iso-1470421601', '--cpus', '2']);
  await waitFor('modifyvm to take the lock', () => fs.existsSync(lockFile(uuid)));
  const r = await h.run(['storagectl', 'packer-virtualbox-iso-1470421601', '--name', 'SATA', '--add', 'sata']);
  expect(r.code).toBe(1);
  // the real 5.1 capture, with the 7.0.18 line of that call site
  const real = fs.readFileSync(path.join(SAMPLES, 'stderr', 'storagectl_write-lock-busy_5.1_xpcom.stderr.txt'), 'utf8');
  expect(r.stderr).toBe(real.replace('at line 1030 of', 'at line 1057 of'));
  expect((await writer.done).code).toBe(0);
  expect((await h.info(uuid)).get('cpus')).toBe('2');
});

test('two startvm of the same VM at once: exactly one wins, the other gets the LaunchVMProcess lock error', async () => {
  await h.create('race', '--ostype', 'Ubuntu_64');
  const env = { VBOXSIM_START_MS: '800' };
  const [a, b] = await Promise.all([
    h.run(['startvm', 'race', '--type', 'headless'], env),
    h.run(['startvm', 'race', '--type', 'headless'], env),
  ]);
  const codes = [a.code, b.code].sort();
  expect(codes).toEqual([0, 1]);
  const loser = a.code === 1 ? a : b;
  expect(loser.stderr).toContain("is already locked by a session (or being locked or unlocked)");
  expect(await h.state('race')).toBe('running');
});

test('many parallel list vms / runningvms all succeed with identical output while VMs are busy', async () => {
  const uuids: string[] = [];
  for (const n of ['a', 'b', 'c']) uuids.push(await h.create(n, '--ostype', 'Ubuntu_64'));
  h.writeSettings({ delays: { showvminfo: 800, list: 20 } });
  const readers = ['a', 'b', 'c'].map((n) => h.spawn(['showvminfo', n]));
  const lists = await Promise.all(Array.from({ length: 24 }, (_, i) => h.run(['list', i % 2 ? 'vms' : 'runningvms'])));
  for (const [i, r] of lists.entries()) {
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(i % 2 ? uuids.map((u, j) => `"${'abc'[j]}" {${u}}\n`).join('') : '');
  }
  for (const r of readers) expect((await r.done).code).toBe(0);
});

test('createvm from many processes at once: every VM is registered exactly once', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
  const outs = await Promise.all(names.map((n) => h.run(['createvm', '--name', n, '--register'])));
  for (const o of outs) expect(o.code).toBe(0);
  const listed = (await h.ok(['list', 'vms'])).trim().split('\n');
  expect(listed).toHaveLength(12);
  expect(new Set(listed.map((l) => /^"(p\d+)"/.exec(l)![1])).size).toBe(12);
});

test('a stale session lock of a dead process is broken; a live one is respected', async () => {
  const uuid = await h.create('stale');
  fs.mkdirSync(path.dirname(lockFile(uuid)), { recursive: true });
  // a live holder: this test process
  fs.writeFileSync(lockFile(uuid), JSON.stringify({ pid: process.pid, token: 'x', kind: 'write', since: Date.now() }));
  expect((await h.run(['modifyvm', 'stale', '--memory', '256'])).code).toBe(1);
  // a dead holder: a pid that does not exist
  fs.writeFileSync(lockFile(uuid), JSON.stringify({ pid: 2 ** 22 + 12345, token: 'y', kind: 'write', since: Date.now() }));
  await h.ok(['modifyvm', 'stale', '--memory', '256']);
  expect((await h.info('stale')).get('memory')).toBe('256');
});

test('a VM whose startvm process was killed still finishes starting (lazy state), and its lock is released', async () => {
  const uuid = await h.create('killed', '--ostype', 'Ubuntu_64');
  const p = h.spawn(['startvm', 'killed', '--type', 'headless'], { VBOXSIM_START_MS: '3000' });
  await waitFor('starting', () => h.fastState('killed') === 'starting');
  p.child.kill('SIGKILL');
  await p.done;
  expect(await waitFor('running', async () => (await h.state('killed')) === 'running' && 'running')).toBe('running');
  expect((await h.ok(['list', 'runningvms']))).toBe(`"killed" {${uuid}}\n`);
  // the dead startvm's lock does not block a poweroff + modify
  await h.ok(['controlvm', 'killed', 'poweroff'], { VBOXSIM_STOPPING_MS: '10' });
  await h.ok(['modifyvm', 'killed', '--cpus', '3']);
});

test('modifyvm while startvm is still spawning the VM process: the E_ACCESSDENIED "unexpected process" error (real sample shape)', async () => {
  const uuid = await h.create('trellis-playbooks', '--ostype', 'Ubuntu_64');
  // the startvm delay is the spawn phase: its lock is held, the VM has not begun starting
  h.writeSettings({ delays: { startvm: 3000 } });
  const starter = h.spawn(['startvm', 'trellis-playbooks', '--type', 'headless'], { VBOXSIM_START_MS: '50' });
  await waitFor('launch lock', () => fs.existsSync(lockFile(uuid)));
  const r = await h.run(['modifyvm', 'trellis-playbooks', '--memory', '512']);
  expect(r.code).toBe(1);
  const real = fs.readFileSync(path.join(SAMPLES, 'stderr', 'modifyvm_unexpected-process-during-startvm_5.0_macos.stderr.txt'), 'utf8');
  const norm = (t: string) => t.replace(/PID=0x[0-9A-F]{8}/g, 'PID=0x________');
  // ≤5.0 printed component "Machine"; 7.x wraps it as MachineWrap; 7.0.18 line of LockMachine is 640
  expect(norm(r.stderr)).toBe(norm(real).replace('component Machine,', 'component MachineWrap,').replace('at line 471 of', 'at line 640 of'));
  expect(r.stderr).toContain(`PID=0x${(starter.child.pid! >>> 0).toString(16).toUpperCase().padStart(8, '0')}) is allowed`);
  expect((await starter.done).code).toBe(0);
  // once started, the VM process holds it: the ordinary locked-for-a-session error
  const again = await h.run(['modifyvm', 'trellis-playbooks', '--memory', '512']);
  expect(again.stderr.split('\n')[0]).toBe("VBoxManage: error: The machine 'trellis-playbooks' is already locked for a session (or being unlocked)");
});
