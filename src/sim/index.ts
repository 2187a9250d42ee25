/**
 * vboxsim: a VirtualBox 7.0.18 `VBoxManage` look-alike for tests, benchmarks and the demo.
 *
 *   runVBoxManage(argv, env) → { stdout, stderr, exitCode }   (the whole command line, in-process)
 *
 * `env.VBOX_USER_HOME` selects the state folder (default `~/.config/VirtualBox`).
 * State is files, shared safely with concurrently running `bin/vboxsim.js` processes.
 * Behaviour and controls: docs/vboxsim.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import { Ctx } from './context.js';
import {
  LOGO,
  REVISION,
  SimFailure,
  VERSION,
  comErrorText,
  comError,
  lockedBySession,
  lockedForSession,
  SITES,
  svcDownText,
  parseUuid,
} from './errors.js';
import { SettingsError, loadSettings, userHome, type FaultSpec, type SimSettings } from './settings.js';
import { SimStore, mkdirp } from './store.js';
import { cmdControlVm, cmdCreateVm, cmdDiscardState, cmdList, cmdModifyVm, cmdShowVmInfo, cmdStartVm, cmdUnregisterVm } from './cmd-vm.js';
import { USAGE } from './usage.js';
import { COMMANDS as MEDIA_COMMANDS } from './cmd-media.js';
import { COMMANDS as PROP_COMMANDS } from './cmd-props.js';

export { SimStore } from './store.js';
export type { Registry, RegistryMachine, Medium, HostOnlyIf, NatNet, SeedMachine } from './store.js';
export type { Machine, Nic, StorageController, Attachment } from './machine.js';
export { machineReadable, settle } from './machine.js';
export { loadSettings, userHome, settingsFile, FAULT_MODES } from './settings.js';
export type { SimSettings, FaultSpec, FaultMode } from './settings.js';
export { SimFailure } from './errors.js';

export interface SimResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Set when a `crash` fault killed the "process" (the CLI then dies by this signal). */
  signal?: NodeJS.Signals;
}

type Handler = (ctx: Ctx, args: string[]) => Promise<void>;

/** Command table (aliases as in VBoxManage.cpp). Later commands register through `registerCommand`. */
const COMMANDS: Record<string, Handler> = {
  list: cmdList,
  showvminfo: cmdShowVmInfo,
  createvm: cmdCreateVm,
  modifyvm: cmdModifyVm,
  unregistervm: cmdUnregisterVm,
  startvm: cmdStartVm,
  controlvm: cmdControlVm,
  discardstate: cmdDiscardState,
};

const ALIASES: Record<string, string> = { createhd: 'createmedium', createvdi: 'createmedium', showhdinfo: 'showmediuminfo' };

Object.assign(COMMANDS, MEDIA_COMMANDS, PROP_COMMANDS);

/** The VM argument of a command line (for fault scoping), if the command has one. */
function vmArgOf(command: string, args: string[]): string | undefined {
  if (command === 'createvm') {
    const i = args.findIndex((a) => a === '--name' || a.startsWith('--name='));
    if (i < 0) return undefined;
    return args[i]!.includes('=') ? args[i]!.slice(7) : args[i + 1];
  }
  if (['showvminfo', 'modifyvm', 'unregistervm', 'startvm', 'controlvm', 'discardstate', 'storagectl', 'storageattach'].includes(command)) {
    return args.find((a) => !a.startsWith('-'));
  }
  return undefined;
}

/** Commands that lock the VM's session (the `lock` fault only hits these; showvminfo ignores lock failures). */
const LOCKING = new Set(['startvm', 'modifyvm', 'discardstate', 'storagectl', 'storageattach', 'unregistervm', 'controlvm']);

function faultMatches(f: FaultSpec, command: string, args: string[], store: SimStore): boolean {
  if (f.command && f.command !== '*' && f.command !== command) return false;
  if (f.mode === 'lock' && !LOCKING.has(command)) return false;
  if (f.mode === 'vm-dies-on-start' && command !== 'startvm') return false;
  if (f.subcommand && (command !== 'controlvm' ? args[0] : args[1]) !== f.subcommand) return false;
  if (f.vm) {
    const arg = vmArgOf(command, args);
    if (arg === undefined) return false;
    if (arg === f.vm) return true;
    const ids = (s: string): string | undefined => {
      const u = parseUuid(s);
      if (u) return u;
      for (const e of store.readRegistry().machines) {
        const m = store.readMachine(e.cfg);
        if (m?.name === s) return e.uuid;
      }
      return undefined;
    };
    const a = ids(arg);
    return a !== undefined && a === ids(f.vm);
  }
  return true;
}

