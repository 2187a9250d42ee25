/**
 * Raw sockets against the daemon: every raw-* capture replayed (C>S packets
 * sent as captured, S>C packets compared with libvirtd's: headers, statuses,
 * error codes/messages), then truncated, oversized (length word > 16 MiB),
 * undersized and garbage packets, pipelined calls matched by serial, a call
 * written one byte at a time, and clients that disconnect in the middle of a
 * call. A second client (opened first) must be served after every scenario,
 * and the daemon's fd count must come back to its baseline.
 *
 * The same checks run against the reference libvirtd first, which shows they
 * describe libvirtd's behaviour and not an invention of this file.
 */
import { jest } from '@jest/globals';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, ensureState, setState, type StdHost } from '../helpers/fixtures.js';
import { startLibvirtd, type RefLibvirtd } from '../helpers/libvirtd.js';
import { listCaptures } from '../helpers/captures.js';
import { replayCapture } from '../helpers/replay.js';
import { countFds, sleep, waitFor } from '../helpers/proc.js';
import {
  RawClient, PROC, call, xdr, decodeError, XdrReader, PROG_KEEPALIVE, PROG_REMOTE, T_MESSAGE, T_REPLY, S_OK, S_ERROR,
  encodePacket,
} from '../helpers/rpc.js';
import { virsh } from '../helpers/virsh.js';

jest.setTimeout(90_000);

const IDLE = ['raw-keepalive-probe-then-idle', 'raw-no-keepalive-probe-idle'];
const IDLE_WATCH_MS = 12_000; // > two keepalive intervals (5 s)

interface Target {
  port: number;
  openName: string;
  pid: number;
  /** Only for vboxvirt: the simulated host. */
  std?: StdHost;
  uri: string;
  stop(): Promise<void>;
}

async function libvirtdTarget(): Promise<Target> {
  const lv: RefLibvirtd = await startLibvirtd();
  return { port: lv.port, openName: 'test:///default', pid: lv.proc.pid, uri: lv.uri, stop: () => lv.stop() };
}
async function vboxvirtTarget(): Promise<Target> {
  const std = await createStdHost();
  await ensureState(std.host, 'test', 'running');
  let d: Daemon;
  try {
    d = await startDaemon({ backend: 'sim', host: std.host });
  } catch (e) {
    await std.host.cleanup();
    throw e;
  }
  return {
    port: d.port, openName: 'qemu:///system', pid: d.pid, std, uri: d.uri,
    stop: async () => { await d.stop(); await std.host.cleanup(); },
  };
}

/** Start an idle client as in the capture: AUTH_LIST, [feature 10], OPEN, then silence; collects what arrives. */
async function idleClient(t: Target, probeKeepalive: boolean): Promise<RawClient> {
  const c = await RawClient.connect(t.port);
  await c.call(PROC.AUTH_LIST, 0);
  let serial = 1;
  if (probeKeepalive) await c.call(PROC.CONNECT_SUPPORTS_FEATURE, serial++, xdr.int(10));
  await c.call(PROC.CONNECT_OPEN, serial++, Buffer.concat([xdr.optString(t.openName), xdr.uint(0)]));
  return c;
}

