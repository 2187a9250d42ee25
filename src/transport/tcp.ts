/**
 * Plain TCP transport (`qemu+tcp://host[:16509]/system`): no handshake, no
 * authentication, so it is loopback-only unless the operator names the client
 * networks allowed in (`--allow CIDR`, IPv4 or IPv6, repeatable).
 *
 *  - Listening on a non-loopback address without any allow rule is refused at
 *    startup (TcpConfigError).
 *  - A peer not covered by a rule is logged and its socket destroyed before a
 *    single byte is read. Loopback peers are always allowed.
 *  - Accepted sockets are handed to `sink.attach(socket, identity)`.
 */
import net from 'node:net';
import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';
import type { ConnectionSink, Identity, Listener } from './types.js';

export const DEFAULT_TCP_HOST = '127.0.0.1';
export const DEFAULT_TCP_PORT = 16509;

/** A configuration mistake found before listening (bad address, bad CIDR, open listener without --allow). */
export class TcpConfigError extends Error {
  readonly code = 'ERR_VBOXVIRT_TCP_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'TcpConfigError';
  }
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * The one listen-address grammar (`--listen`, `--listen-tls`, `--listen-ssh`):
 * `HOST:PORT`, `[v6]:PORT`, `[v6]`, `:PORT`, `PORT` (default host), `HOST` (default port).
 * No I/O and no throwing: the caller words the error for its own option.
 */
export type ListenAddressParse =
  | { ok: true; host: string; port: number }
  /** `::1:5`: an IPv6 address without brackets; `host` is the part before the last colon. */
  | { ok: false; reason: 'ipv6-brackets'; host: string; portText: string }
  | { ok: false; reason: 'bad-port'; portText: string };

export function splitHostPort(spec: string, defaultPort: number, defaultHost: string): ListenAddressParse {
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2] ?? String(defaultPort);
  } else if (/^\d+$/.test(spec)) {
    host = defaultHost;
    portText = spec;
  } else {
    const i = spec.lastIndexOf(':');
    if (i < 0) {
      host = spec;
      portText = String(defaultPort);
    } else {
      host = spec.slice(0, i);
      portText = spec.slice(i + 1);
      if (host.includes(':')) return { ok: false, reason: 'ipv6-brackets', host, portText };
    }
  }
  if (host === '') host = defaultHost;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) return { ok: false, reason: 'bad-port', portText };
  return { ok: true, host, port };
}

