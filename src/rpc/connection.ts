/**
 * RpcConnection: one libvirt RPC client connection, bytes in / bytes out, no
 * sockets. It owns the framing, the connection state machine (AUTH_LIST,
 * CONNECT_SUPPORTS_FEATURE, CONNECT_OPEN, close callbacks, CONNECT_CLOSE),
 * libvirtd's protocol errors, keepalive, and pipelining: calls are dispatched
 * as they arrive and each reply goes out when its call finishes; at most
 * `maxInFlight` calls run at once (libvirtd max_client_requests = 5), further
 * packets wait and `feed()` returns false so the transport pauses reading
 * until `onDrain`.
 *
 *   const c = new RpcConnection({ driver, identity, write: (b) => sock.write(b),
 *                                 onClose: () => sock.destroy(), onDrain: () => sock.resume() });
 *   sock.on('data', (d) => { if (!c.feed(d)) sock.pause(); });
 *   sock.on('end', () => c.end());
 */
import { performance } from 'node:perf_hooks';
import {
  DomainXMLFlags, ErrorDomain, Feature, KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, KeepaliveProc, MessageStatus,
  MessageType, Proc, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, RemoteError, VIR_CONNECT_RO, Void,
  procDef, type ProcDef,
} from '../../protocol/index.js';
import { nullLogger, type Logger } from '../log.js';
import type { Identity } from '../transport/types.js';
import type { CallContext, OpenContext, RpcDriver } from './dispatch.js';
import { LibvirtError } from './errors.js';
import { FramingError, PacketDecoder, encodeEmptyPacket, encodeReply, type Packet } from './framing.js';
import { DEFAULT_KEEPALIVE, Keepalive, type KeepaliveOptions } from './keepalive.js';
import { XdrError, XdrReader, compile } from './xdr.js';

export type CloseReason =
  | 'client-close' // CONNECT_CLOSE answered
  | 'eof' // the transport saw the peer go away
  | 'framing' // a packet length out of range
  | 'keepalive' // too many unanswered PINGs
  | 'overflow' // the peer ignored backpressure
  | 'error' // an unexpected failure inside the engine or the write callback (logged)
  | 'local'; // close() called by the daemon

export interface RpcConnectionOptions {
  driver: RpcDriver;
  identity: Identity;
  /** Bytes to send to the peer. */
  write: (buf: Buffer) => void;
  /** Called once when the connection is over; the transport should end the stream. */
  onClose?: (reason: CloseReason, error?: Error) => void;
  /** Called when the connection accepts bytes again after `feed()` returned false. */
  onDrain?: () => void;
  log?: Logger;
  /** Calls in flight at once (libvirtd max_client_requests, default 5). */
  maxInFlight?: number;
  /** Keepalive PINGs (libvirtd defaults 5 s / 5), or false: answer feature 10 with 0, never PING. */
  keepalive?: KeepaliveOptions | false;
  /** Packets that may wait behind a full pipeline before the peer is dropped (default 256). */
  maxQueued?: number;
}

let nextConnectionId = 1;

const authListRet = { types: [0] };

/** libvirt public API name of a procedure (`DOMAIN_DESTROY` → `virDomainDestroy`). */
export function apiName(procName: string): string {
  return (
    'vir' +
    procName
      .split('_')
      .map((w) => (w === 'XML' ? 'XML' : w === 'UUID' ? 'UUID' : w[0] + w.slice(1).toLowerCase()))
      .join('')
  );
}

function readOnlyDomain(procName: string): number {
  if (procName.startsWith('NETWORK')) return ErrorDomain.NETWORK;
  if (procName.startsWith('STORAGE')) return ErrorDomain.STORAGE;
  return ErrorDomain.DOMAIN;
}

/**
 * Read-only refusals that depend on the arguments (libvirt's public API does
 * them before calling the driver): GET_XML_DESC with SECURE or MIGRATABLE.
 */
