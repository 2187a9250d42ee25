/**
 * Child processes for tests: every process started here is tracked and can be
 * stopped by the test (`stop()`), and anything still alive when the test
 * process exits is killed (so a failing test leaks nothing).
 *
 *   const r = await run('virsh', ['-c', uri, 'list'], { env });   // {stdout, stderr, rc}
 *   const p = startProcess('node', [...]);  await p.stop();
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when the process was killed by a signal (see `signal`). */
  rc: number;
  signal: NodeJS.Signals | null;
  /** true when `timeoutMs` elapsed and the process was killed. */
  timedOut: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, then stdin is closed. Default: stdin closed at once. */
  input?: string | Buffer;
  /** Kill (SIGKILL) after this many ms; the result then has timedOut = true. Default 30 000. */
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) {
        try { c.kill('SIGKILL'); } catch { /* already gone */ }
      }
    });
  }
}

/** Run a program to completion (argv array, no shell) and collect its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs ?? 30_000);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        rc: code ?? -1,
        signal,
        timedOut,
      });
    });
    child.stdin!.on('error', () => { /* child may exit before reading */ });
    child.stdin!.end(opts.input ?? undefined);
  });
}

/** A long-running child (daemon, libvirtd, tshark) with its output collected. */
export interface LongProcess {
  child: ChildProcess;
  pid: number;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (immediately if it already has). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3000); resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function startProcess(cmd: string, args: readonly string[], opts: SpawnOptions = {}): LongProcess {
  const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  track(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  child.stderr?.on('data', (b: Buffer) => { err += b.toString('utf8'); });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { done = true; resolve({ code, signal }); });
    child.once('error', () => { done = true; resolve({ code: null, signal: null }); });
  });
  return {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000) {
      if (done) return;
      child.kill(signal);
      const t = setTimeout(() => { if (!done) child.kill('SIGKILL'); }, graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Poll `check` every `everyMs` until it returns a truthy value or `timeoutMs` elapses (then throws `what`). */
export async function waitFor<T>(
  what: string, check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) { last = e; }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Number of open file descriptors of a process (Linux /proc), or undefined elsewhere. */
export async function countFds(pid: number): Promise<number | undefined> {
  const { readdir } = await import('node:fs/promises');
  try { return (await readdir(`/proc/${pid}/fd`)).length; } catch { return undefined; }
}
