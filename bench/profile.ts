/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `bench/run.js --cpu-prof`):
 * self time per function and per file, and inclusive time per function, as plain text.
 *
 *   node dist/bench/profile.js results/<ts>/prof/CPU.*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  selfByFunction: Array<{ name: string; ms: number; pct: number }>;
  selfByFile: Array<{ name: string; ms: number; pct: number }>;
  inclusiveByFunction: Array<{ name: string; ms: number; pct: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const i = u.indexOf('/node_modules/');
  if (i >= 0) return u.slice(i + 1);
  const d = u.indexOf('/dist/');
  if (d >= 0) return u.slice(d + 1);
  return u.startsWith('node:') ? u : path.basename(u);
}

export function summarize(p: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const key = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  let idle = 0;
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const name = n.callFrame.functionName;
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      if (name === '(idle)') idle += us;
      else fn.set(name, (fn.get(name) ?? 0) + us);
      continue;
    }
    fn.set(key(n), (fn.get(key(n)) ?? 0) + us);
    const f = shortUrl(n.callFrame.url);
    file.set(f, (file.get(f) ?? 0) + us);
    // inclusive: charge every distinct frame on the stack once
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = byId.get(cur)!;
      if (c.callFrame.functionName === '(root)') break;
      const k = key(c);
      if (!seen.has(k)) {
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + us);
      }
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>, base: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: base ? (100 * us) / base : 0 }));
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    selfByFunction: rank(fn, busy),
    selfByFile: rank(file, busy),
    inclusiveByFunction: rank(incl, busy),
  };
}

export function renderSummary(s: ProfileSummary): string {
  const L: string[] = [];
  L.push(`profile: ${s.totalMs.toFixed(0)} ms sampled, ${s.idleMs.toFixed(0)} ms idle, ${(s.totalMs - s.idleMs).toFixed(0)} ms busy (percentages are of busy time)`);
  const table = (title: string, rows: ProfileSummary['selfByFunction']): void => {
    L.push('', title);
    for (const r of rows) L.push(`${r.pct.toFixed(1).padStart(6)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`);
  };
  table('self time by function:', s.selfByFunction);
  table('self time by file:', s.selfByFile);
  table('inclusive time by function:', s.inclusiveByFunction);
  return L.join('\n') + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args[ti + 1]) : 25;
  const files = args.filter((a, i) => !a.startsWith('--') && (ti < 0 || i !== ti + 1));
  if (!files.length) {
    process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  for (const f of files) {
    process.stdout.write(`== ${f}\n` + renderSummary(summarize(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile, top)));
  }
}
