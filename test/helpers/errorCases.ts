/**
 * The `err-*` captures as test cases: what state the domain `test` must be in
 * before the command, and how virsh's output is compared.
 *
 * Comparison (`expectSameVirshOutput`): rc and stdout exactly; stderr line by
 * line, exactly, after URI normalisation — except the daemon's own message
 * line (the second `error:` line) where libvirt's TEST driver words a few
 * errors in its own way; for those the captured text OR the wording libvirt's
 * real hypervisor drivers use for the same error class is accepted (table
 * `DRIVER_WORDING`). Nothing else is relaxed.
 */
import { readCapture, captureArgs, listCaptures, type CaptureVirsh } from './captures.js';
import { normaliseUri } from './normalise.js';

export interface ErrorCase {
  capture: string;
  /** State of domain `test` needed before running the command. */
  needs: 'running' | 'shutoff' | 'absent' | 'any';
  /** virsh arguments (from the capture). */
  args: string[];
  expected: CaptureVirsh;
}

const NEEDS: Record<string, ErrorCase['needs']> = {
  'err-define-invalid-xml': 'any',
  'err-destroy-not-running': 'shutoff',
  'err-dominfo-nosuchvm': 'any',
  'err-domstate-nosuchid': 'any',
  'err-domstate-nosuchuuid': 'any',
  'err-domstate-nosuchvm': 'any',
  'err-resume-not-paused': 'running',
  'err-shutdown-not-running': 'shutoff',
  'err-start-nosuchvm': 'any',
  'err-start-running': 'running',
  'err-suspend-not-running': 'shutoff',
  'err-undefine-nosuchvm': 'absent', // vbox-test1 must not exist
  'err-unknown-command': 'any',
};

/** Every err-* capture; throws if a new one appears that this table does not know. */
export function errorCases(): ErrorCase[] {
  return listCaptures('err-').map((name) => {
    const needs = NEEDS[name];
    if (!needs) throw new Error(`errorCases: no setup known for capture ${name}`);
    const c = readCapture(name);
    if (!c.virsh) throw new Error(`${name}: no virsh record`);
    return { capture: name, needs, args: captureArgs(c.virsh), expected: c.virsh };
  });
}

/**
 * Alternative wordings of the daemon's message for the same error, keyed by
 * the TEST driver's text. Values are what libvirt's hypervisor drivers (qemu,
 * vbox) say for the same class (VIR_ERR_OPERATION_INVALID), see
 * ../shared/spec/libvirt-protocol.md §4.3.
 */
export const DRIVER_WORDING: Record<string, RegExp> = {
  "error: internal error: domain 'test' not running": /^error: (Requested operation is not valid: domain is not running|internal error: domain 'test' not running)$/,
  "error: internal error: domain 'test' not paused": /^error: (Requested operation is not valid: domain is not paused|internal error: domain 'test' not paused)$/,
};
/** libxml2's parse message is the parser's, not virsh's: any non-empty message line(s) is accepted for define. */
const XML_PARSE_CAPTURE = 'err-define-invalid-xml';

export interface Comparison { ok: boolean; expected: string; actual: string }

/** Compare virsh output against a capture's virsh record; returns a diffable pair. */
export function compareVirsh(
  cap: string, expected: CaptureVirsh, actual: { stdout: string; stderr: string; rc: number },
): Comparison {
  const exp = { rc: expected.rc, stdout: normaliseUri(expected.stdout), stderr: normaliseUri(expected.stderr).split('\n') };
  const act = { rc: actual.rc, stdout: normaliseUri(actual.stdout), stderr: normaliseUri(actual.stderr).split('\n') };
  if (cap === XML_PARSE_CAPTURE) {
    // keep virsh's own sentence; the parser's message must exist and be an error line
    const first = exp.stderr[0];
    const msgOk = act.stderr.length >= 3 && /^error: \S/.test(act.stderr[1] ?? '');
    exp.stderr = [first, '<xml parse message>'];
    act.stderr = [act.stderr[0], msgOk ? '<xml parse message>' : act.stderr.slice(1).join('\\n')];
  } else {
    act.stderr = act.stderr.map((l, i) => {
      const e = exp.stderr[i];
      const alt = e !== undefined ? DRIVER_WORDING[e] : undefined;
      return alt && alt.test(l) ? e : l;
    });
  }
  const e = JSON.stringify(exp, null, 1);
  const a = JSON.stringify(act, null, 1);
  return { ok: e === a, expected: e, actual: a };
}