function lockFaultError(command: string, name: string): SimFailure {
  const at = (file: string, line: number, context: string) => ({ file, line, context });
  switch (command) {
    case 'startvm':
      return lockedBySession(name);
    case 'modifyvm':
      return lockedForSession(name, SITES.modifyLock);
    case 'storagectl':
      return lockedForSession(name, at('VBoxManageStorageController.cpp', 1057, 'LockMachine(a->session, LockType_Write)'));
    case 'storageattach':
      return lockedForSession(name, at('VBoxManageStorageController.cpp', 345, 'LockMachine(a->session, LockType_Shared)'));
    case 'controlvm':
      return lockedForSession(name, SITES.controlLock);
    case 'unregistervm':
      return comError({
        message: `Cannot unregister the machine '${name}' while it is locked`,
        code: 'VBOX_E_INVALID_OBJECT_STATE',
        component: 'MachineWrap',
        iface: 'IMachine',
        site: SITES.unregister,
      });
    default:
      return lockedForSession(name, SITES.discardLock);
  }
}

/** What VirtualBox's VBox.sh wrapper prints on stdout before exec'ing VBoxManage (7.0.16+ texts). */
function wrapperWarnings(s: SimSettings, env: Record<string, string | undefined>): string {
  let o = '';
  if (s.wrapperWarnings.includes('kernel-module')) {
    o +=
      'WARNING: The vboxdrv kernel module is not loaded. Either there is no module\n' +
      `         available for the current kernel (${os.release()}) or it failed to\n` +
      '         load. Please recompile the kernel module and install it by\n\n' +
      '           sudo /sbin/vboxconfig\n\n' +
      '         You will not be able to start VMs until this problem is fixed.\n';
  } else if (s.wrapperWarnings.includes('no-device')) {
    o +=
      'WARNING: The character device /dev/vboxdrv does not exist. Try\n\n' +
      '           sudo /sbin/vboxconfig\n\n' +
      '         and if that is not successful, try to re-install the package.\n\n' +
      '         You will not be able to start VMs until this problem is fixed.\n';
  }
  if (s.wrapperWarnings.includes('user-env')) {
    let me = '';
    try {
      me = os.userInfo().username;
    } catch {
      me = '';
    }
    if (!env.LOGNAME || env.LOGNAME !== me || !env.USER || env.USER !== me) {
      o += 'WARNING: Environment variable LOGNAME or USER does not correspond to effective user id.\n';
    }
  }
  return o;
}

function garbage(): string {
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) lines.push(crypto.randomBytes(12 + i * 3).toString('base64').replace(/[=/]/g, '~'));
  return `\u0007${lines.join('\n')}\n}{ "=\n`;
}

function logInvocation(s: SimSettings, entry: Record<string, unknown>): void {
  if (!s.log) return;
  try {
    mkdirp(path.dirname(s.logFile));
    fs.appendFileSync(s.logFile, JSON.stringify(entry) + '\n');
  } catch {
    /* logging must never break a command */
  }
}

/** Run one VBoxManage command line in-process. Never throws; `hang` faults never resolve. */
export async function runVBoxManage(argv: string[], env: Record<string, string | undefined>): Promise<SimResult> {
  const t0 = Date.now();
  env = env ?? {};
  const home = userHome(env);
  let settings: SimSettings;
  try {
    settings = loadSettings(env, home);
  } catch (e) {
    if (e instanceof SettingsError) return { stdout: '', stderr: `vboxsim: ${e.message}\n`, exitCode: 1 };
    throw e;
  }
  let result: SimResult;
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string')) {
    result = { stdout: '', stderr: 'vboxsim: argv must be an array of strings\n', exitCode: 2 };
  } else {
    try {
      result = await runInner(argv, env, home, settings);
    } catch (e) {
      result = { stdout: '', stderr: `VBoxManage: error: vboxsim internal error: ${(e as Error)?.stack ?? String(e)}\n`, exitCode: 1 };
    }
  }
  const warn = wrapperWarnings(settings, env);
  if (warn) result.stdout = warn + result.stdout;
  logInvocation(settings, {
    time: new Date(t0).toISOString(),
    pid: process.pid,
    argv,
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: Date.now() - t0,
  });
  return result;
}

