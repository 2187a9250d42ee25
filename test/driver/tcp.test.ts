/**
 * The TCP transport with real sockets on 127.0.0.1: accepted peers reach the
 * sink with a tcp identity; peers outside --allow are closed before anything is
 * read; a non-loopback listen address without --allow is refused at startup.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { AllowList, TcpConfigError, TcpListener, parseHostPort, isLoopbackAddress } from '../../src/transport/tcp.js';
import type { ConnectionSink, Identity } from '../../src/transport/types.js';

class EchoSink implements ConnectionSink {
  seen: Identity[] = [];
  attach(stream: Duplex, identity: Identity): void {
    this.seen.push(identity);
    stream.on('data', (d: Buffer) => stream.write(Buffer.concat([Buffer.from('echo:'), d])));
    stream.on('error', () => undefined);
  }
}

function connect(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

function firstData(s: net.Socket): Promise<string | null> {
  return new Promise((resolve) => {
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= 9) resolve(got);
    });
    s.on('close', () => resolve(got === '' ? null : got));
    s.on('error', () => undefined);
  });
}

const listeners: TcpListener[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

test('parseHostPort', () => {
  expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
  expect(parseHostPort('[::1]:16509')).toEqual({ host: '::1', port: 16509 });
  expect(parseHostPort('16510')).toEqual({ host: '127.0.0.1', port: 16510 });
  expect(parseHostPort('localhost')).toEqual({ host: 'localhost', port: 16509 });
  expect(() => parseHostPort('127.0.0.1:70000')).toThrow(TcpConfigError);
  expect(() => parseHostPort('127.0.0.1:abc')).toThrow(TcpConfigError);
  expect(() => parseHostPort('::1:5')).toThrow(/brackets/);
});

test('AllowList: IPv4 and IPv6 CIDRs, mapped addresses, loopback', () => {
  const a = new AllowList(['192.168.1.0/24', 'fd00::/8', '10.1.2.3']);
  expect(a.allows('192.168.1.77')).toBe(true);
  expect(a.allows('::ffff:192.168.1.77')).toBe(true);
  expect(a.allows('192.168.2.1')).toBe(false);
  expect(a.allows('fd00::2')).toBe(true);
  expect(a.allows('fe80::1')).toBe(false);
  expect(a.allows('10.1.2.3')).toBe(true);
  expect(a.allows('10.1.2.4')).toBe(false);
  expect(a.allows('127.0.0.1')).toBe(true);
  expect(a.allows('::1')).toBe(true);
  expect(new AllowList([], false).allows('127.0.0.1')).toBe(false);
  expect(() => new AllowList(['10.0.0.0/33'])).toThrow(TcpConfigError);
  expect(() => new AllowList(['example.com'])).toThrow(/bad --allow/);
  expect(isLoopbackAddress('127.9.9.9')).toBe(true);
  expect(isLoopbackAddress('192.0.2.2')).toBe(false);
});

test('a non-loopback listen address without --allow is refused before listening', async () => {
  const sink = new EchoSink();
  await expect(TcpListener.listen(sink, { host: '0.0.0.0', port: 0 })).rejects.toThrow(/--allow/);
  await expect(TcpListener.listen(sink, { host: '::', port: 0 })).rejects.toBeInstanceOf(TcpConfigError);
});

test('loopback listener on port 0 reports its real port and hands sockets to the sink', async () => {
  const sink = new EchoSink();
  const l = await TcpListener.listen(sink, { host: '127.0.0.1', port: 0 });
  listeners.push(l);
  expect(l.port).toBeGreaterThan(0);
  expect(l.address).toBe(`127.0.0.1:${l.port}`);
  const s = await connect(l.port);
  sockets.push(s);
  const got = firstData(s);
  s.write('ping');
  expect(await got).toBe('echo:ping');
  expect(sink.seen).toHaveLength(1);
  expect(sink.seen[0]).toMatchObject({ transport: 'tcp', authMethod: 'none' });
  expect(sink.seen[0]!.address).toBe(`127.0.0.1:${s.localPort}`);
});

test('a peer outside --allow is closed at once; an allowed peer is served', async () => {
  const sink = new EchoSink();
  const l = await TcpListener.listen(sink, { host: '127.0.0.1', port: 0, allow: ['127.0.0.2/32'], allowLoopback: false });
  listeners.push(l);
  const refused = await connect(l.port, '127.0.0.1');
  sockets.push(refused);
  const r = firstData(refused);
  refused.write('hello?');
  expect(await r).toBeNull();
  expect(sink.seen).toHaveLength(0);

  const ok = await connect(l.port, '127.0.0.2');
  sockets.push(ok);
  const g = firstData(ok);
  ok.write('hi there');
  expect(await g).toBe('echo:hi there');
  expect(sink.seen.map((i) => i.address.split(':')[0])).toEqual(['127.0.0.2']);
});

test('close() stops accepting and drops open connections', async () => {
  const sink = new EchoSink();
  const l = await TcpListener.listen(sink, { host: '127.0.0.1', port: 0 });
  const s = await connect(l.port);
  sockets.push(s);
  const closed = new Promise((resolve) => s.on('close', resolve));
  while (sink.seen.length === 0) await new Promise((r) => setImmediate(r));
  expect(l.connectionCount).toBe(1);
  await l.close();
  await closed;
  await expect(connect(l.port)).rejects.toThrow(/ECONNREFUSED/);
});
