/**
 * Start/stop the vboxvirt daemon under test (built dist/ via bin/vboxvirt.js).
 *
 *   const d = await startDaemon({ backend: 'sim', host });
 *   await virsh(['list', '--all'], { uri: d.uri });   // d.uri = qemu+tcp://127.0.0.1:PORT/system
 *   await d.stop();
 *
 * It waits for the `listening tcp 127.0.0.1:PORT` line on stdout; if the
 * daemon exits or does not get there, the error carries its stderr.
 */
import { startProcess, type LongProcess } from './proc.js';
import { VBOXVIRT_BIN, ROOT } from './paths.js';
import type { SimHost } from './simhost.js';
import { CACHE_TTL_MS } from './fixtures.js';

export type Backend = 'sim' | 'vboxmanage';
export const BACKENDS: Backend[] = ['sim', 'vboxmanage'];

export interface Daemon {
  port: number;
  /** qemu+tcp://127.0.0.1:PORT/system */
  uri: string;
  pid: number;
  proc: LongProcess;
  /** Everything the daemon logged on stderr so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  backend: Backend;
  host: SimHost;
  /** Extra CLI flags, e.g. ['--cache-ttl', '0']. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  logLevel?: string;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const args = [VBOXVIRT_BIN, 'serve', '--listen-tcp', '127.0.0.1:0'];
  if (opts.backend === 'sim') args.push('--backend', 'sim', '--sim-home', opts.host.home);
  else args.push('--backend', 'vboxmanage', '--vboxmanage', opts.host.wrapper);
  args.push('--log-level', opts.logLevel ?? 'debug', ...(opts.args ?? []));
  // a short VM-list cache window, so changes made through the simulator are seen soon (fixtures.setState)
  if (!args.includes('--cache-ttl')) args.push('--cache-ttl', String(CACHE_TTL_MS));
  const proc = startProcess(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.host.env, VBOX_USER_HOME: opts.host.home, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new Error('no "listening tcp" line within 20 s')), 20_000);
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void proc.stop('SIGKILL');
      reject(new Error(`vboxvirt did not start: ${e.message}\nargv: ${args.join(' ')}\nstdout: ${proc.stdout()}\nstderr: ${proc.stderr().slice(-4000)}`));
    };
    const onData = () => {
      const m = /listening tcp 127\.0\.0\.1:(\d+)\r?\n/.exec(proc.stdout());
      if (m && !settled) { settled = true; clearTimeout(timer); proc.child.stdout!.off('data', onData); resolve(Number(m[1])); }
    };
    proc.child.stdout!.on('data', onData);
    void proc.exited.then((e) => fail(new Error(`exited early code=${e.code} signal=${e.signal}`)));
  });
  return {
    port,
    uri: `qemu+tcp://127.0.0.1:${port}/system`,
    pid: proc.pid,
    proc,
    logs: () => proc.stderr(),
    stop: () => proc.stop('SIGTERM', 5000),
  };
}
