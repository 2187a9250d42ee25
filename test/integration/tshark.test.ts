/**
 * A whole virsh session against vboxvirt recorded on `lo` with tshark (port
 * filter on the daemon's port) and decoded with libvirt's own Wireshark
 * dissector (libvirt-wireshark, `-d tcp.port==PORT,libvirt`): no malformed
 * packet, no warning/error from the dissector, every procedure known to the
 * dissector by name, every CALL answered by one REPLY with the same serial
 * and procedure, and decoded payloads carry our values (domain name, UUID).
 * Needs permission to capture (root or dumpcap capabilities): if capturing
 * is not permitted this test FAILS with dumpcap's message.
 */
import { jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, ensureState, type StdHost } from '../helpers/fixtures.js';
import { run, sleep, startProcess, waitFor, type LongProcess } from '../helpers/proc.js';
import { virsh } from '../helpers/virsh.js';

jest.setTimeout(120_000);

let std: StdHost;
let d: Daemon;
let dir: string;
let cap: LongProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tshark-'));
  std = await createStdHost();
  await ensureState(std.host, 'test', 'running');
  await ensureState(std.host, 'off1', 'poweroff');
  d = await startDaemon({ backend: 'sim', host: std.host });
});
afterAll(async () => {
  await cap?.stop('SIGKILL');
  await d?.stop();
  await std?.host.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const SESSION: string[][] = [
  ['version', '--daemon'], ['hostname'], ['nodeinfo'], ['capabilities'],
  ['list', '--all'], ['list', '--all', '--name'], ['list', '--uuid'],
  ['domstate', '--reason', 'test'], ['dominfo', 'test'], ['domuuid', 'test'], ['dumpxml', 'test'],
  ['suspend', 'test'], ['resume', 'test'], ['autostart', 'off1'], ['autostart', '--disable', 'off1'],
  ['start', 'off1'], ['destroy', 'off1'], ['domstate', 'nosuchvm'], ['destroy', 'off1'],
];

test('virsh session decodes cleanly with the libvirt dissector', async () => {
  const pcap = path.join(dir, 'session.pcap');
  // pcap to a pipe: tshark flushes each packet, so we can see when capturing is really live
  cap = startProcess('tshark', ['-i', 'lo', '-f', `tcp port ${d.port}`, '-w', '-', '-F', 'pcap'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  cap.child.stdout!.on('data', (b: Buffer) => chunks.push(b));
  const captured = () => chunks.reduce((n, b) => n + b.length, 0);
  const stdoutDone = new Promise<void>((resolve) => cap!.child.stdout!.once('close', () => resolve()));
  /** Canary TCP connections (no RPC) until the capture grows: everything sent before is then in it. */
  const canary = (what: string) => {
    const start = captured();
    return waitFor(what, async () => {
      if (cap!.child.exitCode !== null) throw new Error(`tshark exited ${cap!.child.exitCode}`);
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: d.port }, () => { s.destroy(); resolve(); });
        s.once('error', () => resolve());
      });
      await sleep(100);
      return captured() > Math.max(start, 24); // more than before (and than the pcap file header)
    }, 30_000, 0);
  };
  try {
    await canary('tshark to capture on lo');
  } catch (e) {
    throw new Error(`CAPTURE NOT PERMITTED OR FAILED: tshark could not capture on lo (run as root or give dumpcap cap_net_raw,cap_net_admin): ${String(e)}\n${cap.stderr()}`);
  }
  const rcs: number[] = [];
  for (const args of SESSION) rcs.push((await virsh(args, { uri: d.uri })).rc);
  // the last two fail on purpose: a missing domain, and destroying a stopped one
  expect(rcs).toEqual([...SESSION.slice(0, -2).map(() => 0), 1, 1]);
  await canary('the session to be flushed into the capture');
  await cap.stop('SIGINT', 10_000);
  await stdoutDone;
  await writeFile(pcap, Buffer.concat(chunks));

  const dec = ['-r', pcap, '-d', `tcp.port==${d.port},libvirt`];
  const malformed = await run('tshark', [...dec, '-Y', '_ws.malformed || (libvirt && _ws.expert.severity >= 6291456)']);
  expect(malformed.rc).toBe(0);
  expect(malformed.stdout).toBe('');

  const fields = await run('tshark', [...dec, '-Y', 'libvirt', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'tcp.stream', '-e', 'libvirt.program', '-e', 'libvirt.procedure', '-e', 'libvirt.type', '-e', 'libvirt.serial', '-e', 'libvirt.status']);
  expect(fields.rc).toBe(0);
  interface Pdu { stream: string; prog: number; proc: number; type: number; serial: number; status: number }
  const pdus: Pdu[] = [];
  for (const line of fields.stdout.split('\n').filter(Boolean)) {
    const [stream, ...cols] = line.split('\t');
    const lists = cols.map((c) => c.split(','));
    for (let i = 0; i < lists[0].length; i++) {
      pdus.push({ stream, prog: Number(lists[0][i]), proc: Number(lists[1][i]), type: Number(lists[2][i]), serial: Number(lists[3][i]), status: Number(lists[4][i]) });
    }
  }
  // one connection per virsh invocation, each opened with AUTH_LIST serial 0: the capture is complete
  const streams = new Set(pdus.map((p) => p.stream));
  const perStream = [...streams].map((st) => pdus.filter((p) => p.stream === st).map((p) => `${p.proc}/${p.type}`).join(' '));
  expect({ n: streams.size, perStream }).toEqual({ n: SESSION.length, perStream });
  expect(pdus.filter((p) => p.proc === 66 && p.type === 0).length).toBe(SESSION.length);
  // every CALL has exactly one REPLY with the same serial and procedure, on the same connection
  const REMOTE = 0x20008086;
  for (const c of pdus.filter((p) => p.type === 0)) {
    expect(c.prog).toBe(REMOTE);
    const replies = pdus.filter((p) => p.stream === c.stream && p.type === 1 && p.serial === c.serial);
    expect(replies.map((r) => [r.prog, r.proc])).toEqual([[REMOTE, c.proc]]);
  }
  // only CALL/REPLY/MESSAGE(keepalive), statuses OK/ERROR
  expect(pdus.every((p) => [0, 1, 2].includes(p.type) && [0, 1].includes(p.status))).toBe(true);
  // the failed lookup shows as one ERROR reply (plus the failing destroy)
  expect(pdus.filter((p) => p.status === 1).map((p) => p.proc).sort()).toEqual([12, 23]);

  // every procedure is known to the dissector by name, and payloads decode to our values
  const verbose = await run('tshark', [...dec, '-Y', 'libvirt', '-O', 'libvirt'], { timeoutMs: 60_000 });
  const procLines = verbose.stdout.split('\n').filter((l) => /^\s*procedure: /.test(l));
  expect(procLines.length).toBe(pdus.length);
  expect(procLines.filter((l) => !/procedure: [A-Z_]+ \(\d+\)$/.test(l))).toEqual([]);
  const names = new Set(procLines.map((l) => /procedure: ([A-Z_]+)/.exec(l)![1]));
  for (const p of ['AUTH_LIST', 'CONNECT_OPEN', 'CONNECT_GET_LIB_VERSION', 'NODE_GET_INFO', 'CONNECT_GET_CAPABILITIES',
    'CONNECT_LIST_ALL_DOMAINS', 'DOMAIN_GET_STATE', 'DOMAIN_GET_INFO', 'DOMAIN_GET_XML_DESC', 'DOMAIN_SUSPEND',
    'DOMAIN_RESUME', 'DOMAIN_SET_AUTOSTART', 'DOMAIN_CREATE', 'DOMAIN_DESTROY', 'DOMAIN_LOOKUP_BY_UUID', 'CONNECT_CLOSE']) {
    expect(names).toContain(p);
  }
  expect(verbose.stdout).toContain(std.uuids.test);
  expect(verbose.stdout).toMatch(/name: test\b/);
});
