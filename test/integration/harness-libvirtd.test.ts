/**
 * Validates the harness itself against the reference libvirtd (TEST driver):
 * the launcher, the virsh runner, the capture reader and the comparison rules
 * must reproduce every err-* capture exactly on a fresh libvirtd. If this file
 * fails, the product tests' comparisons cannot be trusted.
 */
import { startLibvirtd, type RefLibvirtd } from '../helpers/libvirtd.js';
import { virsh, virshOk } from '../helpers/virsh.js';
import { errorCases, compareVirsh } from '../helpers/errorCases.js';
import { RawClient } from '../helpers/rpc.js';
import { readCapture, captureArgs, listCaptures } from '../helpers/captures.js';

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
});
