/**
 * Runners: the one seam between the backend and VBoxManage. A Runner takes an
 * argv array (never a shell string) and returns what the program printed and
 * its exit code. VBoxManage-level failures (exit ≠ 0, `error:` on stderr) are
 * RETURNED, not thrown: the caller classifies them (parse.ts). A Runner throws
 * only VBoxError('timeout') and VBoxError('unavailable') (program missing, SSH
 * down, connection dropped mid-command).
 *
 *   InProcessSimRunner  the simulator's runVBoxManage() in this process
 *   LocalRunner         execa, a local VBoxManage (or bin/vboxsim.js)
 *   SshRunner           ssh2, VBoxManage on another host (sshrunner.ts)
 */
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { execa as ExecaFn } from 'execa';
import { VBoxError } from './types.js';
import { type RunResult, stripWrapperWarnings } from './parse.js';

/** execa is loaded on first use (only `--backend vboxmanage` needs it; keeps the sim daemon's RSS down). */
let execaModule: Promise<{ execa: typeof ExecaFn }> | undefined;
function loadExeca(): Promise<{ execa: typeof ExecaFn }> {
  return (execaModule ??= import('execa'));
}

export type { RunResult } from './parse.js';

export interface RunOptions {
  /** Kill the invocation (and its children) after this long. */
  timeoutMs?: number;
}

/** Who runs VBoxManage where: used for the "no VMs" hint and logs. */
export interface RunnerIdentity {
  kind: 'sim' | 'local' | 'ssh';
  /** OS user whose VirtualBox registry is used. */
  user: string;
  /** VBOX_USER_HOME in effect, or a description of the default. */
  home: string;
  /** The program or host used. */
  where: string;
}

/** Facts about the machine VirtualBox runs on that VBoxManage does not print. */
export interface HostFacts {
  hostname?: string;
  /** Kernel-style architecture name (`x86_64`, `aarch64`). */
  arch?: string;
}

export interface Runner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
  describe?(): RunnerIdentity;
  /** The VirtualBox machine's own hostname and architecture, when it is not this machine. */
  hostFacts?(): Promise<HostFacts>;
}

/** Architecture names from `uname -m`, Node's `process.arch` or Windows' PROCESSOR_ARCHITECTURE, as a kernel name. */
export function kernelArch(name: string): string {
  const n = name.trim();
  const map: Record<string, string> = {
    x64: 'x86_64', amd64: 'x86_64', x86_64: 'x86_64',
    arm64: 'aarch64', aarch64: 'aarch64',
    ia32: 'i686', x86: 'i686', i386: 'i686', i686: 'i686',
    arm: 'armv7l', armv7l: 'armv7l',
  };
  return map[n.toLowerCase()] ?? n;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** Reject argv elements a process cannot receive (NUL) or that are not strings. */
export function checkArgv(argv: readonly unknown[]): asserts argv is string[] {
  if (!Array.isArray(argv) || argv.length === 0) throw new VBoxError('invalid-argument', 'empty VBoxManage command');
  for (const a of argv) {
    if (typeof a !== 'string') throw new VBoxError('invalid-argument', 'VBoxManage arguments must be strings');
    if (a.includes('\0')) throw new VBoxError('invalid-argument', 'VBoxManage arguments cannot contain NUL characters', undefined, argv as string[]);
  }
}

/** Normalise one result: CRLF → LF, wrapper `WARNING:` block dropped from stdout. */
export function normalizeResult(r: RunResult): RunResult {
  return {
    stdout: stripWrapperWarnings(r.stdout.replace(/\r\n/g, '\n')),
    stderr: r.stderr.replace(/\r\n/g, '\n'),
    exitCode: r.exitCode,
  };
}

// ---------------------------------------------------------------------------
// In-process simulator

export type SimEntry = (argv: string[], env: { VBOX_USER_HOME: string; [k: string]: string | undefined }) => Promise<RunResult>;

let simEntryPromise: Promise<SimEntry> | null = null;

/** Load `runVBoxManage` from src/sim/index.ts lazily (the simulator is a separate module). */
export function loadSimEntry(): Promise<SimEntry> {
  if (!simEntryPromise) {
    const spec = '../sim/index.js';
    simEntryPromise = (import(spec) as Promise<{ runVBoxManage?: SimEntry }>).then((m) => {
      if (typeof m.runVBoxManage !== 'function') throw new VBoxError('unavailable', 'the simulator does not export runVBoxManage');
      return m.runVBoxManage;
    });
    simEntryPromise.catch(() => {
      simEntryPromise = null;
    });
  }
  return simEntryPromise;
}

export interface InProcessSimRunnerOptions {
  /** The simulator's VBOX_USER_HOME (its state directory). */
  home: string;
  /** Extra environment for the simulator (fault-injection settings…). */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Use this entry point instead of importing src/sim (tests). */
  entry?: SimEntry;
}

/**
 * Runs the simulator's command line in this process. A timeout makes run()
 * reject with VBoxError('timeout'); the simulated command itself cannot be
 * killed (it is a promise), so it is left to finish in the background.
 */
export class InProcessSimRunner implements Runner {
  private closed = false;
  constructor(private readonly opts: InProcessSimRunnerOptions) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    checkArgv(argv);
    if (this.closed) throw new VBoxError('unavailable', 'runner is closed', undefined, argv);
    const entry = this.opts.entry ?? (await loadSimEntry());
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const env = {
      LC_ALL: 'C.UTF-8',
      LANG: 'C.UTF-8',
      USER: currentUser(),
      LOGNAME: currentUser(),
      ...this.opts.env,
      VBOX_USER_HOME: this.opts.home,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new VBoxError('timeout', `VBoxManage ${argv[0]} did not finish within ${timeoutMs} ms`, undefined, argv)),
        timeoutMs,
      );
    });
    try {
      const r = await Promise.race([entry([...argv], env), timeout]);
      return normalizeResult({ stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: Number(r.exitCode ?? 1) });
    } catch (e) {
      if (e instanceof VBoxError) throw e;
      throw new VBoxError('failed', `simulator crashed: ${(e as Error)?.message ?? e}`, undefined, argv);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  describe(): RunnerIdentity {
    return { kind: 'sim', user: currentUser(), home: this.opts.home, where: 'in-process simulator' };
  }
}

