/**
 * Real process spawns of `node bin/vboxsim.js` for the simulator's tests, each
 * with its own throw-away VBOX_USER_HOME. Every child is tracked and killed in
 * `cleanup()` (and on test-process exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimStore, settle, runVBoxManage, type SimResult } from '../../src/sim/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
export const SHARED = path.resolve(ROOT, '..', 'shared');
export const SAMPLES = path.join(SHARED, 'vbox-samples');
export const BIN = path.join(ROOT, 'bin', 'vboxsim.js');

export interface Result {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Fails loudly if dist/ is missing or older than the simulator sources. */
export function assertBuilt(): void {
  const cli = path.join(ROOT, 'dist', 'src', 'sim', 'cli.js');
  if (!fs.existsSync(cli)) throw new Error('dist/src/sim/cli.js missing: build first with `npx tsc -p .`');
  const built = fs.statSync(cli).mtimeMs;
  for (const f of fs.readdirSync(path.join(ROOT, 'src', 'sim'))) {
    const js = path.join(ROOT, 'dist', 'src', 'sim', f.replace(/\.ts$/, '.js'));
    if (!fs.existsSync(js) || fs.statSync(js).mtimeMs + 1000 < fs.statSync(path.join(ROOT, 'src', 'sim', f)).mtimeMs) {
      throw new Error(`dist is older than src/sim/${f}: rebuild with \`npx tsc -p .\``);
    }
  }
  void built;
}

export class SimHome {
  readonly dir: string;
  readonly home: string;
  private readonly children = new Set<ChildProcess>();
  constructor(readonly extraEnv: Record<string, string> = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vboxsim-test-'));
    this.home = path.join(this.dir, 'home');
    fs.mkdirSync(this.home);
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const e: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.dir, VBOX_USER_HOME: this.home, ...this.extraEnv, ...extra };
    return e;
  }

  /** Start `vboxsim <args>`; resolves when it exits. */
  spawn(args: string[], extra: Record<string, string> = {}): { child: ChildProcess; done: Promise<Result> } {
    const child = spawn(process.execPath, [BIN, ...args], { env: this.env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    this.children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const done = new Promise<Result>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        live.delete(child);
        this.children.delete(child);
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal });
      });
    });
    return { child, done };
  }

  run(args: string[], extra: Record<string, string> = {}): Promise<Result> {
    return this.spawn(args, extra).done;
  }

  /** Run and require exit 0; returns stdout. */
  async ok(args: string[], extra: Record<string, string> = {}): Promise<string> {
    const r = await this.run(args, extra);
    if (r.code !== 0) throw new Error(`vboxsim ${args.join(' ')} → ${r.code}/${r.signal}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** createvm --register; returns the UUID. */
  async create(name: string, ...more: string[]): Promise<string> {
    const out = await this.ok(['createvm', '--name', name, '--register', ...more]);
    const m = /^UUID: ([0-9a-f-]{36})$/m.exec(out);
    if (!m) throw new Error(`no UUID in ${out}`);
    return m[1]!;
  }

  async info(vm: string): Promise<Map<string, string>> {
    return parseMr(await this.ok(['showvminfo', vm, '--machinereadable']));
  }

  async state(vm: string): Promise<string> {
    return (await this.info(vm)).get('VMState')!;
  }

  /**
   * VMState read straight from the state files in this (test) process: no
   * spawn, no lock, ~1 ms — for watching short-lived states on a loaded machine.
   */
  fastState(name: string): string | undefined {
    const store = new SimStore(this.home);
    for (const { machine } of store.listMachines()) {
      if (machine?.name === name) {
        settle(machine, Date.now());
        return machine.state;
      }
    }
    return undefined;
  }

  /** The in-process entry point on this host (this test process acting as one more VBoxManage client). */
  inproc(args: string[], extra: Record<string, string> = {}): Promise<SimResult> {
    return runVBoxManage(args, { VBOX_USER_HOME: this.home, ...this.extraEnv, ...extra });
  }

  writeSettings(s: Record<string, unknown>): void {
    fs.writeFileSync(path.join(this.home, 'vboxsim.json'), JSON.stringify(s));
  }

  cleanup(): void {
    for (const c of this.children) c.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Parse `showvminfo --machinereadable` (quoted values may span lines; `\"`/`\\` escapes). */
export function parseMr(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const readQuoted = (): string => {
    // text[i] === '"'
    i++;
    let s = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < text.length) {
        s += text[i + 1];
        i += 2;
      } else s += text[i++];
    }
    i++;
    return s;
  };
  while (i < text.length) {
    let key: string;
    if (text[i] === '"') key = readQuoted();
    else {
      const eq = text.indexOf('=', i);
      const nl = text.indexOf('\n', i);
      if (eq < 0 || (nl >= 0 && nl < eq)) {
        key = text.slice(i, nl < 0 ? undefined : nl);
        out.set(key, '');
        i = nl < 0 ? text.length : nl + 1;
        continue;
      }
      key = text.slice(i, eq);
      i = eq;
    }
    i++; // '='
    let value: string;
    if (text[i] === '"') {
      value = readQuoted();
      const nl = text.indexOf('\n', i);
      const rest = text.slice(i, nl < 0 ? undefined : nl);
      value += rest;
      i = nl < 0 ? text.length : nl + 1;
    } else {
      const nl = text.indexOf('\n', i);
      value = text.slice(i, nl < 0 ? undefined : nl);
      i = nl < 0 ? text.length : nl + 1;
    }
    out.set(key, value);
  }
  return out;
}

/** Keys of a machine-readable text, in order. */
export function mrKeys(text: string): string[] {
  return [...parseMr(text).keys()];
}

/** Poll `fn` until it returns a truthy value or `limitMs` passes (then throw). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, limitMs = 15000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The 7.0.18 error-context table: `${file}:${line}` → context. */
export function contextTable(version = '7.0.18'): Map<string, string> {
  const t = fs.readFileSync(path.join(SAMPLES, 'data', `vboxmanage-${version}-error-contexts.tsv`), 'utf8');
  const m = new Map<string, string>();
  for (const line of t.split('\n')) {
    if (line.startsWith('#') || line.startsWith('file\t') || !line.trim()) continue;
    const [file, first, , , , ctx] = line.split('\t');
    m.set(`${file}:${first}`, ctx!);
  }
  return m;
}

/** Short starting/stopping phases, so state-machine tests do not wait long. */
export const FAST_PHASES = { VBOXSIM_START_MS: '30', VBOXSIM_STOPPING_MS: '30' } as const;

/**
 * The per-test home of the state-machine suites: checks the build once, gives
 * each test a fresh SimHome (handed to `use`) and cleans it up after the test.
 */
export function simHomePerTest(use: (h: SimHome) => void, env: Record<string, string> = FAST_PHASES): void {
  let h: SimHome | undefined;
  beforeAll(() => assertBuilt());
  beforeEach(() => {
    h = new SimHome(env);
    use(h);
  });
  afterEach(() => h?.cleanup());
}

/** Create `name` (Ubuntu_64) and start it headless; resolves to its UUID. */
export async function createRunning(h: SimHome, name: string): Promise<string> {
  const u = await h.create(name, '--ostype', 'Ubuntu_64');
  await h.ok(['startvm', name, '--type', 'headless']);
  return u;
}
