/**
 * Every err-* capture (what virsh 9.0 printed against libvirtd 9.0) replayed
 * with real virsh against vboxvirt on both backends, in the same situation: a
 * domain `test` that is running or shut off as the capture needs. stdout,
 * stderr and rc must match after normalising the URI; the only other
 * allowance is the driver wording table in test/helpers/errorCases.ts
 * (documented in docs/testing.md).
 */
import { jest } from '@jest/globals';
import { BACKENDS, startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, setState, CACHE_TTL_MS, type StdHost } from '../helpers/fixtures.js';
import { virsh } from '../helpers/virsh.js';
import { errorCases, compareVirsh } from '../helpers/errorCases.js';

jest.setTimeout(60_000);

const cases = errorCases();

describe.each(BACKENDS)('virsh error cases vs libvirtd captures (%s backend)', (backend) => {
  let std: StdHost;
  let d: Daemon;

  beforeAll(async () => {
    std = await createStdHost();
    d = await startDaemon({ backend, host: std.host, args: ['--cache-ttl', String(CACHE_TTL_MS)] });
  });
  afterAll(async () => {
    await d?.stop();
    await std?.host.cleanup();
  });

  test.each(cases.map((c) => [c.capture, c] as const))('%s', async (_name, c) => {
    if (c.needs === 'running') await setState(std.host, 'test', 'running');
    if (c.needs === 'shutoff') await setState(std.host, 'test', 'poweroff');
    const r = await virsh(c.args, { uri: d.uri });
    const cmp = compareVirsh(c.capture, c.expected, r);
    expect(cmp.actual).toBe(cmp.expected);
  });

  test('a missing VM by name, id and uuid all give "failed to get domain" (MAAS: Failed to get domain)', async () => {
    for (const arg of ['no-such-vm', '4242', '11111111-2222-3333-4444-555555555555']) {
      const r = await virsh(['domstate', arg], { uri: d.uri });
      expect(r).toEqual({ rc: 1, stdout: '\n', stderr: `error: failed to get domain '${arg}'\n` });
    }
  });

  test('the daemon is still serving after all error cases', async () => {
    const r = await virsh(['list', '--all', '--name'], { uri: d.uri });
    expect(r.rc).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['off1', 'test']);
  });
});