function readOnlyArgsCheck(proc: number, args: unknown): LibvirtError | null {
  if (proc === Proc.DOMAIN_GET_XML_DESC && (args as { flags: number }).flags & (DomainXMLFlags.SECURE | DomainXMLFlags.MIGRATABLE)) {
    return LibvirtError.operationDenied('virDomainGetXMLDesc with secure flag');
  }
  return null;
}

export class RpcConnection {
  readonly id = nextConnectionId++;
  readonly identity: Identity;
  private readonly driver: RpcDriver;
  private readonly writeOut: (buf: Buffer) => void;
  private readonly onCloseCb?: (reason: CloseReason, error?: Error) => void;
  private readonly onDrainCb?: () => void;
  private readonly log: Logger;
  private readonly debug: boolean;
  private readonly decoder = new PacketDecoder();
  private readonly reader = new XdrReader();
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly keepaliveOpts: KeepaliveOptions | false;
  private readonly keepalive: Keepalive | null;
  private readonly queue: Packet[] = [];
  private running = 0;
  private paused = false;
  private isClosed = false;
  private opening = false;
  private opened = false;
  private readonly connState = new Map<string, unknown>();
  /**
   * What every CallContext of this connection shares, and the connection's own read-only
   * flag and URI (set by CONNECT_OPEN): one place for both.
   */
  private readonly callBase: Omit<CallContext, 'proc' | 'procName' | 'serial' | 'readOnly' | 'uri'> & { readOnly: boolean; uri: string | null };
  /** Keepalive PINGs sent to the client / PONGs received from it. */
  pingsSent = 0;
  pongsReceived = 0;

