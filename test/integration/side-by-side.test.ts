/**
 * The same virsh commands against the reference libvirtd (TEST driver,
 * test+tcp://…/default) and against vboxvirt (qemu+tcp://…/system), for output
 * that does not depend on the backend: `uri`, `version` shape, `list` header
 * and format, lookup errors, unknown commands, `list --all --name` shape, the
 * lifecycle messages and errors of a domain called `test` on both sides, and
 * a MAAS-style interactive session. Outputs are compared after normalisation
 * (URIs, hypervisor type/versions, ids, UUIDs — test/helpers/normalise.ts).
 */
import { jest } from '@jest/globals';
import { startLibvirtd, type RefLibvirtd } from '../helpers/libvirtd.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { createSimHost, type SimHost } from '../helpers/simhost.js';
import { virsh, type VirshResult } from '../helpers/virsh.js';
import { normaliseUri, normaliseVersion, normaliseHostValues } from '../helpers/normalise.js';
import { maasSession } from '../helpers/maas.js';
import { RawClient } from '../helpers/rpc.js';

jest.setTimeout(90_000);

let lv: RefLibvirtd;
let holder: RawClient; // keeps the TEST driver's state between virsh runs
let host: SimHost;
let d: Daemon;

beforeAll(async () => {
  lv = await startLibvirtd();
  holder = await RawClient.connect(lv.port);
  await holder.open('test:///default');
  // vboxvirt side shaped like the TEST driver's default host: one VM `test`, running
  host = await createSimHost();
  await host.createVm('test', { memoryMb: 2048, cpus: 2, start: true });
  d = await startDaemon({ backend: 'sim', host });
});
afterAll(async () => {
  holder?.destroy();
  await lv?.stop();
  await d?.stop();
  await host?.cleanup();
});

/** Id column values and the rule under the header depend on ids: normalise both. */
function normaliseList(s: string): string {
  return s.split('\n').map((l, i) => {
    if (i === 1 && /^-+$/.test(l)) return '<rule>';
    return l.replace(/^ (\d+|-)(\s+)/, (_m, id: string) => ` ${id === '-' ? '-' : '<ID>'}  `).replace(/\s+$/, '');
  }).join('\n');
}

async function both(args: string[]): Promise<{ ref: VirshResult; ours: VirshResult }> {
  const ref = await virsh(args, { uri: lv.uri });
  const ours = await virsh(args, { uri: d.uri });
  return { ref, ours };
}

function norm(r: VirshResult, f: (s: string) => string = normaliseHostValues) {
  return { rc: r.rc, stdout: f(r.stdout), stderr: f(r.stderr) };
}

test.each([
  [['uri'], normaliseUri],
  [['version'], normaliseVersion],
  [['version', '--daemon'], normaliseVersion],
  [['list'], normaliseList],
  [['list', '--all'], normaliseList],
  [['list', '--table'], normaliseList],
  [['list', '--all', '--name'], normaliseHostValues],
  [['list', '--uuid'], normaliseHostValues],
  [['domstate', 'test'], normaliseHostValues],
  [['domuuid', 'test'], normaliseHostValues],
  [['domstate', 'nosuchvm'], normaliseHostValues],
  [['dominfo', 'nosuchvm'], normaliseHostValues],
  [['domstate', '42'], normaliseHostValues],
  [['domstate', '11111111-2222-3333-4444-555555555555'], normaliseHostValues],
  [['start', 'nosuchvm'], normaliseHostValues],
  [['frobnicate'], normaliseHostValues],
  [['list', '--bogus-option'], normaliseHostValues],
] as Array<[string[], (s: string) => string]>)('virsh %j prints the same on both', async (args, f) => {
  const { ref, ours } = await both(args);
  expect(norm(ours, f)).toEqual(norm(ref, f));
});

test('lifecycle messages and errors of domain `test` are the same on both', async () => {
  const steps: string[][] = [
    ['start', 'test'], // already active (virsh decides from the id)
    ['destroy', 'test'], ['domstate', 'test'], ['domid', 'test'], ['destroy', 'test'], ['list'],
    ['start', 'test'], ['domstate', 'test'], ['suspend', 'test'], ['domstate', 'test'], ['resume', 'test'], ['domstate', 'test'],
  ];
  for (const args of steps) {
    const { ref, ours } = await both(args);
    expect({ args, out: norm(ours, normaliseList) }).toEqual({ args, out: norm(ref, normaliseList) });
  }
});

test('a MAAS-style interactive session reads the same on both', async () => {
  const steps = [{ send: 'domstate test' }, { send: 'domstate nosuchvm' }, { send: 'list --all --name' }, { send: 'frobnicate' }];
  const ref = await maasSession(lv.uri, steps);
  const ours = await maasSession(d.uri, steps);
  expect(ours.login).toBe(true);
  expect(ours.banner).toBe(ref.banner);
  expect(ours.outputs).toEqual(ref.outputs);
});
