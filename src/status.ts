/**
 * `kill -USR2 <pid>`: what the daemon is doing and what it holds, for operators and
 * for the benchmark's memory figures. Memory is read after full garbage
 * collections (`settleMemory`), so two reports compare what the daemon keeps, not
 * how much garbage it happened to carry (a Node heap between collections varies
 * by megabytes).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Daemon } from './daemon.js';

export interface StatusReport {
  pid: number;
  uptimeS: number;
  connections: number;
  accepted: number;
  /** VBoxManage processes run since start (when the backend counts them). */
  vboxmanageRuns?: number;
  /** process.memoryUsage() in KiB, after a full collection when `collected`. */
  memoryKb: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  collected: boolean;
}

let gcFn: (() => void) | null | undefined;

/** Runs a full collection; false when this runtime does not allow it. */
export function collectGarbage(): boolean {
  if (gcFn === undefined) {
    try {
      const g = globalThis as { gc?: () => void };
      if (typeof g.gc === 'function') gcFn = g.gc;
      else {
        v8.setFlagsFromString('--expose-gc');
        gcFn = vm.runInNewContext('gc') as () => void;
      }
    } catch {
      gcFn = null;
    }
  }
  if (!gcFn) return false;
  gcFn();
  return true;
}

/**
 * Full collections until the resident size stops falling: V8 hands freed pages
 * back from a background task after a collection, so one collection read at once
 * leaves RSS megabytes above what the daemon keeps (measured: three reports 0.2 s
 * apart read 68.4, 68.1, 65.5 MB). At most `rounds` collections, `pauseMs` apart,
 * stopping when one gives back less than 64 KiB. False when collections are not
 * available.
 */
export async function settleMemory(rounds = 5, pauseMs = 100): Promise<boolean> {
  if (!collectGarbage()) return false;
  let prev = process.memoryUsage.rss();
  for (let i = 1; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, pauseMs));
    collectGarbage();
    const now = process.memoryUsage.rss();
    if (prev - now < 64 * 1024) break;
    prev = now;
  }
  return true;
}

/** The report; with `collect`, memory is read after `settleMemory()`. */
export async function statusReport(daemon: Daemon, opts: { collect?: boolean } = {}): Promise<StatusReport> {
  const collected = opts.collect ? await settleMemory() : false;
  const m = process.memoryUsage();
  const kb = (n: number) => Math.round(n / 1024);
  const stats = (daemon.host as { stats?: () => { runs: number } }).stats?.();
  return {
    pid: process.pid,
    uptimeS: Math.round(process.uptime()),
    connections: daemon.connectionCount,
    accepted: daemon.acceptedCount,
    vboxmanageRuns: stats?.runs,
    memoryKb: { rss: kb(m.rss), heapTotal: kb(m.heapTotal), heapUsed: kb(m.heapUsed), external: kb(m.external), arrayBuffers: kb(m.arrayBuffers) },
    collected,
  };
}
