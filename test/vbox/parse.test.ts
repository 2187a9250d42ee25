/**
 * Parsers against EVERY real VBoxManage sample in ../shared/vbox-samples (by
 * path, never copied), their CRLF variants, and the quirks of spec §2–3 that
 * no captured sample happens to show.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  classifyResult,
  parseCreateVm,
  parseErrorBlock,
  parseHostInfo,
  parseListVms,
  parseMachineReadable,
  parseShowVmInfo,
  parseVersion,
  stripWrapperWarnings,
} from '../../src/vbox/parse.js';
import { VBoxError } from '../../src/vbox/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLES = path.resolve(here, '../../../shared/vbox-samples');
const read = (rel: string) => readFileSync(path.join(SAMPLES, rel), 'utf8');
const crlf = (s: string) => s.replace(/\n/g, '\r\n');

describe('list vms / runningvms (real samples)', () => {
  test('go-virtualbox list vms', () => {
    const text = read('list-vms_go-virtualbox.txt');
    const vms = parseListVms(text);
    expect(vms).toEqual([
      { uuid: '2e16b1fc-675d-4a7a-a9a1-e89a8bde7874', name: 'Ubuntu', accessible: true },
      { uuid: 'def44546-e3da-4902-8d15-b91c99c80cbc', name: 'go-virtualbox', accessible: true },
    ]);
    expect(parseListVms(crlf(text))).toEqual(vms);
  });

  test('6.1 macOS list vms + list runningvms pair', () => {
    const text = read('fragments/list-vms_and_runningvms_6.1_macos_my_python.txt');
    const [all, running] = text.split(/^\$ VBoxManage list runningvms\n/m);
    const vms = parseListVms(all.replace(/^\$ .*\n/m, ''));
    expect(vms.map((v) => v.name)).toEqual(['centos_default_1646280262092_51162', 'centos8']);
    expect(parseListVms(running)).toEqual([{ uuid: 'ca6d485f-33d1-4f66-8df3-a3be3b1970ff', name: 'centos8', accessible: true }]);
    // the `$ …` command lines in the file are noise, not VMs
    expect(parseListVms(text).length).toBe(3);
  });

  test('human list -l output is not mistaken for VMs', () => {
    expect(parseListVms(read('fragments/list-l-runningvms_6.1_macos_running_STRIPPED_my_python.txt'))).toEqual([]);
  });

  test('raw names: quotes, braces, spaces, Unicode, newline, inaccessible, wrapper warnings', () => {
    const text = [
      'WARNING: The vboxdrv kernel module is not loaded. Either there is no module',
      '         available for the current kernel (6.1.0) or it failed to',
      '         load. Please recompile the kernel module and install it by',
      '',
      '           sudo /sbin/vboxconfig',
      '',
      '"a"b {x}" {11111111-2222-3333-4444-555555555555}',
      '"spaced name  " {AAAAAAAA-2222-3333-4444-555555555555}',
      '"Ünïcødé ☃" {bbbbbbbb-2222-3333-4444-555555555555}',
      '"two',
      'lines" {cccccccc-2222-3333-4444-555555555555}',
      '"<inaccessible>" {dddddddd-2222-3333-4444-555555555555}',
      '',
    ].join('\n');
    expect(parseListVms(text)).toEqual([
      { uuid: '11111111-2222-3333-4444-555555555555', name: 'a"b {x}', accessible: true },
      { uuid: 'aaaaaaaa-2222-3333-4444-555555555555', name: 'spaced name  ', accessible: true },
      { uuid: 'bbbbbbbb-2222-3333-4444-555555555555', name: 'Ünïcødé ☃', accessible: true },
      { uuid: 'cccccccc-2222-3333-4444-555555555555', name: 'two\nlines', accessible: true },
      { uuid: 'dddddddd-2222-3333-4444-555555555555', name: '<inaccessible>', accessible: false },
    ]);
    expect(parseListVms('')).toEqual([]);
  });
});

describe('showvminfo --machinereadable (real samples)', () => {
  test('7.0.x (pre-7.0.16) Linux poweroff: Encryption line, BIOS NVRAM File, multi-line description, storage, NAT NIC', () => {
    const text = read('showvminfo-mr_7.0.x-pre7.0.16_linux_poweroff_vedv.txt');
    const vm = parseShowVmInfo(text);
    expect(vm.uuid).toBe('19e117b3-06f4-4a1e-851d-47336ad6a142');
    expect(vm.name).toBe('manjaro-gnome-x64-full-clean');
    expect(vm.state).toBe('poweroff');
    expect(vm.stateChangeTime).toBe('2023-02-06T02:18:47.191000000');
    expect(vm.stateFile).toBeUndefined();
    expect(vm.osType).toBe('Arch Linux (64-bit)');
    expect(vm.memoryMB).toBe(4096);
    expect(vm.cpus).toBe(4);
    expect(vm.firmware).toBe('BIOS');
    expect(vm.chipset).toBe('piix3');
    expect(vm.boot).toEqual(['dvd', 'disk', 'none', 'none']);
    expect(vm.groups).toEqual(['/']);
    expect(vm.autostart).toBe(false);
    expect(vm.description).toBe('name1=value1\nname2=value2');
    expect(vm.cfgFile).toBe('/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.vbox');
    expect(vm.raw.encryption).toBe('disabled');
    expect(vm.raw['BIOS NVRAM File']).toBe('/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.nvram');
    expect(vm.raw.GuestMemoryBalloon).toBe('0');
    expect(vm.raw.rec_screen_opts).toBe('vc_enabled=true,ac_enabled=false,ac_profile=med');
    expect(vm.nics).toHaveLength(8);
    expect(vm.nics[0]).toEqual({ slot: 1, attachment: 'nat', mac: '08002744D7F6', model: '82540EM', cableConnected: true });
    expect(vm.nics.slice(1).every((n) => n.attachment === 'none')).toBe(true);
    expect(vm.storageControllers).toEqual([
      { index: 0, name: 'IDE', type: 'PIIX4', instance: 0, portCount: 2, bootable: true },
      { index: 1, name: 'SATA', type: 'IntelAhci', instance: 0, portCount: 1, bootable: true },
    ]);
    expect(vm.storage).toEqual([
      { controller: 'IDE', port: 1, device: 0, medium: 'emptydrive', kind: 'dvd' },
      {
        controller: 'SATA', port: 0, device: 0, kind: 'disk',
        medium: '/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean-disk001.vdi',
        imageUuid: '37a0bb6b-4292-464e-b766-1e8b7101ec94',
      },
    ]);
    const mr = parseMachineReadable(text);
    expect(mr.irregular).toEqual(['Encryption:     disabled', ' rec_screen0']);
    expect(parseShowVmInfo(crlf(text))).toEqual(vm);
  });

  test('5.x macOS saved: VMStateFile, controllers with spaces, Forwarding, vrdeproperty, shared folder', () => {
    const text = read('showvminfo-mr_5.x_macos_saved_go-virtualbox.txt');
    const vm = parseShowVmInfo(text);
    expect(vm.uuid).toBe('37f5d336-bf07-48dd-947c-37e6a56420a7');
    expect(vm.name).toBe('Ubuntu');
    expect(vm.state).toBe('saved');
    expect(vm.stateFile).toBe('/Users/fix/VirtualBox VMs/go-virtualbox/Snapshots/2018-04-23T09-29-48-014952000Z.sav');
    expect(vm.memoryMB).toBe(1024);
    expect(vm.cpus).toBe(1);
    expect(vm.boot).toEqual(['disk', 'dvd', 'none', 'none']);
    expect(vm.description).toBe('');
    expect(vm.raw['Forwarding(0)']).toBe('ssh,tcp,127.0.0.1,2222,,22');
    expect(vm.raw['vrdeproperty[TCP/Ports]']).toBe('5914');
    expect(vm.raw['vrdeproperty[Client/DisableDisplay]']).toBe('<not set>');
    expect(vm.raw.vrdeport).toBe('-1');
    expect(vm.raw.SharedFolderPathMachineMapping1).toBe('/Users/fix/Desktop/GO/src/github.com/terra-farm/go-virtualbox');
    expect(vm.nics[0]).toEqual({ slot: 1, attachment: 'nat', mac: '080027EE1DF7', model: '82540EM', cableConnected: true });
    expect(vm.storageControllers.map((c) => c.name)).toEqual(['IDE Controller', 'SATA Controller']);
    expect(vm.storage).toEqual([
      {
        controller: 'SATA Controller', port: 0, device: 0, kind: 'disk',
        medium: '/Users/fix/VirtualBox VMs/go-virtualbox/ubuntu-16.04-amd64-disk001.vmdk',
        imageUuid: '32583b48-693e-45d4-882f-e9196d4f43c6',
      },
    ]);
    expect(parseShowVmInfo(crlf(text))).toEqual(vm);
  });

  test('6.1 macOS running, head only', () => {
    const text = read('fragments/showvminfo-mr_6.1_macos_running_HEAD-ONLY_minikube-7465.txt');
    const vm = parseShowVmInfo(text);
    expect(vm).toMatchObject({
      uuid: '630ed5e9-d892-486a-9f7f-039f8c425ee3', name: 'minikube', state: 'running', memoryMB: 4000, cpus: 2,
      osType: 'Linux 2.6 / 3.x / 4.x (64-bit)', boot: ['dvd', 'dvd', 'disk', 'none'],
    });
    expect(vm.raw['nested-hw-virt']).toBe('off');
    expect(parseShowVmInfo(crlf(text))).toEqual(vm);
  });

  test('6.1 Linux NIC block: NAT + port forward, host-only, bridged', () => {
    const text = 'UUID="630ed5e9-d892-486a-9f7f-039f8c425ee3"\n' + read('fragments/showvminfo-mr_6.1_linux_NICS-ONLY_vagrant-11952.txt');
    const vm = parseShowVmInfo(text);
    expect(vm.nics).toEqual([
      { slot: 1, attachment: 'nat', mac: '0238EE24C964', model: '82540EM', cableConnected: true },
      { slot: 2, attachment: 'hostonly', target: 'vboxnet0', mac: '08002739BBCC', model: '82540EM', cableConnected: true },
      { slot: 3, attachment: 'bridged', target: 'wlp2s0', mac: '080027F17555', model: '82540EM', cableConnected: true },
      { slot: 4, attachment: 'hostonly', target: 'vboxnet0', mac: '080027CD4DEC', model: '82540EM', cableConnected: true },
      { slot: 5, attachment: 'bridged', target: 'wlp2s0', mac: '080027FE828F', model: '82540EM', cableConnected: true },
    ]);
    expect(vm.raw['Forwarding(0)']).toBe('ssh,tcp,,10135,,22');
  });

  test('6.0 Windows running tail: VRDEClients==0, VideoMode with raw suffix, escaped \\\\?\\ path', () => {
    const text = read('fragments/showvminfo-mr_6.0_windows_running_TAIL-ONLY_vagrant-11174.txt');
    for (const t of [text, crlf(text)]) {
      const { values, irregular } = parseMachineReadable(t);
      expect(values.VRDEClients).toBe('0');
      expect(values.VideoMode).toBe('640,480,32@0,0 1');
      expect(values.SessionName).toBe('headless');
      expect(values.SharedFolderPathMachineMapping1).toBe('\\\\?\\D:\\vagrant\\bak\\test2');
      expect(values.capturescreens).toBe('0');
      expect(values.nic8).toBe('none');
      expect(irregular).toEqual([]);
    }
    // no UUID in a tail: a clear error, not a half-filled VmInfo
    expect(() => parseShowVmInfo(text)).toThrow(VBoxError);
  });

  test('human showvminfo (list -l) does not parse as machine-readable', () => {
    expect(() => parseShowVmInfo(read('fragments/list-l-runningvms_6.1_macos_running_STRIPPED_my_python.txt'))).toThrow(/no UUID/);
  });
});

describe('showvminfo quirks from the spec (synthetic)', () => {
  const U = '0a0b0c0d-1111-2222-3333-444455556666';
  test('cpuid= running into the next key, several cpuid lines', () => {
    const text = [
      `name="x"`, `UUID="${U}"`, 'cpuid-portability-level=0',
      'cpuid=00000001,00000000,000306a9,00100800,7fbae3ff,bfebfbffcpuid=80000001,00000000,00000000,00000000,00000001,28100800bootmenu="messageandmenu"',
      'boot1="net"', 'VMState="running"', '',
    ].join('\n');
    const vm = parseShowVmInfo(text);
    expect(vm.raw.cpuid).toBe('00000001,00000000,000306a9,00100800,7fbae3ff,bfebfbff\n80000001,00000000,00000000,00000000,00000001,28100800');
    expect(vm.raw.bootmenu).toBe('messageandmenu');
    expect(vm.boot[0]).toBe('net');
    expect(vm.state).toBe('running');
  });

  test('7.x escaping: escaped quotes/backslashes in values and quoted keys; 6.1 raw single backslashes', () => {
    const text = [
      'name="say \\"hi\\" \\\\ there"', `UUID="${U}"`,
      'storagecontrollername0="SATA"', 'storagecontrollertype0="IntelAhci"', 'storagecontrollerportcount0="2"',
      '"SATA-0-0"="C:\\\\Users\\\\me\\\\disk.vdi"', '"SATA-1-0"="C:\\Users\\raw\\old.vdi"',
      '"odd=key"="v"', 'description="line1', 'say "quoted" line2 ends with quote"', 'GuestMemoryBalloon=0',
      'encryption="disabled"', 'platformArchitecture="x86"', 'NvramFile="/x.nvram"', 'VMState="aborted-saved"', '',
    ].join('\n');
    const vm = parseShowVmInfo(text);
    expect(vm.name).toBe('say "hi" \\ there');
    expect(vm.storage.map((s) => s.medium)).toEqual(['C:\\Users\\me\\disk.vdi', 'C:\\Users\\raw\\old.vdi']);
    expect(vm.raw['odd=key']).toBe('v');
    expect(vm.description).toBe('line1\nsay "quoted" line2 ends with quote');
    expect(vm.raw.GuestMemoryBalloon).toBe('0');
    expect(vm.platformArchitecture).toBe('x86');
    expect(vm.raw.NvramFile).toBe('/x.nvram');
    expect(vm.state).toBe('aborted-saved');
  });

  test('inaccessible VM, unknown state word, unknown keys, 7.x dvd slot, floppy controller', () => {
    const inacc = parseShowVmInfo(`name="<inaccessible>"\nUUID="${U.toUpperCase()}"\n`);
    expect(inacc).toMatchObject({ uuid: U, name: '<inaccessible>', state: 'unknown' });
    expect(inacc.raw.accessible).toBe('off');
    const vm = parseShowVmInfo([
      'name="v"', `UUID="${U}"`, 'VMState="weird-new-state"', 'futurekey="whatever"',
      'storagecontrollername0="Floppy"', 'storagecontrollertype0="I82078"', 'storagecontrollerportcount0="1"',
      'storagecontrollername1="IDE"', 'storagecontrollertype1="PIIX4"', 'storagecontrollerportcount1="2"',
      '"Floppy-0-0"="/f/boot.img"', '"IDE-0-0"="/i/x.iso"', '"IDE-0-1"="/i/noext"', '"IDE-IsEjected-0-1"="off"', '"IDE-1-0"="/d/disk.vdi"',
      'nic1="Generic"', 'genericdrv1="UDPTunnel"', 'generic1="UDPTunnel"', 'macaddress1="080027aabbcc"',
      'nic2="natnetwork"', 'nat-network2="NatNetwork"', '',
    ].join('\n'));
    expect(vm.state).toBe('unknown');
    expect(vm.raw.futurekey).toBe('whatever');
    expect(vm.storage.map((s) => [s.controller, s.port, s.device, s.kind])).toEqual([
      ['Floppy', 0, 0, 'floppy'], ['IDE', 0, 0, 'dvd'], ['IDE', 0, 1, 'dvd'], ['IDE', 1, 0, 'disk'],
    ]);
    expect(vm.nics[0]).toMatchObject({ attachment: 'generic', target: 'UDPTunnel', mac: '080027AABBCC' });
    expect(vm.nics[1]).toMatchObject({ attachment: 'natnetwork', target: 'NatNetwork' });
  });

  test('wrapper warning block before machine-readable output', () => {
    const text = 'WARNING: Environment variable LOGNAME or USER does not correspond to effective user id.\n' +
      `name="w"\nUUID="${U}"\nVMState="poweroff"\n`;
    expect(stripWrapperWarnings(text).startsWith('name=')).toBe(true);
    expect(parseShowVmInfo(text)).toMatchObject({ name: 'w', state: 'poweroff' });
  });

  test('empty / truncated output is a clear error', () => {
    expect(() => parseShowVmInfo('')).toThrow(VBoxError);
    expect(() => parseShowVmInfo('name="a"\n')).toThrow(/no UUID/);
  });
});

describe('--version, createvm, list hostinfo', () => {
  test('versions', () => {
    expect(parseVersion('7.0.18r162988\n')).toMatchObject({ major: 7, minor: 0, patch: 18, revision: 162988, suffix: '' });
    expect(parseVersion('6.1.34_Ubuntur150636\r\n')).toMatchObject({ major: 6, minor: 1, patch: 34, suffix: '_Ubuntu', revision: 150636, full: '6.1.34_Ubuntur150636' });
    expect(parseVersion('WARNING: The vboxdrv kernel module is not loaded.\n7.1.12r169651\n').full).toBe('7.1.12r169651');
    expect(() => parseVersion('garbage')).toThrow(VBoxError);
  });
  test('createvm', () => {
    const out = "Virtual machine 'x y' is created and registered.\nUUID: 0A0B0C0D-1111-2222-3333-444455556666\nSettings file: '/h/x y/x y.vbox'\n";
    expect(parseCreateVm(out)).toBe('0a0b0c0d-1111-2222-3333-444455556666');
    expect(parseCreateVm(crlf(out))).toBe('0a0b0c0d-1111-2222-3333-444455556666');
    expect(() => parseCreateVm('nothing')).toThrow(VBoxError);
  });
  test('list hostinfo', () => {
    const out = 'Host Information:\n\nHost time: 2024-01-01T00:00:00.000000000Z\nProcessor online count: 8\nProcessor count: 16\n' +
      'Processor online core count: 8\nProcessor speed: 2600 MHz\nProcessor description: Intel(R) Xeon(R) CPU\nMemory size: 15925 MByte\nOperating system: Linux\n';
    expect(parseHostInfo(out)).toEqual({ cpuCount: 8, cpuMhz: 2600, cpuModel: 'Intel(R) Xeon(R) CPU', memoryKiB: 15925 * 1024, os: 'Linux' });
  });
});

describe('error classification on every real stderr sample', () => {
  // file → [kind, code, first message line]; every sample in the folder must be listed here
  const expected: Record<string, [string, string | undefined, RegExp]> = {
    'controlvm_acpipowerbutton_paused_5.x_macos.stderr.txt': ['invalid-state', 'VBOX_E_INVALID_VM_STATE', /^Invalid machine state: Paused$/],
    'controlvm_not-running_5.x.stderr.txt': ['not-running', undefined, /is not currently running$/],
    'modifyvm_invalid-ram_6.x_windows.stderr.txt': ['invalid-argument', 'E_INVALIDARG', /^Invalid RAM size/],
    'modifyvm_not-found_6.1_linux.stderr.txt': ['not-found', 'VBOX_E_OBJECT_NOT_FOUND', /^Could not find a registered machine named 'packer-deb-1615997195'$/],
    'modifyvm_unexpected-process-during-startvm_5.0_macos.stderr.txt': ['locked', 'E_ACCESSDENIED', /^An unexpected process/],
    'showvminfo_functionality-limited_7.2_windows.stderr.txt': ['locked', 'E_ACCESSDENIED', /^The object functionality is limited$/],
    'showvminfo_not-found_7.0_linux.stderr.txt': ['not-found', 'VBOX_E_OBJECT_NOT_FOUND', /'xtec-4'$/],
    'showvminfo_object-not-ready_vm-aborting_7.0_macos.stderr.txt': ['locked', 'E_ACCESSDENIED', /^The object is not ready$/],
    'startvm_already-locked_7.0_windows.stderr.txt': ['locked', 'VBOX_E_INVALID_OBJECT_STATE', /is already locked by a session/],
    'startvm_not-found_5.2_windows.stderr.txt': ['not-found', 'VBOX_E_OBJECT_NOT_FOUND', /'Mojave'$/],
    'startvm_vm-terminated_6.1_macos.stderr.txt': ['failed', 'NS_ERROR_FAILURE', /has terminated unexpectedly during startup/],
    'storagectl_write-lock-busy_5.1_xpcom.stderr.txt': ['locked', 'VBOX_E_INVALID_OBJECT_STATE', /is already locked for a session/],
    'unregistervm_not-found_7.1_linux.stderr.txt': ['not-found', 'VBOX_E_OBJECT_NOT_FOUND', /'al2023'$/],
  };
  const files = readdirSync(path.join(SAMPLES, 'stderr')).filter((f) => f.endsWith('.stderr.txt'));

  test('the table covers every sample on disk', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(files)('%s', (file) => {
    const stderr = read(`stderr/${file}`);
    const [kind, code, msg] = expected[file];
    for (const [text, exitCode] of [[stderr, 1], [crlf(stderr), 1], [stderr, 0]] as const) {
      const err = classifyResult({ stdout: '', stderr: text, exitCode }, ['x']);
      expect(err).toBeInstanceOf(VBoxError);
      expect(err!.kind).toBe(kind);
      expect(err!.vboxCode).toBe(code);
      expect(err!.message).toMatch(msg);
      expect(err!.argv).toEqual(['x']);
    }
  });

  test('the startvm terminated sample: its stdout is not a success', () => {
    const stdout = read('stderr/startvm_vm-terminated_6.1_macos.stdout.txt');
    expect(stdout).toMatch(/Waiting for VM "node-02" to power on/);
    expect(stdout).not.toMatch(/successfully started/);
    const block = parseErrorBlock(read('stderr/startvm_vm-terminated_6.1_macos.stderr.txt'))!;
    expect(block).toMatchObject({ code: 'NS_ERROR_FAILURE', hresult: '0x80004005', component: 'MachineWrap', iface: 'IMachine' });
    expect(block.context).toBeUndefined();
  });

  test('context lines are parsed (not translated, safe to match)', () => {
    const b = parseErrorBlock(read('stderr/modifyvm_not-found_6.1_linux.stderr.txt'))!;
    expect(b.context).toBe('FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())');
  });
});

describe('error classification: other shapes', () => {
  const run = (stderr: string, exitCode: number, stdout = '') => classifyResult({ stdout, stderr, exitCode });
  test('success', () => {
    expect(run('0%...10%...100%\n', 0)).toBeNull();
    expect(run('', 0)).toBeNull();
  });
  test('exit 0 with an error line is a failure; exit ≠ 0 without one too', () => {
    expect(run('VBoxManage: error: Something odd\n', 0)?.kind).toBe('failed');
    const e = run('0%...\nsegfault or whatever\n', 139);
    expect(e?.kind).toBe('failed');
    expect(e?.message).toMatch(/exit(ed)? with code 139.*segfault/);
  });
  test('syntax errors (exit 2, old and new style) → invalid-argument', () => {
    expect(run('Oracle VM VirtualBox Command Line Management Interface Version 6.1.38\n\nUsage:\n...\n\nSyntax error: Invalid parameter \'--bogus\'\n', 2)?.kind).toBe('invalid-argument');
    expect(run('VBoxManage: error: Unknown option: --bogus\n\nUsage: ...\n', 2)?.kind).toBe('invalid-argument');
  });
  test('VBoxSVC unreachable → unavailable', () => {
    const e = run('VBoxManage: error: Failed to create the VirtualBox object!\nVBoxManage: error: Code NS_ERROR_FACTORY_NOT_REGISTERED (0x80040154) - Class not registered (extended info not available)\nVBoxManage: error: Most likely, the VirtualBox COM server is not running or failed to start.\n', 1);
    expect(e?.kind).toBe('unavailable');
  });
  test('7.x not-running with trailing dot, localised text with a code still classified by code', () => {
    expect(run("VBoxManage: error: Machine '0a0b' is not currently running.\n", 1)?.kind).toBe('not-running');
    const de = run('VBoxManage: error: Ungültiger Maschinenzustand: Paused\nVBoxManage: error: Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component ConsoleWrap, interface IConsole, callee nsISupports\n', 1);
    expect(de?.kind).toBe('invalid-state');
  });
  test('VBOX_E_OBJECT_NOT_FOUND outside FindMachine (unknown OS type) → invalid-argument', () => {
    const e = run("VBoxManage: error: 'Nope' is not a valid Guest OS type\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports\nVBoxManage: error: Context: \"CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), machine.asOutParam())\" at line 312 of file VBoxManageMisc.cpp\n", 1);
    expect(e?.kind).toBe('invalid-argument');
  });
});

describe('list parsing, strict mode (what the host uses)', () => {
  test('garbage or a truncated last line is an error, not an empty host', () => {
    expect(() => parseListVms('\u0007aGVsbG8~\n}{ "=\n', { strict: true })).toThrow(VBoxError);
    expect(() => parseListVms('"vm" {0a0b0c0d-1111-2222-3333-44445555', { strict: true })).toThrow(/unrecognised/);
    expect(parseListVms(read('list-vms_go-virtualbox.txt'), { strict: true })).toHaveLength(2);
    expect(parseListVms('', { strict: true })).toEqual([]);
    expect(parseListVms('WARNING: x\n   more\n\n"a" {0a0b0c0d-1111-2222-3333-444455556666}\n', { strict: true })).toHaveLength(1);
  });
});

describe('truncated output at every byte never crashes a parser', () => {
  const samples = [
    'showvminfo-mr_7.0.x-pre7.0.16_linux_poweroff_vedv.txt',
    'showvminfo-mr_5.x_macos_saved_go-virtualbox.txt',
    'list-vms_go-virtualbox.txt',
    'fragments/showvminfo-mr_6.0_windows_running_TAIL-ONLY_vagrant-11174.txt',
  ];
  test.each(samples)('%s', (file) => {
    const text = read(file);
    const full = file.includes('showvminfo') && !file.includes('TAIL') ? parseShowVmInfo(text) : null;
    const problems: string[] = [];
    for (let i = 0; i <= text.length; i++) {
      const cut = text.slice(0, i);
      parseMachineReadable(cut); // must not throw at all
      parseListVms(cut);
      try {
        const vm = parseShowVmInfo(cut);
        // whatever parsed is a prefix-consistent view of the full output
        if (full && vm.uuid !== full.uuid) problems.push(`cut ${i}: uuid ${vm.uuid}`);
      } catch (e) {
        if (!(e instanceof VBoxError)) problems.push(`cut ${i}: ${String(e)}`);
      }
      try {
        parseListVms(cut, { strict: true });
      } catch (e) {
        if (!(e instanceof VBoxError)) problems.push(`cut ${i}: ${String(e)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('adversarial output stays linear (a quadratic parser would not finish within the test timeout)', () => {
  test('200k lines of unterminated quotes, lines without "=", and quoted keys without a closing quote', () => {
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(i % 3 === 0 ? 'k="unterminated \\" value' : i % 3 === 1 ? 'no equals sign here' : '"quoted key never closed');
    const text = `UUID="0a0b0c0d-1111-2222-3333-444455556666"\n` + lines.join('\n');
    const mr = parseMachineReadable(text);
    expect(mr.values.UUID).toBe('0a0b0c0d-1111-2222-3333-444455556666');
    expect(mr.irregular.length).toBeGreaterThan(100_000);
    expect(() => parseListVms(text, { strict: true })).toThrow(VBoxError);
    expect(parseListVms(lines.join('\n'))).toEqual([]);
  });
});
