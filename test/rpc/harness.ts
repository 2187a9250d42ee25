/** Helpers for driving RpcConnection in tests: build calls, collect and decode replies, serve over TCP. */
import net from 'node:net';
import {
  MessageStatus, MessageType, REMOTE_PROGRAM, RemoteError, procDef, type XdrType,
} from '../../protocol/index.js';
import type { RpcConnection, RpcConnectionOptions } from '../../src/rpc/connection.js';
import { serveStream } from '../../src/rpc/stream.js';
import type { RpcDriver } from '../../src/rpc/dispatch.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { PacketDecoder, encodePacket, type Packet } from '../../src/rpc/framing.js';
import { decode } from '../../src/rpc/xdr.js';

export const uuid = Buffer.from('6695eb01f6a4830479aa97f2502e193f', 'hex');

export function callPacket(proc: number, args: unknown, serial: number, hdr: { prog?: number; vers?: number; type?: number } = {}): Buffer {
  const def = procDef(proc);
  const desc = (def?.args ?? { kind: 'void' }) as XdrType;
  return encodePacket(
    { prog: hdr.prog ?? REMOTE_PROGRAM, vers: hdr.vers ?? 1, proc, type: hdr.type ?? MessageType.CALL, serial, status: 0 },
    desc,
    args,
  );
}

/** Collects what an RpcConnection writes and decodes it. */
export class Sink {
  readonly chunks: Buffer[] = [];
  write = (b: Buffer): void => {
    this.chunks.push(b);
  };
  packets(): Packet[] {
    const d = new PacketDecoder();
    for (const c of this.chunks) d.push(c);
    const out: Packet[] = [];
    let p: Packet | null;
    while ((p = d.next()) !== null) out.push(p);
    return out;
  }
  clear(): void {
    this.chunks.length = 0;
  }
}

export interface Reply {
  serial: number;
  proc: number;
  prog: number;
  type: number;
  ok: boolean;
  value?: unknown;
  error?: LibvirtError;
}

export function decodeReply(p: Packet): Reply {
  const base = { serial: p.serial, proc: p.proc, prog: p.prog, type: p.type, ok: p.status === MessageStatus.OK };
  if (p.type !== MessageType.REPLY) return base;
  if (p.status === MessageStatus.ERROR) {
    return { ...base, error: LibvirtError.fromRemoteError(decode(RemoteError, p.raw, p.payloadStart, p.payloadEnd)) };
  }
  const def = procDef(p.proc);
  return { ...base, value: def ? decode(def.ret, p.raw, p.payloadStart, p.payloadEnd) : undefined };
}

export function replies(s: Sink): Reply[] {
  return s.packets().map(decodeReply);
}

/** A promise with its resolve/reject outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export interface TestServer {
  port: number;
  connections: RpcConnection[];
  close(): Promise<void>;
}

/** Serve the RPC engine on 127.0.0.1:<random port>, one RpcConnection per socket, with backpressure. */
export async function serveTcp(driver: RpcDriver, opts: Partial<RpcConnectionOptions> = {}): Promise<TestServer> {
  const connections: RpcConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('close', () => sockets.delete(sock));
    connections.push(
      serveStream(sock, { ...opts, driver, identity: { transport: 'tcp', address: `${sock.remoteAddress}:${sock.remotePort}` } }),
    );
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        for (const c of connections) c.close();
        server.close(() => res());
      }),
  };
}

export type { RpcDriver };
