/**
 * Aggregation (medians over rounds), the target checks, and the three outputs:
 * a markdown report, a JSON document and an SVG chart of latency distributions.
 */
import type { Measurement } from './workloads.js';
import type { DelayProfile } from './servers.js';
import type { MachineInfo } from './util.js';
import { fmt, median, ratio, sortedNums } from './util.js';

export interface Row {
  workload: Measurement['workload'];
  variant: string;
  system: string;
  rounds: number;
  /** Median over rounds of every metric. */
  metrics: Record<string, number | null>;
  errors: number;
  hangs: number;
  notes: string[];
  samples: number[];
  sampleUnit?: 'us' | 'ms';
}

export function aggregate(ms: Measurement[]): Row[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of ms) {
    const k = `${m.workload}\u0000${m.variant}\u0000${m.system}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(m);
  }
  const rows: Row[] = [];
  for (const list of groups.values()) {
    const keys = new Set(list.flatMap((m) => Object.keys(m.metrics)));
    const metrics: Record<string, number | null> = {};
    for (const k of keys) metrics[k] = median(list.map((m) => m.metrics[k]));
    const samples = list.flatMap((m) => m.samples ?? []);
    rows.push({
      workload: list[0].workload,
      variant: list[0].variant,
      system: list[0].system,
      rounds: list.length,
      metrics,
      errors: list.reduce((a, m) => a + m.errors, 0),
      hangs: list.reduce((a, m) => a + m.hangs, 0),
      notes: [...new Set(list.flatMap((m) => m.notes))].slice(0, 8),
      samples,
      sampleUnit: list[0].sampleUnit,
    });
  }
  return rows;
}

export interface TargetCheck {
  id: string;
  target: string;
  system: string;
  value: number | null;
  limit: number | null;
  /** How value and limit are compared. */
  op: '<=' | '>=';
  unit: string;
  /** null = could not be evaluated (a system or figure missing). */
  pass: boolean | null;
  detail: string;
}

function find(rows: Row[], workload: string, variant: string, system: string): Row | undefined {
  return rows.find((r) => r.workload === workload && r.variant === variant && r.system === system);
}

function check(
  id: string,
  target: string,
  system: string,
  value: number | null | undefined,
  op: '<=' | '>=',
  limit: number | null | undefined,
  unit: string,
  detail: string,
): TargetCheck {
  const v = value ?? null;
  const l = limit ?? null;
  const pass = v === null || l === null ? null : op === '<=' ? v <= l : v >= l;
  return { id, target, system, value: v, limit: l, op, unit, pass, detail };
}

export interface TargetInputs {
  profiles: DelayProfile[];
  burstVms: number;
  /** How much of a startvm the simulator serialises across VMs (1 = fully, VBoxSVC-like). */
  startSerialFraction: number;
}

/** The targets from the issue, evaluated against the medians. */
export function evaluateTargets(rows: Row[], t: TargetInputs): TargetCheck[] {
  const out: TargetCheck[] = [];
  const g = (w: string, v: string, s: string, k: string): number | null => find(rows, w, v, s)?.metrics[k] ?? null;

  // CPU per call: the paired blocks (one client alternating between the systems, W1 `state
  // paired`) when they ran; the rounds' figure (each system's 2-s runs, minutes apart) beside it
  const aCpu = g('serial', 'state', 'A', 'cpu_us_per_rpc');
  const nCpu = g('serial', 'state', 'N', 'cpu_us_per_rpc');
  const roundsCpu = `rounds: B ${fmt(g('serial', 'state', 'B', 'cpu_us_per_rpc'), 1)}, A ${fmt(aCpu, 1)} µs/RPC = ${fmt(ratio(g('serial', 'state', 'B', 'cpu_us_per_rpc'), aCpu), 2)}×A` +
    (nCpu === null ? '' : `, Node floor N ${fmt(nCpu, 1)} = ${fmt(ratio(nCpu, aCpu), 2)}×A`);
  const pB = find(rows, 'serial', 'state paired', 'B')?.metrics;
  const pA = find(rows, 'serial', 'state paired', 'A')?.metrics;
  const pN = find(rows, 'serial', 'state paired', 'N')?.metrics;
  const paired = pB && pA && pB.cpu_ratio_to_a != null;
  out.push(check('cpu-per-call', 'server CPU per call B ≤ 0.5× A (serial lookup+state)', 'B',
    paired ? pB.cpu_ratio_to_a : ratio(g('serial', 'state', 'B', 'cpu_us_per_rpc'), aCpu), '<=', 0.5, '×A',
    !paired ? roundsCpu :
      `paired blocks (sustained part), ${fmt(pB.blocks)} cycles: B ${fmt(pB.cpu_us_per_rpc, 1)} µs/RPC, A ${fmt(pA.cpu_us_per_rpc, 1)}` +
        (pN?.cpu_ratio_to_a == null ? '' : `, Node floor N ${fmt(pN.cpu_us_per_rpc, 1)} = ${fmt(pN.cpu_ratio_to_a, 2)}×A`) +
        `; block quartiles B ${fmt(pB.cpu_us_per_rpc_q1, 1)}/${fmt(pB.cpu_us_per_rpc_median, 1)}/${fmt(pB.cpu_us_per_rpc_q3, 1)}, A ${fmt(pA.cpu_us_per_rpc_q1, 1)}/${fmt(pA.cpu_us_per_rpc_median, 1)}/${fmt(pA.cpu_us_per_rpc_q3, 1)}; ` +
        `median per-cycle B÷A ${fmt(pB.cpu_ratio_to_a_median, 2)}; after idle (each block's first calls) B ${fmt(pB.cpu_us_per_rpc_after_idle, 1)} = ${fmt(pB.cpu_ratio_to_a_after_idle, 2)}×A; ${roundsCpu}`));
  out.push(check('one-conn-rate', 'one connection: B ≥ 1.0× A calls/s', 'B', ratio(g('serial', 'state', 'B', 'ops_per_s'), g('serial', 'state', 'A', 'ops_per_s')), '>=', 1.0, '×A',
    `B ${fmt(g('serial', 'state', 'B', 'ops_per_s'))} /s, A ${fmt(g('serial', 'state', 'A', 'ops_per_s'))} /s`));
  out.push(check('one-conn-p99', "one connection: B's p99 no worse than A's", 'B', g('serial', 'state', 'B', 'p99_us'), '<=', g('serial', 'state', 'A', 'p99_us'), 'µs', 'p99 of lookup+state, median over rounds'));
  out.push(check('64-conn-rate', 'at 64 connections B ≥ 1.5× A aggregate', 'B', ratio(g('conc', '64 conn', 'B', 'ops_per_s'), g('conc', '64 conn', 'A', 'ops_per_s')), '>=', 1.5, '×A',
    `B ${fmt(g('conc', '64 conn', 'B', 'ops_per_s'))} /s, A ${fmt(g('conc', '64 conn', 'A', 'ops_per_s'))} /s`));
  out.push(check('churn', 'B ≥ A in connection opens/s', 'B', ratio(g('churn', 'open+close', 'B', 'opens_per_s'), g('churn', 'open+close', 'A', 'opens_per_s')), '>=', 1.0, '×A',
    `B ${fmt(g('churn', 'open+close', 'B', 'opens_per_s'))} /s, A ${fmt(g('churn', 'open+close', 'A', 'opens_per_s'))} /s`));

  const aSweep = g('maas', 'poll', 'A', 'sweep_s');
  for (const p of t.profiles) {
    const id = `C-${p.name}`;
    out.push(check(`maas-inv-${p.name}`, `C (${p.name}): MAAS poll costs ≤ 2 VBoxManage invocations per sweep (worst sweep)`, id, g('maas', 'poll', id, 'inv_per_sweep_max'), '<=', 2, 'calls',
      `first sweep of a round ${fmt(g('maas', 'poll', id, 'inv_first_sweep'))}, median ${fmt(g('maas', 'poll', id, 'inv_per_sweep'))}`));
    out.push(check(`maas-wall-${p.name}`, `C (${p.name}): sweep wall ≤ 1.5× A's + one list runningvms (${p.list} ms)`, id, g('maas', 'poll', id, 'sweep_s'), '<=',
      aSweep === null ? null : 1.5 * aSweep + p.list / 1000, 's', `A ${fmt(aSweep, 3)} s`));
  }
  for (const p of t.profiles) {
    const id = `C-${p.name}`;
    if (!find(rows, 'burst', `${t.burstVms} VMs`, id)) continue;
    out.push(check(`burst-running-${p.name}`, `C (${p.name}) burst: every VM running at the 1-s re-check`, id, g('burst', `${t.burstVms} VMs`, id, 'running_at_recheck'), '>=', t.burstVms, 'VMs', ''));
    out.push(check(`burst-dup-${p.name}`, `C (${p.name}) burst: no duplicate startvm`, id, g('burst', `${t.burstVms} VMs`, id, 'duplicate_startvm_vms'), '<=', 0, 'VMs', ''));
    const serial = p.startvm * (1 + (t.burstVms - 1) * t.startSerialFraction);
    out.push(check(`burst-worst-${p.name}`, `C (${p.name}) burst: worst start ≤ 1.5× (startvm + start serialisation)`, id, g('burst', `${t.burstVms} VMs`, id, 'start_max_ms'), '<=', 1.5 * serial, 'ms',
      `startvm ${p.startvm} ms, ${t.burstVms} starts, serialised fraction ${t.startSerialFraction}`));
  }
  const soakV = [...new Set(rows.filter((r) => r.workload === 'soak').map((r) => r.variant))][0] ?? '';
  out.push(check('rss-idle', "B's RSS idle ≤ 3× libvirtd's", 'B', ratio(g('soak', soakV, 'B', 'rss_idle_kb'), g('soak', soakV, 'A', 'rss_idle_kb')), '<=', 3, '×A',
    `B ${fmt(g('soak', soakV, 'B', 'rss_idle_kb'))} KB, A ${fmt(g('soak', soakV, 'A', 'rss_idle_kb'))} KB`));
  out.push(check('rss-per-conn', 'B grows < 5 KB per connection', 'B', g('soak', soakV, 'B', 'per_conn_kb'), '<=', 5, 'KB',
    `(RSS with 256 more idle connections − without) / 256, medians of 3 samples after a full collection, daemon warmed by one unmeasured pass; heap ${fmt(g('soak', soakV, 'B', 'heap_per_conn_kb'), 2)} KB/conn`));
  const restKeys = Object.keys(find(rows, 'soak', soakV, 'B')?.metrics ?? {}).filter((k) => /^rss_soak_rest\d+_kb$/.test(k)).sort();
  const restsB = ['rss_64_idle_kb', ...restKeys, 'rss_64_after_soak_kb'].map((k) => fmt(g('soak', soakV, 'B', k))).join(' → ');
  out.push(check('rss-soak', 'B does not grow over the soak', 'B', g('soak', soakV, 'B', 'soak_growth_kb'), '<=', 256, 'KB',
    `RSS at rest (the same connections open and idle, after full collections), median of the last three rests − median of the three around halfway (256 KB: a few allocator pages); ` +
      `heap ${fmt(g('soak', soakV, 'B', 'heap_soak_growth_kb'))} KB; whole soak RSS ${fmt(g('soak', soakV, 'B', 'soak_growth_whole_kb'))} KB, heap ${fmt(g('soak', soakV, 'B', 'heap_soak_growth_whole_kb'))} KB; at rest ${restsB} KB`));
  return out;
}