// ---------------------------------------------------------------------------
// Local VBoxManage through execa

export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? process.env.USERNAME ?? 'unknown';
  }
}

export interface FindResult {
  path?: string;
  tried: string[];
}

/**
 * Where VBoxManage lives (spec §1.1): Linux PATH, /usr/bin, /usr/lib/virtualbox,
 * /opt/VirtualBox; macOS the app bundle, /usr/local/bin; Windows
 * VBOX_MSI_INSTALL_PATH, VBOX_INSTALL_PATH, Program Files. Pure except for the
 * `exists` probe, so every platform can be tested anywhere.
 */
export function findVBoxManage(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = isExecutableFile,
): FindResult {
  const tried: string[] = [];
  const win = platform === 'win32';
  const p = win ? path.win32 : path.posix;
  const names = win ? ['VBoxManage.exe'] : ['VBoxManage', 'vboxmanage'];
  const candidates: string[] = [];
  if (win) {
    for (const v of ['VBOX_MSI_INSTALL_PATH', 'VBOX_INSTALL_PATH']) {
      const dir = env[v];
      if (dir) for (const d of dir.split(';').filter(Boolean)) candidates.push(p.join(d, 'VBoxManage.exe'));
    }
  }
  const pathVar = env.PATH ?? env.Path ?? '';
  for (const dir of pathVar.split(win ? ';' : ':').filter(Boolean)) for (const n of names) candidates.push(p.join(dir, n));
  if (win) {
    const pf = env.ProgramFiles ?? 'C:\\Program Files';
    candidates.push(p.join(pf, 'Oracle', 'VirtualBox', 'VBoxManage.exe'));
    candidates.push('C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe');
  } else if (platform === 'darwin') {
    candidates.push('/Applications/VirtualBox.app/Contents/MacOS/VBoxManage', '/usr/local/bin/VBoxManage', '/usr/local/bin/vboxmanage');
  } else {
    candidates.push('/usr/bin/VBoxManage', '/usr/lib/virtualbox/VBoxManage', '/opt/VirtualBox/VBoxManage', '/usr/local/bin/VBoxManage');
  }
  for (const c of candidates) {
    if (tried.includes(c)) continue;
    tried.push(c);
    if (exists(c)) return { path: c, tried };
  }
  return { tried };
}

function isExecutableFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Process groups of running invocations, across all LocalRunners. Detached
 * children are not covered by execa's `cleanup`, so a daemon that exits (even
 * abnormally) kills what it started from a synchronous 'exit' hook.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of liveGroups) {
        try {
          process.kill(process.platform === 'win32' ? g : -g, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    });
  }
}

export interface LocalRunnerOptions {
  /** Explicit VBoxManage path; a `.js` file is run with this Node (bin/vboxsim.js). */
  vboxmanage?: string;
  /** The operator's VBOX_USER_HOME (default: inherited). */
  vboxUserHome?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Default per-invocation timeout. */
  timeoutMs?: number;
  /** After the timeout: SIGTERM, then SIGKILL this much later. */
  killGraceMs?: number;
}

