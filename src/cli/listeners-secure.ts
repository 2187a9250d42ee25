/**
 * `vboxvirt serve` flags and listener construction for the secure transports
 * (SSH, TLS, unix socket, stdio) plus the policy and audit-log files.
 *
 * Wiring (src/cli/vboxvirt.ts):
 *   addSecureOptions(serveCommand);
 *   const secure = await startSecureListeners(daemon, opts, logger);   // Listener[]
 *   const { policy, audit } = loadSecurity(opts);                        // for the driver
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import { DEFAULT_SSH_PORT, DEFAULT_TLS_PORT, type ConnectionSink, type Listener } from '../transport/types.js';
import { startUnixServer } from '../transport/unix.js';
import { splitHostPort } from '../transport/tcp.js';
import { serveStdio } from '../transport/stdio.js';
import { defaultStateDir, statePaths } from '../auth/state.js';
import { allowAll, loadPolicyFile, type Policy } from '../policy/index.js';
import { createAuditLog, type AuditLog } from '../audit.js';

export interface SecureOptions {
  stateDir?: string;
  /** `HOST:PORT`, `:PORT`, `PORT` or `true` (flag without value → 127.0.0.1:16522). */
  listenSsh?: string | boolean;
  authorizedKeys?: string[];
  sshPassword?: boolean;
  listenUnix?: string | boolean;
  unixMode?: number;
  listenTls?: string | boolean;
  tlsDir?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsAllowedDn?: string[];
  tlsMaxVersion?: '1.2' | '1.3';
  stdio?: boolean;
  policy?: string;
  auditLog?: string;
  /** Called when the --stdio connection is over (default: process.exit(0)). */
  onStdioEnd?: (error?: Error) => void;
  [other: string]: unknown;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function octalMode(v: string): number {
  if (!/^0?[0-7]{3}$/.test(v)) throw new InvalidArgumentError('expected an octal mode such as 600 or 660');
  const n = parseInt(v, 8);
  if (n & 0o7) throw new InvalidArgumentError('refusing a mode that lets every local user in (last digit must be 0)');
  return n;
}

export function addSecureOptions(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'state directory: SSH host key, passwords, users/<user>/authorized_keys, default unix socket (default $XDG_STATE_HOME/vboxvirt or ~/.local/state/vboxvirt)')
    .option('--listen-ssh [host:port]', `built-in SSH server (default 127.0.0.1:${DEFAULT_SSH_PORT})`)
    .option('--authorized-keys <[user=]file>', 'OpenSSH authorized_keys file for USER (default: the user vboxvirt runs as), repeatable', collect, [])
    .option('--no-ssh-password', 'disable SSH password authentication (passwords are set with `vboxvirt passwd`)')
    .option('--listen-unix [path]', 'unix socket for the host\'s own sshd (nc -U / virt-ssh-helper); also PATH-ro, read-only (default <state-dir>/libvirt-sock)')
    .option('--unix-mode <mode>', 'unix socket file mode (default 600)', octalMode)
    .option('--listen-tls [host:port]', `TLS listener, client certificates required (default 127.0.0.1:${DEFAULT_TLS_PORT})`)
    .option('--tls-dir <dir>', 'DIR/cacert.pem, DIR/servercert.pem, DIR/serverkey.pem (default libvirt\'s /etc/pki/CA/cacert.pem, /etc/pki/libvirt/servercert.pem, /etc/pki/libvirt/private/serverkey.pem)')
    .option('--tls-ca <file>', 'CA certificate that signs client certificates')
    .option('--tls-cert <file>', 'server certificate')
    .option('--tls-key <file>', 'server private key')
    .option('--tls-allowed-dn <pattern>', 'client certificate DN or CN allowed (glob), repeatable; default any certificate from the CA', collect, [])
    .addOption(new Option('--tls-max-version <v>', 'highest TLS version (1.2 avoids the TLS 1.3 session-ticket trap of some clients)').choices(['1.2', '1.3']))
    .option('--stdio', 'serve one connection on stdin/stdout, then exit (sshd ForceCommand, ext transport)')
    .option('--policy <file>', 'access policy (JSON, see docs/security.md); default: everything allowed')
    .option('--audit-log <file>', 'JSON-lines audit log of every change');
}