/** Rows and system lists: A, B, the C profiles (in the order given), then N. */
export const SYSTEM_ORDER = (s: string): number => (s === 'A' ? 0 : s === 'B' ? 1 : s === 'N' ? 3 : 2);

const HEADLINE: Record<string, { key: string; higherIsBetter: boolean }> = {
  serial: { key: 'ops_per_s', higherIsBetter: true },
  conc: { key: 'ops_per_s', higherIsBetter: true },
  churn: { key: 'opens_per_s', higherIsBetter: true },
  maas: { key: 'sweep_s', higherIsBetter: false },
  burst: { key: 'start_max_ms', higherIsBetter: false },
  soak: { key: 'ops_per_s', higherIsBetter: true },
  flood: { key: 'virsh_per_s', higherIsBetter: true },
};

const COLUMNS: Record<string, Array<[string, string, number]>> = {
  serial: [['ops_per_s', 'calls/s', 0], ['p50_us', 'p50 µs', 0], ['p99_us', 'p99 µs', 0], ['cpu_us_per_op', 'server CPU µs/call', 1], ['cpu_us_per_rpc', 'server CPU µs/RPC', 1], ['cpu_ratio_to_a', 'CPU/RPC ×A, paired', 2], ['cpu_us_per_rpc_after_idle', 'CPU µs/RPC after idle', 1], ['child_cpu_us_per_op', 'children CPU µs/call', 0]],
  conc: [['ops_per_s', 'calls/s', 0], ['p50_ms', 'p50 ms', 2], ['p99_ms', 'p99 ms', 2], ['cpu_us_per_op', 'server CPU µs/call', 1]],
  churn: [['opens_per_s', 'opens/s', 0], ['p50_us', 'p50 µs', 0], ['p99_us', 'p99 µs', 0], ['cpu_us_per_open', 'server CPU µs/open', 0]],
  maas: [['sweep_s', 'sweep s (median)', 3], ['sweep_first_s', 'first sweep s', 3], ['sweep_max_s', 'worst sweep s', 3], ['domstate_p50_ms', 'domstate p50 ms', 1], ['domstate_max_ms', 'domstate max ms', 1], ['inv_first_sweep', 'VBoxManage 1st sweep', 0], ['inv_per_sweep', 'VBoxManage/sweep (median)', 0], ['inv_per_sweep_max', 'VBoxManage worst sweep', 0], ['list_all_s', 'list --all s', 3], ['inv_list_all', 'VBoxManage for list --all', 0]],
  burst: [['start_p50_ms', 'start p50 ms', 0], ['start_max_ms', 'worst start ms', 0], ['running_at_recheck', 'running at 1-s re-check', 0], ['startvm_calls', 'startvm calls', 0], ['duplicate_startvm_vms', 'dup startvm', 0], ['destroy_max_ms', 'worst destroy ms', 0]],
  soak: [['ops_per_s', 'calls/s', 0], ['p99_ms', 'p99 ms', 1], ['rss_idle_kb', 'RSS idle KB', 0], ['rss_idle_raw_kb', 'RSS idle, no GC KB', 0], ['rss_64_idle_kb', 'RSS 64 conns KB', 0], ['per_conn_kb', 'KB/conn', 2], ['heap_per_conn_kb', 'heap KB/conn', 2], ['per_conn_64_kb', 'KB/conn (64, one sample)', 2], ['soak_growth_kb', 'growth, 2nd half KB', 0], ['heap_soak_growth_kb', 'heap growth, 2nd half KB', 0], ['soak_growth_whole_kb', 'growth, whole soak KB', 0], ['heap_soak_growth_whole_kb', 'heap growth, whole KB', 0], ['rss_peak_kb', 'peak KB', 0], ['fds_before', 'fds before', 0], ['fds_64', 'fds at 64', 0], ['fds_after_close', 'fds after', 0]],
  flood: [['virsh_per_s', 'virsh/s', 0], ['wall_s', 'wall s', 2], ['p50_ms', 'p50 ms', 0], ['max_ms', 'max ms', 0]],
};

