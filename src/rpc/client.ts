/**
 * RpcClient: a small libvirt RPC client over any Duplex (a TCP socket, a
 * child's stdio, a PassThrough pair). Calls are pipelined (each gets its own
 * serial; replies are matched by serial), error replies reject with a
 * LibvirtError, server PINGs are answered with PONGs. Used by raw tests and
 * the benchmark; not a full libvirt client.
 */
import type { Duplex } from 'node:stream';
import {
  KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, KeepaliveProc, MessageStatus, MessageType, Proc,
  REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, RemoteError, procDef, type KnownProc, type ProcArgs, type ProcRet,
  type XdrType,
} from '../../protocol/index.js';
import { LibvirtError } from './errors.js';
import { FramingError, PacketDecoder, encodeEmptyPacket, encodePacket, type Packet } from './framing.js';
import { XdrReader, compile } from './xdr.js';

interface Pending {
  proc: number;
  ret: XdrType;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class RpcClientClosedError extends Error {
  readonly code = 'RPC_CLIENT_CLOSED' as const;
  constructor(message = 'connection closed') {
    super(message);
    this.name = 'RpcClientClosedError';
  }
}

export interface RpcClientOptions {
  /** Answer server PINGs (default true). */
  answerPings?: boolean;
}

export class RpcClient {
  private readonly decoder = new PacketDecoder();
  private readonly reader = new XdrReader();
  private readonly pending = new Map<number, Pending>();
  private serial = 0;
  private ended = false;
  /** PINGs received from the server. */
  pingsReceived = 0;
  /** PONGs received from the server. */
  pongsReceived = 0;
  /** Every packet received, in order (for raw tests). */
  readonly received: Packet[] = [];
  keepReceived = false;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(
    readonly stream: Duplex,
    private readonly opts: RpcClientOptions = {},
  ) {
    stream.on('data', (d: Buffer) => this.onData(d));
    stream.on('end', () => this.shutdown(new RpcClientClosedError('server closed the connection')));
    stream.on('close', () => this.shutdown(new RpcClientClosedError('connection closed')));
    stream.on('error', (e: Error) => this.shutdown(e));
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Resolves when the stream has ended or closed. */
  waitClosed(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((res) => this.closeWaiters.push(res));
  }

  /** Call a procedure of the REMOTE program with typed args and result. */
  call<P extends KnownProc>(proc: P, ...args: ProcArgs<P> extends void ? [] : [ProcArgs<P>]): Promise<ProcRet<P>> {
    const def = procDef(proc);
    if (!def) return Promise.reject(new Error(`no layout for procedure ${proc}`));
    return this.callRaw(proc, def.args, args[0], def.ret) as Promise<ProcRet<P>>;
  }

  /** Call with explicit layouts and header fields (raw tests: wrong program, version…). */
  callRaw<A, R>(
    proc: number,
    argsDesc: XdrType<A>,
    args: A,
    retDesc: XdrType<R>,
    hdr: { prog?: number; vers?: number; serial?: number } = {},
  ): Promise<R> {
    if (this.ended) return Promise.reject(new RpcClientClosedError());
    const serial = hdr.serial ?? this.serial++;
    const buf = encodePacket(
      {
        prog: hdr.prog ?? REMOTE_PROGRAM, vers: hdr.vers ?? REMOTE_PROTOCOL_VERSION, proc, type: MessageType.CALL,
        serial, status: MessageStatus.OK,
      },
      argsDesc,
      args,
    );
    return new Promise<R>((resolve, reject) => {
      this.pending.set(serial, { proc, ret: retDesc, resolve: resolve as (v: unknown) => void, reject });
      this.stream.write(buf);
    });
  }

  /** Send raw bytes (malformed-input tests). */
  writeRaw(buf: Buffer): void {
    this.stream.write(buf);
  }

  ping(): void {
    this.sendKeepalive(KeepaliveProc.PING);
  }

  /** What virsh does first: AUTH_LIST, feature 10, CONNECT_OPEN, features 14/15, close callback. */
  async connect(name: string | null = 'test:///default', flags = 0): Promise<void> {
    await this.call(Proc.AUTH_LIST);
    await this.call(Proc.CONNECT_SUPPORTS_FEATURE, { feature: 10 });
    await this.call(Proc.CONNECT_OPEN, { name, flags });
    await this.call(Proc.CONNECT_SUPPORTS_FEATURE, { feature: 14 });
    const cb = await this.call(Proc.CONNECT_SUPPORTS_FEATURE, { feature: 15 });
    if (cb.supported) await this.call(Proc.CONNECT_REGISTER_CLOSE_CALLBACK);
  }

  /** CONNECT_CLOSE, then wait for the server to close the stream. */
  async close(): Promise<void> {
    if (this.ended) return;
    await this.call(Proc.CONNECT_CLOSE);
    await this.waitClosed();
  }

  destroy(): void {
    this.stream.destroy();
    this.shutdown(new RpcClientClosedError('destroyed'));
  }

  private sendKeepalive(proc: number): void {
    if (this.ended) return;
    this.stream.write(
      encodeEmptyPacket({
        prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc, type: MessageType.MESSAGE, serial: 0,
        status: MessageStatus.OK,
      }),
    );
  }

  private onData(d: Buffer): void {
    this.decoder.push(d);
    let p: Packet | null;
    try {
      while ((p = this.decoder.next()) !== null) this.onPacket(p);
    } catch (e) {
      if (e instanceof FramingError) {
        this.stream.destroy();
        this.shutdown(e);
        return;
      }
      throw e;
    }
  }

  private onPacket(p: Packet): void {
    if (this.keepReceived) this.received.push(p);
    if (p.prog === KEEPALIVE_PROGRAM) {
      if (p.proc === KeepaliveProc.PING) {
        this.pingsReceived++;
        if (this.opts.answerPings !== false) this.sendKeepalive(KeepaliveProc.PONG);
      } else if (p.proc === KeepaliveProc.PONG) {
        this.pongsReceived++;
      }
      return;
    }
    if (p.type !== MessageType.REPLY) return;
    const w = this.pending.get(p.serial);
    if (!w || w.proc !== p.proc) return;
    this.pending.delete(p.serial);
    try {
      this.reader.reset(p.raw, p.payloadStart, p.payloadEnd);
      if (p.status === MessageStatus.ERROR) {
        w.reject(LibvirtError.fromRemoteError(compile(RemoteError).decode(this.reader)));
      } else {
        w.resolve(compile(w.ret).decode(this.reader));
      }
    } catch (e) {
      w.reject(e as Error);
    }
  }

  private shutdown(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.pending.values()) w.reject(err);
    this.pending.clear();
    for (const f of this.closeWaiters.splice(0)) f();
  }
}
