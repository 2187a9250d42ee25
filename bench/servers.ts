/**
 * The systems under test:
 *   A  libvirtd 9.0 serving its built-in test driver over TCP (private dirs, port picked here)
 *   B  vboxvirt --backend sim (the simulator in-process: protocol + daemon overhead)
 *   C  vboxvirt --backend vboxmanage driving vboxsim with a delay profile, through
 *      bench/fastsim (a compiled VBoxManage stand-in that starts in ~1 ms and hands its argv
 *      to one long-lived simulator process), or `node bin/vboxsim.js` per call with --slow-sim
 *   N  the Node floor (bench/floor.ts): a bare `net` server answering W1's calls with canned
 *      replies, measured in W1 only, to show what any Node server pays here per call
 * Every process started here is tracked and stopped by its PID (also on exit).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, sleep } from './util.js';

/** Per-subcommand VBoxManage costs in ms (../shared/spec/performance.md §3, simulator requirements). */
export interface DelayProfile {
  name: 'linux' | 'macos' | 'windows';
  list: number;
  showvminfo: number;
  startvm: number;
  controlvm: number;
}

export const PROFILES: Record<DelayProfile['name'], DelayProfile> = {
  linux: { name: 'linux', list: 40, showvminfo: 90, startvm: 1000, controlvm: 500 },
  macos: { name: 'macos', list: 300, showvminfo: 90, startvm: 1000, controlvm: 500 },
  windows: { name: 'windows', list: 1000, showvminfo: 500, startvm: 1000, controlvm: 500 },
};

export type SystemKind = 'A' | 'B' | 'C' | 'N';

export interface SystemUnderTest {
  /** Row label: A, B, C-linux, C-macos, C-windows. */
  id: string;
  kind: SystemKind;
  label: string;
  profile?: DelayProfile;
  /** The server's PID (libvirtd or the vboxvirt node process). */
  pid: number;
  port: number;
  /** libvirt URI for clients. */
  uri: string;
  simHome?: string;
  /** The simulator's invocation log (C; B when the in-process simulator writes one). */
  invocationLog?: string;
  /**
   * vboxvirt only: memory after a full garbage collection (SIGUSR2 → the daemon's
   * `status` line), so that two samples compare what the daemon keeps rather than
   * how much garbage it carried at the time. null when no status came within 5 s.
   */
  settledMemory?(): Promise<{ rssKb: number; heapUsedKb: number } | null>;
  /** Non-null once the server process has exited (a crash while measuring). */
  exitInfo(): string | null;
  stderrTail(): string;
  stop(): Promise<void>;
}

/**
 * Copies what the servers and clients run (bin/, dist/src, dist/protocol, bench/loadgen.py,
 * package.json; node_modules linked) into `dest`, so that a rebuild of dist/ while the bench
 * runs (other people's `tsc`) cannot change or half-write the code under test mid-run.
 * Returns `dest`, to be used as the root from then on.
 */
export async function freezeBuild(root: string, dest: string): Promise<string> {
  // wait until nobody has written dist/ for 2 s, copy, and check nothing changed meanwhile
  const newest = (dir: string): number => {
    let t = 0;
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else t = Math.max(t, statSync(p).mtimeMs);
      }
    };
    if (existsSync(dir)) walk(dir);
    return t;
  };
  for (let attempt = 0; attempt < 30; attempt++) {
    const before = newest(path.join(root, 'dist', 'src'));
    if (Date.now() - before < 2000) {
      await sleep(1000);
      continue;
    }
    rmSync(dest, { recursive: true, force: true });
    copyBuild(root, dest);
    if (newest(path.join(root, 'dist', 'src')) === before) return dest;
  }
  throw new Error('dist/ kept changing for 30 s: cannot take a consistent copy of the build');
}

function copyBuild(root: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  const copy = (rel: string): void => {
    const from = path.join(root, rel);
    if (existsSync(from)) cpSync(from, path.join(dest, rel), { recursive: true, filter: (f) => !f.endsWith('.map') });
  };
  for (const rel of ['bin', 'dist/src', 'dist/protocol', 'dist/bench/floor.js', 'bench/loadgen.py', 'bench/fastsim', 'package.json']) copy(rel);
  symlinkSync(path.join(root, 'node_modules'), path.join(dest, 'node_modules'));
}

