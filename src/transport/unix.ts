/**
 * Unix-socket listener, for hosts that run their own sshd: virsh's
 * `nc -U SOCKET` form and `virt-ssh-helper` (bin/virt-ssh-helper.js) reach
 * the daemon through it.
 *
 * `PATH` is read-write, `PATH-ro` (libvirt's `libvirt-sock-ro` convention)
 * is read-only. Both are created with mode 0600 by default (the socket
 * permissions ARE the authentication: only the daemon's user, and root, can
 * connect; 0660 lets the socket's group in). A stale socket file is removed
 * only if it is a socket and nothing accepts connections on it; any other
 * file there is an error, never deleted.
 */
import net from 'node:net';
import { lstatSync, unlinkSync, chmodSync, mkdirSync, statSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConnectionSink, Identity, Listener } from './types.js';
import { nullLogger, type Logger } from '../log.js';

export class UnixSocketError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'UnixSocketError';
  }
}

export interface UnixServerOptions {
  path: string;
  /** File mode of the socket(s); default 0o600. */
  mode?: number;
  /** Also listen on `${path}-ro` for read-only clients (default true). */
  readOnlySocket?: boolean;
  logger?: Logger;
}

export interface UnixListener extends Listener {
  readonly paths: string[];
}

/** Remove `path` if it is a socket nobody listens on. Throws if something else is there. */
export async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) {
    throw new UnixSocketError('ERR_UNIX_NOT_SOCKET', `${path} exists and is not a socket; refusing to remove it`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect({ path });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new UnixSocketError('ERR_UNIX_IN_USE', `another server is listening on ${path}`);
  unlinkSync(path);
}

async function listenOne(path: string, mode: number, onConn: (s: net.Socket) => void): Promise<net.Server> {
  await removeStaleSocket(path);
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const server = net.createServer({ allowHalfOpen: false }, onConn);
  // Bind with a restrictive umask so the socket is never briefly world-accessible.
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    throw new UnixSocketError('ERR_UNIX_LISTEN', `cannot listen on ${path}: ${(e as Error).message}`);
  } finally {
    process.umask(old);
  }
  chmodSync(path, mode);
  return server;
}

export async function startUnixServer(sink: ConnectionSink, opts: UnixServerOptions): Promise<UnixListener> {
  const log = opts.logger ?? nullLogger();
  const mode = opts.mode ?? 0o600;
  if ((mode & 0o7) !== 0) log.warn('unix: socket mode gives access to every local user', { mode: mode.toString(8) });
  const sockets = new Set<net.Socket>();
  const servers: Array<{ server: net.Server; path: string; ino: number }> = [];
  const make = (readOnly: boolean) => (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => {});
    const identity: Identity = { transport: 'unix', address: 'local', authMethod: 'none', readOnlyTransport: readOnly };
    log.info('unix: connection', { readOnly });
    sink.attach(s, identity);
  };
  const paths = [opts.path, ...(opts.readOnlySocket === false ? [] : [`${opts.path}-ro`])];
  try {
    for (const p of paths) {
      const server = await listenOne(p, mode, make(p !== opts.path));
      servers.push({ server, path: p, ino: statSync(p).ino });
      log.info('unix: listening', { path: p, mode: mode.toString(8) });
    }
  } catch (e) {
    for (const s of servers) s.server.close();
    throw e;
  }
  return {
    kind: 'unix',
    address: opts.path,
    paths,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.server.close(() => resolve());
            }),
        ),
      );
      // Node removes the socket file on close; make sure, but only if it is still ours.
      for (const s of servers) {
        try {
          if (statSync(s.path).ino === s.ino) unlinkSync(s.path);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
