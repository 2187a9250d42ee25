/**
 * Built-in SSH server (ssh2). Authenticates users by public key
 * (authorized_keys) or password (salted scrypt hashes), accepts ONLY the exec
 * commands libvirt clients send to reach a daemon (see ssh-command.ts) and
 * hands that channel to the daemon. Shells, ptys, subsystems, env, agent/X11
 * and port forwarding are refused.
 */
import { userInfo } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Connection, AuthContext, Session, ServerChannel } from 'ssh2';
import type { ConnectionSink, Identity, Listener } from './types.js';
import { describeIdentity } from './types.js';
import { parseLibvirtSshCommand, SshCommandError } from './ssh-command.js';
import type { AuthorizedKey } from '../auth/keys.js';
import { checkPassword, readPasswordFile } from '../auth/passwords.js';
import { AuthThrottle, hostOf, sleep } from '../auth/throttle.js';
import { statePaths, isValidUserName, ensurePrivateDir } from '../auth/state.js';
import { nullLogger, type Logger } from '../log.js';

import { DEFAULT_SSH_PORT } from './types.js';
export { DEFAULT_SSH_PORT };

/** A listener could not bind (`ERR_LISTEN`): address in use, permission, bad address. */
export class ListenError extends Error {
  readonly code = 'ERR_LISTEN';
  constructor(message: string, cause?: Error) {
    super(message, { cause });
    this.name = 'ListenError';
  }
}

export function listenError(kind: string, host: string, port: number, e: Error & { code?: string }): ListenError {
  return new ListenError(`cannot listen for ${kind} on ${host.includes(':') ? `[${host}]` : host}:${port}: ${e.code ?? e.message}`, e);
}

export interface SshServerOptions {
  host?: string;
  /** 0 = pick a free port (tests). Default 16522. */
  port?: number;
  /** Holds the host key, `passwords`, `users/<user>/authorized_keys`. */
  stateDir: string;
  /** Explicit host key file (default `<state-dir>/ssh_host_ed25519_key`, generated if missing). */
  hostKeyFile?: string;
  /**
   * Extra authorized_keys files: `{ user, file }`; `user` undefined means the
   * user the daemon runs as.
   */
  authorizedKeys?: Array<{ user?: string; file: string }>;
  /** Password file (default `<state-dir>/passwords`). */
  passwordFile?: string;
  /** Offer password authentication at all (default true; only users with an entry can use it). */
  allowPassword?: boolean;
  /** Connections that have not finished authenticating, at most (default 16). */
  maxUnauthenticated?: number;
  /** All connections, at most (default 256). */
  maxConnections?: number;
  /** Time allowed to authenticate, ms (default 30000). */
  loginGraceMs?: number;
  /** Authentication attempts (password/signature failures) per connection (default 6). */
  maxAuthTries?: number;
  throttle?: AuthThrottle;
  logger?: Logger;
  /** Server identification banner suffix (default `vboxvirt`). */
  ident?: string;
}

export interface SshListener extends Listener {
  readonly port: number;
  readonly hostKeyFingerprint: string;
  /** Current counts, for tests and status output. */
  stats(): { unauthenticated: number; authenticated: number; attached: number; refusedCommands: number; failedAuth: number };
}

const REFUSE_SHELL =
  'vboxvirt: interactive shells are not available on this SSH server; it only accepts libvirt remote connections ' +
  '(virsh -c qemu+ssh://USER@HOST:PORT/system).\n';