const TITLES: Record<string, string> = {
  serial: 'W1 — serial calls on one connection (python3-libvirt closed loop)',
  conc: 'W2 — concurrent connections, lookup+state (one python3-libvirt thread per connection)',
  churn: 'W3 — connection churn: open + virsh prologue (close callback) + close',
  maas: 'W4 — MAAS poll: one `virsh domstate` process per VM, 5 at a time, plus `virsh list --all`',
  burst: 'W5 — burst power-on: concurrent `virsh start`, `domstate` 1 s later, then `destroy`',
  soak: 'W6 — 64 concurrent clients: errors, hangs, memory, fds',
  flood: 'W6b — virsh flood: concurrent clients each running `virsh domstate` processes',
};

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: MachineInfo;
  config: Record<string, unknown>;
  systems: Array<{ id: string; label: string; uri: string; available: boolean; reason?: string }>;
  rows: Array<Omit<Row, 'samples'> & { ratioToA: number | null }>;
  measurements: Array<Omit<Measurement, 'samples'>>;
  targets: TargetCheck[];
  failures: string[];
  ok: boolean;
}

export function ratioToA(rows: Row[], r: Row): number | null {
  const h = HEADLINE[r.workload];
  const a = find(rows, r.workload, r.variant, 'A')?.metrics[h.key];
  const v = r.metrics[h.key];
  if (a == null || v == null || a === 0) return null;
  return v / a;
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(rep: BenchReport, rows: Row[]): string {
  const L: string[] = [];
  const m = rep.machine;
  L.push(`# vboxvirt benchmark — ${rep.startedAt}${rep.quick ? ' (quick mode: figures are indicative only)' : ''}`, '');
  L.push(`Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}; node ${m.node}; ${m.libvirtd}; virsh ${m.virsh}; python3-libvirt ${m.pythonLibvirt}; load average at start ${m.loadavg.join(' ')}.`, '');
  L.push('| system | what | URI | status |', '|---|---|---|---|');
  for (const s of rep.systems) L.push(`| ${s.id} | ${mdEscape(s.label)} | \`${s.uri}\` | ${s.available ? 'measured' : 'UNAVAILABLE: ' + mdEscape(s.reason ?? '')} |`);
  L.push('');
  L.push(`Rounds interleaved A, B, C… per workload; figures are medians over rounds (config: ${mdEscape(JSON.stringify(rep.config))}).`, '');

  // summary: one row per system, ratios to A
  L.push('## Summary (ratio to A; > 1 is better for rates, < 1 is better for times and CPU)', '');
  const summaryCols: Array<[string, string, string, string, boolean]> = [
    ['serial', 'state', 'ops_per_s', 'serial calls/s', true],
    ['serial', 'state', 'cpu_us_per_rpc', 'CPU µs/RPC', false],
    ['serial', 'state', 'p99_us', 'serial p99', false],
    ['conc', '64 conn', 'ops_per_s', '64-conn calls/s', true],
    ['churn', 'open+close', 'opens_per_s', 'opens/s', true],
    ['maas', 'poll', 'sweep_s', 'MAAS sweep', false],
    ['burst', '', 'start_max_ms', 'worst start', false],
  ];
  const soakV = rows.find((r) => r.workload === 'soak')?.variant ?? '';
  summaryCols.push(['soak', soakV, 'rss_idle_kb', 'RSS idle', false]);
  const burstV = rows.find((r) => r.workload === 'burst')?.variant ?? '';
  L.push('| system | ' + summaryCols.map((c) => c[3]).join(' | ') + ' | errors | hangs |');
  L.push('|---|' + summaryCols.map(() => '---|').join('') + '---|---|');
  for (const s of rep.systems) {
    const cells = summaryCols.map(([w, v, k]) => {
      const variant = w === 'burst' ? burstV : v;
      const val = find(rows, w, variant, s.id)?.metrics[k] ?? null;
      const a = find(rows, w, variant, 'A')?.metrics[k] ?? null;
      if (val === null) return 'n/a';
      return s.id === 'A' ? fmt(val, val < 10 ? 3 : 0) : a ? `${fmt(val, val < 10 ? 3 : 0)} (${fmt(val / a, 2)}×)` : fmt(val, 2);
    });
    const errs = rows.filter((r) => r.system === s.id).reduce((x, r) => x + r.errors, 0);
    const hangs = rows.filter((r) => r.system === s.id).reduce((x, r) => x + r.hangs, 0);
    L.push(`| ${s.id} | ${cells.join(' | ')} | ${s.available ? errs : 'n/a'} | ${s.available ? hangs : 'n/a'} |`);
  }
  L.push('');

  L.push('## Targets', '');
  L.push('| result | target | system | value | limit |', '|---|---|---|---|---|');
  for (const t of rep.targets) {
    const res = t.pass === null ? 'N/A' : t.pass ? 'PASS' : 'FAIL';
    L.push(`| ${res} | ${mdEscape(t.target)} | ${t.system} | ${fmt(t.value, 2)} ${t.unit} | ${t.op} ${fmt(t.limit, 2)} ${t.unit} ${t.detail ? '(' + mdEscape(t.detail) + ')' : ''} |`);
  }
  L.push('');

  for (const w of ['serial', 'conc', 'churn', 'maas', 'burst', 'soak', 'flood'] as const) {
    const wr = rows.filter((r) => r.workload === w);
    if (!wr.length) continue;
    L.push(`## ${TITLES[w]}`, '');
    const cols = COLUMNS[w];
    L.push('| variant | system | rounds | ' + cols.map((c) => c[1]).join(' | ') + ' | ×A | errors | hangs |');
    L.push('|---|---|---|' + cols.map(() => '---|').join('') + '---|---|---|');
    const variants = [...new Set(wr.map((r) => r.variant))];
    for (const v of variants) {
      for (const r of wr.filter((x) => x.variant === v).sort((a, b) => SYSTEM_ORDER(a.system) - SYSTEM_ORDER(b.system) || a.system.localeCompare(b.system))) {
        const toA = ratioToA(rows, r);
        L.push(`| ${v} | ${r.system} | ${r.rounds} | ${cols.map(([k, , d]) => fmt(r.metrics[k], d)).join(' | ')} | ${r.system === 'A' ? '1' : fmt(toA, 2)} | ${r.errors} | ${r.hangs} |`);
      }
    }
    const notes = wr.flatMap((r) => r.notes.map((n) => `${r.system} ${r.variant}: ${n}`));
    if (notes.length) {
      L.push('', '<details><summary>notes</summary>', '');
      for (const n of notes.slice(0, 30)) L.push(`- ${mdEscape(n)}`);
      L.push('', '</details>');
    }
    L.push('');
  }
  if (rep.failures.length) {
    L.push('## Failures (errors, hangs, crashes)', '');
    for (const f of rep.failures) L.push(`- ${mdEscape(f)}`);
    L.push('');
  }
  return L.join('\n');
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An SVG of latency CDFs (log x axis), one panel per workload variant, one line per system. */
export function renderSvg(rows: Row[], systems: string[], title: string): string {
  const panels: Array<{ title: string; unit: string; series: Array<{ system: string; v: number[] }> }> = [];
  const wanted: Array<[string, string | null]> = [
    ['serial', 'state'], ['serial', 'list'], ['serial', 'dumpxml'], ['conc', '1 conn'], ['conc', '64 conn'],
    ['churn', 'open+close'], ['maas', 'poll'], ['burst', null], ['soak', null], ['flood', null],
  ];
  for (const [w, v] of wanted) {
    const rs = rows.filter((r) => r.workload === w && (v === null || r.variant === v) && r.samples.length > 0);
    if (!rs.length) continue;
    const unit = rs[0].sampleUnit ?? 'us';
    panels.push({
      title: `${w} ${rs[0].variant}`,
      unit: unit === 'us' ? 'µs' : 'ms',
      series: rs.map((r) => ({ system: r.system, v: sortedNums(r.samples) })),
    });
  }
  const PW = 470;
  const PH = 260;
  const cols = 2;
  const W = PW * cols + 20;
  const H = 60 + Math.ceil(panels.length / cols) * (PH + 20);
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`);
  systems.forEach((s, i) => {
    o.push(`<rect x="${10 + i * 110}" y="32" width="14" height="4" fill="${COLORS[i % COLORS.length]}"/><text x="${28 + i * 110}" y="38">${esc(s)}</text>`);
  });
  panels.forEach((p, k) => {
    const x0 = 10 + (k % cols) * PW;
    const y0 = 55 + Math.floor(k / cols) * (PH + 20);
    const L = 50;
    const R = PW - 20;
    const T = 22;
    const B = PH - 30;
    const all = p.series.flatMap((s) => s.v).filter((x) => x > 0);
    if (!all.length) return;
    let lo = Math.log10(Math.min(...all));
    let hi = Math.log10(Math.max(...all));
    lo = Math.floor(lo);
    hi = Math.max(lo + 1, Math.ceil(hi));
    const X = (v: number): number => x0 + L + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (R - L);
    const Y = (q: number): number => y0 + B - q * (B - T);
    o.push(`<g><rect x="${x0}" y="${y0}" width="${PW - 10}" height="${PH}" fill="none" stroke="#ccc"/>`);
    o.push(`<text x="${x0 + 8}" y="${y0 + 15}" font-weight="bold">${esc(p.title)} — latency CDF (${p.unit}, log scale)</text>`);
    for (let e = lo; e <= hi; e++) {
      const x = X(10 ** e);
      o.push(`<line x1="${x.toFixed(1)}" y1="${Y(0)}" x2="${x.toFixed(1)}" y2="${Y(1)}" stroke="#eee"/><text x="${x.toFixed(1)}" y="${y0 + B + 14}" text-anchor="middle">${fmt(10 ** e, 0)}</text>`);
    }
    for (const q of [0, 0.5, 0.9, 0.99, 1]) {
      o.push(`<line x1="${x0 + L}" y1="${Y(q).toFixed(1)}" x2="${x0 + R}" y2="${Y(q).toFixed(1)}" stroke="#eee"/><text x="${x0 + L - 4}" y="${(Y(q) + 4).toFixed(1)}" text-anchor="end">p${Math.round(q * 100)}</text>`);
    }
    for (const s of p.series) {
      const ci = Math.max(0, systems.indexOf(s.system));
      const n = s.v.length;
      const step = Math.max(1, Math.floor(n / 400));
      const pts: string[] = [];
      for (let i = 0; i < n; i += step) pts.push(`${X(s.v[i]).toFixed(1)},${Y(n === 1 ? 1 : i / (n - 1)).toFixed(1)}`);
      pts.push(`${X(s.v[n - 1]).toFixed(1)},${Y(1).toFixed(1)}`);
      o.push(`<polyline fill="none" stroke="${COLORS[ci % COLORS.length]}" stroke-width="1.6" points="${pts.join(' ')}"><title>${esc(s.system)}: n=${n}</title></polyline>`);
    }
    o.push('</g>');
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}
