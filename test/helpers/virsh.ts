/**
 * Run the real `virsh` the way MAAS's rack controller does: no TERM (readline
 * would add bracketed-paste escapes), LC_ALL/LANG/LANGUAGE=C.UTF-8.
 *
 *   const r = await virsh(['domstate', 'vm1'], { uri });   // {stdout, stderr, rc}
 */
import { run, type RunResult } from './proc.js';

/** The environment virsh runs with in every test (also used for pexpect sessions). */
export function clientEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', LANGUAGE: 'C.UTF-8', ...extra };
  delete env.TERM;
  delete env.LIBVIRT_DEFAULT_URI;
  return env;
}

export interface VirshResult { stdout: string; stderr: string; rc: number }

export async function virsh(
  args: readonly string[], opts: { uri: string; timeoutMs?: number; readonly?: boolean },
): Promise<VirshResult> {
  const argv = ['-c', opts.uri, ...(opts.readonly ? ['--readonly'] : []), ...args];
  const r: RunResult = await run('virsh', argv, { env: clientEnv(), timeoutMs: opts.timeoutMs ?? 30_000 });
  if (r.timedOut) throw new Error(`virsh ${argv.join(' ')} timed out\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr, rc: r.rc };
}

/** `virsh` that must succeed: returns stdout, throws with everything virsh printed otherwise. */
export async function virshOk(args: readonly string[], opts: { uri: string; timeoutMs?: number }): Promise<string> {
  const r = await virsh(args, opts);
  if (r.rc !== 0) throw new Error(`virsh ${args.join(' ')} failed rc=${r.rc}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}
