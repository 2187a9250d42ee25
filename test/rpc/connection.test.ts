/**
 * RpcConnection behaviour with a small handler table: pipelining, the
 * in-flight limit and backpressure, bad input, handler failures, read-only
 * connections, the open hook, feature answers, keepalive (fake timers),
 * CONNECT_CLOSE, and one debug log line per call.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { Writable } from 'node:stream';
import winston from 'winston';
import {
  ErrorCode, ErrorDomain, KEEPALIVE_PROGRAM, MessageType, Proc, type DomainLookupByNameRet,
} from '../../protocol/index.js';
import { RpcConnection, apiName, type CloseReason, type RpcConnectionOptions } from '../../src/rpc/connection.js';
import { HandlerTable, type CallContext, type RpcDriver } from '../../src/rpc/dispatch.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { encodeEmptyPacket } from '../../src/rpc/framing.js';
import { Sink, callPacket, deferred, flush, replies, uuid } from './harness.js';
import { capturePath, loadCapture, packetBytes, packets } from './captures.js';

const identity = { transport: 'tcp' as const, address: '127.0.0.1:4000' };

function dom(name: string, id = -1) {
  return { name, uuid, id };
}

function make(driver: RpcDriver, opts: Partial<RpcConnectionOptions> = {}) {
  const sink = new Sink();
  const closes: CloseReason[] = [];
  let drains = 0;
  const conn = new RpcConnection({
    driver,
    identity,
    write: sink.write,
    onClose: (r) => closes.push(r),
    onDrain: () => drains++,
    keepalive: false,
    ...opts,
  });
  return { conn, sink, closes, drains: () => drains };
}

function open(conn: RpcConnection, flags = 0, name: string | null = 'vbox:///session'): void {
  conn.feed(callPacket(Proc.CONNECT_OPEN, { name, flags }, 9000));
}

afterEach(() => {
  jest.useRealTimers();
});

describe('pipelining', () => {
  test('replies go out as calls finish, each with its own serial and proc', async () => {
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const handlers = new HandlerTable().on(Proc.DOMAIN_LOOKUP_BY_NAME, async ({ name }) => {
      const g = deferred();
      gates.set(name, g);
      await g.promise;
      return { dom: dom(name) };
    }).on(Proc.CONNECT_GET_HOSTNAME, () => ({ hostname: 'host1' }));
    const { conn, sink } = make({ handlers });
    open(conn);
    sink.clear();
    conn.feed(Buffer.concat([
      callPacket(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'slow' }, 1),
      callPacket(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'fast' }, 2),
      callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 3),
    ]));
    expect(conn.inFlight).toBe(2);
    expect(replies(sink).map((r) => r.serial)).toEqual([3]);
    gates.get('fast')!.resolve();
    await flush();
    gates.get('slow')!.resolve();
    await flush();
    const rs = replies(sink);
    expect(rs.map((r) => [r.serial, r.proc])).toEqual([[3, 59], [2, 23], [1, 23]]);
    expect((rs[1].value as DomainLookupByNameRet).dom.name).toBe('fast');
    expect((rs[2].value as DomainLookupByNameRet).dom.name).toBe('slow');
    expect(conn.inFlight).toBe(0);
  });

  test('at most maxInFlight calls run; more wait, feed() asks to pause, onDrain resumes', async () => {
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    let started = 0;
    const handlers = new HandlerTable().on(Proc.CONNECT_GET_HOSTNAME, async () => {
      started++;
      const g = deferred();
      gates.push(g);
      await g.promise;
      return { hostname: `h${started}` };
    });
    const t = make({ handlers }, { maxInFlight: 5 });
    open(t.conn);
    t.sink.clear();
    const more = t.conn.feed(Buffer.concat([...Array(8).keys()].map((i) => callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 100 + i))));
    expect(more).toBe(false);
    expect(t.conn.isPaused).toBe(true);
    expect(started).toBe(5);
    expect(t.conn.inFlight).toBe(5);
    expect(t.conn.queued).toBe(3);
    // a keepalive PING is answered even with a full pipeline
    t.conn.feed(encodeEmptyPacket({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 1, type: 2, serial: 0, status: 0 }));
    expect(t.sink.packets().filter((p) => p.prog === KEEPALIVE_PROGRAM && p.proc === 2)).toHaveLength(1);
    gates[0].resolve();
    await flush();
    expect(started).toBe(6);
    expect(t.drains()).toBe(0);
    gates[1].resolve();
    gates[2].resolve();
    await flush();
    expect(started).toBe(8);
    expect(t.conn.queued).toBe(0);
    expect(t.drains()).toBe(1);
    expect(t.conn.isPaused).toBe(false);
    for (const g of gates) g.resolve();
    await flush();
    const serials = replies(t.sink).filter((r) => r.type === MessageType.REPLY).map((r) => r.serial);
    expect(serials.sort()).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
  });

  test('a peer that ignores backpressure is dropped, not buffered without bound', () => {
    const handlers = new HandlerTable().on(Proc.CONNECT_GET_HOSTNAME, () => new Promise(() => undefined));
    const t = make({ handlers }, { maxInFlight: 1, maxQueued: 10 });
    open(t.conn);
    for (let i = 0; i < 11; i++) t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, i));
    expect(t.closes).toEqual([]);
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 99));
    expect(t.closes).toEqual(['overflow']);
    expect(t.conn.queued).toBe(0);
  });

  test('a slow call on one connection does not hold up another', async () => {
    const gate = deferred();
    const handlers = new HandlerTable().on(Proc.DOMAIN_LOOKUP_BY_NAME, async ({ name }) => {
      if (name === 'stuck') await gate.promise;
      return { dom: dom(name) };
    });
    const a = make({ handlers });
    const b = make({ handlers });
    open(a.conn);
    open(b.conn);
    a.sink.clear();
    b.sink.clear();
    a.conn.feed(callPacket(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'stuck' }, 1));
    b.conn.feed(callPacket(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'free' }, 1));
    await flush();
    expect(replies(a.sink)).toHaveLength(0);
    expect(replies(b.sink)).toHaveLength(1);
    gate.resolve();
    await flush();
    expect(replies(a.sink)).toHaveLength(1);
  });
});

describe('bad input', () => {
  const handlers = new HandlerTable().on(Proc.CONNECT_GET_HOSTNAME, () => ({ hostname: 'h' }));

  test.each([0, 3, 27, 16777221, 0xffffffff])('length word %d closes the connection (framing)', (len) => {
    const t = make({ handlers });
    const b = Buffer.alloc(40);
    b.writeUInt32BE(len, 0);
    expect(t.conn.feed(b)).toBe(false);
    expect(t.closes).toEqual(['framing']);
    expect(t.sink.chunks).toHaveLength(0);
    expect(t.conn.feed(callPacket(Proc.AUTH_LIST, undefined, 1))).toBe(false);
    expect(t.sink.chunks).toHaveLength(0);
  });

  test('a truncated packet then EOF: nothing sent, closed cleanly', () => {
    const t = make({ handlers });
    const p = callPacket(Proc.CONNECT_OPEN, { name: 'x', flags: 0 }, 1);
    expect(t.conn.feed(p.subarray(0, p.length - 3))).toBe(true);
    t.conn.end();
    expect(t.sink.chunks).toHaveLength(0);
    expect(t.closes).toEqual(['eof']);
  });

  test('unexpected message types are ignored; bad program, version and procedure get libvirtd errors', () => {
    const t = make({ handlers });
    open(t.conn);
    t.sink.clear();
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 1, { type: MessageType.REPLY }));
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 2, { type: MessageType.STREAM }));
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 3, { prog: 0x20008087 }));
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 4, { vers: 0 }));
    t.conn.feed(callPacket(-5, undefined, 5));
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 6));
    const rs = replies(t.sink);
    expect(rs.map((r) => r.serial)).toEqual([3, 4, 5, 6]);
    expect(rs[0].prog).toBe(0x20008087);
    expect(rs[0].error!.message).toBe('Cannot find program 536903815 version 1');
    expect(rs[1].error!.message).toBe('Cannot find program 536903814 version 0');
    expect(rs[2].error!.message).toBe('unknown procedure: -5');
    expect(rs[3].value).toEqual({ hostname: 'h' });
  });

  test('args with trailing bytes or short payloads: "Unable to decode message payload"', () => {
    const t = make({ handlers: new HandlerTable().on(Proc.DOMAIN_LOOKUP_BY_NAME, ({ name }) => ({ dom: dom(name) })) });
    open(t.conn);
    t.sink.clear();
    const good = callPacket(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'abc' }, 1);
    const long = Buffer.concat([good, Buffer.alloc(4)]);
    long.writeUInt32BE(long.length, 0);
    t.conn.feed(long);
    const short = Buffer.from(good.subarray(0, good.length - 4));
    short.writeUInt32BE(short.length, 0);
    t.conn.feed(short);
    const huge = Buffer.from(good);
    huge.writeUInt32BE(0x7fffffff, 28); // string length far beyond REMOTE_STRING_MAX
    t.conn.feed(huge);
    const rs = replies(t.sink);
    expect(rs).toHaveLength(3);
    for (const r of rs) {
      expect(r.error).toMatchObject({ code: ErrorCode.RPC, domain: ErrorDomain.RPC, message: 'Unable to decode message payload' });
    }
  });

  test('random garbage packets never crash the connection', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const t = make({ handlers: new HandlerTable().on(Proc.DOMAIN_LOOKUP_BY_NAME, ({ name }) => ({ dom: dom(name) })) });
    open(t.conn);
    for (let i = 0; i < 3000; i++) {
      const len = 28 + rnd(64);
      const b = Buffer.alloc(len);
      for (let k = 4; k < len; k++) b[k] = rnd(256);
      b.writeUInt32BE(len, 0);
      if (rnd(2)) b.writeUInt32BE(0x20008086, 4);
      if (rnd(2)) b.writeUInt32BE(1, 8);
      if (rnd(2)) b.writeInt32BE([1, 23, 60, 66, 273, 212][rnd(6)], 12);
      if (rnd(2)) b.writeInt32BE(0, 16);
      t.conn.feed(b);
    }
    expect(t.closes.filter((c) => c !== 'client-close')).toEqual([]);
    expect(t.sink.packets().length).toBeGreaterThan(100);
  });
});

describe('handlers and the driver', () => {
  test('a handler throwing a plain Error becomes "internal error: …" and the connection keeps serving', async () => {
    const logs: string[] = [];
    const log = winston.createLogger({
      level: 'debug',
      transports: [new winston.transports.Stream({ stream: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) })],
    });
    const handlers = new HandlerTable()
      .on(Proc.CONNECT_GET_HOSTNAME, () => {
        throw new TypeError('boom');
      })
      .on(Proc.CONNECT_GET_TYPE, async () => {
        throw new Error('async boom');
      })
      .on(Proc.CONNECT_GET_VERSION, () => ({ hv_ver: 7000012 }))
      .set(Proc.CONNECT_GET_URI, () => ({ wrong: 1 }));
    const t = make({ handlers }, { log });
    open(t.conn);
    t.sink.clear();
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 1));
    t.conn.feed(callPacket(Proc.CONNECT_GET_TYPE, undefined, 2));
    t.conn.feed(callPacket(Proc.CONNECT_GET_URI, undefined, 3));
    t.conn.feed(callPacket(Proc.CONNECT_GET_VERSION, undefined, 4));
    await flush();
    const rs = replies(t.sink);
    const bySerial = new Map(rs.map((r) => [r.serial, r]));
    expect(bySerial.get(1)!.error).toMatchObject({ code: ErrorCode.INTERNAL_ERROR, message: 'internal error: boom' });
    expect(bySerial.get(2)!.error).toMatchObject({ code: ErrorCode.INTERNAL_ERROR, message: 'internal error: async boom' });
    expect(bySerial.get(3)!.error!.message).toMatch(/^internal error: cannot encode the reply of CONNECT_GET_URI: .*uri is missing/);
    expect(bySerial.get(4)!.value).toEqual({ hv_ver: 7000012 });
    expect(t.closes).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.some((l) => /handler failed: boom/.test(l))).toBe(true);
    // one debug line per call: name, serial, duration, result
    expect(logs.filter((l) => /call CONNECT_GET_VERSION serial=4 [\d.]+ms ok/.test(l))).toHaveLength(1);
    expect(logs.filter((l) => /call CONNECT_GET_HOSTNAME serial=1 [\d.]+ms INTERNAL_ERROR/.test(l))).toHaveLength(1);
  });

  test('thenables from handlers are awaited; a throwing write callback or close hook never escapes feed()', async () => {
    const handlers = new HandlerTable().on(Proc.CONNECT_GET_HOSTNAME, () => {
      const thenable = { then: (res: (v: { hostname: string }) => void) => res({ hostname: 'via-thenable' }) };
      return thenable as unknown as Promise<{ hostname: string }>;
    });
    const t = make({ handlers });
    open(t.conn);
    t.sink.clear();
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 1));
    await flush();
    expect(replies(t.sink)[0].value).toEqual({ hostname: 'via-thenable' });

    const closes: string[] = [];
    const bad = new RpcConnection({
      driver: { handlers, close: () => { throw new Error('hook exploded'); } },
      identity,
      write: () => {
        throw new Error('socket exploded');
      },
      onClose: (r) => closes.push(r),
      keepalive: false,
    });
    expect(() => bad.feed(callPacket(Proc.CONNECT_OPEN, { name: 'x', flags: 0 }, 1))).not.toThrow();
    expect(closes).toEqual(['error']);
    expect(bad.closed).toBe(true);
  });

  test('procedures the driver does not implement answer "unknown procedure: N"', () => {
    const t = make({ handlers: new HandlerTable() });
    open(t.conn);
    t.sink.clear();
    t.conn.feed(callPacket(Proc.NODE_GET_INFO, undefined, 1));
    expect(replies(t.sink)[0].error).toMatchObject({ code: 39, domain: 7, message: 'unknown procedure: 6' });
  });

  test('CallContext carries connection, identity, uri, proc, serial; LibvirtErrors pass through', async () => {
    const seen: CallContext[] = [];
    const handlers = new HandlerTable().on(Proc.DOMAIN_LOOKUP_BY_NAME, (a, ctx) => {
      seen.push(ctx);
      throw LibvirtError.noDomain(`no domain with matching name '${a.name}'`);
    });
    const t = make({ handlers, open: () => ({ uri: 'vbox:///session' }) });
    t.conn.feed(callPacket(Proc.CONNECT_OPEN, { name: 'qemu:///system', flags: 0 }, 1));
    await flush();
    t.conn.feed(callPacket(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'x' }, 2));
    await flush();
    expect(seen[0]).toMatchObject({
      connectionId: t.conn.id, identity, readOnly: false, uri: 'vbox:///session', proc: 23,
      procName: 'DOMAIN_LOOKUP_BY_NAME', serial: 2,
    });
    expect(replies(t.sink)[1].error).toMatchObject({ code: 42, domain: 25, message: "Domain not found: no domain with matching name 'x'" });
  });

  test('the open hook can refuse; a refused open leaves the connection unopened', async () => {
    const calls: Array<[string | null, number, boolean]> = [];
    const driver: RpcDriver = {
      handlers: new HandlerTable().on(Proc.CONNECT_GET_HOSTNAME, () => ({ hostname: 'h' })),
      open: async (name, flags, ctx) => {
        calls.push([name, flags, ctx.readOnly]);
        if (name !== 'vbox:///session') throw LibvirtError.noConnect(name ?? '');
      },
    };
    const t = make(driver);
    t.conn.feed(callPacket(Proc.CONNECT_OPEN, { name: 'xen:///', flags: 0 }, 1));
    await flush();
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 2));
    t.conn.feed(callPacket(Proc.CONNECT_OPEN, { name: 'vbox:///session', flags: 1 }, 3));
    await flush();
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 4));
    const rs = replies(t.sink);
    expect(rs[0].error).toMatchObject({ code: 5, domain: 0, message: 'no connection driver available for xen:///' });
    expect(rs[1].error!.message).toBe('internal error: hypervisor connection not open');
    expect(rs[2].ok).toBe(true);
    expect(rs[3].value).toEqual({ hostname: 'h' });
    expect(calls).toEqual([['xen:///', 0, false], ['vbox:///session', 1, true]]);
    expect(t.conn.isOpen).toBe(true);
    expect(t.conn.readOnly).toBe(true);
  });

  test('read-only connections: writes refused like libvirt, reads served', () => {
    let destroyed = 0;
    const handlers = new HandlerTable()
      .on(Proc.DOMAIN_DESTROY, () => {
        destroyed++;
      })
      .on(Proc.STORAGE_VOL_DELETE, () => undefined)
      .on(Proc.DOMAIN_GET_STATE, (_a, ctx) => ({ state: ctx.readOnly ? 5 : 1, reason: 0 }))
      .on(Proc.DOMAIN_GET_XML_DESC, ({ flags }) => ({ xml: `<domain flags='${flags}'/>` }));
    for (const [flags, ro] of [[1, false], [0, true]] as const) {
      const t = make({ handlers }, { identity: { ...identity, readOnlyTransport: ro } });
      open(t.conn, flags);
      t.sink.clear();
      t.conn.feed(callPacket(Proc.DOMAIN_DESTROY, { dom: dom('vm', 3) }, 1));
      t.conn.feed(callPacket(Proc.STORAGE_VOL_DELETE, { vol: { pool: 'p', name: 'v', key: 'k' }, flags: 0 }, 2));
      t.conn.feed(callPacket(Proc.DOMAIN_GET_STATE, { dom: dom('vm', 3), flags: 0 }, 3));
      const rs = replies(t.sink);
      expect(rs[0].error).toMatchObject({
        code: ErrorCode.OPERATION_DENIED, domain: ErrorDomain.DOMAIN,
        message: 'operation forbidden: read only access prevents virDomainDestroy',
      });
      expect(rs[1].error).toMatchObject({ domain: ErrorDomain.STORAGE, message: 'operation forbidden: read only access prevents virStorageVolDelete' });
      expect(rs[2].value).toEqual({ state: 5, reason: 0 });
      // dumpxml --security-info / --migratable are refused, plain and --inactive served
      t.sink.clear();
      [1, 8, 0, 2].forEach((flags, i) => t.conn.feed(callPacket(Proc.DOMAIN_GET_XML_DESC, { dom: dom('vm', 3), flags }, 10 + i)));
      const x = replies(t.sink);
      for (const r of x.slice(0, 2)) {
        expect(r.error).toMatchObject({ code: 29, domain: 20, message: 'operation forbidden: virDomainGetXMLDesc with secure flag' });
      }
      expect(x.slice(2).map((r) => r.value)).toEqual([{ xml: "<domain flags='0'/>" }, { xml: "<domain flags='2'/>" }]);
    }
    expect(destroyed).toBe(0);
    expect(apiName('DOMAIN_DEFINE_XML_FLAGS')).toBe('virDomainDefineXMLFlags');
    expect(apiName('NETWORK_LOOKUP_BY_UUID')).toBe('virNetworkLookupByUUID');
  });
});

describe('connection-level procedures', () => {
  test('features: 10 → 1 (0 with keepalive off), 14 → 0, 15 → 1, others 0; only 10 before open', () => {
    for (const [ka, want10] of [[{ interval: 5, count: 5 }, 1], [false, 0]] as const) {
      const t = make({ handlers: new HandlerTable() }, { keepalive: ka });
      t.conn.feed(callPacket(Proc.CONNECT_SUPPORTS_FEATURE, { feature: 10 }, 1));
      t.conn.feed(callPacket(Proc.CONNECT_SUPPORTS_FEATURE, { feature: 15 }, 2));
      const before = replies(t.sink);
      expect(before[0].value).toEqual({ supported: want10 });
      expect(before[1].error!.message).toBe('internal error: hypervisor connection not open');
      open(t.conn);
      t.sink.clear();
      [10, 14, 15, 1, 9, 99].forEach((f, i) => t.conn.feed(callPacket(Proc.CONNECT_SUPPORTS_FEATURE, { feature: f }, i)));
      expect(replies(t.sink).map((r) => (r.value as { supported: number }).supported)).toEqual([want10, 0, 1, 0, 0, 0]);
      t.conn.close();
    }
  });

  test('CONNECT_CLOSE before CONNECT_OPEN still answers and closes', () => {
    const t = make({ handlers: new HandlerTable() });
    t.conn.feed(callPacket(Proc.CONNECT_CLOSE, undefined, 0));
    expect(replies(t.sink).map((r) => [r.proc, r.ok])).toEqual([[2, true]]);
    expect(t.closes).toEqual(['client-close']);
  });

  test('AUTH_LIST answers [NONE]; close callbacks need an open connection', () => {
    const t = make({ handlers: new HandlerTable() });
    t.conn.feed(callPacket(Proc.AUTH_LIST, undefined, 0));
    t.conn.feed(callPacket(Proc.CONNECT_REGISTER_CLOSE_CALLBACK, undefined, 1));
    open(t.conn);
    t.conn.feed(callPacket(Proc.CONNECT_REGISTER_CLOSE_CALLBACK, undefined, 2));
    t.conn.feed(callPacket(Proc.CONNECT_UNREGISTER_CLOSE_CALLBACK, undefined, 3));
    const rs = replies(t.sink);
    expect(rs[0].value).toEqual({ types: [0] });
    expect(rs[1].error!.message).toBe('internal error: hypervisor connection not open');
    expect(rs.slice(2).map((r) => r.ok)).toEqual([true, true, true]);
  });

  test('CONNECT_CLOSE: reply, close, driver close hook once, later bytes ignored', () => {
    let closedHook = 0;
    const t = make({ handlers: new HandlerTable(), close: () => closedHook++ });
    open(t.conn);
    t.conn.feed(Buffer.concat([callPacket(Proc.CONNECT_CLOSE, undefined, 5), callPacket(Proc.AUTH_LIST, undefined, 6)]));
    const rs = replies(t.sink);
    expect(rs.map((r) => [r.proc, r.serial, r.ok])).toEqual([[1, 9000, true], [2, 5, true]]);
    expect(t.closes).toEqual(['client-close']);
    expect(closedHook).toBe(1);
    expect(t.conn.feed(callPacket(Proc.AUTH_LIST, undefined, 7))).toBe(false);
    t.conn.end();
    expect(t.closes).toEqual(['client-close']);
    expect(closedHook).toBe(1);
  });

  test('replies of calls still running when the peer goes away are dropped', async () => {
    const gate = deferred();
    const t = make({ handlers: new HandlerTable().on(Proc.CONNECT_GET_HOSTNAME, async () => { await gate.promise; return { hostname: 'h' }; }) });
    open(t.conn);
    t.sink.clear();
    t.conn.feed(callPacket(Proc.CONNECT_GET_HOSTNAME, undefined, 1));
    t.conn.end();
    gate.resolve();
    await flush();
    expect(t.sink.chunks).toHaveLength(0);
  });
});

describe('keepalive', () => {
  const ping = encodeEmptyPacket({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 1, type: 2, serial: 0, status: 0 });
  const pong = encodeEmptyPacket({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 2, type: 2, serial: 0, status: 0 });
  const pings = (s: Sink) => s.packets().filter((p) => p.prog === KEEPALIVE_PROGRAM && p.proc === 1).length;

  test('client PING gets a PONG (MESSAGE, serial 0), never a REPLY', () => {
    const t = make({ handlers: new HandlerTable() });
    t.conn.feed(ping);
    expect(t.sink.chunks).toHaveLength(1);
    expect(t.sink.chunks[0].equals(pong)).toBe(true);
  });

  test('after the feature-10 probe, idle clients are PINGed and dropped after `count` unanswered PINGs', () => {
    jest.useFakeTimers();
    const t = make({ handlers: new HandlerTable() }, { keepalive: { interval: 5, count: 5 } });
    t.conn.feed(callPacket(Proc.CONNECT_SUPPORTS_FEATURE, { feature: 10 }, 1));
    open(t.conn);
    t.sink.clear();
    jest.advanceTimersByTime(4999);
    expect(pings(t.sink)).toBe(0);
    jest.advanceTimersByTime(1);
    expect(pings(t.sink)).toBe(1);
    jest.advanceTimersByTime(20000);
    expect(pings(t.sink)).toBe(5);
    // the PINGs are byte for byte what libvirtd sent its idle client
    const theirs = packets(loadCapture(capturePath('raw-keepalive-probe-then-idle'))).filter((p) => p.dir === 'S>C' && p.proc === 1 && p.prog === '0x6b656570');
    expect(theirs).toHaveLength(5);
    const mine = t.sink.packets().filter((p) => p.prog === KEEPALIVE_PROGRAM);
    expect(mine.map((p) => p.raw.toString('hex'))).toEqual(theirs.map((p) => packetBytes(p).toString('hex')));
    expect(t.closes).toEqual([]);
    jest.advanceTimersByTime(5000);
    expect(t.closes).toEqual(['keepalive']);
    jest.advanceTimersByTime(60000);
    expect(pings(t.sink)).toBe(5);
  });

  test('a client that answers PONG (or keeps calling) stays connected', () => {
    jest.useFakeTimers();
    const t = make({ handlers: new HandlerTable() }, { keepalive: { interval: 5, count: 2 } });
    t.conn.feed(callPacket(Proc.CONNECT_SUPPORTS_FEATURE, { feature: 10 }, 1));
    for (let i = 0; i < 30; i++) {
      jest.advanceTimersByTime(5000);
      if (pings(t.sink) > 0) {
        t.conn.feed(pong);
        t.sink.clear();
      }
    }
    expect(t.closes).toEqual([]);
    expect(t.conn.keepaliveActive).toBe(true);
  });

  test('no probe, no PINGs (libvirtd: raw-no-keepalive-probe-idle)', () => {
    jest.useFakeTimers();
    const t = make({ handlers: new HandlerTable() }, { keepalive: { interval: 5, count: 5 } });
    open(t.conn);
    t.sink.clear();
    jest.advanceTimersByTime(120000);
    expect(t.sink.chunks).toHaveLength(0);
    expect(t.closes).toEqual([]);
  });
});
