/**
 * Small helpers for the benchmark: statistics, /proc sampling, ports, machine facts.
 * Nothing here knows about libvirt or VirtualBox.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The project root, whether this file runs as bench/*.ts (jest) or dist/bench/*.js. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bench'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the project root from ' + fileURLToPath(import.meta.url));
}

/** a ÷ b, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a == null || b == null || b === 0 ? null : a / b;
}

/** Value at percentile p (0..100) of an ascending array (nearest rank). */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[k];
}

export function median(values: Array<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function sortedNums(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  /** utime+stime of the process itself, µs. */
  cpuUs: number;
  /** cutime+cstime: CPU of children the process has waited for (VBoxManage runs), µs. */
  childCpuUs: number;
  rssKb: number;
  fds: number;
  threads: number;
  atMs: number;
}

/** Reads /proc/PID/{stat,status,fd}. Throws if the process is gone. */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may contain spaces and parentheses: fields start after the last ')'
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime = field 14 → f[11], stime f[12], cutime f[13], cstime f[14]
  const tick = 1e6 / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+)/.exec(status);
  const thr = /Threads:\s+(\d+)/.exec(status);
  let fds = -1;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    /* not ours to read */
  }
  return {
    cpuUs: (Number(f[11]) + Number(f[12])) * tick,
    childCpuUs: (Number(f[13]) + Number(f[14])) * tick,
    rssKb: rss ? Number(rss[1]) : -1,
    fds,
    threads: thr ? Number(thr[1]) : -1,
    atMs: performance.now(),
  };
}

export function procAlive(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/** Asks the kernel for a free loopback port (for servers that cannot listen on port 0 themselves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
      .split('\n')[0]
      .trim();
  } catch (e) {
    return 'unavailable (' + (e as Error).message.split('\n')[0] + ')';
  }
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  libvirtd: string;
  virsh: string;
  pythonLibvirt: string;
  loadavg: number[];
}

export function machineInfo(python: string): MachineInfo {
  let osName = os.type();
  try {
    const rel = readFileSync('/etc/os-release', 'utf8');
    osName = /PRETTY_NAME="?([^"\n]*)"?/.exec(rel)?.[1] ?? osName;
  } catch {
    /* keep os.type() */
  }
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.release()} ${os.arch()}`,
    os: osName,
    node: process.version,
    libvirtd: firstLine('libvirtd', ['--version']),
    virsh: firstLine('virsh', ['--version']),
    pythonLibvirt: firstLine(python, ['-c', 'import libvirt; v=libvirt.getVersion(); print("%d.%d.%d" % (v//1000000, v//1000%1000, v%1000))']),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Where to get what the benchmark needs outside npm; empty when everything is there. */
export function missingPrerequisites(python: string, needCc = true): string[] {
  const missing: string[] = [];
  const has = (cmd: string, args: string[]): boolean => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  };
  if (!has('libvirtd', ['--version'])) missing.push('libvirtd (Debian: apt-get install libvirt-daemon)');
  if (!has('virsh', ['--version'])) missing.push('virsh (Debian: apt-get install libvirt-clients)');
  if (!has(python, ['-c', 'import libvirt'])) missing.push(`python3-libvirt for ${python} (Debian: apt-get install python3-libvirt)`);
  if (needCc && !has('cc', ['--version']) && !has('gcc', ['--version'])) missing.push('a C compiler for bench/fastsim (Debian: apt-get install gcc)');
  return missing;
}

export function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * Installs the Debian packages the benchmark needs with the project's own
 * `.ci/install-deps` (the same list the tests use), as root or through
 * passwordless sudo. Returns what it printed when it could not.
 */
export function installPrerequisites(root: string, log: (m: string) => void): string | null {
  const script = path.join(root, '.ci', 'install-deps');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let cmd = script;
  let args: string[] = [];
  if (!asRoot) {
    try {
      execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      return 'not root and no passwordless sudo: run `sudo .ci/install-deps` first';
    }
    cmd = 'sudo';
    args = ['-n', script];
  }
  log(`installing the missing Debian packages: ${cmd} ${args.join(' ')}`);
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60_000 });
    return null;
  } catch (e) {
    return `${script} failed: ${(e as Error).message}`;
  }
}

/** The node flags a script's `#!/usr/bin/env -S node --flag …` line gives (none for a plain `#!/usr/bin/env node`). */
export function shebangNodeArgs(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\s*\S*env\s+(?:-S\s+)?node((?:\s+--?[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  return m ? m[1]!.split(/\s+/).filter(Boolean) : [];
}
