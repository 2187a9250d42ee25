/**
 * One MAAS-style interactive session left idle for 45 s between two commands
 * (longer than virsh's 35 s keepalive give-up time): the daemon must answer
 * keepalive so that no output line starts with `error:` and the session
 * keeps working. This file holds only this test so that the idle wait runs
 * alone.
 */
import { jest } from '@jest/globals';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, ensureState, type StdHost } from '../helpers/fixtures.js';
import { maasSession } from '../helpers/maas.js';

jest.setTimeout(180_000);

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

test('a session idle for 45 s between commands stays connected (keepalive)', async () => {
  const r = await maasSession(d.uri, [
    { send: 'domstate test' },
    { idle: 45 },
    { send: 'domstate test' },
    { send: 'destroy test' },
    { send: 'domstate test' },
    { send: 'start test' },
    { send: 'domstate test' },
  ], true);
  expect(r.login).toBe(true);
  expect(r.banner).toContain('Welcome to virsh');
  for (const e of r.outputs) {
    for (const line of e.output.split('\n')) expect(line.startsWith('error:')).toBe(false);
  }
  expect(r.outputs.map((e) => e.output)).toEqual([
    'running', 'running', "Domain 'test' destroyed", 'shut off', "Domain 'test' started", 'running',
  ]);
  expect(await std.host.state('test')).toBe('running');
});
