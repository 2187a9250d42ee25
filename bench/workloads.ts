/**
 * The six workloads. Each call measures ONE system for ONE round and returns a Measurement;
 * run.ts interleaves the systems (A B C A B C …) and takes medians over rounds.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { pool, runPyStep, runVirsh, StepError, type PyResult, type VirshResult } from './clients.js';
import { logSize, readInvocations, vmName, vmOfInvocation, type SystemUnderTest } from './servers.js';
import { median, percentile, ratio, sampleProc, sleep, sortedNums, type ProcSample } from './util.js';

export interface Measurement {
  workload: 'serial' | 'conc' | 'churn' | 'maas' | 'burst' | 'soak' | 'flood';
  variant: string;
  system: string;
  round: number;
  metrics: Record<string, number | null>;
  /** Latency sample for the distribution chart. */
  samples?: number[];
  sampleUnit?: 'us' | 'ms';
  errors: number;
  hangs: number;
  notes: string[];
}

export interface BenchContext {
  root: string;
  python: string;
  /** Number of VMs every system holds (vm-000..). */
  vms: number;
  /** Every k-th VM (vm-000, vm-004, …) is running; the others are shut off. */
  startEvery: number;
  serialSeconds: number;
  /** W1 `state paired`: lookup+state calls measured per block, calls before them, blocks per system. */
  pairedBlock: number;
  pairedBlockWarm: number;
  pairedCycles: number;
  concSeconds: number;
  churnSeconds: number;
  maasSweeps: number;
  burstVms: number;
  soakSeconds: number;
  soakConns: number;
  /** Connections opened at once for the per-connection memory figure (W6). */
  perConnConns: number;
  floodClients: number;
  floodPerClient: number;
  log: (msg: string) => void;
  /** Simulator UUID → VM name (to attribute VBoxManage invocations to VMs). */
  simUuids: Map<string, string>;
}

export const expectedState = (ctx: BenchContext, i: number): string => (i % ctx.startEvery === 0 ? 'running' : 'shut off');

function m(
  workload: Measurement['workload'],
  variant: string,
  sys: SystemUnderTest,
  round: number,
): Measurement {
  return { workload, variant, system: sys.id, round, metrics: {}, errors: 0, hangs: 0, notes: [] };
}

function absorb(meas: Measurement, r: PyResult): void {
  meas.errors += r.errors ?? 0;
  meas.hangs += r.hangs ?? 0;
  for (const s of r.error_samples ?? []) if (meas.notes.length < 5) meas.notes.push(s);
}

function stepFailure(meas: Measurement, e: unknown): Measurement {
  if (e instanceof StepError && e.kind === 'hang') meas.hangs += 1;
  else meas.errors += 1;
  meas.notes.push((e as Error).message.slice(0, 300));
  return meas;
}

function safeSample(pid: number): ProcSample | null {
  try {
    return sampleProc(pid);
  } catch {
    return null;
  }
}

const allCpus = `0-${os.cpus().length - 1}`;

