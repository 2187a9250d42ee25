/**
 * The two clients the benchmark drives every system with:
 *  - bench/loadgen.py (python3-libvirt, the libvirt C library) for in-process RPC load;
 *  - virsh processes, for the whole-process MAAS-like workloads.
 * The same client code runs against A, B and C.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { stopChild, trackedSpawn } from './servers.js';

export interface PyResult {
  event: string;
  ops?: number;
  ops_per_s?: number;
  wall_s?: number;
  rpcs_per_op?: number;
  p50_us?: number | null;
  p90_us?: number | null;
  p99_us?: number | null;
  max_us?: number | null;
  sample_us?: number[];
  errors?: number;
  hangs?: number;
  error_samples?: string[];
  [k: string]: unknown;
}

export interface PyStepHooks {
  /** Called after the child said "ready" and before "go" (sample the server here). */
  beforeGo?: (ready: PyResult) => void | Promise<void>;
  /** Called every `tickMs` while the measured window runs. */
  onTick?: () => void;
  tickMs?: number;
  /** Called as soon as the child reports "done" (sample the server here). */
  afterDone?: (done: PyResult) => void | Promise<void>;
  /** Called at each rest between load phases (`--phases`); the child resumes when it returns. */
  onRest?: (rest: PyResult) => void | Promise<void>;
}

export class StepError extends Error {
  constructor(
    message: string,
    readonly kind: 'error' | 'hang' | 'crash',
  ) {
    super(message);
  }
}

/**
 * Runs one loadgen.py step: ready → (hooks.beforeGo) → go → done → (hooks.afterDone) → close.
 * A step that does not report within its deadline is a hang: the child is killed and a StepError thrown.
 */
export async function runPyStep(
  python: string,
  root: string,
  args: string[],
  deadlineMs: number,
  hooks: PyStepHooks = {},
  /** Arguments before the script (e.g. `taskset -c 0 python3`: cmd taskset, prefix [-c, 0, python3]). */
  prefix: string[] = [],
): Promise<PyResult> {
  const child = trackedSpawn(python, [...prefix, path.join(root, 'bench', 'loadgen.py'), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b) => (stderr = (stderr + String(b)).slice(-2000)));
  const lines: PyResult[] = [];
  const waiters: Array<() => void> = [];
  let exited = false;
  child.once('exit', () => {
    exited = true;
    waiters.splice(0).forEach((w) => w());
  });
  readline.createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as PyResult);
    } catch {
      stderr += '\n[stdout] ' + l;
    }
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (what: string, ms: number): Promise<PyResult> => {
    const end = Date.now() + ms;
    for (;;) {
      const l = lines.shift();
      if (l) {
        if (l.event === 'error') throw new StepError(`loadgen ${args[0]}: ${String(l.error)}`, 'error');
        return l;
      }
      if (exited) throw new StepError(`loadgen ${args[0]} exited before "${what}": ${stderr.trim()}`, 'crash');
      const left = end - Date.now();
      if (left <= 0) throw new StepError(`loadgen ${args[0]}: no "${what}" within ${ms} ms (hang)`, 'hang');
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, hooks.tickMs ?? left));
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
      if (what === 'done') hooks.onTick?.();
    }
  };
  try {
    const ready = await next('ready', 120_000);
    await hooks.beforeGo?.(ready);
    child.stdin!.write('go\n');
    // the deadline counts load only: the parent's own time at rests is not the child's
    let left = deadlineMs;
    let since = Date.now();
    let done = await next('done', left);
    while (done.event === 'rest') {
      left -= Date.now() - since;
      await hooks.onRest?.(done);
      child.stdin!.write('resume\n');
      since = Date.now();
      done = await next('done', Math.max(0, left));
    }
    await hooks.afterDone?.(done);
    child.stdin!.write('close\n');
    child.stdin!.end();
    const t = setTimeout(() => void stopChild(child), 15_000);
    await new Promise<void>((r) => (exited ? r() : child.once('exit', () => r())));
    clearTimeout(t);
    return done;
  } catch (e) {
    await stopChild(child, 500);
    throw e;
  }
}

/** A long-lived loadgen "hold" connection (keeps the test driver's state; defines A's domains). */
export async function startHolder(
  python: string,
  root: string,
  uri: string,
  define: number,
  startEvery: number,
): Promise<{ stop: () => Promise<void>; info: PyResult }> {
  const args = ['hold', '--uri', uri];
  if (define) args.push('--define', String(define), '--start-every', String(startEvery));
  const child = trackedSpawn(python, [path.join(root, 'bench', 'loadgen.py'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b) => (stderr += String(b)));
  const info = await new Promise<PyResult>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('holder: no ready within 60 s')), 60_000);
    readline.createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(t);
      try {
        const r = JSON.parse(l) as PyResult;
        if (r.event === 'ready') resolve(r);
        else reject(new Error(`holder: ${String(r.error ?? l)}`));
      } catch {
        reject(new Error('holder: ' + l));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`holder exited (${code}): ${stderr.trim()}`));
    });
  }).catch(async (e: Error) => {
    await stopChild(child, 500);
    throw e;
  });
  return {
    info,
    stop: async () => {
      child.stdin!.write('close\n');
      child.stdin!.end();
      const t = setTimeout(() => void stopChild(child, 500), 5000);
      await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      clearTimeout(t);
    },
  };
}

export interface VirshResult {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  startedAt: number;
  timedOut: boolean;
}

/** One `virsh -c URI ARGS` process (as MAAS runs it: new process per query, C locale). */
export function runVirsh(uri: string, args: string[], timeoutMs = 35_000): Promise<VirshResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('virsh', ['-c', uri, ...args], {
      env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', LANGUAGE: 'C.UTF-8', TERM: 'dumb' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b) => (stdout += String(b)));
    child.stderr.on('data', (b) => (stderr += String(b)));
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (code: number | null): void => {
      clearTimeout(t);
      resolve({ args, code, stdout, stderr, ms: performance.now() - t0, startedAt: t0, timedOut });
    };
    child.once('error', (e) => {
      stderr += e.message;
      finish(-1);
    });
    child.once('close', (code) => finish(code));
  });
}

/** Runs tasks with at most `limit` in flight; results in task order. */
export async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}
