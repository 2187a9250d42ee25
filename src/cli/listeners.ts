/**
 * Listener construction for `vboxvirt serve`, in one place so each transport
 * adds its own flag here: today TCP (`--listen-tcp HOST:PORT`, `--allow CIDR`).
 * The SSH/TLS/unix transports add `listenSsh`/`listenTls`/`listenUnix` to
 * ListenOptions and a block to startListeners().
 */
import type { Logger } from '../log.js';
import type { ConnectionSink, Listener } from '../transport/types.js';
import { TcpListener, parseHostPort, DEFAULT_TCP_HOST, DEFAULT_TCP_PORT } from '../transport/tcp.js';

export interface ListenOptions {
  /** `HOST:PORT` specs; port 0 picks a free port. */
  listenTcp: string[];
  /** Client networks allowed on non-loopback TCP listeners (CIDR, IPv4/IPv6). */
  allow: string[];
  logger: Logger;
  /** Room for other transports' options (`listenSsh`, `listenTls`, `listenUnix`, …). */
  [other: string]: unknown;
}

/** The default when no listener flag is given at all: plain TCP on loopback. */
export const DEFAULT_LISTEN_TCP = `${DEFAULT_TCP_HOST}:${DEFAULT_TCP_PORT}`;

/**
 * Start every listener asked for; if one fails, close those already started
 * and rethrow (so a half-started daemon never lingers).
 */
export async function startListeners(sink: ConnectionSink, opts: ListenOptions): Promise<Listener[]> {
  const started: Listener[] = [];
  try {
    for (const spec of opts.listenTcp) {
      const { host, port } = parseHostPort(spec);
      started.push(await TcpListener.listen(sink, { host, port, allow: opts.allow, logger: opts.logger }));
    }
  } catch (err) {
    await Promise.allSettled(started.map((l) => l.close()));
    throw err;
  }
  return started;
}

/** The line printed on stdout per ready listener: `listening tcp 127.0.0.1:40123`. */
export function listeningLine(l: Listener): string {
  return `listening ${l.kind} ${l.address}`;
}
