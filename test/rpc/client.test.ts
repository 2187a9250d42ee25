/**
 * RpcClient against the engine over real TCP sockets: typed calls, error
 * replies as LibvirtError, pipelined calls, server PINGs answered (and what
 * happens when they are not), CONNECT_CLOSE, raw headers.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, Proc, Void } from '../../protocol/index.js';
import { RpcClient, RpcClientClosedError } from '../../src/rpc/client.js';
import { HandlerTable } from '../../src/rpc/dispatch.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { deferred, serveTcp, uuid, type TestServer } from './harness.js';

const handlers = new HandlerTable()
  .on(Proc.CONNECT_GET_HOSTNAME, () => ({ hostname: 'h' }))
  .on(Proc.DOMAIN_LOOKUP_BY_NAME, async ({ name }) => {
    if (name === 'slow') await slowGate.promise;
    if (name === 'missing') throw LibvirtError.noDomain();
    return { dom: { name, uuid, id: 7 } };
  });

let slowGate = deferred();
let server: TestServer | null = null;
const clients: RpcClient[] = [];

async function connect(opts: Parameters<typeof serveTcp>[1] = {}, answerPings = true): Promise<RpcClient> {
  server = await serveTcp({ handlers }, opts);
  const sock = net.connect(server.port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((res) => sock.once('connect', res));
  const c = new RpcClient(sock, { answerPings });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server?.close();
  server = null;
});

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(10);
}

describe('RpcClient', () => {
  test('prologue, typed calls, LibvirtError on error replies, close', async () => {
    const c = await connect();
    await c.connect('vbox:///session');
    expect(await c.call(Proc.CONNECT_GET_HOSTNAME)).toEqual({ hostname: 'h' });
    expect((await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'a' })).dom).toEqual({ name: 'a', uuid, id: 7 });
    const err = await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: ErrorCode.NO_DOMAIN, message: 'Domain not found' });
    await c.close();
    expect(c.closed).toBe(true);
    await expect(c.call(Proc.CONNECT_GET_HOSTNAME)).rejects.toBeInstanceOf(RpcClientClosedError);
  });

  test('pipelined calls resolve independently (a slow call does not hold up fast ones)', async () => {
    const c = await connect();
    await c.connect();
    slowGate = deferred();
    let slowDone = false;
    const slow = c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'slow' }).then((r) => {
      slowDone = true;
      return r.dom.name;
    });
    const fast = await Promise.all(['b', 'c', 'd'].map((name) => c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name }).then((r) => r.dom.name)));
    expect(fast).toEqual(['b', 'c', 'd']);
    expect(slowDone).toBe(false);
    slowGate.resolve();
    expect(await slow).toBe('slow');
  });

  test('raw headers: a wrong program is refused like libvirtd', async () => {
    const c = await connect();
    const e = await c.callRaw(3, Void, undefined, Void, { prog: 0x12345678 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 39, domain: 7, message: 'Cannot find program 305419896 version 1' });
  });

  test('server PINGs are answered, so an idle probed connection stays up', async () => {
    const c = await connect({ keepalive: { interval: 0.05, count: 2 } });
    await c.connect();
    await until(() => c.pingsReceived >= 6);
    expect(c.closed).toBe(false);
    expect(await c.call(Proc.CONNECT_GET_HOSTNAME)).toEqual({ hostname: 'h' });
  });

  test('a client that never answers is dropped after `count` PINGs', async () => {
    const c = await connect({ keepalive: { interval: 0.05, count: 2 } }, false);
    await c.connect();
    await c.waitClosed();
    expect(c.pingsReceived).toBe(2);
    expect(server!.connections[0].closed).toBe(true);
  });

  test('the client PINGs, the server PONGs', async () => {
    const c = await connect();
    c.ping();
    await until(() => c.pongsReceived === 1);
    expect(c.pongsReceived).toBe(1);
  });
});
