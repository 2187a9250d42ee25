/**
 * MAAS's virsh power driver, reproduced in maas_virsh.py (pexpect through a
 * pty, /usr/bin/python3) and called from tests:
 *
 *   await maasPower('on', uri, 'vm1')  // {result: 'on', error: null, sessions: [[{cmd, output}], ...]}
 *   await maasSession(uri, [{ send: 'domstate vm1' }, { idle: 45 }, { send: 'domstate vm1' }])
 */
import path from 'node:path';
import { run } from './proc.js';
import { SYSTEM_PYTHON, ROOT } from './paths.js';
import { clientEnv } from './virsh.js';

const SCRIPT = path.join(ROOT, 'test', 'helpers', 'maas_virsh.py');

export interface Exchange { cmd: string; output: string }
export interface PowerResult { result: 'on' | 'off' | null; error: string | null; sessions: Exchange[][] }
export interface SessionResult { login: boolean; error?: string; banner?: string; outputs: Exchange[] }
export type Step = { send: string } | { idle: number };

async function py<T>(req: object, timeoutMs: number): Promise<T> {
  const r = await run(SYSTEM_PYTHON, [SCRIPT], { input: JSON.stringify(req), env: clientEnv(), timeoutMs });
  if (r.rc !== 0 || r.timedOut) throw new Error(`maas_virsh.py failed rc=${r.rc} timedOut=${r.timedOut}\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export function maasPower(action: 'query' | 'on' | 'off' | 'cycle', uri: string, powerId: string): Promise<PowerResult> {
  return py<PowerResult>({ mode: 'power', action, uri, power_id: powerId }, 180_000);
}

export function maasSession(uri: string, steps: Step[], quit = false): Promise<SessionResult> {
  const idle = steps.reduce((s, st) => s + ('idle' in st ? st.idle : 0), 0);
  return py<SessionResult>({ mode: 'session', uri, steps, quit }, 60_000 + idle * 1000);
}

/** The commands of each session, e.g. [['domstate vm1', 'start vm1'], ['domstate vm1']]. */
export function commands(r: PowerResult): string[][] {
  return r.sessions.map((s) => s.map((e) => e.cmd));
}