const tracked = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts a process in its own process group and remembers it so it is killed even if the bench dies. */
export function trackedSpawn(cmd: string, args: string[], opts: Parameters<typeof spawn>[2]): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of tracked) killTree(c, 'SIGKILL');
    });
  }
  const child = spawn(cmd, args, { ...opts, detached: true });
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  return child;
}

function killTree(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig); // the group we created with detached: true
  } catch {
    try {
      child.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killTree(child, 'SIGTERM');
  const t = setTimeout(() => killTree(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

function tail(buf: string[], max = 4000): string {
  const s = buf.join('');
  return s.length > max ? s.slice(-max) : s;
}

async function waitTcp(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!alive()) throw new Error('server exited before listening');
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** The port of the child's `listening tcp 127.0.0.1:PORT` stdout line (vboxvirt's and floor.js's). */
function listeningPort(child: ChildProcess, timeoutMs: number, exitInfo: () => string | null): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`no "listening tcp" line within ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout!.on('data', (b) => {
      out += String(b);
      const m = /listening tcp 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', () => {
      clearTimeout(t);
      reject(new Error(exitInfo() ?? 'exited'));
    });
  });
}

/** N: bench/floor.ts under the same node flags as B (canned replies: the floor of any Node server). */
export async function startNodeFloor(root: string, nodeArgs: string[]): Promise<SystemUnderTest> {
  const script = path.join(root, 'dist', 'bench', 'floor.js');
  if (!existsSync(script)) throw new Error(`${script} does not exist yet`);
  const errBuf: string[] = [];
  const child = trackedSpawn(process.execPath, [...nodeArgs, script, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exit: string | null = null;
  child.once('exit', (code, sig) => (exit = `floor exited (code ${code}, signal ${sig})`));
  child.once('error', (e) => (exit = `floor: ${e.message}`));
  child.stderr!.on('data', (b) => errBuf.push(String(b)));
  const port = await listeningPort(child, 10_000, () => exit).catch(async (e: Error) => {
    await stopChild(child);
    throw new Error(`N (Node floor) did not start: ${e.message} ${tail(errBuf)}`);
  });
  return {
    id: 'N',
    kind: 'N',
    label: 'Node floor: bare net server, canned replies (W1 lookup+state only)',
    pid: child.pid!,
    port,
    uri: `qemu+tcp://127.0.0.1:${port}/system`,
    exitInfo: () => exit,
    stderrTail: () => tail(errBuf),
    stop: () => stopChild(child),
  };
}

/** A: a private libvirtd with only the built-in test driver (as ../shared/tools/run_libvirtd.sh does). */
export async function startLibvirtd(workDir: string): Promise<SystemUnderTest> {
  const d = path.join(workDir, 'A');
  mkdirSync(path.join(d, 'sock'), { recursive: true });
  mkdirSync(path.join(d, 'emptydrivers'), { recursive: true });
  const port = await freePort();
  const conf = path.join(d, 'libvirtd.conf');
  writeFileSync(
    conf,
    [
      'listen_tls = 0',
      'listen_tcp = 1',
      'auth_tcp = "none"',
      `tcp_port = "${port}"`,
      'listen_addr = "127.0.0.1"',
      `unix_sock_dir = "${path.join(d, 'sock')}"`,
      'unix_sock_rw_perms = "0700"',
      'auth_unix_ro = "none"',
      'auth_unix_rw = "none"',
      'log_level = 3',
      `log_outputs = "3:file:${path.join(d, 'libvirtd.log')}"`,
      '',
    ].join('\n'),
  );
  const errBuf: string[] = [];
  const child = trackedSpawn('libvirtd', ['--listen', '-f', conf, '-p', path.join(d, 'libvirtd.pid')], {
    env: { ...process.env, LIBVIRT_DRIVER_DIR: path.join(d, 'emptydrivers') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b) => errBuf.push(String(b)));
  child.stderr!.on('data', (b) => errBuf.push(String(b)));
  let exit: string | null = null;
  child.once('exit', (code, sig) => (exit = `libvirtd exited (code ${code}, signal ${sig})`));
  child.once('error', (e) => (exit = `libvirtd: ${e.message}`));
  try {
    await waitTcp(port, 15_000, () => exit === null);
  } catch (e) {
    await stopChild(child);
    throw new Error(`A (libvirtd) did not start: ${(e as Error).message} ${exit ?? ''} ${tail(errBuf)}`);
  }
  return {
    id: 'A',
    kind: 'A',
    label: 'libvirtd 9.0, test driver',
    pid: child.pid!,
    port,
    uri: `test+tcp://127.0.0.1:${port}/default`,
    exitInfo: () => exit,
    stderrTail: () => tail(errBuf),
    stop: () => stopChild(child),
  };
}

export interface VboxvirtOptions {
  root: string;
  workDir: string;
  /** sim = B, vboxmanage = C */
  backend: 'sim' | 'vboxmanage';
  simHome: string;
  profile?: DelayProfile;
  cacheTtlMs?: number;
  /** Path part of the URI clients use (default /system, as MAAS's qemu+tcp://host/system). */
  uriPath: string;
  uriScheme: string;
  extraNodeArgs?: string[];
  /** C only: run `node bin/vboxsim.js` per VBoxManage call instead of bench/fastsim. */
  slowSim?: boolean;
}

/** A compiled VBoxManage stand-in plus the simulator process it talks to (bench/fastsim/client.c). */
interface FastSim {
  exe: string;
  stop(): Promise<void>;
}

/** Builds bench/fastsim/client.c with the system's C compiler, or says why it could not. */
export function buildFastSimClient(root: string, dir: string, socket: string): { exe: string } | { error: string } {
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, 'VBoxManage');
  const src = path.join(root, 'bench', 'fastsim', 'client.c');
  const errors: string[] = [];
  for (const cc of ['cc', 'gcc', 'clang']) {
    const r = spawnSync(cc, ['-O2', '-o', exe, `-DSIM_SOCKET=${JSON.stringify(socket)}`, src], { encoding: 'utf8' });
    if (r.status === 0) return { exe };
    errors.push(`${cc}: ${r.error ? r.error.message : (r.stderr || '').trim().slice(0, 300)}`);
  }
  return { error: `no C compiler could build ${src} (${errors.join('; ')}); Debian: apt-get install gcc` };
}

async function startFastSim(root: string, simHome: string, dir: string, socket: string): Promise<FastSim> {
  const built = buildFastSimClient(root, dir, socket);
  if ('error' in built) throw new Error(built.error);
  const child = trackedSpawn(
    process.execPath,
    [path.join(root, 'bench', 'fastsim', 'server.mjs'), '--entry', path.join(root, 'dist', 'src', 'sim', 'index.js'), '--home', simHome, '--socket', socket],
    { env: { ...process.env, VBOX_USER_HOME: simHome }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (b) => (err = (err + String(b)).slice(-2000)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the fastsim server did not say "ready" within 20 s: ' + err)), 20_000);
    child.stdout!.on('data', (b) => {
      if (String(b).includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`the fastsim server exited (code ${code}): ${err}`));
    });
  }).catch(async (e) => {
    await stopChild(child);
    throw e;
  });
  return { exe: built.exe, stop: () => stopChild(child) };
}

/**
 * Writes the simulator's controls into $VBOX_USER_HOME/vboxsim.json (docs/vboxsim.md): the
 * invocation log on, and either zero costs (B, seeding) or a delay profile (C). A profile's
 * `startvm` cost is the simulator's `startMs` (startvm returns once the VM runs).
 */
export function writeDelayProfile(simHome: string, profile: DelayProfile | null): void {
  const f = path.join(simHome, 'vboxsim.json');
  let cfg: Record<string, unknown> = {};
  if (existsSync(f)) {
    try {
      cfg = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
    } catch {
      cfg = {};
    }
  }
  cfg.log = true; // the invocation log ($VBOX_USER_HOME/vboxsim-invocations.jsonl) is off by default
  if (profile) {
    cfg.delays = { list: profile.list, showvminfo: profile.showvminfo, controlvm: profile.controlvm };
    cfg.startMs = profile.startvm;
    delete cfg.stoppingMs;
  } else {
    cfg.delays = {};
    cfg.startMs = 0;
    cfg.stoppingMs = 0;
  }
  writeFileSync(f, JSON.stringify(cfg, null, 2) + '\n');
}

/** An executable VBoxManage stand-in for --backend vboxmanage: exec node bin/vboxsim.js "$@". */
export function writeSimWrapper(root: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const w = path.join(dir, 'VBoxManage');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(w, `#!/bin/sh\nexec ${q(process.execPath)} ${q(path.join(root, 'bin', 'vboxsim.js'))} "$@"\n`);
  chmodSync(w, 0o755);
  return w;
}

export async function startVboxvirt(id: string, o: VboxvirtOptions): Promise<SystemUnderTest> {
  const bin = path.join(o.root, 'bin', 'vboxvirt.js');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist yet`);
  const args = [...(o.extraNodeArgs ?? []), bin, 'serve', '--backend', o.backend];
  if (o.backend === 'sim') args.push('--sim-home', o.simHome);
  let fast: FastSim | null = null;
  if (o.backend !== 'sim') {
    const binDir = path.join(o.workDir, id + '-bin');
    if (o.slowSim) args.push('--vboxmanage', writeSimWrapper(o.root, binDir));
    else {
      fast = await startFastSim(o.root, o.simHome, binDir, path.join(o.workDir, id + '.sock'));
      args.push('--vboxmanage', fast.exe);
    }
  }
  args.push('--listen-tcp', '127.0.0.1:0', '--log-level', 'warn');
  if (o.cacheTtlMs !== undefined) args.push('--cache-ttl', String(o.cacheTtlMs));
  const errBuf: string[] = [];
  const child = trackedSpawn(process.execPath, args, {
    cwd: o.workDir,
    env: { ...process.env, VBOX_USER_HOME: o.simHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exit: string | null = null;
  child.once('exit', (code, sig) => (exit = `vboxvirt exited (code ${code}, signal ${sig})`));
  child.once('error', (e) => (exit = `vboxvirt: ${e.message}`));
  child.stderr!.on('data', (b) => {
    errBuf.push(String(b));
    if (errBuf.length > 200) errBuf.splice(0, 100);
  });
  // `status {json}` lines (SIGUSR2) go to whoever waits for the next one
  const statusWaiters: Array<(r: { rssKb: number; heapUsedKb: number } | null) => void> = [];
  let pending = '';
  child.stdout!.on('data', (b) => {
    pending += String(b);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith('status ')) continue;
      let r: { rssKb: number; heapUsedKb: number } | null = null;
      try {
        const j = JSON.parse(line.slice(7)) as { memoryKb: { rss: number; heapUsed: number } };
        r = { rssKb: j.memoryKb.rss, heapUsedKb: j.memoryKb.heapUsed };
      } catch {
        r = null;
      }
      for (const w of statusWaiters.splice(0)) w(r);
    }
  });
  const settledMemory = (): Promise<{ rssKb: number; heapUsedKb: number } | null> =>
    new Promise((resolve) => {
      if (exit !== null) return resolve(null);
      const t = setTimeout(() => {
        const i = statusWaiters.indexOf(done);
        if (i >= 0) statusWaiters.splice(i, 1);
        resolve(null);
      }, 5000);
      const done = (r: { rssKb: number; heapUsedKb: number } | null): void => {
        clearTimeout(t);
        resolve(r);
      };
      statusWaiters.push(done);
      try {
        process.kill(child.pid!, 'SIGUSR2');
      } catch {
        done(null);
      }
    });
  const port = await listeningPort(child, 20_000, () => exit).catch(async (e: Error) => {
    await stopChild(child);
    await fast?.stop();
    throw new Error(`${id} (vboxvirt --backend ${o.backend}) did not start: ${e.message}\n${tail(errBuf, 1500)}`);
  });
  const log = path.join(o.simHome, 'vboxsim-invocations.jsonl');
  return {
    id,
    kind: o.backend === 'sim' ? 'B' : 'C',
    label:
      o.backend === 'sim'
        ? 'vboxvirt, in-process simulator'
        : `vboxvirt → VBoxManage (${fast ? 'fastsim client' : 'node bin/vboxsim.js'}) → vboxsim, ${o.profile?.name ?? 'zero'} delays`,
    profile: o.profile,
    pid: child.pid!,
    port,
    uri: `${o.uriScheme}://127.0.0.1:${port}${o.uriPath}`,
    simHome: o.simHome,
    invocationLog: log,
    settledMemory,
    exitInfo: () => exit,
    stderrTail: () => tail(errBuf),
    stop: async () => {
      await stopChild(child);
      await fast?.stop();
    },
  };
}

/** Runs `node bin/vboxsim.js ARGS` with VBOX_USER_HOME=home; rejects on a non-zero exit. */
export function simCmd(root: string, home: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'vboxsim.js'), ...args], {
      env: { ...process.env, VBOX_USER_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += String(b)));
    child.stderr.on('data', (b) => (err += String(b)));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', (e) => reject(e));
    child.once('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`vboxsim ${args.join(' ')} → exit ${code}: ${err.trim().split('\n').slice(0, 3).join(' | ')}`));
    });
  });
}

