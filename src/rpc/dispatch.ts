/**
 * The seam between the RPC engine and the driver: procedure handlers are
 * registered by procedure number and receive the decoded arguments plus a
 * CallContext; they return the `*_ret` value (or nothing for void
 * procedures) or throw a LibvirtError. Anything else thrown becomes
 * `internal error: …` on the wire and is logged.
 */
import type { Logger } from '../log.js';
import type { Identity } from '../transport/types.js';
import type { KnownProc, ProcArgs, ProcRet } from '../../protocol/index.js';

export type { Identity };

/**
 * What every handler gets besides its arguments. Read its fields; do not spread or
 * copy it: proc, procName and serial are the call's own, the rest come through its
 * prototype, which the connection shares between its calls.
 */
export interface CallContext {
  /** Unique per RpcConnection in this process. */
  readonly connectionId: number;
  /** Who is on the other end (from the transport). */
  readonly identity: Identity;
  /** CONNECT_OPEN asked for VIR_CONNECT_RO, or the transport is read-only. */
  readonly readOnly: boolean;
  /** The URI the client opened (CONNECT_OPEN name, or what the driver's open() returned). */
  readonly uri: string | null;
  /** Procedure number and name (`DOMAIN_LOOKUP_BY_NAME`) of this call. */
  readonly proc: number;
  readonly procName: string;
  readonly serial: number;
  /** A logger for this call (child of the connection's logger). */
  readonly log: Logger;
  /**
   * Per-connection scratch space the driver may use (e.g. per-connection
   * caches). Cleared when the connection closes.
   */
  readonly connState: Map<string, unknown>;
}

export type Handler<A = unknown, R = unknown> = (args: A, ctx: CallContext) => Promise<R> | R;

/** What CONNECT_OPEN's driver hook receives. */
export interface OpenContext {
  readonly connectionId: number;
  readonly identity: Identity;
  /** flags & VIR_CONNECT_RO, or a read-only transport. */
  readonly readOnly: boolean;
  readonly log: Logger;
  readonly connState: Map<string, unknown>;
}

export interface OpenResult {
  /** The canonical URI of this connection (defaults to the name the client sent). */
  uri?: string;
}

/** The driver as the RPC engine sees it. */
export interface RpcDriver {
  /** Procedure handlers (procedures without one answer `unknown procedure: N`). */
  readonly handlers: HandlerTable;
  /**
   * CONNECT_OPEN: validate the URI (`name`, may be null) and flags; throw a
   * LibvirtError to refuse (libvirtd: code 5 `no connection driver available for X`).
   * Without this hook every name is accepted.
   */
  open?(name: string | null, flags: number, ctx: OpenContext): Promise<OpenResult | void> | OpenResult | void;
  /** Called once when an opened connection goes away (CONNECT_CLOSE, EOF, error). */
  close?(ctx: OpenContext): void;
}

/** Handlers by procedure number, typed by the protocol table. */
export class HandlerTable {
  private readonly map = new Map<number, Handler>();

  /** Register the handler of a procedure vboxvirt has a layout for. */
  on<P extends KnownProc>(proc: P, handler: Handler<ProcArgs<P>, ProcRet<P>>): this {
    this.map.set(proc, handler as Handler);
    return this;
  }

  /** Untyped registration (tests, generic wrappers). */
  set(proc: number, handler: Handler): this {
    this.map.set(proc, handler);
    return this;
  }

  get(proc: number): Handler | undefined {
    return this.map.get(proc);
  }

  has(proc: number): boolean {
    return this.map.has(proc);
  }

  procedures(): number[] {
    return [...this.map.keys()].sort((a, b) => a - b);
  }
}