async function runInner(argv: string[], env: Record<string, string | undefined>, home: string, settings: SimSettings): Promise<SimResult> {
  const store = new SimStore(home);
  try {
    mkdirp(home);
    fs.accessSync(home, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    if (!argv.some((a) => a === '--version' || a === '-v' || a === '-V')) {
      return { stdout: '', stderr: `VBoxManage: error: Failed to initialize COM because the global settings directory '${home}' is not accessible!\n`, exitCode: 1 };
    }
  }
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--version' || a === '-v' || a === '-V' || a === '-version' || a === '-Version') {
      return { stdout: `${VERSION}r${REVISION}\n`, stderr: '', exitCode: 0 };
    }
    if (a === '--nologo' || a === '-q' || a === '-nologo') continue;
    break;
  }
  if (i >= argv.length) {
    return { stdout: LOGO + 'Usage:\n\n  VBoxManage [<general option>] <command>\n\n', stderr: '', exitCode: 0 };
  }
  const word = argv[i]!;
  const command = ALIASES[word] ?? word;
  const args = argv.slice(i + 1);
  const handler = COMMANDS[command];
  if (!handler) {
    return { stdout: '', stderr: `${LOGO}VBoxManage: error: Invalid command '${word}'\n\n`, exitCode: 2 };
  }
  if (args.length === 0) return { stdout: USAGE[command] ?? '', stderr: '', exitCode: 1 };

  const sub = command === 'controlvm' ? args[1] : command === 'list' ? args.find((a) => !a.startsWith('-')) : undefined;
  const ctx = new Ctx(env, store, settings, command, sub);

  // Faults (first matching one whose shared counter is not exhausted).
  let fault: FaultSpec | undefined;
  for (const f of settings.faults) {
    if (!faultMatches(f, command, args, store)) continue;
    if (await store.takeFault(f.id ?? JSON.stringify(f), f.count)) {
      fault = f;
      break;
    }
  }
  if (fault?.mode === 'svc-down') return { stdout: '', stderr: svcDownText(), exitCode: 1 };
  if (fault?.mode === 'hang') {
    await ctx.commandDelay();
    return new Promise<SimResult>(() => undefined);
  }
  if (fault?.mode === 'garbage') {
    await ctx.commandDelay();
    return { stdout: garbage(), stderr: '', exitCode: 0 };
  }
  if (fault?.mode === 'lock') {
    await ctx.commandDelay();
    const arg = vmArgOf(command, args) ?? '';
    const name = ctx.tryFind(arg)?.machine.name ?? arg;
    return { stdout: '', stderr: lockFaultError(command, name).stderr, exitCode: 1 };
  }
  if (fault?.mode === 'vm-dies-on-start') ctx.vmDiesOnStart = true;
  // without the kernel driver the VM process cannot open /dev/vboxdrv and exits (spec §4)
  if (settings.wrapperWarnings.includes('kernel-module') || settings.wrapperWarnings.includes('no-device')) ctx.noDriver = true;

  let exitCode = 0;
  try {
    await handler(ctx, args);
  } catch (e) {
    if (e instanceof SimFailure) {
      ctx.err(e.stderr);
      exitCode = e.exitCode;
    } else {
      ctx.err(`VBoxManage: error: vboxsim internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      exitCode = 1;
    }
  }
  await ctx.commandDelay();

  if (fault?.mode === 'crash') {
    const half = ctx.stdout.slice(0, Math.floor(ctx.stdout.length / 2));
    return { stdout: half, stderr: '', exitCode: 139, signal: 'SIGKILL' };
  }
  if (fault?.mode === 'error-exit0') {
    ctx.err(
      comErrorText({
        message: 'The object is not ready',
        code: 'E_ACCESSDENIED',
        component: 'SessionMachine',
        iface: 'IMachine',
        site: { file: 'VBoxManageInfo.cpp', line: 1201, context: 'GetHPETEnabled(&f)' },
      }),
    );
    exitCode = 0;
  }
  return { stdout: ctx.stdout, stderr: ctx.stderr, exitCode };
}
