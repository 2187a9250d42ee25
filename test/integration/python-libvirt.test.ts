/**
 * python3-libvirt (the real binding, /usr/bin/python3) against vboxvirt:
 * libvirt.open('qemu+tcp://…/system'), lookups by name/UUID/ID, state(),
 * info(), create(), destroy(), listAllDomains with flags, and the error
 * code/domain of failures. Validated first against the reference libvirtd so
 * the script itself is known to work.
 */
import { jest } from '@jest/globals';
import path from 'node:path';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, ensureState, type StdHost } from '../helpers/fixtures.js';
import { startLibvirtd, type RefLibvirtd } from '../helpers/libvirtd.js';
import { run } from '../helpers/proc.js';
import { ROOT, SYSTEM_PYTHON } from '../helpers/paths.js';
import { clientEnv } from '../helpers/virsh.js';

jest.setTimeout(60_000);

const SCRIPT = path.join(ROOT, 'test', 'helpers', 'pylibvirt_client.py');
const VIR = {
  ERR_OPERATION_INVALID: 55, ERR_NO_DOMAIN: 42, FROM_TEST: 12,
  SHUTOFF: 5, RUNNING: 1, SHUTOFF_DESTROYED: 2,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function pyClient(req: object): Promise<any> {
  const r = await run(SYSTEM_PYTHON, [SCRIPT], { input: JSON.stringify(req), env: clientEnv(), timeoutMs: 45_000 });
  if (r.rc !== 0) throw new Error(`pylibvirt_client.py rc=${r.rc}\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout);
}

describe('python3-libvirt against the reference libvirtd (script check)', () => {
  let lv: RefLibvirtd;
  beforeAll(async () => { lv = await startLibvirtd(); });
  afterAll(async () => { await lv?.stop(); });

  test('the script runs and reports libvirt error codes', async () => {
    // the TEST driver's only domain is `test`, running: use it as both (create() errors are then reported)
    const r = await run(SYSTEM_PYTHON, ['-c', [
      'import libvirt, json, sys',
      'libvirt.registerErrorHandler(lambda c, e: None, None)',
      `c = libvirt.open(${JSON.stringify(lv.uri)})`,
      'd = c.lookupByName("test"); d.destroy()',
      'try:\n  d.destroy()\nexcept libvirt.libvirtError as e:\n  print(json.dumps([e.get_error_code(), e.get_error_domain()]))',
      'try:\n  c.lookupByName("nosuchvm")\nexcept libvirt.libvirtError as e:\n  print(json.dumps([e.get_error_code(), e.get_error_domain()]))',
    ].join('\n')], { env: clientEnv() });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      [VIR.ERR_OPERATION_INVALID, 20], [VIR.ERR_NO_DOMAIN, VIR.FROM_TEST],
    ]);
  });
});

describe('python3-libvirt against vboxvirt', () => {
  let std: StdHost;
  let d: Daemon;
  beforeAll(async () => {
    std = await createStdHost();
    await ensureState(std.host, 'test', 'running');
    await ensureState(std.host, 'off1', 'poweroff');
    d = await startDaemon({ backend: 'sim', host: std.host });
  });
  afterAll(async () => {
    await d?.stop();
    await std?.host.cleanup();
  });

  test('open, lookups, state/info, listAllDomains flags, create/destroy, error codes', async () => {
    const o = await pyClient({ uri: d.uri, running: 'test', stopped: 'off1', missing: 'nosuchvm' });
    expect(o.uri).toBe(d.uri); // the remote driver reports the client-side URI
    expect(o.alive).toBe(1);
    expect(o.version).toBeGreaterThan(0);
    expect(o.libVersion).toBeGreaterThan(0);

    expect(o.running).toMatchObject({ name: 'test', uuid: std.uuids.test, active: 1, persistent: 1 });
    expect(o.running.id).toBeGreaterThan(0);
    expect(o.running.state[0]).toBe(VIR.RUNNING);
    // info(): [state, maxMem KiB, memory KiB, nrVirtCpu, cpuTime]
    expect(o.running.info[0]).toBe(VIR.RUNNING);
    expect(o.running.info[1]).toBe(2048 * 1024);
    expect(o.running.info[3]).toBe(2);
    expect(o.stopped).toMatchObject({ name: 'off1', uuid: std.uuids.off1, id: -1, active: 0 });
    expect(o.stopped.state[0]).toBe(VIR.SHUTOFF);
    expect(o.stopped.info.slice(0, 4)).toEqual([VIR.SHUTOFF, 1024 * 1024, expect.any(Number), 1]);

    expect(o.byUUID).toBe('test');
    expect(o.byUUIDStopped).toBe('off1');
    expect(o.byID).toBe('test');

    expect(o.list).toEqual({
      all: ['off1', 'test'], active: ['test'], inactive: ['off1'], running: ['test'],
      shutoff: ['off1'], paused: [], persistent: ['off1', 'test'], transient: [],
    });

    expect(o.errors.lookupMissingName).toMatchObject({ code: VIR.ERR_NO_DOMAIN });
    expect(o.errors.lookupMissingUUID).toMatchObject({ code: VIR.ERR_NO_DOMAIN });
    expect(o.errors.lookupMissingID).toMatchObject({ code: VIR.ERR_NO_DOMAIN });
    expect(o.errors.destroyStopped).toMatchObject({
      code: VIR.ERR_OPERATION_INVALID, message: 'Requested operation is not valid: domain is not running',
    });
    expect(o.errors.startRunning).toMatchObject({ code: VIR.ERR_OPERATION_INVALID });
    expect(o.errors.suspendStopped).toMatchObject({ code: VIR.ERR_OPERATION_INVALID });
    // every failure carries one error domain, the driver's (docs/driver.md)
    const domains = new Set(Object.values(o.errors).map((e) => (e as { domain: number }).domain));
    expect(domains.size).toBe(1);
    expect([...domains][0]).toBeGreaterThan(0);

    expect(o.afterCreate.active).toBe(1);
    expect(o.afterCreate.id).toBeGreaterThan(0);
    expect(o.afterCreate.state[0]).toBe(VIR.RUNNING);
    expect(o.afterDestroy).toMatchObject({ active: 0, id: -1, state: [VIR.SHUTOFF, VIR.SHUTOFF_DESTROYED] });
    expect(o.stillAlive).toBe(1);
    expect(await std.host.state('off1')).toBe('poweroff');
  });
});
