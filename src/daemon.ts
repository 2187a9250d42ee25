/**
 * The daemon: one VBoxHost, one VBoxDriver, and an RpcConnection per client
 * stream. Transports (TCP, TLS, SSH, unix, stdio) hand it accepted streams
 * through `attach(stream, identity)` (src/transport/types.ts).
 *
 *  - Backpressure both ways: reading pauses while the connection's call
 *    pipeline is full (RpcConnection.feed() → false, resumed by onDrain) and
 *    while the peer does not read our replies (stream.write() → false,
 *    resumed on 'drain').
 *  - A client that vanishes without CONNECT_CLOSE (MAAS always does) leaves
 *    nothing behind: the connection is closed on 'end'/'close'/'error', its
 *    listeners removed, its keepalive timer stopped by RpcConnection.close().
 *  - close(): stop accepting, close every connection, stop the driver's
 *    background work (pending reboots), close the backend.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from './log.js';
import { nullLogger } from './log.js';
import type { VBoxHost } from './vbox/types.js';
import type { ConnectionSink, Identity } from './transport/types.js';
import { describeIdentity } from './transport/types.js';
import { RpcConnection, type CloseReason } from './rpc/connection.js';
import type { HandlerTable, RpcDriver } from './rpc/dispatch.js';
import type { KeepaliveOptions } from './rpc/keepalive.js';
import { VBoxDriver, type DriverOptions } from './driver/driver.js';
import { domainHandlers, rpcDriver } from './driver/handlers.js';
import { storageHandlers, overlayPending, type StorageDeps } from './driver/storage/index.js';

/** How long a closed connection may take to flush its last reply before it is destroyed. */
const END_GRACE_MS = 5_000;

export interface DaemonOptions {
  host: VBoxHost;
  logger?: Logger;
  driver?: Omit<DriverOptions, 'logger'>;
  /** Server keepalive (default libvirtd's 5 s × 5), or false to answer feature 10 with 0. */
  keepalive?: KeepaliveOptions | false;
  /** Calls served at once per connection (default 5, libvirtd's max_client_requests). */
  maxInFlight?: number;
  /** Close the host in close() (default true: the daemon owns it). */
  ownsHost?: boolean;
  /**
   * Storage pools, volumes, networks, define/undefine (src/driver/storage):
   * their options (stateDir for pools.json/pending.json, pools, network
   * aliases…), or false to leave those procedures unimplemented.
   */
  storage?: Omit<StorageDeps, 'host' | 'domains' | 'log'> | false;
  /**
   * Register more procedure handlers (storage pools, networks, define/undefine…)
   * next to the driver's domain handlers. Called once, at construction.
   */
  extraHandlers?: (table: HandlerTable, deps: { host: VBoxHost; driver: VBoxDriver; logger: Logger }) => void;
}

export interface ConnectionInfo {
  id: number;
  who: string;
  since: Date;
  open: boolean;
  uri: string | null;
  /** Reading is paused (pipeline full, or the peer is not reading our replies). */
  readPaused: boolean;
}

interface Conn {
  rpc: RpcConnection;
  stream: Duplex;
  identity: Identity;
  since: Date;
  detach: () => void;
}

export class Daemon implements ConnectionSink {
  readonly host: VBoxHost;
  readonly driver: VBoxDriver;
  readonly rpc: RpcDriver;
  readonly log: Logger;
  private readonly conns = new Set<Conn>();
  private readonly opts: DaemonOptions;
  private closing?: Promise<void>;
  private accepted = 0;

  constructor(opts: DaemonOptions) {
    this.opts = opts;
    this.host = opts.host;
    this.log = opts.logger ?? nullLogger();
    this.driver = new VBoxDriver(opts.host, { ...opts.driver, logger: this.log });
    const table = domainHandlers(this.driver);
    if (opts.storage !== false) {
      storageHandlers({ ...(opts.storage ?? {}), host: this.host, domains: this.driver, log: this.log }, table);
      const svc = storageHandlers.service(table);
      if (svc) {
        // Changes VirtualBox refused while a VM ran are applied once it is stopped,
        // and shown by `dumpxml --inactive` meanwhile.
        this.driver.hooks = {
          whenStopped: (uuid, ctx) => svc.pending.applyIfStopped(this.host, uuid, ctx),
          inactiveView: (vm) => overlayPending(vm, svc.pending.get(vm.uuid)),
          deferChanges: (uuid, changes) => svc.pending.add(uuid, changes),
          hasPending: (uuid) => svc.pending.get(uuid) !== undefined,
        };
      }
    }
    opts.extraHandlers?.(table, { host: this.host, driver: this.driver, logger: this.log });
    this.rpc = rpcDriver(this.driver, table);
  }