export async function startSshServer(sink: ConnectionSink, opts: SshServerOptions): Promise<SshListener> {
  // ssh2 (and the key code built on it) is loaded only when an SSH listener is wanted:
  // it is ~10 MB of RSS the TCP/TLS/unix-only daemon does not need
  const [{ default: ssh2 }, { loadOrCreateHostKey, readAuthorizedKeysFile, findKey, fingerprint }] = await Promise.all([
    import('ssh2'),
    import('../auth/keys.js'),
  ]);
  const { Server } = ssh2;
  const log = opts.logger ?? nullLogger();
  const paths = statePaths(opts.stateDir);
  ensurePrivateDir(opts.stateDir);
  const hostKey = loadOrCreateHostKey(opts.hostKeyFile ?? paths.hostKey);
  if (hostKey.created) log.info('generated SSH host key', { file: opts.hostKeyFile ?? paths.hostKey, fingerprint: hostKey.fingerprint });
  const passwordFile = opts.passwordFile ?? paths.passwords;
  const allowPassword = opts.allowPassword ?? true;
  const maxUnauth = opts.maxUnauthenticated ?? 16;
  const graceMs = opts.loginGraceMs ?? 30_000;
  const maxTries = opts.maxAuthTries ?? 6;
  const throttle = opts.throttle ?? new AuthThrottle();
  const selfUser = safeSelfUser();

  const counters = { unauthenticated: 0, authenticated: 0, attached: 0, refusedCommands: 0, failedAuth: 0 };
  const conns = new Set<Connection>();
  const pending = new Map<string, { authenticated(): void }>();
  const maxConnections = opts.maxConnections ?? 256;

  function keysFor(user: string): AuthorizedKey[] {
    const keys: AuthorizedKey[] = [];
    if (!isValidUserName(user)) return keys;
    keys.push(...readAuthorizedKeysFile(paths.authorizedKeys(user)));
    for (const a of opts.authorizedKeys ?? []) {
      if ((a.user ?? selfUser) === user) keys.push(...readAuthorizedKeysFile(a.file));
    }
    return keys;
  }

  function methodsFor(): Array<'publickey' | 'password'> {
    const m: Array<'publickey' | 'password'> = ['publickey'];
    let havePasswords = false;
    try {
      havePasswords = allowPassword && readPasswordFile(passwordFile).size > 0;
    } catch (e) {
      log.error('ssh: cannot read the password file', { file: passwordFile, error: (e as Error).message });
    }
    if (havePasswords) m.push('password');
    return m;
  }

  const server = new Server(
    { hostKeys: [hostKey.key], ident: opts.ident ?? 'vboxvirt' },
    (conn: Connection, info: { ip: string; port: number }) => {
      const address = info.ip.includes(':') ? `[${info.ip}]:${info.port}` : `${info.ip}:${info.port}`;
      const host = hostOf(address);
      const raw = pending.get(`${info.ip}|${info.port}`);
      conns.add(conn);
      let authenticated = false;
      let tries = 0;
      let identity: Identity | undefined;

      const fail = async (ctx: AuthContext, why: string) => {
        counters.failedAuth++;
        tries++;
        const delay = throttle.fail(host);
        log.warn('ssh: authentication failed', { address, user: ctx.username, method: ctx.method, why, delayMs: delay });
        await sleep(delay);
        if (tries >= maxTries) {
          log.warn('ssh: too many authentication failures, disconnecting', { address, user: ctx.username });
          try {
            ctx.reject([]);
          } catch {
            /* already closed */
          }
          conn.end();
          return;
        }
        try {
          ctx.reject(methodsFor());
        } catch {
          /* connection went away while we waited */
        }
      };

      conn.on('authentication', (ctx: AuthContext) => {
        try {
          authenticate(ctx);
        } catch (e) {
          // An unreadable key or password file must not take the server down.
          log.error('ssh: authentication error', { address, error: (e as Error).message });
          try {
            ctx.reject(['publickey']);
          } catch {
            /* connection gone */
          }
        }
      });

      const authenticate = (ctx: AuthContext) => {
        const user = ctx.username;
        const validUser = isValidUserName(user);
        switch (ctx.method) {
          case 'publickey': {
            const keys = validUser ? keysFor(user) : [];
            const k = findKey(keys, ctx.key.algo, ctx.key.data);
            if (!k) {
              // Clients offer every key they hold; an unknown key is not a guess.
              ctx.reject(methodsFor());
              return;
            }
            if (!ctx.signature) {
              ctx.accept(); // "PK_OK": the client may now sign with it
              return;
            }
            let ok = false;
            try {
              ok = k.parsed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true;
            } catch {
              ok = false;
            }
            if (!ok) {
              void fail(ctx, 'bad signature');
              return;
            }
            identity = { transport: 'ssh', address, user, authMethod: 'publickey', fingerprint: fingerprint(k.blob) };
            throttle.succeed(host);
            ctx.accept();
            return;
          }
          case 'password': {
            if (!allowPassword) {
              ctx.reject(methodsFor());
              return;
            }
            const pw = ctx.password;
            void checkPassword(passwordFile, validUser ? user : '', pw).then(
              (ok) => {
                if (!ok || !validUser) return fail(ctx, validUser ? 'wrong password or unknown user' : 'invalid user name');
                identity = { transport: 'ssh', address, user, authMethod: 'password' };
                throttle.succeed(host);
                ctx.accept();
                return undefined;
              },
              (err: Error) => fail(ctx, `password check error: ${err.message}`),
            );
            return;
          }
          default:
            // 'none', keyboard-interactive, hostbased: not offered.
            ctx.reject(methodsFor());
        }
      };

      conn.on('ready', () => {
        authenticated = true;
        raw?.authenticated();
        counters.authenticated++;
        log.info('ssh: authenticated', { who: identity && describeIdentity(identity), method: identity?.authMethod, fingerprint: identity?.fingerprint });
        let sessions = 0;
        conn.on('session', (accept, reject) => {
          if (++sessions > 4) {
            reject();
            return;
          }
          const session: Session = accept();
          let used = false;
          const refuseReq = (what: string) => (acc: unknown, rej?: () => void) => {
            log.info(`ssh: refused ${what} request`, { who: identity && describeIdentity(identity) });
            no(rej);
          };
          session.on('pty', refuseReq('pty'));
          session.on('x11', refuseReq('x11'));
          session.on('auth-agent', refuseReq('agent forwarding'));
          session.on('env', refuseReq('env'));
          session.on('window-change', refuseReq('window-change'));
          session.on('signal', refuseReq('signal'));
          session.on('subsystem', (acc, rej, info) => {
            log.info('ssh: refused subsystem', { name: info.name, who: identity && describeIdentity(identity) });
            no(rej);
          });
          session.on('sftp', (acc, rej) => no(rej));
          session.on('shell', (acc) => {
            counters.refusedCommands++;
            log.warn('ssh: refused shell', { who: identity && describeIdentity(identity) });
            const ch = acc();
            if (ch) refuseChannel(ch, REFUSE_SHELL);
          });
          session.on('exec', (acc, rej, info) => {
            if (used) {
              no(rej);
              return;
            }
            used = true;
            let cmd;
            try {
              cmd = parseLibvirtSshCommand(info.command);
            } catch (e) {
              counters.refusedCommands++;
              const why = e instanceof SshCommandError ? e.message : 'invalid command';
              log.warn('ssh: refused command', { who: identity && describeIdentity(identity), command: info.command.slice(0, 300), why });
              const ch = acc();
              if (ch) {
                refuseChannel(
                  ch,
                  `vboxvirt: command refused (${why}); this SSH server only runs the libvirt remote commands ` +
                    '(virt-ssh-helper [-r] URI, nc -U SOCKET, or the sh -c wrappers virsh sends).\n',
                );
              }
              return;
            }
            const ch = acc();
            if (!ch || !identity) return;
            const id: Identity = { ...identity, readOnlyTransport: cmd.readOnly };
            counters.attached++;
            log.info('ssh: libvirt connection', { who: describeIdentity(id), form: cmd.form, uri: cmd.uri, socket: cmd.socket, readOnly: cmd.readOnly });
            ch.on('close', () => {
              counters.attached--;
            });
            // Daemon owns the channel from here on.
            sink.attach(ch, id);
          });
        });
      });

      // Port forwarding / streamlocal / global requests: always refused.
      conn.on('tcpip', (acc, rej, info) => {
        log.warn('ssh: refused port forwarding', { address, dest: `${info.destIP}:${info.destPort}` });
        no(rej);
      });
      conn.on('openssh.streamlocal', (acc, rej) => {
        log.warn('ssh: refused unix socket forwarding', { address });
        no(rej);
      });
      conn.on('request', (acc, rej, name) => {
        log.warn('ssh: refused global request', { address, name });
        no(rej);
      });
      conn.on('error', (err: Error) => {
        log.debug('ssh: connection error', { address, error: err.message });
      });
      conn.on('close', () => {
        conns.delete(conn);
        if (authenticated) counters.authenticated--;
      });
    },
  );

  server.on('error', (err: Error) => log.error('ssh: server error', { error: err.message }));

  // We own the TCP listener and hand sockets to ssh2 (injectSocket), so that
  // connections are counted and timed from their first byte, before any SSH
  // handshake: a flood of idle sockets cannot exhaust the server.
  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    if (counters.unauthenticated >= maxUnauth || sockets.size >= maxConnections) {
      log.warn('ssh: too many connections, dropping', { address: `${socket.remoteAddress}:${socket.remotePort}`, unauthenticated: counters.unauthenticated });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    counters.unauthenticated++;
    let authed = false;
    const grace = setTimeout(() => {
      if (!authed) {
        log.info('ssh: login grace time exceeded', { address: `${socket.remoteAddress}:${socket.remotePort}` });
        socket.destroy();
      }
    }, graceMs);
    grace.unref();
    pending.set(key, {
      authenticated() {
        if (authed) return;
        authed = true;
        clearTimeout(grace);
        counters.unauthenticated--;
        pending.delete(key);
      },
    });
    socket.once('close', () => {
      clearTimeout(grace);
      sockets.delete(socket);
      pending.delete(key);
      if (!authed) counters.unauthenticated--;
    });
    socket.on('error', () => {});
    server.injectSocket(socket);
  });

  await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error) => reject(listenError('ssh', opts.host ?? '127.0.0.1', opts.port ?? DEFAULT_SSH_PORT, e));
    tcp.once('error', onErr);
    tcp.listen(opts.port ?? DEFAULT_SSH_PORT, opts.host ?? '127.0.0.1', () => {
      tcp.off('error', onErr);
      resolve();
    });
  });
  tcp.on('error', (err: Error) => log.error('ssh: listener error', { error: err.message }));
  const addr = tcp.address() as AddressInfo;
  const address = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
  log.info('ssh: listening', { address, hostKey: hostKey.fingerprint });

  return {
    kind: 'ssh',
    address,
    port: addr.port,
    hostKeyFingerprint: hostKey.fingerprint,
    stats: () => ({ ...counters }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.end();
        for (const sock of sockets) sock.destroy();
        tcp.close(() => resolve());
      }),
  };
}

/** ssh2 passes no reject function when the client wants no reply. */
function no(reject: unknown): void {
  if (typeof reject === 'function') (reject as () => void)();
}

function refuseChannel(ch: ServerChannel, message: string): void {
  ch.on('error', () => {});
  // Drain whatever the client sends (virsh writes AUTH_LIST at once).
  ch.resume();
  ch.stderr.write(message);
  ch.exit(1);
  ch.end();
}

function safeSelfUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}
