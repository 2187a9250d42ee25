/**
 * serveStream over real TCP sockets: a client that stops reading our
 * replies makes us stop reading its calls (bounded buffering), and
 * everything is delivered once it reads again; the socket is closed after
 * CONNECT_CLOSE and after a framing error.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Proc } from '../../protocol/index.js';
import { HandlerTable } from '../../src/rpc/dispatch.js';
import { PacketDecoder } from '../../src/rpc/framing.js';
import { callPacket, serveTcp, type TestServer } from './harness.js';

let server: TestServer | null = null;
const socks: net.Socket[] = [];

afterEach(async () => {
  for (const s of socks.splice(0)) s.destroy();
  await server?.close();
  server = null;
});

async function dial(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  socks.push(s);
  await new Promise((res) => s.once('connect', res));
  return s;
}

/** Wait until `read()` stops changing for a while (the system has settled). */
async function settled(read: () => number): Promise<number> {
  let last = -1;
  let same = 0;
  while (same < 5) {
    await sleep(50);
    const v = read();
    same = v === last ? same + 1 : 0;
    last = v;
  }
  return last;
}

describe('serveStream flow control', () => {
  test('a client that does not read replies cannot make the server buffer without bound', async () => {
    const big = 'c'.repeat(1 << 20);
    let served = 0;
    const handlers = new HandlerTable().on(Proc.CONNECT_GET_CAPABILITIES, () => {
      served++;
      return { capabilities: big };
    });
    server = await serveTcp({ handlers });
    const s = await dial(server.port);
    s.pause();
    const N = 200;
    s.write(callPacket(Proc.CONNECT_OPEN, { name: 'x', flags: 0 }, 0));
    for (let i = 1; i <= N; i++) s.write(callPacket(Proc.CONNECT_GET_CAPABILITIES, undefined, i));
    const stuckAt = await settled(() => served);
    // 200 MiB of replies were asked for; the server stopped well before producing them
    expect(stuckAt).toBeLessThan(N / 2);
    // now read everything: all replies arrive, in full
    const d = new PacketDecoder();
    let got = 0;
    s.on('data', (b: Buffer) => {
      d.push(b);
      while (d.next()) got++;
    });
    s.resume();
    while (got < N + 1) await sleep(20);
    expect(served).toBe(N);
  });

  test('the server closes the socket after CONNECT_CLOSE and after a framing error', async () => {
    server = await serveTcp({ handlers: new HandlerTable() });
    for (const bytes of [
      Buffer.concat([callPacket(Proc.CONNECT_OPEN, { name: 'x', flags: 0 }, 0), callPacket(Proc.CONNECT_CLOSE, undefined, 1)]),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]) {
      const s = await dial(server.port);
      const ended = new Promise<void>((res) => s.on('end', () => res()));
      s.on('data', () => undefined);
      s.write(bytes);
      await ended;
    }
    expect(server.connections.map((c) => c.closed)).toEqual([true, true]);
  });
});
