/**
 * runVBoxManage (the in-process entry the sim backend uses) sharing one host
 * with real vboxsim processes: same output as the CLI, locks that collide
 * across the two, in-process calls colliding with each other, faults.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runVBoxManage, SimStore } from '../../src/sim/index.js';
import { SimHome, assertBuilt, waitFor } from './simproc.js';

let h: SimHome;
beforeAll(() => assertBuilt());
beforeEach(() => {
  h = new SimHome({ VBOXSIM_START_MS: '20', VBOXSIM_STOPPING_MS: '20' });
});
afterEach(() => h.cleanup());

const env = () => ({ VBOX_USER_HOME: h.home, VBOXSIM_START_MS: '20', VBOXSIM_STOPPING_MS: '20' });

test('in-process and CLI print the same thing for the same host', async () => {
  const created = await runVBoxManage(['createvm', '--name', 'ip1', '--ostype', 'Ubuntu_64', '--register'], env());
  expect(created.exitCode).toBe(0);
  const uuid = /UUID: (\S+)/.exec(created.stdout)![1]!;
  for (const argv of [['list', 'vms'], ['showvminfo', uuid, '--machinereadable'], ['showvminfo', 'nope'], ['frob']]) {
    const a = await runVBoxManage(argv, env());
    const b = await h.run(argv);
    expect([argv.join(' '), a.stdout, a.stderr, a.exitCode]).toEqual([argv.join(' '), b.stdout, b.stderr, b.code]);
  }
  const store = new SimStore(h.home);
  expect(store.readRegistry().machines.map((m) => m.uuid)).toEqual([uuid]);
  expect(store.listMachines()[0]!.machine!.name).toBe('ip1');
});

test('an in-process showvminfo holding the lock blocks a child startvm; two in-process startvm collide', async () => {
  const uuid = await h.create('shared', '--ostype', 'Ubuntu_64');
  const slow = runVBoxManage(['showvminfo', 'shared', '--machinereadable'], { ...env(), VBOXSIM_DELAYS: '{"showvminfo": 2500}' });
  await waitFor('lock file', () => fs.existsSync(path.join(h.home, 'vboxsim-state', 'session', `${uuid}.lock`)));
  const child = await h.run(['startvm', 'shared', '--type', 'headless']);
  expect(child.stderr).toContain("The machine 'shared' is already locked by a session (or being locked or unlocked)");
  expect((await slow).exitCode).toBe(0);
  const both = await Promise.all([
    runVBoxManage(['startvm', 'shared', '--type', 'headless'], { ...env(), VBOXSIM_START_MS: '300' }),
    runVBoxManage(['startvm', 'shared', '--type', 'headless'], { ...env(), VBOXSIM_START_MS: '300' }),
  ]);
  expect(both.map((r) => r.exitCode).sort()).toEqual([0, 1]);
  expect(await h.state('shared')).toBe('running');
});

test('faults in-process: hang never settles, crash reports a signal, svc-down', async () => {
  await h.create('f');
  h.writeSettings({ faults: [{ mode: 'hang', command: 'showvminfo', count: 1 }, { mode: 'crash', command: 'list', count: 1 }] });
  const hung = runVBoxManage(['showvminfo', 'f'], env());
  const outcome = await Promise.race([hung.then(() => 'settled'), new Promise((r) => setTimeout(() => r('pending'), 400))]);
  expect(outcome).toBe('pending');
  const crashed = await runVBoxManage(['list', 'vms'], env());
  expect(crashed.signal).toBe('SIGKILL');
  expect(crashed.exitCode).not.toBe(0);
  // counts used up: both work again
  expect((await runVBoxManage(['showvminfo', 'f'], env())).exitCode).toBe(0);
  expect((await runVBoxManage(['list', 'vms'], env())).exitCode).toBe(0);
  const down = await runVBoxManage(['list', 'vms'], { ...env(), VBOXSIM_FAULTS: '[{"mode":"svc-down"}]' });
  expect(down.stderr).toContain('Failed to create the VirtualBox object!');
});

test('no VBOX_USER_HOME: the Linux default ~/.config/VirtualBox under HOME', async () => {
  const r = await runVBoxManage(['createvm', '--name', 'dflt', '--register'], { HOME: h.dir });
  expect(r.exitCode).toBe(0);
  expect(fs.existsSync(path.join(h.dir, '.config', 'VirtualBox', 'vboxsim-registry.json'))).toBe(true);
  expect(r.stdout).toContain(`Settings file: '${path.join(h.dir, 'VirtualBox VMs', 'dflt', 'dflt.vbox')}'`);
});

test('SimStore.seedMachine / setMachineState seed a host the CLI then sees', async () => {
  const store = new SimStore(h.home);
  const m = await store.seedMachine({
    name: 'seeded',
    ostype: 'Ubuntu_64',
    memoryMB: 2048,
    cpus: 2,
    boot: ['net', 'disk'],
    nics: [{ attachment: 'bridged', target: 'eth0', mac: '08:00:27:aa:bb:01' }],
    state: 'running',
  });
  expect(await h.ok(['list', 'runningvms'])).toBe(`"seeded" {${m.uuid}}\n`);
  const info = await h.info('seeded');
  expect([info.get('memory'), info.get('cpus'), info.get('boot1'), info.get('boot2'), info.get('boot3')]).toEqual(['2048', '2', 'net', 'disk', 'none']);
  expect([info.get('nic1'), info.get('bridgeadapter1'), info.get('macaddress1'), info.get('SessionName')]).toEqual(['bridged', 'eth0', '080027AABB01', 'headless']);
  await store.setMachineState(m.uuid, 'poweroff');
  expect(await h.state('seeded')).toBe('poweroff');
  await expect(store.seedMachine({ name: 'again', uuid: m.uuid })).rejects.toThrow(/already registered/);
});

test('inaccessible machine (settings file gone): <inaccessible> in list vms, showvminfo by UUID prints name/UUID only', async () => {
  const uuid = await h.create('fragile');
  const cfg = (await h.info('fragile')).get('CfgFile')!;
  fs.rmSync(cfg);
  expect(await h.ok(['list', 'vms'])).toBe(`"<inaccessible>" {${uuid}}\n`);
  const r = await h.run(['showvminfo', uuid, '--machinereadable']);
  expect(r).toMatchObject({ code: 0, stdout: `name="<inaccessible>"\nUUID="${uuid}"\n` });
  // by name it is simply not found
  expect((await h.run(['showvminfo', 'fragile'])).code).toBe(1);
});

test('bad input to runVBoxManage is a clear result, never a throw', async () => {
  const r = await runVBoxManage(['list', 5 as unknown as string], env());
  expect(r).toEqual({ stdout: '', stderr: 'vboxsim: argv must be an array of strings\n', exitCode: 2 });
  const r2 = await runVBoxManage(['modifyvm', 'nope', '--memory'], env());
  expect(r2.exitCode).toBe(1);
  expect(r2.stderr.split('\n')[0]).toBe("VBoxManage: error: Could not find a registered machine named 'nope'");
  await runVBoxManage(['createvm', '--name', 'x', '--register'], env());
  const r3 = await runVBoxManage(['modifyvm', 'x', '--memory'], env());
  expect(r3.exitCode).toBe(1);
  expect(r3.stderr).toContain('VBoxManage: error: --memory: RTGetOpt: Command line option needs argument.');
});