  /** Connections currently attached. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Connections accepted since start. */
  get acceptedCount(): number {
    return this.accepted;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  connections(): ConnectionInfo[] {
    return [...this.conns].map((c) => ({
      id: c.rpc.id,
      who: describeIdentity(c.identity),
      since: c.since,
      open: c.rpc.isOpen,
      uri: c.rpc.uri,
      readPaused: c.stream.isPaused(),
    }));
  }

  attach(stream: Duplex, identity: Identity): void {
    const who = describeIdentity(identity);
    if (this.closing) {
      this.log.info(`refusing ${who}: shutting down`);
      stream.destroy();
      return;
    }
    this.accepted++;
    let writeBlocked = false;
    let conn: Conn;
    const updateFlow = () => {
      if (rpc.closed) return;
      if (writeBlocked || rpc.isPaused) stream.pause();
      else stream.resume();
    };
    const rpc: RpcConnection = new RpcConnection({
      driver: this.rpc,
      identity,
      log: this.log,
      keepalive: this.opts.keepalive,
      maxInFlight: this.opts.maxInFlight,
      write: (buf) => {
        if (stream.destroyed || stream.writableEnded) return;
        if (!stream.write(buf)) {
          writeBlocked = true;
          stream.pause();
        }
      },
      onDrain: updateFlow,
      onClose: (reason: CloseReason, error?: Error) => this.finish(conn, reason, error),
    });
    const onData = (chunk: Buffer) => {
      if (!rpc.feed(chunk)) updateFlow();
    };
    const onDrainOut = () => {
      writeBlocked = false;
      updateFlow();
    };
    const onEnd = () => rpc.end();
    const onClose = () => rpc.end();
    const onError = (err: Error) => {
      this.log.debug(`${who}: stream error: ${err.message}`);
      rpc.end();
    };
    stream.on('data', onData);
    stream.on('drain', onDrainOut);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('error', onError);
    const detach = () => {
      stream.off('data', onData);
      stream.off('drain', onDrainOut);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      // keep a no-op error listener: a late socket error must not crash the process
      stream.off('error', onError);
      stream.on('error', () => undefined);
    };
    conn = { rpc, stream, identity, since: new Date(), detach };
    this.conns.add(conn);
    this.log.info(`connection ${rpc.id} from ${who}`);
    stream.resume();
  }

  /** The RpcConnection is over: end the stream, forget the connection. */
  private finish(conn: Conn, reason: CloseReason, error?: Error): void {
    if (!this.conns.delete(conn)) return;
    conn.detach();
    const { stream } = conn;
    if (reason === 'client-close' || reason === 'local') {
      // Flush the last reply (CONNECT_CLOSE's), then close, as libvirtd does. A peer
      // that never reads it does not keep the stream: destroyed after a grace period.
      if (!stream.destroyed) {
        const grace = setTimeout(() => stream.destroy(), END_GRACE_MS);
        grace.unref();
        stream.once('close', () => clearTimeout(grace));
        stream.end(() => stream.destroy());
      }
    } else {
      stream.destroy();
    }
    this.log.info(
      `connection ${conn.rpc.id} from ${describeIdentity(conn.identity)} closed (${reason}${error ? `: ${error.message}` : ''})`,
    );
  }

  /** Close every connection, stop background work, close the backend. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const conns = [...this.conns];
      for (const c of conns) c.rpc.close('local');
      // Streams that did not flush their last bytes are destroyed.
      for (const c of conns) if (!c.stream.destroyed) c.stream.destroy();
      await this.driver.close();
      if (this.opts.ownsHost !== false) await this.host.close();
      this.log.info('daemon stopped');
    })();
    return this.closing;
  }
}
