/**
 * The interactive capture `interactive-idle20` (virsh driven through a pty the
 * way MAAS does, against libvirtd) replayed against vboxvirt, with its idle
 * period stretched from 20 s to 45 s — longer than virsh's 35 s keepalive
 * give-up time. The daemon must keep the session alive (no output line starts
 * with `error:`), and every command must print what it printed against
 * libvirtd (banner included). This file holds only this test so that the idle
 * wait runs alone.
 */
import { jest } from '@jest/globals';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, ensureState, type StdHost } from '../helpers/fixtures.js';
import { maasSession, type Step } from '../helpers/maas.js';
import { readCapture } from '../helpers/captures.js';

jest.setTimeout(180_000);

const IDLE_S = 45;

let std: StdHost;
let d: Daemon;
beforeAll(async () => {
  std = await createStdHost();
  await ensureState(std.host, 'test', 'running');
  d = await startDaemon({ backend: 'sim', host: std.host });
});
afterAll(async () => {
  await d?.stop();
  await std?.host.cleanup();
});

/** The capture's typed steps and, for each typed command, its output as MAAS reads it. */
function fromCapture() {
  const tty = readCapture('interactive-idle20').tty as unknown as Array<Record<string, unknown>>;
  const steps: Step[] = [];
  const outputs: Array<{ cmd: string; output: string }> = [];
  let banner = '';
  let pending: string | undefined;
  for (const r of tty) {
    if (typeof r.send === 'string' && r.send !== 'quit') { steps.push({ send: r.send }); pending = r.send; }
    if (typeof r.idle === 'number') steps.push({ idle: Math.max(IDLE_S, r.idle) });
    if (r.prompt === true && typeof r.output === 'string') {
      if (pending === undefined) banner = r.output;
      else {
        // MAAS: text before the prompt, stripped, minus the echoed command line
        const out = r.output.trim().split(/\r?\n/).slice(1).join('\n');
        outputs.push({ cmd: pending, output: out.replace(/\r/g, '') });
        pending = undefined;
      }
    }
  }
  return { steps, outputs, banner };
}

test(`the interactive-idle20 capture, idle ${IDLE_S} s, reads the same as against libvirtd`, async () => {
  const want = fromCapture();
  expect(want.steps.some((s) => 'idle' in s)).toBe(true);
  expect(want.outputs.length).toBe(5);
  const r = await maasSession(d.uri, want.steps, true);
  expect(r.login).toBe(true);
  expect(r.banner).toBe(want.banner);
  for (const e of r.outputs) {
    for (const line of e.output.split('\n')) expect(line.startsWith('error:')).toBe(false);
  }
  expect(r.outputs.map((e) => ({ cmd: e.cmd, output: e.output.replace(/\r/g, '') }))).toEqual(want.outputs);
  expect(await std.host.state('test')).toBe('running');
});