describe.each([
  ['reference libvirtd', libvirtdTarget],
  ['vboxvirt', vboxvirtTarget],
] as const)('raw RPC against %s', (label, makeTarget) => {
  let t: Target;
  let held: RawClient;
  let heldSerial = 100;
  let baselineFds: number | undefined;
  let idleProbe: RawClient;
  let idleNoProbe: RawClient;
  let idleStart = 0;

  /** The second client: a call on the long-lived connection must still be answered. */
  async function heldIsServed() {
    const p = await held.call(PROC.CONNECT_GET_HOSTNAME, heldSerial++);
    expect(p.status).toBe(S_OK);
    expect(new XdrReader(p.payload).string().length).toBeGreaterThan(0);
  }

  const cleanups: Array<() => void> = [];
  const onCleanup = (f: () => void) => cleanups.push(f);
  afterEach(() => { for (const f of cleanups.splice(0)) f(); });

  beforeAll(async () => {
    t = await makeTarget();
    held = await RawClient.connect(t.port);
    await held.open(t.openName);
    baselineFds = await countFds(t.pid);
    idleStart = Date.now();
    idleProbe = await idleClient(t, true);
    idleNoProbe = await idleClient(t, false);
  });
  afterAll(async () => {
    held?.destroy();
    idleProbe?.destroy();
    idleNoProbe?.destroy();
    await t?.stop();
  });

  const captures = listCaptures('raw-').filter((n) => !IDLE.includes(n));
  test.each(captures)('capture %s replays like libvirtd', async (name) => {
    let m = await replayCapture(name, t.port);
    if (name === 'raw-open-null-name' && m.length) {
      // libvirtd here had no driver to pick for a NULL name (test-driver-only daemon); a server
      // that has a default driver legitimately accepts it: OPEN OK, then GET_URI answers a string
      const c = await RawClient.connect(t.port);
      await c.call(PROC.AUTH_LIST, 0);
      const open = await c.call(PROC.CONNECT_OPEN, 1, Buffer.concat([xdr.optString(null), xdr.uint(0)]), true);
      const uri = await c.call(PROC.CONNECT_GET_URI, 2, undefined, true);
      c.destroy();
      expect([open.status, uri.status]).toEqual([S_OK, S_OK]);
      expect(new XdrReader(uri.payload).string()).toMatch(/^[a-z]+:\/\//);
      m = [];
    }
    expect(m).toEqual([]);
    await heldIsServed();
  });

  test('a truncated packet followed by EOF is dropped quietly', async () => {
    const c = await RawClient.connect(t.port);
    onCleanup(() => c.destroy());
    const full = call(PROC.DOMAIN_LOOKUP_BY_NAME, 0, xdr.string('test'));
    await c.write(full.subarray(0, 20));
    await heldIsServed(); // the daemon waits for the rest without blocking others
    expect(c.packets).toEqual([]);
    c.sock.end();
    expect(await c.closesWithin(5000)).toBe(true);
    expect(c.packets).toEqual([]);
    await heldIsServed();
  });

  // libvirtd 9.0 itself accepts length words up to 32 MiB + 4 (measured: 33554433 made it wait for the
  // rest, 33554437 and above were dropped with "packet … too large, want 33554432"); the project's limit is 16 MiB
  // (spec/libvirt-protocol.md §1.3). Each target is checked against its own limit plus a clearly oversized word.
  test.each([
    ['length word just over the limit', -1],
    ['length word 0xffffffff', 0xffffffff],
    ['length word < 28', 12],
  ])('%s: the connection is closed, nothing is answered', async (_what, lenArg) => {
    const len = lenArg === -1 ? (label === 'vboxvirt' ? 16 * 1024 * 1024 + 5 : 32 * 1024 * 1024 + 5) : lenArg;
    const c = await RawClient.connect(t.port);
    onCleanup(() => c.destroy());
    const b = Buffer.alloc(28);
    b.writeUInt32BE(len >>> 0, 0);
    b.writeUInt32BE(PROG_REMOTE, 4);
    b.writeUInt32BE(1, 8);
    b.writeInt32BE(PROC.AUTH_LIST, 12);
    await c.write(b).catch(() => undefined);
    expect(await c.closesWithin(5000)).toBe(true);
    expect(c.packets.filter((p) => p.prog !== PROG_KEEPALIVE)).toEqual([]);
    await heldIsServed();
  });

  test('garbage (an HTTP request) closes that connection only', async () => {
    const c = await RawClient.connect(t.port);
    onCleanup(() => c.destroy());
    await c.write(Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).catch(() => undefined);
    expect(await c.closesWithin(5000)).toBe(true);
    expect(c.packets).toEqual([]);
    await heldIsServed();
  });

  test('a well-framed packet with a garbage header gets an RPC error reply, the connection stays usable', async () => {
    const c = await RawClient.connect(t.port);
    onCleanup(() => c.destroy());
    await c.write(encodePacket({ prog: 0x0badc0de, vers: 7, proc: 12345, type: 0, serial: 9, status: 0 }, Buffer.from('junkjunk')));
    const r = await c.take((p) => p.serial === 9);
    expect({ prog: r.prog >>> 0, vers: r.vers, proc: r.proc, type: r.type, status: r.status }).toEqual(
      { prog: 0x0badc0de, vers: 7, proc: 12345, type: T_REPLY, status: S_ERROR });
    expect(decodeError(r.payload)).toMatchObject({ code: 39, domain: 7, message: 'Cannot find program 195936478 version 7' });
    await c.call(PROC.AUTH_LIST, 10);
    c.destroy();
    await heldIsServed();
  });

  test('pipelined calls in one write: every reply arrives, matched by serial', async () => {
    const c = await RawClient.connect(t.port);
    onCleanup(() => c.destroy());
    // (libvirtd dispatches calls on worker threads: calls pipelined behind CONNECT_OPEN may run before it
    // completes and fail "connection not open" — measured; so the pipeline starts after OPEN)
    await c.open(t.openName);
    const calls: Array<[number, number, Buffer?]> = [
      [PROC.AUTH_LIST, 0], [PROC.CONNECT_GET_URI, 1],
      [PROC.CONNECT_GET_HOSTNAME, 2], [PROC.DOMAIN_LOOKUP_BY_NAME, 3, xdr.string('test')],
      [PROC.DOMAIN_LOOKUP_BY_NAME, 4, xdr.string('no-such-vm')], [PROC.CONNECT_LIST_ALL_DOMAINS, 5, Buffer.concat([xdr.int(1), xdr.uint(3)])],
      [9999, 6], [PROC.CONNECT_GET_TYPE, 7], [PROC.CONNECT_GET_VERSION, 8], [PROC.CONNECT_GET_HOSTNAME, 9],
    ];
    await c.write(Buffer.concat(calls.map(([proc, serial, body]) => call(proc, serial, body))));
    const replies = await Promise.all(calls.map(([, serial]) => c.reply(serial)));
    expect(replies.map((r) => [r.serial, r.proc, r.status])).toEqual([
      [0, 66, 0], [1, 110, 0], [2, 59, 0], [3, 23, 0], [4, 23, 1], [5, 273, 0], [6, 9999, 1], [7, 3, 0], [8, 4, 0], [9, 59, 0],
    ]);
    expect(decodeError(replies[4].payload).code).toBe(42);
    expect(decodeError(replies[6].payload)).toMatchObject({ code: 39, domain: 7, message: 'unknown procedure: 9999' });
    const dom = new XdrReader(replies[3].payload);
    expect(dom.string()).toBe('test');
    c.destroy();
    await heldIsServed();
  });

  test('a call written one byte at a time is answered once complete', async () => {
    const c = await RawClient.connect(t.port);
    onCleanup(() => c.destroy());
    c.sock.setNoDelay(true);
    await c.open(t.openName);
    const bytes = call(PROC.DOMAIN_LOOKUP_BY_NAME, 2, xdr.string('test'));
    for (let i = 0; i < bytes.length; i++) {
      await c.write(bytes.subarray(i, i + 1));
      if (i % 8 === 0) await sleep(2);
    }
    const r = await c.reply(2);
    expect(r.status).toBe(S_OK);
    expect(new XdrReader(r.payload).string()).toBe('test');
    c.destroy();
    await heldIsServed();
  });

  test('clients that disconnect in the middle of a call do not disturb others', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await RawClient.connect(t.port);
      await c.open(t.openName);
      await c.write(call(PROC.CONNECT_LIST_ALL_DOMAINS, 2, Buffer.concat([xdr.int(1), xdr.uint(3)])));
      c.destroy();
      await heldIsServed();
    }
  });

  if (label === 'vboxvirt') {
    test('disconnect right after sending DOMAIN_CREATE: the daemon survives and stays consistent', async () => {
      const std = t.std!;
      await setState(std.host, 'off1', 'poweroff');
      const c = await RawClient.connect(t.port);
      await c.open(t.openName);
      const look = await c.call(PROC.DOMAIN_LOOKUP_BY_NAME, 2, xdr.string('off1'));
      await c.write(call(PROC.DOMAIN_CREATE, 3, look.payload));
      c.destroy();
      await heldIsServed();
      // whatever the outcome of the abandoned call, the daemon's view matches the simulator's
      await waitFor('off1 to settle', async () => ['running', 'poweroff'].includes(await std.host.state('off1')), 15_000, 200);
      const simState = await std.host.state('off1');
      const r = await virsh(['domstate', 'off1'], { uri: t.uri });
      expect(r.stdout).toBe(simState === 'running' ? 'running\n\n' : 'shut off\n\n');
      await setState(std.host, 'off1', 'poweroff');
    });
  }

  test('idle captures: without the keepalive probe nobody PINGs; with it the server PINGs (and nothing else)', async () => {
    const left = IDLE_WATCH_MS - (Date.now() - idleStart);
    if (left > 0) await sleep(left);
    expect({ noProbe: idleNoProbe.packets.map((p) => [p.prog, p.proc]), closed: idleNoProbe.closedFlag })
      .toEqual({ noProbe: [], closed: false });
    const pings = idleProbe.packets;
    expect(pings.length).toBeGreaterThanOrEqual(1);
    for (const p of pings) {
      expect({ prog: p.prog, vers: p.vers, proc: p.proc, type: p.type, serial: p.serial, status: p.status, len: p.payload.length })
        .toEqual({ prog: PROG_KEEPALIVE, vers: 1, proc: PROC.KEEPALIVE_PING, type: T_MESSAGE, serial: 0, status: S_OK, len: 0 });
    }
    await heldIsServed();
  });

  test('fds come back to the baseline once the scenario clients are gone', async () => {
    idleProbe.destroy();
    idleNoProbe.destroy();
    expect(baselineFds).toBeGreaterThan(0);
    try {
      await waitFor('fd count back to baseline', async () => (await countFds(t.pid))! <= baselineFds!, 15_000, 100);
    } catch (e) {
      const { readdir, readlink } = await import('node:fs/promises');
      const fds = await readdir(`/proc/${t.pid}/fd`);
      const links = await Promise.all(fds.map((f) => readlink(`/proc/${t.pid}/fd/${f}`).catch(() => '?')));
      throw new Error(`${String(e)}: baseline ${baselineFds}, now ${fds.length}: ${links.join(' ')}`);
    }
    await heldIsServed();
  });
});
