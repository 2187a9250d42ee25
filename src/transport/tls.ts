/**
 * TLS listener with libvirt's certificate layout and behaviour: client
 * certificates are REQUIRED and verified against the CA, an optional DN
 * allow-list, then the confirmation byte (0x01 accepted, 0x00 refused)
 * written synchronously in the secureConnection handler (spec §8.2: virsh
 * reads it with a single non-blocking read; TLS 1.3 session tickets sent
 * separately made it fail — `maxVersion: 'TLSv1.2'` is the fallback).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ConnectionSink, Identity, Listener } from './types.js';
import { describeIdentity } from './types.js';
import { nullLogger, type Logger } from '../log.js';
import { listenError } from './ssh.js';

import { DEFAULT_TLS_PORT } from './types.js';
export { DEFAULT_TLS_PORT };

/** libvirt's server-side defaults (libvirtd.conf `ca_file`, `cert_file`, `key_file`). */
export const LIBVIRT_PKI = {
  ca: '/etc/pki/CA/cacert.pem',
  cert: '/etc/pki/libvirt/servercert.pem',
  key: '/etc/pki/libvirt/private/serverkey.pem',
};

export class TlsConfigError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** `--tls-dir DIR` → DIR/{cacert,servercert,serverkey}.pem; explicit paths win; else libvirt's defaults. */
export function resolveTlsFiles(o: { tlsDir?: string; ca?: string; cert?: string; key?: string }): TlsFiles {
  const d = o.tlsDir;
  return {
    ca: o.ca ?? (d ? join(d, 'cacert.pem') : LIBVIRT_PKI.ca),
    cert: o.cert ?? (d ? join(d, 'servercert.pem') : LIBVIRT_PKI.cert),
    key: o.key ?? (d ? join(d, 'serverkey.pem') : LIBVIRT_PKI.key),
  };
}

export interface TlsServerOptions {
  host?: string;
  port?: number;
  files: TlsFiles;
  /**
   * Client certificate DN patterns (glob: `*`, `?`). Empty/undefined = any
   * certificate signed by the CA. A pattern with `=` is matched against the
   * whole subject DN in both orders (`O=lab,CN=maas` and `CN=maas,O=lab`, as
   * GnuTLS before/after 3.5.7 printed it); without `=` against the CN alone.
   */
  allowedDn?: string[];
  /** e.g. 'TLSv1.2' to avoid TLS 1.3 (see spec §8.2). Default: Node's (1.3). */
  maxVersion?: tls.SecureVersion;
  /** Handshake must finish within this many ms (default 15000). */
  handshakeTimeoutMs?: number;
  logger?: Logger;
}

export interface TlsListener extends Listener {
  readonly port: number;
  stats(): { attached: number; refused: number; handshakeFailures: number };
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TlsConfigError('ERR_TLS_FILE', `cannot read TLS ${what} ${path}: ${(e as Error).message}`);
  }
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's');
}

/** Subject DN in certificate order (`O=lab,CN=maas`) from an X509Certificate. */
export function subjectDn(cert: X509Certificate): string[] {
  // Node prints one RDN per line, in certificate order.
  return cert.subject.split('\n').filter(Boolean);
}

export function dnAllowed(rdns: string[], patterns: string[] | undefined): boolean {
  if (!patterns || patterns.length === 0) return true;
  const forward = rdns.join(',');
  const reverse = [...rdns].reverse().join(',');
  const cn = rdns.filter((r) => r.startsWith('CN=')).map((r) => r.slice(3));
  return patterns.some((p) => {
    const re = globToRegExp(p);
    if (p.includes('=')) return re.test(forward) || re.test(reverse);
    return cn.some((c) => re.test(c));
  });
}

export async function startTlsServer(sink: ConnectionSink, opts: TlsServerOptions): Promise<TlsListener> {
  const log = opts.logger ?? nullLogger();
  const ca = readPem('CA certificate', opts.files.ca);
  const cert = readPem('server certificate', opts.files.cert);
  const key = readPem('server key', opts.files.key);
  const counters = { attached: 0, refused: 0, handshakeFailures: 0 };
  let server: tls.Server;
  try {
    server = tls.createServer({
      ca,
      cert,
      key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      handshakeTimeout: opts.handshakeTimeoutMs ?? 15_000,
    });
  } catch (e) {
    throw new TlsConfigError('ERR_TLS_CONFIG', `invalid TLS configuration: ${(e as Error).message}`);
  }

  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', (e) => log.debug('tls: socket error', { address, error: e.message }));
    const raw = socket.getPeerX509Certificate?.();
    if (!socket.authorized || !raw) {
      // rejectUnauthorized makes this unreachable; keep the check anyway.
      counters.refused++;
      socket.write(Buffer.from([0]));
      socket.end();
      return;
    }
    const rdns = subjectDn(raw);
    const cn = rdns.filter((r) => r.startsWith('CN=')).map((r) => r.slice(3))[0];
    if (!dnAllowed(rdns, opts.allowedDn)) {
      counters.refused++;
      log.warn('tls: client certificate DN not in the allow-list', { address, dn: rdns.join(',') });
      // 0x00: virsh prints "server verification (of our certificate or IP address) failed".
      socket.write(Buffer.from([0]));
      socket.end();
      return;
    }
    // Synchronously, before anything else (spec §8.2).
    socket.write(Buffer.from([1]));
    socket.setNoDelay(true); // small replies, one call at a time: no Nagle delay (docs/rpc.md)
    const identity: Identity = {
      transport: 'tls',
      address,
      user: cn,
      authMethod: 'certificate',
      fingerprint: raw.fingerprint256,
    };
    counters.attached++;
    log.info('tls: client accepted', { who: describeIdentity(identity), dn: rdns.join(','), fingerprint: raw.fingerprint256 });
    sink.attach(socket, identity);
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    counters.handshakeFailures++;
    log.warn('tls: handshake failed', { address: `${socket.remoteAddress}:${socket.remotePort}`, error: err.code ?? err.message });
  });
  server.on('error', (err) => log.error('tls: server error', { error: err.message }));

  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error) => reject(listenError('tls', opts.host ?? '127.0.0.1', opts.port ?? DEFAULT_TLS_PORT, e));
    server.once('error', onErr);
    server.listen(opts.port ?? DEFAULT_TLS_PORT, opts.host ?? '127.0.0.1', () => {
      server.off('error', onErr);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const address = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
  log.info('tls: listening', { address, ca: opts.files.ca, cert: opts.files.cert, allowedDn: opts.allowedDn });
  return {
    kind: 'tls',
    address,
    port: addr.port,
    stats: () => ({ ...counters }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
