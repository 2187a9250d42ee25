/**
 * Validates the harness itself against the reference libvirtd (TEST driver):
 * the launcher, the virsh runner, the capture reader and the comparison rules
 * must reproduce every err-* capture exactly on a fresh libvirtd. If this file
 * fails, the product tests' comparisons cannot be trusted.
 */
import net from 'node:net';
import { startLibvirtd, type RefLibvirtd } from '../helpers/libvirtd.js';
import { virsh, virshOk } from '../helpers/virsh.js';
import { errorCases, compareVirsh } from '../helpers/errorCases.js';
import { RawClient } from '../helpers/rpc.js';
import { readCapture, captureArgs, listCaptures } from '../helpers/captures.js';
import { replayCapture } from '../helpers/replay.js';
import { maasPower, maasSession } from '../helpers/maas.js';

/** raw-* captures whose point is a long idle period (replayed with their own timing in raw-keepalive tests). */
const IDLE_CAPTURES = ['raw-keepalive-probe-then-idle', 'raw-no-keepalive-probe-idle'];

let lv: RefLibvirtd;
let holder: RawClient; // keeps test:///default alive (the TEST driver resets when its last client leaves)

beforeAll(async () => {
  lv = await startLibvirtd();
  holder = await RawClient.connect(lv.port);
  await holder.open('test:///default');
});
afterAll(async () => {
  holder?.destroy();
  await lv?.stop();
});

describe('reference libvirtd reproduces the captures through this harness', () => {
  test('capture reader: every capture parses, virsh records have argv/stdout/stderr/rc', () => {
    const names = listCaptures();
    expect(names.length).toBeGreaterThan(80);
    for (const n of names) {
      const c = readCapture(n);
      for (const p of c.packets) expect(p.len).toBe(28 + p.payload_len);
      if (c.virsh) expect(typeof c.virsh.rc).toBe('number');
    }
  });

  test('err-* cases: identical stdout/stderr/rc (state: test running, then destroyed)', async () => {
    const cases = errorCases();
    const order = [...cases.filter((c) => c.needs !== 'shutoff'), ...cases.filter((c) => c.needs === 'shutoff')];
    let destroyed = false;
    for (const c of order) {
      if (c.needs === 'shutoff' && !destroyed) {
        await virshOk(['destroy', 'test'], { uri: lv.uri });
        destroyed = true;
      }
      const r = await virsh(c.args, { uri: lv.uri });
      const cmp = compareVirsh(c.capture, c.expected, r);
      expect({ capture: c.capture, out: cmp.actual }).toEqual({ capture: c.capture, out: cmp.expected });
    }
    expect(destroyed).toBe(true);
  });

  test('uri/version/hostname of the captures are reproduced', async () => {
    for (const name of ['uri', 'version', 'version-daemon']) {
      const cap = readCapture(name).virsh!;
      const r = await virsh(captureArgs(cap), { uri: lv.uri });
      expect(r.rc).toBe(cap.rc);
      expect(r.stderr).toBe(cap.stderr);
      expect(r.stdout.replace(lv.uri, '<URI>')).toBe(cap.stdout.replace(/test\+tcp:\/\/\S+\/default/, '<URI>'));
    }
  });

  test('the comparison rejects a different message (it can fail)', async () => {
    const [c] = errorCases().filter((x) => x.capture === 'err-destroy-not-running');
    const wrong = { stdout: '\n', stderr: "error: Failed to destroy domain 'test'\nerror: internal error: something else\n", rc: 1 };
    expect(compareVirsh(c.capture, c.expected, wrong).ok).toBe(false);
    expect(compareVirsh(c.capture, c.expected, { ...c.expected, rc: 0 }).ok).toBe(false);
    expect(compareVirsh(c.capture, c.expected, c.expected).ok).toBe(true);
  });

  test('raw-* captures replay identically (headers, statuses, errors) against libvirtd', async () => {
    const names = listCaptures('raw-').filter((n) => !IDLE_CAPTURES.includes(n));
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const n of names) {
      expect({ n, mismatches: await replayCapture(n, lv.port) }).toEqual({ n, mismatches: [] });
    }
  });

  test('the replay notices a different server (it can fail)', async () => {
    // a server that echoes every packet back unchanged (CALL instead of REPLY)
    const echo = net.createServer((sock) => sock.pipe(sock));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    try {
      const m = await replayCapture('raw-unknown-proc', (echo.address() as net.AddressInfo).port, 1000);
      expect(m.length).toBeGreaterThan(0);
    } finally {
      echo.close();
    }
  });

  test('MAAS power query through pexpect works against libvirtd', async () => {
    await virshOk(['start', 'test'], { uri: lv.uri }).catch(() => undefined); // running whatever earlier tests did
    const q = await maasPower('query', lv.uri, 'test');
    expect(q).toEqual({ result: 'on', error: null, sessions: [[{ cmd: 'domstate test', output: 'running' }]] });
    const s = await maasSession(lv.uri, [{ send: 'domstate nosuchvm' }, { send: 'uri' }]);
    expect(s.outputs).toEqual([
      { cmd: 'domstate nosuchvm', output: "error: failed to get domain 'nosuchvm'" },
      { cmd: 'uri', output: `${lv.uri}?command=/usr/lib/maas/unverified-ssh` },
    ]);
  });
});