export const vmName = (i: number): string => `vm-${String(i).padStart(3, '0')}`;

/**
 * Seeds `count` VMs named vm-000.. in a fresh simulator home (every `startEvery`-th one
 * running), with zero delays. Other homes are copies of this one.
 */
export async function seedSimHome(root: string, home: string, count: number, startEvery: number): Promise<Map<string, string>> {
  if (!existsSync(path.join(root, 'bin', 'vboxsim.js'))) throw new Error('bin/vboxsim.js does not exist yet');
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  writeDelayProfile(home, null);
  const run = async (argsOf: (i: number) => string[], idx: number[]): Promise<void> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < idx.length) await simCmd(root, home, argsOf(idx[next++]));
      }),
    );
  };
  const all = Array.from({ length: count }, (_, i) => i);
  await run((i) => ['createvm', '--name', vmName(i), '--ostype', 'Ubuntu_64', '--register'], all);
  await run((i) => ['startvm', vmName(i), '--type', 'headless'], all.filter((i) => i % startEvery === 0));
  const listed = (await simCmd(root, home, ['list', 'vms'])).split('\n').filter((l) => l.trim());
  const vms = listed.length;
  const running = (await simCmd(root, home, ['list', 'runningvms'])).split('\n').filter((l) => l.trim()).length;
  const wantRunning = Math.ceil(count / startEvery);
  if (vms !== count || running !== wantRunning) {
    throw new Error(`seeded simulator holds ${vms} VMs (${running} running), expected ${count} (${wantRunning})`);
  }
  // UUID → name: the daemon may address VMs by UUID in its VBoxManage argv
  const byUuid = new Map<string, string>();
  for (const l of listed) {
    const m = /^"(.*)" \{([0-9a-f-]{36})\}$/i.exec(l.trim());
    if (m) byUuid.set(m[2].toLowerCase(), m[1]);
  }
  return byUuid;
}