/** Pins every thread of the server to one CPU (taskset -a), or releases it. */
function pinServer(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** W1: serial calls on one connection (op: state = lookup+GetState, list, dumpxml). */
export async function serial(ctx: BenchContext, sys: SystemUnderTest, op: string, pinned: boolean, round: number): Promise<Measurement> {
  const meas = m('serial', `${op}${pinned ? ' pinned' : ''}`, sys, round);
  let before: ProcSample | null = null;
  let after: ProcSample | null = null;
  const python = pinned ? 'taskset' : ctx.python;
  const pre = pinned ? ['-c', '0', ctx.python] : [];
  try {
    if (pinned) pinServer(sys.pid, '0');
    const r = await runPyStep(python, ctx.root, [
      'serial', '--uri', sys.uri, '--op', op, '--names', String(ctx.vms), '--duration', String(ctx.serialSeconds), '--warm', String(Math.min(1, ctx.serialSeconds / 2)),
    ], ctx.serialSeconds * 1000 + 60_000, {
      beforeGo: () => void (before = safeSample(sys.pid)),
      afterDone: () => void (after = safeSample(sys.pid)),
    }, pre);
    absorb(meas, r);
    const ops = r.ops ?? 0;
    const cpu = before && after ? (after as ProcSample).cpuUs - (before as ProcSample).cpuUs : null;
    const childCpu = before && after ? (after as ProcSample).childCpuUs - (before as ProcSample).childCpuUs : null;
    meas.metrics = {
      ops,
      ops_per_s: r.ops_per_s ?? null,
      p50_us: r.p50_us ?? null,
      p99_us: r.p99_us ?? null,
      cpu_us_per_op: cpu !== null && ops ? cpu / ops : null,
      cpu_us_per_rpc: cpu !== null && ops ? cpu / ops / (r.rpcs_per_op ?? 1) : null,
      child_cpu_us_per_op: childCpu !== null && ops ? childCpu / ops : null,
    };
    meas.samples = r.sample_us;
    meas.sampleUnit = 'us';
  } catch (e) {
    stepFailure(meas, e);
  } finally {
    if (pinned) {
      try {
        pinServer(sys.pid, allCpus);
      } catch {
        /* server gone: reported as a crash by the caller */
      }
    }
  }
  return meas;
}

/**
 * W1 `state paired`: server CPU per RPC of several systems under the same machine conditions.
 * One client (loadgen.py paired) holds a connection to each system and alternates blocks
 * between them, `pairedCycles` times, each cycle in a rotated order. A block is
 * `pairedBlockWarm` lookup+state calls, then `pairedBlock` measured ones; each part's server
 * CPU comes from /proc/PID/task/ * /schedstat (ns).
 *
 * Why the two parts: a server that sat idle while the others ran starts its block in a
 * different regime. Measured here (docs/performance.md): for the first ~500-1000 calls the
 * scheduler keeps a single-threaded server on the client's CPU, where a round trip needs no
 * wake-up IPI, and a Node server spends ~20 µs per RPC; then the load balancer moves it to the
 * idle CPU and it settles at ~45-55 µs. libvirtd (an event-loop thread handing each call to a
 * worker) is flat. The target is about sustained serial calls, as the rounds measure them
 * (after 1 s of warm-up), so the figure compared is the measured part of the blocks; the
 * warm part is reported apart as `after idle`, the regime of a short virsh session.
 *
 * Per system: the CPU of the whole window (first block to 0.5 s after the last: GC and work
 * put off past a block included) less the warm parts, ÷ the measured RPCs, and ÷ A's figure;
 * beside it the block quartiles and the median over cycles of its block ÷ A's block of that
 * cycle. A minute in which the machine was slower for everyone then weighs on every system
 * alike instead of on whichever system the rounds happened to run in it.
 */
export async function pairedState(ctx: BenchContext, systems: SystemUnderTest[]): Promise<Measurement[]> {
  const metas = systems.map((s) => m('serial', 'state paired', s, 1));
  const args = [
    'paired', '--names', String(ctx.vms), '--block', String(ctx.pairedBlock), '--block-warm', String(ctx.pairedBlockWarm),
    '--cycles', String(ctx.pairedCycles), '--warm', String(Math.min(1, ctx.serialSeconds / 2)),
  ];
  for (const s of systems) args.push('--uri', s.uri, '--pid', String(s.pid));
  // generous: A needs ~0.3 s per 1000 calls; a block 10× slower than that still finishes
  const deadline = 60_000 + ctx.pairedCycles * systems.length * (ctx.pairedBlock + ctx.pairedBlockWarm) * 3;
  try {
    const r = await runPyStep(ctx.python, ctx.root, args, deadline);
    // per block: [cpu ns, calls, wall ns] measured, then [cpu ns, calls] of its warm part
    const blocks = r.blocks as Array<Array<[number, number, number, number, number]>>;
    const window = r.window_cpu_ns as number[];
    const rpcs = r.rpcs_per_op ?? 2;
    const sum = (i: number, k: number): number => blocks[i].reduce((t, b) => t + b[k], 0);
    const perRpc = blocks.map((list) => list.map(([ns, calls]) => ns / 1000 / (calls * rpcs)));
    const sustained = (i: number): number => (window[i] - sum(i, 3)) / 1000 / (sum(i, 1) * rpcs);
    const afterIdle = (i: number): number | null => (sum(i, 4) > 0 ? sum(i, 3) / 1000 / (sum(i, 4) * rpcs) : null);
    const a = systems.findIndex((s) => s.kind === 'A');
    systems.forEach((_s, i) => {
      const v = sortedNums(perRpc[i]);
      metas[i].metrics = {
        ops: sum(i, 1),
        blocks: v.length,
        ops_per_s: median(blocks[i].map(([, calls, wall]) => (calls * 1e9) / wall)),
        cpu_us_per_rpc: sustained(i),
        cpu_us_per_rpc_q1: percentile(v, 25),
        cpu_us_per_rpc_median: median(v),
        cpu_us_per_rpc_q3: percentile(v, 75),
        cpu_ratio_to_a: a < 0 ? null : ratio(sustained(i), sustained(a)),
        cpu_ratio_to_a_median: a < 0 ? null : median(perRpc[i].map((x, c) => x / perRpc[a][c])),
        cpu_us_per_rpc_after_idle: afterIdle(i),
        cpu_ratio_to_a_after_idle: a < 0 ? null : ratio(afterIdle(i), afterIdle(a)),
      };
    });
    const per = r.per_server as PyResult[];
    metas.forEach((meas, i) => absorb(meas, per[i]));
  } catch (e) {
    stepFailure(metas[0], e);
  }
  return metas;
}

/** W2: N concurrent connections, op state, one client thread per connection. */
export async function conc(ctx: BenchContext, sys: SystemUnderTest, conns: number, round: number): Promise<Measurement> {
  const meas = m('conc', `${conns} conn`, sys, round);
  let before: ProcSample | null = null;
  let after: ProcSample | null = null;
  try {
    const r = await runPyStep(ctx.python, ctx.root, [
      'conc', '--uri', sys.uri, '--op', 'state', '--conns', String(conns), '--names', String(ctx.vms),
      '--duration', String(ctx.concSeconds),
    ], ctx.concSeconds * 1000 + 60_000, {
      beforeGo: () => void (before = safeSample(sys.pid)),
      afterDone: () => void (after = safeSample(sys.pid)),
    });
    absorb(meas, r);
    const ops = r.ops ?? 0;
    const cpu = before && after ? (after as ProcSample).cpuUs - (before as ProcSample).cpuUs : null;
    meas.metrics = {
      conns,
      ops,
      ops_per_s: r.ops_per_s ?? null,
      p50_ms: r.p50_us != null ? r.p50_us / 1000 : null,
      p99_ms: r.p99_us != null ? r.p99_us / 1000 : null,
      cpu_us_per_op: cpu !== null && ops ? cpu / ops : null,
    };
    meas.samples = r.sample_us;
    meas.sampleUnit = 'us';
  } catch (e) {
    stepFailure(meas, e);
  }
  return meas;
}

/** W3: connection churn: open + virsh-like prologue (close callback) + close, serial. */
export async function churn(ctx: BenchContext, sys: SystemUnderTest, round: number): Promise<Measurement> {
  const meas = m('churn', 'open+close', sys, round);
  let before: ProcSample | null = null;
  let after: ProcSample | null = null;
  try {
    const r = await runPyStep(ctx.python, ctx.root, ['churn', '--uri', sys.uri, '--duration', String(ctx.churnSeconds)],
      ctx.churnSeconds * 1000 + 60_000, {
        beforeGo: () => void (before = safeSample(sys.pid)),
        afterDone: () => void (after = safeSample(sys.pid)),
      });
    absorb(meas, r);
    const ops = r.ops ?? 0;
    const cpu = before && after ? (after as ProcSample).cpuUs - (before as ProcSample).cpuUs : null;
    meas.metrics = {
      opens: ops,
      opens_per_s: r.ops_per_s ?? null,
      p50_us: r.p50_us ?? null,
      p99_us: r.p99_us ?? null,
      cpu_us_per_open: cpu !== null && ops ? cpu / ops : null,
    };
    meas.samples = r.sample_us;
    meas.sampleUnit = 'us';
  } catch (e) {
    stepFailure(meas, e);
  }
  return meas;
}

function subcommand(argv: string[]): string {
  const a = argv.filter((x) => !/vboxmanage|vboxsim|node$/i.test(x));
  const i = a.findIndex((x) => !x.startsWith('-'));
  if (i < 0) return a[0] ?? '';
  const sub = a[i];
  if (sub === 'list' || sub === 'controlvm') return `${sub} ${a[i + 1] ?? ''}`.trim();
  return sub;
}

function countBy(list: string[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const k of list) o[k] = (o[k] ?? 0) + 1;
  return o;
}

function virshFailed(r: VirshResult): boolean {
  return r.timedOut || r.code !== 0;
}

/** How a failed virsh ended, for the notes. */
function virshWhy(r: VirshResult): string {
  if (r.timedOut) return `no answer within ${Math.round(r.ms / 1000)} s (killed; MAAS's pexpect gives up after 30 s)`;
  return `rc ${r.code} ${r.stderr.trim().slice(0, 200)}`;
}

/** W4: the MAAS poll: one `virsh domstate` process per VM, 5 at a time; then one `virsh list --all`. */
export async function maasPoll(ctx: BenchContext, sys: SystemUnderTest, round: number): Promise<Measurement> {
  const meas = m('maas', 'poll', sys, round);
  const sweeps: number[] = [];
  const inv: number[] = [];
  const lat: number[] = [];
  const invKinds: string[] = [];
  for (let s = 0; s < ctx.maasSweeps; s++) {
    const off = logSize(sys.invocationLog);
    const t0 = performance.now();
    const res = await pool(
      Array.from({ length: ctx.vms }, (_, i) => () => runVirsh(sys.uri, ['domstate', vmName(i)])),
      5,
    );
    sweeps.push((performance.now() - t0) / 1000);
    const calls = readInvocations(sys.invocationLog, off).list;
    inv.push(calls.length);
    invKinds.push(...calls.map((c) => subcommand(c.argv)));
    res.forEach((r, i) => {
      lat.push(r.ms);
      if (r.timedOut) meas.hangs++;
      if (virshFailed(r)) {
        meas.errors++;
        if (meas.notes.length < 5) meas.notes.push(`domstate ${vmName(i)}: ${virshWhy(r)}`);
      } else if (r.stdout.trim() !== expectedState(ctx, i)) {
        meas.errors++;
        if (meas.notes.length < 5) meas.notes.push(`domstate ${vmName(i)}: "${r.stdout.trim()}", expected "${expectedState(ctx, i)}"`);
      }
    });
  }
  const off = logSize(sys.invocationLog);
  const la = await runVirsh(sys.uri, ['list', '--all']);
  const laInv = readInvocations(sys.invocationLog, off).list.length;
  if (la.timedOut) meas.hangs++;
  if (virshFailed(la)) {
    meas.errors++;
    meas.notes.push(`list --all: ${virshWhy(la)}`);
  } else {
    const missing = Array.from({ length: ctx.vms }, (_, i) => vmName(i)).filter((n) => !la.stdout.includes(` ${n} `));
    if (missing.length) {
      meas.errors++;
      meas.notes.push(`list --all misses ${missing.length} VMs (e.g. ${missing[0]})`);
    }
  }
  const sl = sortedNums(lat);
  meas.metrics = {
    vms: ctx.vms,
    sweep_s: sortedNums(sweeps)[Math.floor((sweeps.length - 1) / 2)] ?? null,
    sweep_max_s: sweeps.length ? Math.max(...sweeps) : null,
    domstate_p50_ms: percentile(sl, 50),
    domstate_max_ms: sl.length ? sl[sl.length - 1] : null,
    sweep_first_s: sweeps[0] ?? null,
    inv_first_sweep: sys.invocationLog ? (inv[0] ?? null) : null,
    inv_per_sweep: sys.invocationLog ? (sortedNums(inv)[Math.floor((inv.length - 1) / 2)] ?? null) : null,
    inv_per_sweep_max: sys.invocationLog && inv.length ? Math.max(...inv) : null,
    list_all_s: la.ms / 1000,
    inv_list_all: sys.invocationLog ? laInv : null,
  };
  if (sys.kind === 'C') meas.notes.push(`VBoxManage calls over ${ctx.maasSweeps} sweeps: ${JSON.stringify(countBy(invKinds))}`);
  meas.samples = lat;
  meas.sampleUnit = 'ms';
  return meas;
}

/** W5: burst power-on: N concurrent `virsh start`, a MAAS-style `domstate` 1 s after each, then N `destroy`. */
export async function burst(ctx: BenchContext, sys: SystemUnderTest, round: number): Promise<Measurement> {
  const meas = m('burst', `${ctx.burstVms} VMs`, sys, round);
  const idx: number[] = [];
  for (let i = 0; idx.length < ctx.burstVms && i < ctx.vms; i++) if (expectedState(ctx, i) === 'shut off') idx.push(i);
  const names = idx.map(vmName);
  const off = logSize(sys.invocationLog);
  const starts: VirshResult[] = [];
  const rechecks: VirshResult[] = [];
  await Promise.all(
    names.map(async (n, k) => {
      const r = await runVirsh(sys.uri, ['start', n]);
      starts[k] = r;
      await sleep(1000);
      rechecks[k] = await runVirsh(sys.uri, ['domstate', n]);
    }),
  );
  const calls = readInvocations(sys.invocationLog, off).list;
  const startvm = calls.filter((c) => subcommand(c.argv) === 'startvm');
  const perVm = countBy(startvm.map((c) => vmOfInvocation(c.argv, ctx.simUuids) ?? '?'));
  const dups = Object.entries(perVm).filter(([n, c]) => n !== '?' && c > 1).length;
  if (perVm['?']) meas.notes.push(`${perVm['?']} startvm calls name no VM of this burst: ${JSON.stringify(startvm.slice(0, 2).map((c) => c.argv))}`);
  let running = 0;
  names.forEach((n, k) => {
    const s = starts[k];
    if (s.timedOut) meas.hangs++;
    if (virshFailed(s)) {
      meas.errors++;
      if (meas.notes.length < 5) meas.notes.push(`start ${n}: ${virshWhy(s)}`);
    }
    const r = rechecks[k];
    if (r.timedOut) meas.hangs++;
    if (!virshFailed(r) && r.stdout.trim() === 'running') running++;
    else if (meas.notes.length < 5) meas.notes.push(`domstate ${n} 1 s after start: "${r.stdout.trim()}" ${r.stderr.trim().slice(0, 200)}`);
  });
  const destroys = await Promise.all(names.map((n) => runVirsh(sys.uri, ['destroy', n])));
  destroys.forEach((d, k) => {
    if (d.timedOut) meas.hangs++;
    if (virshFailed(d)) {
      meas.errors++;
      if (meas.notes.length < 5) meas.notes.push(`destroy ${names[k]}: ${virshWhy(d)}`);
    }
  });
  // the VMs must be back to "shut off" so that the next round (and the poll) see the seeded states
  const after = await pool(names.map((n) => () => runVirsh(sys.uri, ['domstate', n])), 5);
  const notOff = after.filter((r) => r.stdout.trim() !== 'shut off').length;
  if (notOff) {
    meas.errors++;
    meas.notes.push(`${notOff} VMs not "shut off" after destroy`);
  }
  const sl = sortedNums(starts.map((s) => s.ms));
  meas.metrics = {
    vms: names.length,
    start_p50_ms: percentile(sl, 50),
    start_max_ms: sl.length ? sl[sl.length - 1] : null,
    running_at_recheck: running,
    startvm_calls: sys.invocationLog ? startvm.length : null,
    duplicate_startvm_vms: sys.invocationLog ? dups : null,
    destroy_max_ms: destroys.length ? Math.max(...destroys.map((d) => d.ms)) : null,
  };
  if (running < names.length) meas.errors++;
  meas.samples = starts.map((s) => s.ms);
  meas.sampleUnit = 'ms';
  return meas;
}

type SettledMemory = { rssKb: number; heapUsedKb: number | null };

/** vboxvirt: memory after a full collection (its SIGUSR2 status); libvirtd (no GC): /proc as is. */
async function settledMemory(sys: SystemUnderTest): Promise<SettledMemory | null> {
  const s = sys.settledMemory ? await sys.settledMemory() : null;
  if (s) return s;
  const p = safeSample(sys.pid);
  return p ? { rssKb: p.rssKb, heapUsedKb: null } : null;
}

/**
 * Memory per idle connection: (settled memory with N more connections open − without) / N,
 * each side the median of three samples after a full collection, on a daemon warmed by one
 * unmeasured pass (the first connections pay first-use costs: code, caches). N = 256, so the
 * ±1.5 MB that RSS still moves between collected samples is ±6 KB per connection, not ±23 KB.
 */
async function perConnection(ctx: BenchContext, sys: SystemUnderTest, meas: Measurement, n: number): Promise<{ rssKb: number | null; heapKb: number | null }> {
  const sample = async (): Promise<{ rssKb: number | null; heapKb: number | null }> => {
    const xs: SettledMemory[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await settledMemory(sys);
      if (p) xs.push(p);
    }
    return { rssKb: median(xs.map((x) => x.rssKb)), heapKb: median(xs.map((x) => x.heapUsedKb)) };
  };
  let result: { rssKb: number | null; heapKb: number | null } = { rssKb: null, heapKb: null };
  for (const measured of [false, true]) {
    const before = await sample();
    let after: { rssKb: number | null; heapKb: number | null } = { rssKb: null, heapKb: null };
    try {
      const r = await runPyStep(ctx.python, ctx.root, ['conc', '--uri', sys.uri, '--conns', String(n), '--names', String(ctx.vms), '--op', 'state', '--duration', '0.2'], 120_000, {
        beforeGo: async () => {
          after = await sample();
        },
      });
      absorb(meas, r);
    } catch (e) {
      stepFailure(meas, e);
      return result;
    }
    const per = (a: number | null, b: number | null): number | null => (a !== null && b !== null ? (a - b) / n : null);
    if (measured) result = { rssKb: per(after.rssKb, before.rssKb), heapKb: per(after.heapKb, before.heapKb) };
  }
  return result;
}

/**
 * W6: 64 concurrent clients for ctx.soakSeconds: errors, hangs, RSS and fds. Memory is
 * compared at rest, after a full collection (vboxvirt's SIGUSR2 status; libvirtd as is),
 * with the same 64 connections open and idle: before the load (per-connection cost), at
 * the rests between the soak's SOAK_PHASES load phases, and after the last. Samples under
 * load carry the reads in flight and spread ±0.5 MB; at rest they repeat to the KB within a
 * rest but still step ±0.3 MB from one rest to the next (the malloc arenas of V8's compiler
 * and GC threads), so growth compares medians of three rests: the last three (6/8, 7/8 and
 * the end) − the three around halfway (3/8, 4/8, 5/8), when the daemon is warm. The whole
 * soak's figure (the last three − before the load) is printed beside it.
 */
export const SOAK_PHASES = 8;

export async function soak(ctx: BenchContext, sys: SystemUnderTest, rssIdleKb: number | null, rssIdleRawKb: number | null = null): Promise<Measurement> {
  const meas = m('soak', `${ctx.soakConns} clients × ${ctx.soakSeconds} s`, sys, 1);
  const perConn = await perConnection(ctx, sys, meas, ctx.perConnConns);
  const settled = () => settledMemory(sys);
  const before = safeSample(sys.pid);
  const beforeMem = await settled();
  let at64: ProcSample | null = null;
  let at64Mem: SettledMemory | null = null;
  let end: ProcSample | null = null;
  let endMem: SettledMemory | null = null;
  const rests: Array<SettledMemory | null> = [];
  const during: ProcSample[] = [];
  try {
    const r = await runPyStep(ctx.python, ctx.root, [
      'soak', '--uri', sys.uri, '--conns', String(ctx.soakConns), '--names', String(ctx.vms), '--duration', String(ctx.soakSeconds),
      '--phases', String(SOAK_PHASES),
    ], ctx.soakSeconds * 1000 + 90_000, {
      beforeGo: async () => {
        await sleep(300);
        at64 = safeSample(sys.pid);
        at64Mem = await settled();
      },
      tickMs: Math.max(250, Math.min(2000, (ctx.soakSeconds * 1000) / 40)),
      onTick: () => {
        const s = safeSample(sys.pid);
        if (s) during.push(s);
      },
      onRest: async () => {
        await sleep(300); // replies in flight settle
        rests.push(await settled());
      },
      afterDone: async () => {
        end = safeSample(sys.pid);
        await sleep(300);
        endMem = await settled(); // the same 64 connections, still open, now idle
      },
    });
    absorb(meas, r);
    meas.metrics.ops = r.ops ?? null;
    meas.metrics.ops_per_s = r.ops_per_s ?? null;
    meas.metrics.p99_ms = r.p99_us != null ? r.p99_us / 1000 : null;
    meas.samples = r.sample_us;
    meas.sampleUnit = 'us';
  } catch (e) {
    stepFailure(meas, e);
  }
  await sleep(1000);
  const afterClose = safeSample(sys.pid);
  const b = before as ProcSample | null;
  const a64 = at64 as ProcSample | null;
  const e = end as ProcSample | null;
  const bm = beforeMem as SettledMemory | null;
  const am = at64Mem as SettledMemory | null;
  const em = endMem as SettledMemory | null;
  // medians of three rests: around halfway (after phases 3, 4, 5) and at the end (6, 7, and the end itself)
  const complete = rests.length === SOAK_PHASES - 1 && rests.every((x) => x !== null) && em !== null;
  const med3 = (xs: Array<SettledMemory | null>, k: 'rssKb' | 'heapUsedKb'): number | null => (complete ? median(xs.map((x) => x![k])) : null);
  const halfRests = rests.slice(2, 5);
  const endRests = [...rests.slice(5), em];
  const diff = (x: number | null | undefined, y: number | null | undefined): number | null => (x != null && y != null ? x - y : null);
  // at rest, 64 connections idle, between the load phases (rss_64_idle_kb before them, rss_64_after_soak_kb after)
  rests.forEach((x, i) => {
    meas.metrics[`rss_soak_rest${i + 1}_kb`] = x?.rssKb ?? null;
    meas.metrics[`heap_soak_rest${i + 1}_kb`] = x?.heapUsedKb ?? null;
  });
  Object.assign(meas.metrics, {
    rss_idle_kb: rssIdleKb,
    rss_idle_raw_kb: rssIdleRawKb,
    rss_before_kb: bm?.rssKb ?? null,
    rss_64_idle_kb: am?.rssKb ?? null,
    per_conn_kb: perConn.rssKb,
    heap_per_conn_kb: perConn.heapKb,
    per_conn_64_kb: bm && am ? (am.rssKb - bm.rssKb) / ctx.soakConns : null,
    rss_64_after_soak_kb: em?.rssKb ?? null,
    heap_64_idle_kb: am?.heapUsedKb ?? null,
    heap_64_after_soak_kb: em?.heapUsedKb ?? null,
    soak_growth_kb: diff(med3(endRests, 'rssKb'), med3(halfRests, 'rssKb')),
    heap_soak_growth_kb: diff(med3(endRests, 'heapUsedKb'), med3(halfRests, 'heapUsedKb')),
    soak_growth_whole_kb: diff(med3(endRests, 'rssKb'), am?.rssKb),
    heap_soak_growth_whole_kb: diff(med3(endRests, 'heapUsedKb'), am?.heapUsedKb),
    rss_peak_kb: during.length ? Math.max(...during.map((x) => x.rssKb)) : null,
    rss_end_raw_kb: e?.rssKb ?? null,
    rss_after_close_kb: afterClose?.rssKb ?? null,
    fds_before: b?.fds ?? null,
    fds_64: a64?.fds ?? null,
    fds_after_close: afterClose?.fds ?? null,
    threads_64: a64?.threads ?? null,
  });
  if (b && afterClose && afterClose.fds > b.fds) meas.notes.push(`fds after close ${afterClose.fds} > before ${b.fds}`);
  return meas;
}

/** W6 (compatibility half): C clients × P `virsh domstate` processes each, all at once. */
export async function flood(ctx: BenchContext, sys: SystemUnderTest, round: number): Promise<Measurement> {
  const meas = m('flood', `${ctx.floodClients} × ${ctx.floodPerClient} virsh`, sys, round);
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: ctx.floodClients }, async (_, c) => {
      for (let k = 0; k < ctx.floodPerClient; k++) {
        const i = (c * ctx.floodPerClient + k) % ctx.vms;
        const r = await runVirsh(sys.uri, ['domstate', vmName(i)]);
        lat.push(r.ms);
        if (r.timedOut) meas.hangs++;
        if (virshFailed(r) || r.stdout.trim() !== expectedState(ctx, i)) {
          meas.errors++;
          if (meas.notes.length < 5) meas.notes.push(`domstate ${vmName(i)}: rc ${r.code} "${r.stdout.trim()}" ${r.stderr.trim().slice(0, 160)}`);
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const sl = sortedNums(lat);
  meas.metrics = {
    processes: lat.length,
    wall_s: wall,
    virsh_per_s: lat.length / wall,
    p50_ms: percentile(sl, 50),
    max_ms: sl.length ? sl[sl.length - 1] : null,
  };
  meas.samples = lat;
  meas.sampleUnit = 'ms';
  return meas;
}