/** `HOST:PORT` / `[v6]:PORT` / `:PORT` / `PORT` / true → host and port (grammar: splitHostPort in transport/tcp). */
export function parseListenSpec(spec: string | boolean | undefined, defaultPort: number, defaultHost = '127.0.0.1'): { host: string; port: number } {
  if (spec === true || spec === undefined || spec === '') return { host: defaultHost, port: defaultPort };
  if (typeof spec !== 'string') throw new InvalidArgumentError('expected HOST:PORT');
  const r = splitHostPort(spec, defaultPort, defaultHost);
  if (r.ok) return { host: r.host, port: r.port };
  if (r.reason === 'ipv6-brackets') throw new InvalidArgumentError(`bad listen address ${JSON.stringify(spec)} (IPv6: [addr]:port)`);
  throw new InvalidArgumentError(`bad port in ${JSON.stringify(spec)}`);
}

export function parseAuthorizedKeysSpec(spec: string): { user?: string; file: string } {
  const i = spec.indexOf('=');
  if (i > 0 && !spec.slice(0, i).includes('/')) return { user: spec.slice(0, i), file: path.resolve(spec.slice(i + 1)) };
  return { file: path.resolve(spec) };
}

/** Policy and audit log for the driver (`--policy`, `--audit-log`). */
export function loadSecurity(opts: SecureOptions): { policy: Policy; audit: AuditLog } {
  return {
    policy: opts.policy ? loadPolicyFile(path.resolve(opts.policy)) : allowAll,
    audit: createAuditLog(opts.auditLog ? path.resolve(opts.auditLog) : undefined),
  };
}

/** True when any secure listener flag was given (the CLI then need not add its default TCP listener). */
export function wantsSecureListener(opts: SecureOptions): boolean {
  return !!(opts.listenSsh || opts.listenUnix || opts.listenTls || opts.stdio);
}

/**
 * Start the listeners asked for. If one fails, those already started are
 * closed and the error is rethrown. With --stdio, the connection on
 * stdin/stdout is served at once; `onStdioEnd` (default process.exit) runs
 * when it is over.
 */
export async function startSecureListeners(sink: ConnectionSink, opts: SecureOptions, logger: Logger): Promise<Listener[]> {
  const stateDir = path.resolve(opts.stateDir ?? defaultStateDir());
  const started: Listener[] = [];
  try {
    if (opts.listenSsh) {
      const { host, port } = parseListenSpec(opts.listenSsh, DEFAULT_SSH_PORT);
      started.push(
        await (await import('../transport/ssh.js')).startSshServer(sink, {
          host,
          port,
          stateDir,
          authorizedKeys: (opts.authorizedKeys ?? []).map(parseAuthorizedKeysSpec),
          allowPassword: opts.sshPassword !== false,
          logger,
        }),
      );
    }
    if (opts.listenUnix) {
      const p = typeof opts.listenUnix === 'string' ? path.resolve(opts.listenUnix) : statePaths(stateDir).socket;
      started.push(await startUnixServer(sink, { path: p, mode: opts.unixMode, logger }));
    }
    if (opts.listenTls) {
      const { host, port } = parseListenSpec(opts.listenTls, DEFAULT_TLS_PORT);
      const tlsMod = await import('../transport/tls.js'); // node:tls only when TLS is served
      started.push(
        await tlsMod.startTlsServer(sink, {
          host,
          port,
          files: tlsMod.resolveTlsFiles({ tlsDir: opts.tlsDir, ca: opts.tlsCa, cert: opts.tlsCert, key: opts.tlsKey }),
          allowedDn: opts.tlsAllowedDn,
          maxVersion: opts.tlsMaxVersion === '1.2' ? 'TLSv1.2' : opts.tlsMaxVersion === '1.3' ? 'TLSv1.3' : undefined,
          logger,
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(started.map((l) => l.close()));
    throw err;
  }
  if (opts.stdio) {
    const end = opts.onStdioEnd ?? ((e?: Error) => process.exit(e ? 1 : 0));
    let who = 'local';
    try {
      who = userInfo().username;
    } catch {
      /* no passwd entry */
    }
    logger.info('stdio: serving one connection on stdin/stdout', { user: who });
    serveStdio(sink).then(
      () => end(),
      (e: Error) => end(e),
    );
  }
  return started;
}