/** The VM an invocation addresses (by name or UUID, braces optional), if it is one of ours. */
export function vmOfInvocation(argv: string[], byUuid: Map<string, string>): string | undefined {
  for (const a of argv) {
    const u = a.replace(/^\{|\}$/g, '').toLowerCase();
    if (byUuid.has(u)) return byUuid.get(u);
    if (/^vm-\d{3}$/.test(a)) return a;
  }
  return undefined;
}

/**
 * Copies a seeded home. The simulator's registry and settings files hold absolute paths,
 * so they are rewritten to the copy (otherwise every copy would share the seed's VMs).
 */
export function cloneSimHome(from: string, to: string, profile: DelayProfile | null): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
  rmSync(path.join(to, 'vboxsim-invocations.jsonl'), { force: true });
  const a = JSON.stringify(from).slice(1, -1);
  const b = JSON.stringify(to).slice(1, -1);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(json|vbox)$/.test(e.name)) {
        const t = readFileSync(p, 'utf8');
        if (t.includes(a)) writeFileSync(p, t.split(a).join(b));
      }
    }
  };
  walk(to);
  writeDelayProfile(to, profile);
}

export interface Invocation {
  argv: string[];
}

/** Reads the simulator's invocation log from a byte offset; tolerant of its exact field names. */
export function readInvocations(file: string | undefined, fromByte: number): { list: Invocation[]; size: number } {
  if (!file || !existsSync(file)) return { list: [], size: 0 };
  const size = statSync(file).size;
  if (size <= fromByte) return { list: [], size };
  const text = readFileSync(file).subarray(fromByte).toString('utf8');
  const list: Invocation[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      const argv = (o.argv ?? o.args ?? o.command) as unknown;
      list.push({ argv: Array.isArray(argv) ? argv.map(String) : typeof argv === 'string' ? argv.split(' ') : [] });
    } catch {
      list.push({ argv: line.split(' ') });
    }
  }
  return { list, size };
}

export function logSize(file: string | undefined): number {
  if (!file || !existsSync(file)) return 0;
  return statSync(file).size;
}