/**
 * Spawns VBoxManage with execa (argv array, never a shell). Environment:
 * LC_ALL/LANG = C.UTF-8 (en_US.UTF-8 on macOS), USER/LOGNAME set, the
 * operator's VBOX_USER_HOME. On POSIX each invocation gets its own process
 * group, so a timeout kills VBoxManage AND its children (SIGTERM to the group,
 * SIGKILL after a grace period); on Windows `taskkill /T /F`.
 */
export class LocalRunner implements Runner {
  readonly program: string;
  private readonly prefix: string[];
  private readonly env: Record<string, string>;
  private readonly live = new Set<number>();
  private closed = false;

  constructor(private readonly opts: LocalRunnerOptions = {}) {
    let program = opts.vboxmanage;
    if (program) {
      if (!existsSync(program)) {
        throw new VBoxError('unavailable', `VBoxManage not found at ${program} (from --vboxmanage)`);
      }
    } else {
      const found = findVBoxManage();
      if (!found.path) {
        throw new VBoxError(
          'unavailable',
          `VBoxManage not found; looked in: ${found.tried.join(', ')}. Install VirtualBox or pass --vboxmanage PATH`,
        );
      }
      program = found.path;
    }
    if (/\.(c|m)?js$/.test(program)) {
      this.program = process.execPath;
      this.prefix = [program];
    } else {
      this.program = program;
      this.prefix = [];
    }
    const user = currentUser();
    const locale = process.platform === 'darwin' ? 'en_US.UTF-8' : 'C.UTF-8';
    this.env = {
      LC_ALL: locale,
      LANG: locale,
      USER: user,
      LOGNAME: user,
      ...(opts.vboxUserHome ? { VBOX_USER_HOME: opts.vboxUserHome } : {}),
      ...opts.env,
    };
  }

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    checkArgv(argv);
    if (this.closed) throw new VBoxError('unavailable', 'runner is closed', undefined, argv);
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const win = process.platform === 'win32';
    const { execa } = await loadExeca();
    if (this.closed) throw new VBoxError('unavailable', 'runner is closed', undefined, argv);
    const child = execa(this.program, [...this.prefix, ...argv], {
      env: this.env,
      extendEnv: true,
      reject: false,
      stdin: 'ignore',
      stripFinalNewline: false,
      detached: !win,
      windowsHide: true,
      cleanup: true,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    const pid = child.pid;
    if (pid !== undefined) {
      this.live.add(pid);
      trackGroup(pid);
    }
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      this.killTree(pid, 'SIGTERM');
      killTimer = setTimeout(() => this.killTree(pid, 'SIGKILL'), this.opts.killGraceMs ?? 1000);
    }, timeoutMs);
    try {
      const r = await child;
      if (timedOut) {
        this.killTree(pid, 'SIGKILL'); // children that outlived the leader
        throw new VBoxError('timeout', `VBoxManage ${argv[0]} did not finish within ${timeoutMs} ms and was killed`, undefined, argv);
      }
      if (r.exitCode === undefined && r.signal) {
        // killed by a signal (crash, OOM killer…): a failed invocation, not a missing program
        const signo = os.constants.signals[r.signal as NodeJS.Signals] ?? 0;
        const stderr = String(r.stderr ?? '');
        return normalizeResult({
          stdout: String(r.stdout ?? ''),
          stderr: `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}VBoxManage was killed by ${r.signal}\n`,
          exitCode: 128 + signo,
        });
      }
      if (r.exitCode === undefined) {
        const why = (r as { code?: string }).code ?? 'spawn failure';
        throw new VBoxError('unavailable', `could not run ${this.program}: ${why}`, undefined, argv);
      }
      return normalizeResult({ stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode });
    } finally {
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (pid !== undefined) {
        this.live.delete(pid);
        liveGroups.delete(pid);
      }
    }
  }

  private killTree(pid: number | undefined, signal: NodeJS.Signals): void {
    if (pid === undefined) return;
    if (process.platform === 'win32') {
      void loadExeca()
        .then(({ execa }) => execa('taskkill', ['/pid', String(pid), '/T', '/F'], { reject: false, windowsHide: true }))
        .catch(() => {});
      return;
    }
    try {
      process.kill(-pid, signal); // the whole process group
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pid of this.live) this.killTree(pid, 'SIGKILL');
  }

  describe(): RunnerIdentity {
    return {
      kind: 'local',
      user: currentUser(),
      home: this.env.VBOX_USER_HOME ?? process.env.VBOX_USER_HOME ?? '(default: ~/.config/VirtualBox, ~/Library/VirtualBox or %USERPROFILE%\\.VirtualBox)',
      where: [this.program, ...this.prefix].join(' '),
    };
  }
}