/** `127.0.0.1:16509`, `[::1]:0`, `localhost:16509`, `16509` (loopback), `0.0.0.0:16509`. */
export function parseHostPort(spec: string, defaultHost = DEFAULT_TCP_HOST): HostPort {
  const r = splitHostPort(spec.trim(), DEFAULT_TCP_PORT, defaultHost);
  if (r.ok) return { host: r.host, port: r.port };
  if (r.reason === 'ipv6-brackets') throw new TcpConfigError(`IPv6 addresses need brackets: [${r.host}]:${r.portText} (got "${spec}")`);
  throw new TcpConfigError(`bad TCP port in "${spec}" (0-65535; 0 picks a free port)`);
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`) → `10.0.0.1`; brackets and zone ids removed. */
export function normalizeAddress(addr: string): string {
  let a = addr.replace(/^\[|\]$/g, '');
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? mapped[1]! : a;
}

export function isLoopbackAddress(addr: string): boolean {
  const a = normalizeAddress(addr).toLowerCase();
  if (a === 'localhost') return true;
  if (net.isIPv4(a)) return a.startsWith('127.');
  if (net.isIPv6(a)) return a === '::1' || a === '0:0:0:0:0:0:0:1';
  return false;
}

/** A set of allowed client networks. */
export class AllowList {
  private readonly list = new net.BlockList();
  readonly rules: readonly string[];

  /** `loopback`: whether loopback peers are allowed without a rule (default true). */
  constructor(cidrs: readonly string[], private readonly loopback = true) {
    const rules: string[] = [];
    for (const raw of cidrs) {
      const c = raw.trim();
      const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(c);
      const addr = m ? normalizeAddress(m[1]!) : '';
      const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : undefined;
      if (!m || !family) throw new TcpConfigError(`bad --allow "${raw}": expected an IPv4 or IPv6 address or CIDR (10.0.0.0/8, fd00::/8)`);
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = m[2] === undefined ? max : Number(m[2]);
      if (prefix > max) throw new TcpConfigError(`bad --allow "${raw}": prefix length must be 0-${max}`);
      this.list.addSubnet(addr, prefix, family);
      rules.push(`${addr}/${prefix}`);
    }
    this.rules = rules;
  }

  /** Loopback is always allowed; anything else must fall in a rule. */
  allows(address: string): boolean {
    const a = normalizeAddress(address);
    if (this.loopback && isLoopbackAddress(a)) return true;
    if (net.isIPv4(a)) return this.list.check(a, 'ipv4');
    if (net.isIPv6(a)) return this.list.check(a, 'ipv6');
    return false;
  }
}

export interface TcpListenerOptions {
  host?: string;
  port?: number;
  /** Client networks allowed to connect (CIDR). Required for a non-loopback listen address. */
  allow?: readonly string[];
  /** Loopback peers are allowed without a rule (default true; tests turn it off). */
  allowLoopback?: boolean;
  logger?: Logger;
}

export class TcpListener implements Listener {
  readonly kind = 'tcp' as const;
  private readonly sockets = new Set<net.Socket>();
  private closing?: Promise<void>;

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  /** `127.0.0.1:40123`, `[::1]:16509` — with the real port when 0 was asked. */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Open connections accepted by this listener that are still open. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  static async listen(sink: ConnectionSink, opts: TcpListenerOptions = {}): Promise<TcpListener> {
    const host = opts.host ?? DEFAULT_TCP_HOST;
    const port = opts.port ?? DEFAULT_TCP_PORT;
    const log = opts.logger ?? nullLogger();
    const allow = new AllowList(opts.allow ?? [], opts.allowLoopback ?? true);
    if (!isLoopbackAddress(host) && allow.rules.length === 0) {
      throw new TcpConfigError(
        `refusing to listen for plain TCP on ${host}: it has no authentication. ` +
          `Name the client networks allowed to connect with --allow CIDR (e.g. --allow 192.168.1.0/24), ` +
          `or listen on 127.0.0.1 and use SSH or TLS for remote clients.`,
      );
    }
    const server = net.createServer({ noDelay: true });
    let listener: TcpListener | undefined;
    server.on('connection', (socket) => {
      const remote = socket.remoteAddress ?? '';
      const addr = normalizeAddress(remote);
      const address = net.isIPv6(addr) ? `[${addr}]:${socket.remotePort}` : `${addr}:${socket.remotePort}`;
      if (!allow.allows(remote)) {
        log.warn(`tcp: refused connection from ${address} (not in --allow ${allow.rules.join(', ') || '(loopback only)'})`);
        socket.destroy();
        return;
      }
      const l = listener!;
      l.sockets.add(socket);
      socket.once('close', () => l.sockets.delete(socket));
      socket.on('error', (err) => log.debug(`tcp ${address}: ${err.message}`));
      socket.setKeepAlive(true, 30_000);
      // Replies are small and a pipelining client waits for each: without this,
      // Nagle's algorithm held a second packet back ~40 ms (measured, docs/rpc.md).
      socket.setNoDelay(true);
      const identity: Identity = { transport: 'tcp', address, authMethod: 'none' };
      log.debug(`tcp: accepted ${address}`);
      try {
        sink.attach(socket, identity);
      } catch (err) {
        log.error(`tcp ${address}: attach failed: ${(err as Error).message}`);
        socket.destroy();
      }
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(new TcpConfigError(`cannot listen on ${host}:${port}: ${err.code ?? ''} ${err.message}`.trim()));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => log.error(`tcp listener ${host}:${port}: ${err.message}`));
    const bound = server.address() as net.AddressInfo;
    listener = new TcpListener(server, normalizeAddress(bound.address), bound.port);
    log.info(`listening on tcp ${listener.address}${allow.rules.length ? ` (allowed: loopback, ${allow.rules.join(', ')})` : ''}`);
    return listener;
  }

  /** Stop accepting and drop any connection still open. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    return this.closing;
  }
}

/** Convenience: `listenTcp(daemon, { host, port, allow })`. */
export function listenTcp(sink: ConnectionSink, opts: TcpListenerOptions = {}): Promise<TcpListener> {
  return TcpListener.listen(sink, opts);
}