  constructor(opts: RpcConnectionOptions) {
    this.driver = opts.driver;
    this.identity = opts.identity;
    this.writeOut = opts.write;
    this.onCloseCb = opts.onClose;
    this.onDrainCb = opts.onDrain;
    this.log = (opts.log ?? nullLogger()).child({ conn: this.id });
    this.debug = this.log.isDebugEnabled();
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 5);
    this.maxQueued = Math.max(1, opts.maxQueued ?? 256);
    this.keepaliveOpts = opts.keepalive === undefined ? DEFAULT_KEEPALIVE : opts.keepalive;
    this.keepalive = this.keepaliveOpts
      ? new Keepalive(
          this.keepaliveOpts,
          () => {
            this.pingsSent++;
            this.sendKeepalive(KeepaliveProc.PING);
          },
          () => this.close('keepalive'),
        )
      : null;
    this.callBase = {
      connectionId: this.id, identity: this.identity, readOnly: !!opts.identity.readOnlyTransport, uri: null, log: this.log, connState: this.connState,
    };
  }

  // ---- state ------------------------------------------------------------------
  get closed(): boolean {
    return this.isClosed;
  }
  /** CONNECT_OPEN succeeded. */
  get isOpen(): boolean {
    return this.opened;
  }
  get readOnly(): boolean {
    return this.callBase.readOnly;
  }
  get uri(): string | null {
    return this.callBase.uri;
  }
  /** Calls being served now. */
  get inFlight(): number {
    return this.running;
  }
  /** Packets waiting for a free slot. */
  get queued(): number {
    return this.queue.length;
  }
  /** True while the transport should not read (the pipeline is full). */
  get isPaused(): boolean {
    return this.paused;
  }
  /** Server keepalive is PING-ing this client (it probed feature 10). */
  get keepaliveActive(): boolean {
    return this.keepalive?.active ?? false;
  }

  // ---- bytes in -------------------------------------------------------------------
  /**
   * Bytes from the peer. Returns false when the transport should stop reading
   * until `onDrain` (the pipeline is full); bytes fed anyway are kept up to
   * `maxQueued` packets, beyond that the peer is dropped ('overflow').
   */
  feed(chunk: Buffer): boolean {
    if (this.isClosed) return false;
    this.decoder.push(chunk);
    let pkt: Packet | null;
    try {
      while ((pkt = this.decoder.next()) !== null) {
        this.keepalive?.touch();
        this.accept(pkt);
        if (this.isClosed) return false;
      }
    } catch (e) {
      if (e instanceof FramingError) {
        this.log.warn(`closing connection: ${e.message}`, { identity: this.identity.address });
        this.close('framing', e);
      } else {
        // never let a client's bytes throw into the transport's 'data' handler
        this.fail(e);
      }
      return false;
    }
    if (this.queue.length > this.maxQueued) {
      this.log.warn(`closing connection: ${this.queue.length} packets queued, peer ignores backpressure`);
      this.close('overflow');
      return false;
    }
    if (this.queue.length > 0 && !this.paused) this.paused = true;
    return !this.paused;
  }

  /** The peer closed its side. */
  end(): void {
    this.close('eof');
  }

  /** Close the connection (idempotent). Replies of calls still running are dropped. */
  close(reason: CloseReason = 'local', error?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.keepalive?.stop();
    this.queue.length = 0;
    if (this.opened && this.driver.close) {
      try {
        this.driver.close(this.openContext());
      } catch (e) {
        this.log.error(`driver close hook failed: ${(e as Error).message}`);
      }
    }
    this.opened = false;
    this.connState.clear();
    if (this.debug) this.log.debug(`connection closed (${reason})`);
    this.onCloseCb?.(reason, error);
  }

  // ---- dispatch ----------------------------------------------------------------------
  private accept(pkt: Packet): void {
    if (pkt.prog === KEEPALIVE_PROGRAM) {
      this.keepaliveMessage(pkt);
      return;
    }
    if (this.running >= this.maxInFlight || this.queue.length > 0) {
      this.queue.push(pkt);
      return;
    }
    this.start(pkt);
  }

  private keepaliveMessage(pkt: Packet): void {
    if (pkt.type !== MessageType.MESSAGE || pkt.vers !== KEEPALIVE_PROTOCOL_VERSION) return;
    if (pkt.proc === KeepaliveProc.PING) this.sendKeepalive(KeepaliveProc.PONG);
    else if (pkt.proc === KeepaliveProc.PONG) this.pongsReceived++; // touch() already counted it as an answer
  }

  private sendKeepalive(proc: number): void {
    this.send(
      encodeEmptyPacket({
        prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc, type: MessageType.MESSAGE, serial: 0,
        status: MessageStatus.OK,
      }),
    );
  }

  private send(buf: Buffer): void {
    if (this.isClosed) return;
    try {
      this.writeOut(buf);
    } catch (e) {
      this.fail(e);
    }
  }

  /** An unexpected exception inside the engine: log it and drop the connection. */
  private fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.log.error(`closing connection after an internal failure: ${err.message}`, { stack: err.stack });
    this.close('error', err);
  }

  private finished(): void {
    this.running--;
    while (!this.isClosed && this.running < this.maxInFlight && this.queue.length > 0) {
      this.start(this.queue.shift()!);
    }
    if (this.paused && this.queue.length === 0 && !this.isClosed) {
      this.paused = false;
      this.onDrainCb?.();
    }
  }

  /** Serve one packet of the REMOTE program (or answer its wrong program/type). */
  private start(pkt: Packet): void {
    if (pkt.type !== MessageType.CALL) {
      // Replies, events and streams from a client have no meaning here (no streams
      // or FD passing): libvirtd drops them; so do we.
      if (this.debug) this.log.debug(`ignoring packet type ${pkt.type} proc ${pkt.proc} serial ${pkt.serial}`);
      return;
    }
    this.running++;
    // the clock is read only for the debug line that reports the call's duration
    const t0 = this.debug ? performance.now() : 0;
    if (pkt.prog !== REMOTE_PROGRAM || pkt.vers !== REMOTE_PROTOCOL_VERSION) {
      this.replyError(pkt, LibvirtError.unknownProgram(pkt.prog, pkt.vers), t0, `PROG_${pkt.prog >>> 0}`);
      this.finished();
      return;
    }
    const def = procDef(pkt.proc);
    if (!def) {
      this.replyError(pkt, LibvirtError.unknownProcedure(pkt.proc), t0);
      this.finished();
      return;
    }
    let args: unknown;
    try {
      const r = this.reader.reset(pkt.raw, pkt.payloadStart, pkt.payloadEnd);
      args = compile(def.args).decode(r);
      if (r.pos !== pkt.payloadEnd) throw new XdrError('XDR_TRAILING', 'trailing bytes');
    } catch (e) {
      if (!(e instanceof XdrError)) this.log.error(`${def.name} serial=${pkt.serial}: unexpected decode failure: ${(e as Error).message}`);
      else if (this.debug) this.log.debug(`${def.name} serial=${pkt.serial}: undecodable args: ${e.message}`);
      this.replyError(pkt, LibvirtError.decodeFailed(), t0, def.name);
      this.finished();
      return;
    }
    const pre = this.precheck(def) ?? (this.callBase.readOnly ? readOnlyArgsCheck(def.num, args) : null);
    if (pre) {
      this.replyError(pkt, pre, t0, def.name);
      this.finished();
      return;
    }
    let result: unknown;
    try {
      result = def.connection ? this.connectionProc(def, args) : this.callDriver(def, pkt, args);
    } catch (e) {
      this.replyFailure(pkt, def, e, t0);
      this.finished();
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      Promise.resolve(result as PromiseLike<unknown>)
        .then(
          (ret) => {
            this.replyOk(pkt, def, ret, t0);
            this.afterReply(def);
            this.finished();
          },
          (e) => {
            this.replyFailure(pkt, def, e, t0);
            this.finished();
          },
        )
        .catch((e) => this.fail(e));
    } else {
      this.replyOk(pkt, def, result, t0);
      this.afterReply(def);
      this.finished();
    }
  }

  /** libvirtd's checks before a procedure runs: open state, read-only, a driver handler. */
  private precheck(def: ProcDef): LibvirtError | null {
    if (def.num === Proc.CONNECT_OPEN) {
      if (this.opened || this.opening) return LibvirtError.internalError('connection already open', ErrorDomain.RPC);
      return null;
    }
    if (!def.beforeOpen && !this.opened) {
      return LibvirtError.internalError('hypervisor connection not open', ErrorDomain.RPC);
    }
    if (!def.connection && !this.driver.handlers.has(def.num)) return LibvirtError.unknownProcedure(def.num);
    if (def.writes && this.callBase.readOnly) return LibvirtError.readOnly(apiName(def.name), readOnlyDomain(def.name));
    return null;
  }

  private callDriver(def: ProcDef, pkt: Packet, args: unknown): unknown {
    const handler = this.driver.handlers.get(def.num)!;
    // the call's own three fields over the connection's (a per-call object of 3 fields, not 9)
    const ctx = Object.create(this.callBase) as { -readonly [K in keyof CallContext]: CallContext[K] };
    ctx.proc = def.num;
    ctx.procName = def.name;
    ctx.serial = pkt.serial;
    return handler(args, ctx);
  }

  private openContext(): OpenContext {
    return {
      connectionId: this.id,
      identity: this.identity,
      readOnly: this.callBase.readOnly,
      log: this.log,
      connState: this.connState,
    };
  }

  /** The procedures the engine answers itself. */
  private connectionProc(def: ProcDef, args: unknown): unknown {
    switch (def.num) {
      case Proc.AUTH_LIST:
        return authListRet;
      case Proc.CONNECT_SUPPORTS_FEATURE: {
        const f = (args as { feature: number }).feature;
        // libvirtd answers feature 10 at any time (it is probed before CONNECT_OPEN),
        // every other feature only on an open connection.
        if (f !== Feature.PROGRAM_KEEPALIVE && !this.opened) {
          throw LibvirtError.internalError('hypervisor connection not open', ErrorDomain.RPC);
        }
        let supported = 0;
        if (f === Feature.PROGRAM_KEEPALIVE) {
          supported = this.keepaliveOpts ? 1 : 0;
          if (supported) this.keepalive!.start();
        } else if (f === Feature.REMOTE_CLOSE_CALLBACK) {
          supported = 1;
        }
        // 14 REMOTE_EVENT_CALLBACK: 0 — vboxvirt sends no events.
        return { supported };
      }
      case Proc.CONNECT_OPEN:
        return this.connectOpen(args as { name: string | null; flags: number });
      case Proc.CONNECT_REGISTER_CLOSE_CALLBACK:
      case Proc.CONNECT_UNREGISTER_CLOSE_CALLBACK:
      case Proc.CONNECT_CLOSE:
        return undefined;
      default:
        throw LibvirtError.unknownProcedure(def.num);
    }
  }

  private connectOpen(args: { name: string | null; flags: number }): unknown {
    const ro = !!(args.flags & VIR_CONNECT_RO) || !!this.identity.readOnlyTransport;
    const done = (res: { uri?: string } | void): void => {
      this.opening = false;
      if (this.isClosed) return;
      this.callBase.readOnly = ro;
      this.callBase.uri = res?.uri ?? args.name;
      this.opened = true;
      this.log.debug(`connection opened`, {
        uri: this.callBase.uri, readOnly: ro, identity: `${this.identity.transport}:${this.identity.user ? this.identity.user + '@' : ''}${this.identity.address}`,
      });
    };
    if (!this.driver.open) {
      done();
      return undefined;
    }
    this.opening = true;
    const ctx: OpenContext = {
      connectionId: this.id, identity: this.identity, readOnly: ro, log: this.log, connState: this.connState,
    };
    let r: ReturnType<NonNullable<RpcDriver['open']>>;
    try {
      r = this.driver.open(args.name, args.flags, ctx);
    } catch (e) {
      this.opening = false;
      throw e;
    }
    if (r instanceof Promise) {
      return r.then(
        (res) => {
          done(res);
        },
        (e) => {
          this.opening = false;
          throw e;
        },
      );
    }
    done(r);
    return undefined;
  }

  private afterReply(def: ProcDef): void {
    if (def.num === Proc.CONNECT_CLOSE) this.close('client-close');
  }

  // ---- replies ----------------------------------------------------------------------------
  private replyOk(pkt: Packet, def: ProcDef, ret: unknown, t0: number): void {
    if (this.isClosed) return;
    let buf: Buffer;
    try {
      buf = encodeReply(pkt, MessageStatus.OK, def.ret, ret === undefined && def.ret === Void ? undefined : ret);
    } catch (e) {
      this.log.error(`${def.name} serial=${pkt.serial}: cannot encode the reply: ${(e as Error).message}`);
      this.replyError(pkt, LibvirtError.internalError(`cannot encode the reply of ${def.name}: ${(e as Error).message}`, ErrorDomain.RPC), t0, def.name);
      return;
    }
    this.send(buf);
    if (this.debug) this.logCall(def.name, pkt.serial, t0, 'ok');
  }

  private replyFailure(pkt: Packet, def: ProcDef, e: unknown, t0: number): void {
    if (e instanceof LibvirtError) {
      this.replyError(pkt, e, t0, def.name);
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    this.log.error(`${def.name} serial=${pkt.serial}: handler failed: ${msg}`, {
      stack: e instanceof Error ? e.stack : undefined,
    });
    this.replyError(pkt, LibvirtError.internalError(msg), t0, def.name);
  }

  private replyError(pkt: Packet, err: LibvirtError, t0: number, name = `PROC_${pkt.proc}`): void {
    if (this.isClosed) return;
    let buf: Buffer;
    try {
      buf = encodeReply(pkt, MessageStatus.ERROR, RemoteError, err.toRemoteError());
    } catch (e) {
      // an unencodable error (e.g. a message beyond REMOTE_STRING_MAX): send a short one
      buf = encodeReply(
        pkt,
        MessageStatus.ERROR,
        RemoteError,
        LibvirtError.internalError(`error reply could not be encoded: ${(e as Error).message}`, ErrorDomain.RPC).toRemoteError(),
      );
    }
    this.send(buf);
    if (this.debug) this.logCall(name, pkt.serial, t0, err.codeName, err.message);
  }

  private logCall(name: string, serial: number, t0: number, result: string, message?: string): void {
    const ms = performance.now() - t0;
    this.log.debug(`call ${name} serial=${serial} ${ms.toFixed(3)}ms ${result}`, message ? { error: message } : undefined);
  }
}
