/**
 * MAAS's virsh power driver flows (query, on, off, cycle) exactly as MAAS runs
 * them: interactive `virsh --connect qemu+tcp://…/system?command=…` sessions
 * through a pty (pexpect, /usr/bin/python3), no TERM, C.UTF-8, one session per
 * step, dropped without `quit`. On both backends. Also: sessions dropped
 * mid-way leak nothing (fd count of the daemon returns to its baseline) and a
 * second client keeps being served.
 */
import { jest } from '@jest/globals';
import { BACKENDS, startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, setState, type StdHost } from '../helpers/fixtures.js';
import { maasPower, maasSession, commands } from '../helpers/maas.js';
import { virshOk } from '../helpers/virsh.js';
import { countFds, waitFor } from '../helpers/proc.js';
import { RawClient, PROC } from '../helpers/rpc.js';

jest.setTimeout(180_000);

describe.each(BACKENDS)('MAAS power flows (%s backend)', (backend) => {
  let std: StdHost;
  let d: Daemon;

  beforeAll(async () => {
    std = await createStdHost();
    d = await startDaemon({ backend, host: std.host });
  });
  afterAll(async () => {
    await d?.stop();
    await std?.host.cleanup();
  });

  test('query: running → on, shut off → off; missing VM → "Failed to get domain"', async () => {
    await setState(std.host, 'test', 'running');
    const on = await maasPower('query', d.uri, 'test');
    expect(on).toEqual({ result: 'on', error: null, sessions: [[{ cmd: 'domstate test', output: 'running' }]] });
    const off = await maasPower('query', d.uri, 'off1');
    expect(off.result).toBe('off');
    expect(off.sessions).toEqual([[{ cmd: 'domstate off1', output: 'shut off' }]]);
    const missing = await maasPower('query', d.uri, 'no-such-vm');
    expect(missing.error).toBe('Failed to get domain: no-such-vm');
  });

  test('power on: domstate, start (only when shut off), fresh sessions until running', async () => {
    await setState(std.host, 'off1', 'poweroff');
    const r = await maasPower('on', d.uri, 'off1');
    expect({ error: r.error, sessions: r.error ? r.sessions : [] }).toEqual({ error: null, sessions: [] });
    expect(r.result).toBe('on');
    expect(commands(r)).toEqual([['domstate off1', 'start off1'], ['domstate off1'], ['domstate off1']]);
    expect(r.sessions[0][1].output).toBe("Domain 'off1' started");
    expect(await std.host.state('off1')).toBe('running');
    // on when already on: no start
    const again = await maasPower('on', d.uri, 'off1');
    expect(commands(again)).toEqual([['domstate off1'], ['domstate off1'], ['domstate off1']]);
  });

  test('power off: domstate, destroy (only when running), fresh sessions until shut off', async () => {
    await setState(std.host, 'test', 'running');
    const r = await maasPower('off', d.uri, 'test');
    expect({ error: r.error, sessions: r.error ? r.sessions : [] }).toEqual({ error: null, sessions: [] });
    expect(r.result).toBe('off');
    expect(commands(r)).toEqual([['domstate test', 'destroy test'], ['domstate test'], ['domstate test']]);
    expect(r.sessions[0][1].output).toBe("Domain 'test' destroyed");
    expect(await std.host.state('test')).toBe('poweroff');
    const again = await maasPower('off', d.uri, 'test');
    expect(commands(again)).toEqual([['domstate test'], ['domstate test'], ['domstate test']]);
  });

  test('power cycle: off then on, the six sessions MAAS opens', async () => {
    await setState(std.host, 'test', 'running');
    const r = await maasPower('cycle', d.uri, 'test');
    expect({ error: r.error, sessions: r.error ? r.sessions : [] }).toEqual({ error: null, sessions: [] });
    expect(r.result).toBe('on');
    expect(commands(r)).toEqual([
      ['domstate test'], ['domstate test', 'destroy test'], ['domstate test'],
      ['domstate test', 'start test'], ['domstate test'], ['domstate test'],
    ]);
    for (const s of r.sessions) for (const e of s) expect(e.output.startsWith('error:')).toBe(false);
    expect(await std.host.state('test')).toBe('running');
  });

  test('dropped sessions leak nothing: fds return to baseline, a held client is served throughout', async () => {
    const held = await RawClient.connect(d.port);
    await held.open('qemu:///system');
    let serial = 2;
    const hostname = async () => { const p = await held.call(PROC.CONNECT_GET_HOSTNAME, serial++); expect(p.status).toBe(0); };
    await hostname();
    const baseline = await countFds(d.pid);
    expect(baseline).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      const s = await maasSession(d.uri, [{ send: 'domstate test' }, { send: 'list --all --name' }]);
      expect(s.login).toBe(true);
      expect(s.outputs[0].output).toMatch(/^(running|shut off)$/);
      await hostname();
    }
    // no CONNECT_CLOSE was ever sent: the daemon must notice the EOFs and free everything
    await waitFor('daemon fds back to baseline', async () => (await countFds(d.pid))! <= baseline!, 15_000, 100);
    await hostname();
    expect((await virshOk(['domstate', 'test'], { uri: d.uri })).trim()).toMatch(/^(running|shut off)$/);
    held.destroy();
  });
});
