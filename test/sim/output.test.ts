/**
 * vboxsim's stdout/stderr/exit codes against the real VBoxManage samples in
 * ../shared/vbox-samples (spawning `node bin/vboxsim.js` for every command).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimHome, SAMPLES, assertBuilt, contextTable, mrKeys, parseMr } from './simproc.js';

const sample = (f: string) => fs.readFileSync(path.join(SAMPLES, f), 'utf8');

/** A Windows/older sample normalised to what a Linux 7.0.18 build prints for the same call site. */
function toLinux70(text: string, line?: number): string {
  let t = text.replace(/VBoxManage\.exe: /g, 'VBoxManage: ').replace(/callee IUnknown/g, 'callee nsISupports');
  if (line !== undefined) t = t.replace(/at line \d+ of file/, `at line ${line} of file`);
  return t;
}

let h: SimHome;
beforeAll(() => assertBuilt());
beforeEach(() => {
  h = new SimHome();
});
afterEach(() => h.cleanup());

describe('global behaviour', () => {
  test('--version prints 7.0.18r162988 and exits 0', async () => {
    const r = await h.run(['--version']);
    expect(r).toMatchObject({ stdout: '7.0.18r162988\n', stderr: '', code: 0 });
  });

  test('unknown command: logo, error line, blank line on stderr; exit 2', async () => {
    const r = await h.run(['frobnicate', 'x']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'Oracle VM VirtualBox Command Line Management Interface Version 7.0.18\n' +
        'Copyright (C) 2005-2024 Oracle and/or its affiliates\n\n' +
        "VBoxManage: error: Invalid command 'frobnicate'\n\n",
    );
  });

  test('unknown option of showvminfo is a syntax error with usage, exit 2', async () => {
    await h.create('a');
    const r = await h.run(['showvminfo', 'a', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Oracle VM VirtualBox Command Line Management Interface Version 7\.0\.18\n/);
    expect(r.stderr).toContain('VBoxManage: error: Unknown option: --bogus\nUsage - Show configuration information');
  });

  test('an unusable VBOX_USER_HOME: the COM initialisation error, exit 1 (--version still works)', async () => {
    const file = path.join(h.dir, 'plain-file');
    fs.writeFileSync(file, 'x');
    const home = path.join(file, 'home');
    const r = await h.run(['list', 'vms'], { VBOX_USER_HOME: home });
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `VBoxManage: error: Failed to initialize COM because the global settings directory '${home}' is not accessible!\n` });
    expect((await h.run(['--version'], { VBOX_USER_HOME: home })).code).toBe(0);
  });

  test('a command without arguments prints its usage on stdout and exits 1', async () => {
    const r = await h.run(['showvminfo']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Usage - Show configuration information/);
  });
});

