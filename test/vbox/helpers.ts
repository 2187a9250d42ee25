/** Shared helpers for the backend tests: simulator homes, direct simulator calls, log capture. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Transport from 'winston-transport';
import winston from 'winston';
import { runVBoxManage } from '../../src/sim/index.js';
import type { Runner, RunOptions } from '../../src/vbox/runner.js';
import type { RunResult } from '../../src/vbox/parse.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT = path.resolve(here, '../..');
/** bin/vboxsim.js runs dist/ (built by `npm test`'s pretest / `npx tsc -p .`). */
export const VBOXSIM_BIN = path.join(PROJECT, 'bin', 'vboxsim.js');

export function builtSimExists(): boolean {
  return existsSync(path.join(PROJECT, 'dist', 'src', 'sim', 'cli.js'));
}

export function tempHome(prefix = 'vboxvirt-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

/** Write the simulator's settings file ($VBOX_USER_HOME/vboxsim.json, re-read on every invocation). */
export function simSettings(home: string, settings: Record<string, unknown>): void {
  writeFileSync(path.join(home, 'vboxsim.json'), JSON.stringify(settings));
}

/** Run the simulator directly (test setup / out-of-band changes, as another tool on the host would). */
export async function sim(home: string, ...argv: string[]): Promise<RunResult> {
  const r = await runVBoxManage(argv, { VBOX_USER_HOME: home, HOME: home });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

export async function simOk(home: string, ...argv: string[]): Promise<string> {
  const r = await sim(home, ...argv);
  if (r.exitCode !== 0) throw new Error(`vboxsim ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** createvm --register through the simulator; returns the UUID. */
export async function simCreate(home: string, name: string, osType = 'Ubuntu_64'): Promise<string> {
  const out = await simOk(home, 'createvm', '--name', name, '--ostype', osType, '--register');
  return /UUID: (\S+)/.exec(out)![1];
}

/** The simulator's invocation log (VBOXSIM_LOG / settings.log). */
export function invocations(home: string): Array<{ argv: string[]; exitCode: number; time: string; durationMs: number }> {
  const f = path.join(home, 'vboxsim-invocations.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/**
 * Wraps a real Runner and records how many invocations overlap. Not a mock:
 * every call goes to the wrapped runner unchanged.
 */
export class CountingRunner implements Runner {
  calls: string[][] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(readonly inner: Runner) {}
  async run(argv: string[], opts?: RunOptions): Promise<RunResult> {
    this.calls.push(argv);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.inner.run(argv, opts);
    } finally {
      this.inFlight--;
    }
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  describe() {
    return this.inner.describe!();
  }
}

/** A winston logger that keeps every entry in memory. */
export function captureLogger(): { logger: winston.Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  class Mem extends Transport {
    override log(info: Record<string, unknown>, next: () => void): void {
      entries.push(info);
      next();
    }
  }
  const logger = winston.createLogger({ level: 'debug', transports: [new Mem()] });
  return { logger, entries };
}

/** Whether a process with this pid exists (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pid` is gone or `ms` passes; true if it is gone. */
export async function waitDead(pid: number, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return !isAlive(pid);
}
