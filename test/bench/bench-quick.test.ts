/**
 * `npm run bench --quick` runs end to end against real servers (libvirtd 9.0 test driver,
 * vboxvirt on the simulator, vboxvirt driving bin/vboxsim.js) with real clients
 * (python3-libvirt, virsh), and writes a markdown table with A, B and C rows, valid JSON
 * and a well-formed SVG. The figures themselves are not asserted (speed belongs to the bench).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const runJs = path.join(root, 'dist', 'bench', 'run.js');

function distIsStale(): boolean {
  if (!existsSync(runJs)) return true;
  const built = statSync(runJs).mtimeMs;
  return readdirSync(path.join(root, 'bench'))
    .filter((f) => f.endsWith('.ts'))
    .some((f) => statSync(path.join(root, 'bench', f)).mtimeMs > built);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let out: string;
let run: Run;

beforeAll(async () => {
  if (distIsStale()) {
    try {
      execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { stdio: 'ignore' });
    } catch {
      /* tsc exits non-zero on anyone's type error but still emits dist/ */
    }
  }
  out = mkdtempSync(path.join(os.tmpdir(), 'bench-quick-'));
  run = await new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, [runJs, '--quick', '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += String(b)));
    child.stderr.on('data', (b) => (stderr += String(b)));
    // the bench stops its own servers on exit; this only guards against a bench that never ends
    const t = setTimeout(() => child.kill('SIGTERM'), 240_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

test('the quick bench exits 0: no errors, hangs or crashes on A, B or C', () => {
  if (run.code !== 0) {
    // show why, then fail
    console.error(run.stdout.split('\n').filter((l) => /failure|UNAVAILABLE|^  - /.test(l)).join('\n') + '\n' + run.stderr.slice(-3000));
  }
  expect(run.code).toBe(0);
});

test('stdout and report.md carry the summary table with A, B and C rows', () => {
  const md = readFileSync(path.join(out, 'report.md'), 'utf8');
  expect(run.stdout).toContain(md.slice(0, 200));
  const summary = md.slice(md.indexOf('## Summary'), md.indexOf('## Targets'));
  const rowsOf = (id: string) => summary.split('\n').filter((l) => l.startsWith(`| ${id} |`));
  expect(rowsOf('A')).toHaveLength(1);
  expect(rowsOf('B')).toHaveLength(1);
  for (const p of ['linux', 'macos', 'windows']) expect(rowsOf(`C-${p}`)).toHaveLength(1);
  // every workload has a table, and the targets table prints a verdict per target
  for (const w of ['W1', 'W2', 'W3', 'W4', 'W5', 'W6']) expect(md).toContain(`## ${w} `);
  expect(md).toMatch(/\| (PASS|FAIL|N\/A) \| server CPU per call/);
  expect(run.stdout).toMatch(/^(PASS|FAIL|N\/A) +at 64 connections/m);
});

test('results.json is valid and covers every workload for every system', () => {
  const rep = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
  expect(rep.version).toBe(1);
  expect(rep.quick).toBe(true);
  expect(rep.machine.cores).toBeGreaterThan(0);
  expect(rep.machine.libvirtd).toMatch(/libvirt/);
  const ids = rep.systems.map((s: { id: string }) => s.id);
  expect(ids).toEqual(['A', 'B', 'C-linux', 'C-macos', 'C-windows', 'N']);
  for (const s of rep.systems) expect(s.available).toBe(true);
  const has = (w: string, sys: string) => rep.rows.some((r: { workload: string; system: string }) => r.workload === w && r.system === sys);
  for (const sys of ['A', 'B', 'C-linux']) {
    for (const w of ['serial', 'conc', 'churn', 'maas', 'burst', 'soak', 'flood']) expect([w, sys, has(w, sys)]).toEqual([w, sys, true]);
  }
  for (const sys of ['C-macos', 'C-windows']) expect(has('maas', sys)).toBe(true);
  // N, the Node floor, answers W1's lookup+state only, with its server CPU measured like B's
  const floorRows = rep.rows.filter((r: { system: string }) => r.system === 'N');
  expect(floorRows.map((r: { workload: string; variant: string }) => `${r.workload} ${r.variant}`)).toEqual(['serial state', 'serial state paired']);
  for (const r of floorRows) {
    expect(r.errors).toBe(0);
    expect(r.metrics.ops).toBeGreaterThan(0);
    expect(r.metrics.cpu_us_per_rpc).toBeGreaterThan(0);
  }
  // the CPU target reads the paired blocks: one client alternating between A, B, C and N
  const paired = (sys: string) => rep.rows.find((r: { workload: string; variant: string; system: string }) => r.variant === 'state paired' && r.system === sys);
  expect(paired('A').metrics.cpu_ratio_to_a).toBe(1);
  for (const sys of ['B', 'C-linux', 'N']) {
    expect([sys, paired(sys).errors, paired(sys).metrics.blocks]).toEqual([sys, 0, 2]);
    expect(paired(sys).metrics.cpu_ratio_to_a).toBeCloseTo(paired(sys).metrics.cpu_us_per_rpc / paired('A').metrics.cpu_us_per_rpc, 6);
  }
  const cpu = rep.targets.find((t: { id: string }) => t.id === 'cpu-per-call');
  expect(cpu.value).toBe(paired('B').metrics.cpu_ratio_to_a);
  expect(cpu.detail).toMatch(/^paired blocks \(sustained part\), 2 cycles: B [\d.]+ µs\/RPC, A [\d.]+, Node floor N [\d.]+ = [\d.]+×A; .*rounds: B [\d.]+, A [\d.]+ µs\/RPC/);
  // the C rows of the MAAS poll count VBoxManage invocations from the simulator's log
  const poll = rep.rows.find((r: { workload: string; system: string }) => r.workload === 'maas' && r.system === 'C-linux');
  expect(typeof poll.metrics.inv_per_sweep).toBe('number');
  // the soak rests 7 times between its 8 load phases; memory is read at each rest
  const soakB = rep.rows.find((r: { workload: string; system: string }) => r.workload === 'soak' && r.system === 'B');
  for (let i = 1; i <= 7; i++) expect([i, typeof soakB.metrics[`rss_soak_rest${i}_kb`]]).toEqual([i, 'number']);
  expect(soakB.metrics[`rss_soak_rest8_kb`]).toBeUndefined();
  expect(typeof soakB.metrics.soak_growth_kb).toBe('number');
  expect(rep.targets.find((t: { id: string }) => t.id === 'rss-soak').detail).toMatch(/at rest [\d,]+( → [\d,]+){8} KB/);
  expect(rep.targets.length).toBeGreaterThanOrEqual(10);
  expect(rep.ok).toBe(true);
  expect(rep.failures).toEqual([]);
});

test('latency.svg is well-formed XML (xmllint)', () => {
  const svg = path.join(out, 'latency.svg');
  expect(readFileSync(svg, 'utf8')).toContain('<polyline');
  execFileSync('xmllint', ['--noout', svg]);
});