describe('createvm / list vms', () => {
  test('createvm prints the three recorded lines; list vms prints "name" {uuid} in registration order', async () => {
    const out = await h.ok(['createvm', '--name', 'first vm', '--ostype', 'Ubuntu_64', '--register']);
    const cfg = path.join(h.home, 'VirtualBox VMs', 'first vm', 'first vm.vbox');
    expect(out).toMatch(new RegExp(`^Virtual machine 'first vm' is created and registered\\.\\nUUID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\nSettings file: '${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'\\n$`));
    const u1 = /UUID: (\S+)/.exec(out)![1]!;
    const u2 = await h.create('a"b');
    const u3 = await h.create('Ünïcode');
    const list = await h.ok(['list', 'vms']);
    expect(list).toBe(`"first vm" {${u1}}\n"a"b" {${u2}}\n"Ünïcode" {${u3}}\n`);
    // same line grammar as the real sample
    const re = /^"(.*)" \{([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}$/;
    for (const l of sample('list-vms_go-virtualbox.txt').trim().split('\n')) expect(l).toMatch(re);
    for (const l of list.trim().split('\n')) expect(l).toMatch(re);
    expect((await h.ok(['list', '--sorted', 'vms'])).split('\n')[0]).toBe(`"a"b" {${u2}}`);
  });

  test('createvm without --register is not listed; duplicate name in the same folder fails with VBOX_E_FILE_ERROR', async () => {
    await h.ok(['createvm', '--name', 'loose']);
    expect(await h.ok(['list', 'vms'])).toBe('');
    const r = await h.run(['createvm', '--name', 'loose', '--register']);
    expect(r.code).toBe(1);
    const cfg = path.join(h.home, 'VirtualBox VMs', 'loose', 'loose.vbox');
    expect(r.stderr.split('\n')[0]).toBe(`VBoxManage: error: Machine settings file '${cfg}' already exists`);
    expect(r.stderr).toContain('Details: code VBOX_E_FILE_ERROR (0x80bb0004), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports');
    expect(r.stderr).toMatch(/Context: "CreateMachine\(bstrSettingsFile.raw\(\), .*" at line 397 of file VBoxManageMisc\.cpp\n$/);
  });

  test('settings-file path: first group below the machine folder, name sanitised as VirtualBox does', async () => {
    const out = await h.ok(['createvm', '--name', '.a/b:c*d ', '--groups', '/lab/rack1,/other', '--register']);
    const cfg = path.join(h.home, 'VirtualBox VMs', 'lab', 'rack1', '_a_b_c_d_', '_a_b_c_d_.vbox');
    expect(out).toContain(`Settings file: '${cfg}'\n`);
    const info = await h.info('.a/b:c*d ');
    expect([info.get('CfgFile'), info.get('groups'), info.get('name')]).toEqual([cfg, '/lab/rack1,/other', '.a/b:c*d ']);
    expect(info.get('rec_screen_dest_filename')).toBe(path.join(path.dirname(cfg), '_a_b_c_d_-screen0.webm'));
  });

  test('empty registry: list vms prints nothing, exit 0; createvm without --name is a syntax error', async () => {
    expect(await h.run(['list', 'vms'])).toMatchObject({ stdout: '', code: 0 });
    const r = await h.run(['createvm', '--ostype', 'Ubuntu_64']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('VBoxManage: error: Parameter --name is required\n\nUsage - Create a new virtual machine:');
  });

  test('state survives between invocations (new processes see the same host)', async () => {
    const u = await h.create('persist', '--ostype', 'Debian_64');
    await h.ok(['modifyvm', 'persist', '--memory', '1024', '--description', 'kept']);
    const again = await h.info(u);
    expect(again.get('memory')).toBe('1024');
    expect(again.get('description')).toBe('kept');
    expect(again.get('ostype')).toBe('Debian (64-bit)');
  });
});

describe('machine lookup (§7.6)', () => {
  test('UUID with/without braces in any case, exact case-sensitive name, settings-file path', async () => {
    const u = await h.create('Look Me');
    for (const arg of [u, `{${u}}`, u.toUpperCase(), `{${u.toUpperCase()}}`, 'Look Me', path.join(h.home, 'VirtualBox VMs', 'Look Me', 'Look Me.vbox')]) {
      expect((await h.info(arg)).get('UUID')).toBe(u);
    }
    const r = await h.run(['showvminfo', 'look me', '--machinereadable']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe("VBoxManage: error: Could not find a registered machine named 'look me'");
    const missing = '0f0f0f0f-0000-4000-8000-000000000000';
    const r2 = await h.run(['showvminfo', missing]);
    expect(r2.stderr.split('\n')[0]).toBe(`VBoxManage: error: Could not find a registered machine with UUID {${missing}}`);
  });

  test('duplicate names: the first registered wins', async () => {
    const u1 = await h.create('dup');
    await h.ok(['createvm', '--name', 'dup', '--register', '--basefolder', path.join(h.dir, 'other')]);
    expect((await h.info('dup')).get('UUID')).toBe(u1);
  });
});

describe('showvminfo --machinereadable', () => {
  test('key order and quoting follow the real 7.0 sample (modulo the documented 7.0.16+ renames)', async () => {
    const real = sample('showvminfo-mr_7.0.x-pre7.0.16_linux_poweroff_vedv.txt');
    // 7.0.0–7.0.14 → 7.0.18: human "Encryption:" line became encryption="disabled", "BIOS NVRAM File" became NvramFile.
    const realKeys = mrKeys(real).map((k) => (k === 'Encryption:     disabled' ? 'encryption' : k === 'BIOS NVRAM File' ? 'NvramFile' : k));
    await h.ok(['createvm', '--name', 'manjaro', '--ostype', 'ArchLinux_64', '--register', '--default']);
    await h.ok(['modifyvm', 'manjaro', '--firmware', 'efi', '--description', 'name1=value1\nname2=value2']);
    await h.ok(['createmedium', 'disk', '--filename', path.join(h.dir, 'disk001.vdi'), '--size', '1024']);
    await h.ok(['storageattach', 'manjaro', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'hdd', '--medium', path.join(h.dir, 'disk001.vdi')]);
    const ours = await h.ok(['showvminfo', 'manjaro', '--machinereadable']);
    expect(mrKeys(ours)).toEqual(realKeys);
    // quoting: a value is quoted in our output iff it is quoted in the real one
    const realLines = new Map(real.split('\n').map((l) => [l.replace(/=.*$/s, ''), l]));
    for (const line of ours.split('\n')) {
      const key = line.includes('=') ? line.slice(0, line.indexOf('=')) : line;
      const rl = realLines.get(key);
      if (!rl || !rl.includes('=')) continue;
      const quoted = (l: string) => l.slice(l.indexOf('=') + 1).startsWith('"');
      expect([key, quoted(line)]).toEqual([key, quoted(rl)]);
    }
    // raw newlines in the description, exactly as the sample
    expect(ours).toContain('description="name1=value1\nname2=value2"\nGuestMemoryBalloon=0\n');
    const info = parseMr(ours);
    expect(info.get('VMStateChangeTime')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000000$/);
    expect(info.get('macaddress1')).toMatch(/^080027[0-9A-F]{6}$/);
    expect(info.get('firmware')).toBe('EFI');
  });

  test('escaping: only " and \\ are escaped in name/description', async () => {
    await h.create('q"\\x');
    await h.ok(['modifyvm', 'q"\\x', '--description', 'say "hi" \\o/']);
    const out = await h.ok(['showvminfo', 'q"\\x', '--machinereadable']);
    expect(out).toContain('name="q\\"\\\\x"\n');
    expect(out).toContain('description="say \\"hi\\" \\\\o/"\n');
  });

  test('defaults of a new VM: 128 MB, 1 CPU, floppy/dvd/disk/none, NIC1 NAT only with --ostype, MACs in every slot', async () => {
    await h.create('plain');
    await h.create('typed', '--ostype', 'Ubuntu_64');
    const p = await h.info('plain');
    const t = await h.info('typed');
    for (const i of [p, t]) {
      expect([i.get('memory'), i.get('cpus'), i.get('boot1'), i.get('boot2'), i.get('boot3'), i.get('boot4')]).toEqual(['128', '1', 'floppy', 'dvd', 'disk', 'none']);
    }
    expect(p.get('nic1')).toBe('none');
    expect(t.get('nic1')).toBe('nat');
    expect(t.get('natnet1')).toBe('nat');
    expect(t.get('nic2')).toBe('none');
    // every slot got a MAC at creation: enabling a NIC shows it without --macaddress
    await h.ok(['modifyvm', 'plain', '--nic3', 'intnet']);
    expect((await h.info('plain')).get('macaddress3')).toMatch(/^080027[0-9A-F]{6}$/);
  });

  test('running VM: SessionName="headless", VideoMode, VRDEClients==0 (as the real running fragments)', async () => {
    await h.create('run', '--ostype', 'Ubuntu_64');
    await h.ok(['startvm', 'run', '--type', 'headless'], { VBOXSIM_START_MS: '50' });
    const out = await h.ok(['showvminfo', 'run', '--machinereadable']);
    expect(out).toContain('VMState="running"\n');
    expect(out).toMatch(/\nSessionName="headless"\nVideoMode="\d+,\d+,\d+"@0,0 1\nvrde="off"\n/);
    expect(out).toContain('\nVRDEActiveConnection="off"\nVRDEClients==0\n');
    const tail = fs.readFileSync(path.join(SAMPLES, 'fragments', 'showvminfo-mr_6.0_windows_running_TAIL-ONLY_vagrant-11174.txt'), 'utf8');
    expect(tail).toContain('SessionName="headless"\nVideoMode=');
  });

  test('human form shows the 28-column labels', async () => {
    await h.create('human', '--ostype', 'Ubuntu_64');
    const out = await h.ok(['showvminfo', 'human']);
    expect(out).toMatch(/^Name: {24}human\n/);
    expect(out).toMatch(/\nMemory size: {17}128MB\n/);
    expect(out).toMatch(/\nState: {23}powered off \(since \d{4}-\d\d-\d\dT[\d:.]+\)\n/);
    expect(out).toMatch(/\nNIC 1: {23}MAC: 080027[0-9A-F]{6}, Attachment: NAT, .*Boot priority: 0, /);
  });
});

describe('error blocks against the real stderr samples', () => {
  const ctx = contextTable();

  test('showvminfo of an unknown VM is byte-identical to the real 7.0 Linux sample', async () => {
    const r = await h.run(['showvminfo', 'xtec-4', '--machinereadable']);
    expect(r.stderr).toBe(sample('stderr/showvminfo_not-found_7.0_linux.stderr.txt'));
    expect(r).toMatchObject({ stdout: '', code: 1 });
  });

  test('startvm of a locked VM: same block as the real 7.0 sample (Linux spelling, first macro line)', async () => {
    const name = 'BashScripts_scriptbox_1711194524335_50351';
    await h.create(name, '--ostype', 'Ubuntu_64');
    await h.ok(['startvm', name, '--type', 'headless'], { VBOXSIM_START_MS: '20' });
    const r = await h.run(['startvm', name, '--type', 'headless']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(toLinux70(sample('stderr/startvm_already-locked_7.0_windows.stderr.txt'), 880));
    expect(ctx.get('VBoxManageMisc.cpp:880')).toBe('LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())');
  });

  test('unregistervm / modifyvm / startvm not found: real samples modulo the 7.0.18 line numbers from the TSV', async () => {
    const cases: Array<[string[], string, string]> = [
      [['unregistervm', 'al2023'], 'stderr/unregistervm_not-found_7.1_linux.stderr.txt', 'VBoxManageMisc.cpp'],
      [['modifyvm', 'packer-deb-1615997195', '--memory', '512'], 'stderr/modifyvm_not-found_6.1_linux.stderr.txt', 'VBoxManageModifyVM.cpp'],
      [['startvm', 'Mojave'], 'stderr/startvm_not-found_5.2_windows.stderr.txt', 'VBoxManageMisc.cpp'],
    ];
    for (const [argv, file, src] of cases) {
      const r = await h.run(argv);
      expect(r.code).toBe(1);
      const line = Number(/at line (\d+) of file/.exec(r.stderr)![1]);
      const context = /Context: "(.*)" at line/.exec(r.stderr)![1];
      expect(ctx.get(`${src}:${line}`)).toBe(context);
      expect(r.stderr).toBe(toLinux70(sample(file), line));
    }
  });

  test('startvm when the VM process dies: stdout and stderr equal the real samples', async () => {
    await h.create('node-02', '--ostype', 'Ubuntu_64');
    h.writeSettings({ faults: [{ mode: 'vm-dies-on-start', command: 'startvm' }] });
    const r = await h.run(['startvm', 'node-02', '--type', 'headless']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(sample('stderr/startvm_vm-terminated_6.1_macos.stdout.txt'));
    expect(r.stderr).toBe(sample('stderr/startvm_vm-terminated_6.1_macos.stderr.txt'));
    expect(await h.state('node-02')).toBe('aborted');
  });

  test('gui start on a host without a display → the same "terminated unexpectedly" failure', async () => {
    await h.create('node-02', '--ostype', 'Ubuntu_64');
    const r = await h.run(['startvm', 'node-02']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(sample('stderr/startvm_vm-terminated_6.1_macos.stderr.txt'));
  });

  test('controlvm on a stopped VM: the single plain line (7.x adds the final period)', async () => {
    const name = 'xUbuntu_14.04-owncloud-8.2.0-4.1-201511161821-DEBUG';
    await h.create(name);
    const r = await h.run(['controlvm', name, 'poweroff']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(sample('stderr/controlvm_not-running_5.x.stderr.txt').replace(/running\n$/, 'running.\n'));
  });

  test('acpipowerbutton on a paused VM: real block with the 7.0.18 ConsoleWrap line', async () => {
    await h.create('p', '--ostype', 'Ubuntu_64');
    await h.ok(['startvm', 'p', '--type', 'headless'], { VBOXSIM_START_MS: '20' });
    await h.ok(['controlvm', 'p', 'pause']);
    const r = await h.run(['controlvm', 'p', 'acpipowerbutton']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(toLinux70(sample('stderr/controlvm_acpipowerbutton_paused_5.x_macos.stderr.txt'), 660));
    expect(ctx.get('VBoxManageControlVM.cpp:660')).toBe('PowerButton()');
  });

  test('modifyvm --memory out of range: the real message and Details, 7.0.18 line 724', async () => {
    await h.create('m');
    const r = await h.run(['modifyvm', 'm', '--memory', '10000000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(toLinux70(sample('stderr/modifyvm_invalid-ram_6.x_windows.stderr.txt').replace(/NS_ERROR_INVALID_ARG|E_INVALIDARG/, 'NS_ERROR_INVALID_ARG'), 724));
    expect(ctx.get('VBoxManageModifyVM.cpp:724')).toBe('COMSETTER(MemorySize)(ValueUnion.u32)');
  });

  test('every Context line the simulator prints names a real 7.0.18 call site', async () => {
    await h.create('sites', '--ostype', 'Ubuntu_64');
    const runs: string[][] = [
      ['modifyvm', 'sites', '--cpus', '999'],
      ['modifyvm', 'sites', '--macaddress1', '08:00:27:00:00:01'],
      ['modifyvm', 'sites', '--name', '0f0f0f0f-0000-4000-8000-000000000000'],
      ['modifyvm', 'sites', '--ostype', 'NoSuchOS'],
      ['discardstate', 'sites'],
      ['controlvm', 'nosuch', 'pause'],
      ['discardstate', 'nosuch'],
      ['createvm', '--name', 'x', '--ostype', 'NoSuchOS'],
    ];
    let seen = 0;
    for (const argv of runs) {
      const r = await h.run(argv);
      expect(r.code).toBe(1);
      for (const m of r.stderr.matchAll(/Context: "(.*)" at line (\d+) of file (\S+)\n/g)) {
        expect([argv.join(' '), ctx.get(`${m[3]}:${m[2]}`)]).toEqual([argv.join(' '), m[1]]);
        seen++;
      }
    }
    expect(seen).toBe(runs.length);
  });
});
