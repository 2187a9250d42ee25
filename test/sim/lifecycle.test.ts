/**
 * The simulated machine's state machine through real vboxsim processes:
 * start (with a visible `starting` phase), ACPI power button answered lazily
 * after the configured delay, poweroff, pause/resume, savestate/restore,
 * discardstate and unregistervm (modifyvm: modifyvm.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimHome, createRunning, simHomePerTest, waitFor } from './simproc.js';

let h: SimHome;
simHomePerTest((home) => { h = home; });
const running = (name: string): Promise<string> => createRunning(h, name);

describe('startvm', () => {
  test('prints the recorded lines with the argument as typed; others see "starting" meanwhile', async () => {
    const u = await h.create('s1', '--ostype', 'Ubuntu_64');
    const p = h.spawn(['startvm', u.toUpperCase(), '--type', 'headless'], { VBOXSIM_START_MS: '3000' });
    await waitFor('state starting', () => h.fastState('s1') === 'starting');
    // not yet in runningvms (§2.1) — asked from this process while the child is still starting
    expect((await h.inproc(['list', 'runningvms'])).stdout).toBe('');
    expect(h.fastState('s1')).toBe('starting');
    const r = await p.done;
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`Waiting for VM "${u.toUpperCase()}" to power on...\nVM "${u.toUpperCase()}" has been successfully started.\n`);
    const info = await h.info('s1');
    expect(info.get('VMState')).toBe('running');
    expect(info.get('SessionName')).toBe('headless');
    expect(await h.ok(['list', 'runningvms'])).toBe(`"s1" {${u}}\n`);
  });

  test('several VMs in one startvm; unknown frontend type rejected by VBoxSVC', async () => {
    await h.create('m1', '--ostype', 'Ubuntu_64');
    await h.create('m2', '--ostype', 'Ubuntu_64');
    const r = await h.run(['startvm', 'm1', 'm2', '--type', 'headless']);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/has been successfully started/g)).toHaveLength(2);
    await h.create('m3');
    const bad = await h.run(['startvm', 'm3', '--type', 'vnc']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')[0]).toBe("VBoxManage: error: Invalid frontend name: 'vnc'");
    expect(await h.state('m3')).toBe('poweroff');
  });
});

describe('ACPI power button (lazy guest reaction)', () => {
  test('running → (delay) stopping → poweroff, seen by any later reader; returns at once', async () => {
    await running('acpi');
    h.writeSettings({ acpiDelayMs: 2500, stoppingMs: 300 });
    const r = await h.run(['controlvm', 'acpi', 'acpipowerbutton']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const seen = new Set<string>([h.fastState('acpi')!]);
    const before = await h.info('acpi');
    await waitFor('poweroff after the guest reacted', async () => {
      const s = await h.state('acpi');
      seen.add(s);
      return s === 'poweroff';
    });
    expect(seen.has('running')).toBe(true);
    expect([...seen].every((s) => ['running', 'stopping', 'poweroff'].includes(s))).toBe(true);
    // the state change time is the guest's reaction, after the press
    const after = await h.info('acpi');
    expect(Date.parse(after.get('VMStateChangeTime')!.replace(/000000$/, 'Z'))).toBeGreaterThan(Date.parse(before.get('VMStateChangeTime')!.replace(/000000$/, 'Z')));
    expect(after.has('SessionName')).toBe(false);
  });

  test('"stopping" is observable between the reaction and poweroff', async () => {
    await running('stopper');
    h.writeSettings({ acpiDelayMs: 100, stoppingMs: 4000 });
    await h.ok(['controlvm', 'stopper', 'acpipowerbutton']);
    await waitFor('stopping', () => h.fastState('stopper') === 'stopping');
    // in shutdown the VM is still locked by its process
    const m = await h.inproc(['modifyvm', 'stopper', '--memory', '256']);
    expect(h.fastState('stopper')).toBe('stopping');
    expect(m.stderr).toContain('is already locked for a session');
    await waitFor('poweroff', async () => (await h.state('stopper')) === 'poweroff');
  });

  test('a guest that ignores ACPI stays running', async () => {
    await running('deaf');
    h.writeSettings({ acpiDelayMs: 50, acpiIgnore: true });
    await h.ok(['controlvm', 'deaf', 'acpipowerbutton']);
    // longer than the configured reaction delay
    await new Promise((r) => setTimeout(r, 400));
    expect(await h.state('deaf')).toBe('running');
    await h.ok(['controlvm', 'deaf', 'poweroff']);
    expect(await h.state('deaf')).toBe('poweroff');
  });

  test('acpipowerbutton / reset / pause on a stopped VM: "not currently running."', async () => {
    await h.create('off');
    for (const sub of ['acpipowerbutton', 'reset', 'pause', 'poweroff', 'savestate']) {
      const r = await h.run(['controlvm', 'off', sub]);
      expect([sub, r.code, r.stderr]).toEqual([sub, 1, "VBoxManage: error: Machine 'off' is not currently running.\n"]);
    }
  });
});

describe('poweroff, pause/resume, savestate, discardstate', () => {
  test('poweroff prints the progress meter on stderr and ends in poweroff', async () => {
    await running('po');
    const r = await h.run(['controlvm', 'po', 'poweroff']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n' });
    expect(await h.state('po')).toBe('poweroff');
  });

  test('pause/resume: paused VMs stay in runningvms; wrong-state messages as VirtualBox', async () => {
    const u = await running('pr');
    const notPaused = await h.run(['controlvm', 'pr', 'resume']);
    expect(notPaused.code).toBe(1);
    expect(notPaused.stderr.split('\n')[0]).toBe('VBoxManage: error: Cannot resume the machine as it is not paused (machine state: Running)');
    expect(notPaused.stderr).toContain('Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component ConsoleWrap, interface IConsole');
    await h.ok(['controlvm', 'pr', 'pause']);
    expect(await h.state('pr')).toBe('paused');
    expect(await h.ok(['list', 'runningvms'])).toBe(`"pr" {${u}}\n`);
    const again = await h.run(['controlvm', 'pr', 'pause']);
    expect(again.stderr.split('\n')[0]).toBe('VBoxManage: error: Already paused');
    await h.ok(['controlvm', 'pr', 'resume']);
    expect(await h.state('pr')).toBe('running');
  });

  test('savestate → saved with VMStateFile; startvm restores; discardstate → poweroff', async () => {
    await running('sv');
    const r = await h.run(['controlvm', 'sv', 'savestate']);
    expect(r.code).toBe(0);
    const saved = await h.info('sv');
    expect(saved.get('VMState')).toBe('saved');
    const file = saved.get('VMStateFile')!;
    expect(file).toMatch(/\/Snapshots\/.*\.sav$/);
    expect(fs.existsSync(file)).toBe(true);
    expect(await h.ok(['list', 'runningvms'])).toBe('');
    // modifyvm of hardware on a saved VM: not mutable; description is fine
    const mem = await h.run(['modifyvm', 'sv', '--memory', '512']);
    expect(mem.stderr.split('\n').slice(0, 2)).toEqual([
      'VBoxManage: error: The machine is not mutable (state is Saved)',
      'VBoxManage: error: Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component SessionMachine, interface IMachine, callee nsISupports',
    ]);
    await h.ok(['modifyvm', 'sv', '--description', 'while saved']);
    // restore
    const st = await h.run(['startvm', 'sv', '--type', 'headless']);
    expect(st.code).toBe(0);
    const restored = await h.info('sv');
    expect(restored.get('VMState')).toBe('running');
    expect(restored.has('VMStateFile')).toBe(false);
    // save again, then discard
    await h.ok(['controlvm', 'sv', 'savestate']);
    const f2 = (await h.info('sv')).get('VMStateFile')!;
    await h.ok(['discardstate', 'sv']);
    const d = await h.info('sv');
    expect(d.get('VMState')).toBe('poweroff');
    expect(d.has('VMStateFile')).toBe(false);
    expect(fs.existsSync(f2)).toBe(false);
    const again = await h.run(['discardstate', 'sv']);
    expect(again.code).toBe(1);
    expect(again.stderr.split('\n')[0]).toBe(
      'VBoxManage: error: Cannot discard the saved state as the machine is not in the Saved or Aborted-Saved state (machine state: PoweredOff)',
    );
  });

  test('7.x shutdown/reboot need Guest Additions: failure, VM keeps running', async () => {
    await running('ga');
    const r = await h.run(['controlvm', 'ga', 'shutdown']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Context: "Shutdown(ComSafeArrayAsInParam(aShutdownFlags))" at line 696 of file VBoxManageControlVM.cpp');
    expect(await h.state('ga')).toBe('running');
  });

  test('post-poweroff unlock window (unlockMs) makes an immediate startvm fail, later succeed', async () => {
    await running('win');
    h.writeSettings({ unlockMs: 3000, stoppingMs: 10 });
    await h.ok(['controlvm', 'win', 'poweroff']);
    const r = await h.inproc(['startvm', 'win', '--type', 'headless']);
    expect(r.stderr).toContain('is already locked by a session (or being locked or unlocked)');
    await waitFor('unlocked', async () => (await h.run(['startvm', 'win', '--type', 'headless'])).code === 0);
  });
});

describe('unregistervm', () => {
  test('plain unregister keeps files; --delete removes them; a running VM is refused', async () => {
    const u = await running('ur');
    const busy = await h.run(['unregistervm', 'ur']);
    expect(busy.code).toBe(1);
    expect(busy.stderr.split('\n')[0]).toBe("VBoxManage: error: Cannot unregister the machine 'ur' while it is locked");
    await h.ok(['controlvm', 'ur', 'poweroff']);
    const cfg = (await h.info('ur')).get('CfgFile')!;
    await h.ok(['unregistervm', u]);
    expect(await h.ok(['list', 'vms'])).toBe('');
    expect(fs.existsSync(cfg)).toBe(true);

    await h.create('gone');
    const cfg2 = (await h.info('gone')).get('CfgFile')!;
    const disk = path.join(h.dir, 'gone.vdi');
    await h.ok(['storagectl', 'gone', '--name', 'SATA', '--add', 'sata']);
    await h.ok(['createmedium', 'disk', '--filename', disk, '--size', '64']);
    await h.ok(['storageattach', 'gone', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', disk]);
    const r = await h.run(['unregistervm', 'gone', '--delete']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n');
    expect(fs.existsSync(cfg2)).toBe(false);
    expect(fs.existsSync(disk)).toBe(false);
    expect(await h.ok(['list', 'hdds'])).toBe('');
  });
});
