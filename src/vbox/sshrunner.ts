/**
 * SshRunner: VBoxManage on another host over one reused ssh2 connection.
 *
 *  - auth: a private key file, or the ssh-agent (SSH_AUTH_SOCK);
 *  - the host key is checked against a known_hosts file (plain and hashed
 *    entries, [host]:port, @revoked); an unknown host is refused unless the
 *    operator asked for trust-on-first-use (`acceptNewHostKey`), which appends
 *    the key; a CHANGED key is always refused;
 *  - one connection, many commands: each command is one exec channel, at most
 *    `maxChannels` at once (OpenSSH's MaxSessions defaults to 10);
 *  - a dropped connection fails the commands running on it with
 *    VBoxError('unavailable'); read-only commands (list, showvminfo,
 *    --version…) are retried once on a new connection, commands that change
 *    state are NOT re-run (we cannot know whether they took effect);
 *  - the remote command line is built by quoteArgv (quote.ts) for a POSIX
 *    shell or cmd.exe. POSIX: `env LC_ALL=C.UTF-8 LANG=C.UTF-8 [VBOX_USER_HOME=…] VBoxManage …`.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { normalizeResult, checkArgv, currentUser, kernelArch, DEFAULT_TIMEOUT_MS, type HostFacts, type RunOptions, type Runner, type RunnerIdentity } from './runner.js';
import type { RunResult } from './parse.js';
import { quoteArgv, type ShellDialect } from './quote.js';
import { Semaphore } from './semaphore.js';
import { VBoxError } from './types.js';

export interface SshRunnerOptions {
  host: string;
  port?: number;
  user: string;
  /** Private key contents, or `privateKeyPath`. */
  privateKey?: string | Buffer;
  privateKeyPath?: string;
  passphrase?: string;
  /** ssh-agent socket; default SSH_AUTH_SOCK when no key is given. */
  agent?: string;
  /** known_hosts file the host key is checked against. */
  knownHostsFile: string;
  /** Trust and record the key of a host not in knownHostsFile. Never accepts a changed key. */
  acceptNewHostKey?: boolean;
  /** VBoxManage on the remote side (default `VBoxManage`, or the Program Files path for cmd). */
  remoteVBoxManage?: string;
  remoteShell?: ShellDialect;
  /** VBOX_USER_HOME on the remote side (POSIX only). */
  remoteVBoxUserHome?: string;
  /** Concurrent exec channels on the connection. Default 8. */
  maxChannels?: number;
  timeoutMs?: number;
  /** SSH handshake timeout. Default 20 s. */
  connectTimeoutMs?: number;
  /** ssh keepalive interval. Default 15 s. */
  keepaliveIntervalMs?: number;
}

/** `ssh://user@host[:port]` → parts (IPv6 in brackets, percent-encoded user). */
export function parseSshUrl(url: string): { user: string; host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new VBoxError('invalid-argument', `not an ssh:// URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'ssh:') throw new VBoxError('invalid-argument', `--vbox-host must be ssh://user@host[:port], got ${JSON.stringify(url)}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new VBoxError('invalid-argument', `no host in ${JSON.stringify(url)}`);
  if ((u.pathname && u.pathname !== '/' && u.pathname !== '') || u.search || u.password) {
    throw new VBoxError('invalid-argument', `--vbox-host takes only ssh://user@host[:port], got ${JSON.stringify(url)}`);
  }
  const port = u.port ? Number(u.port) : 22;
  return { user: u.username ? decodeURIComponent(u.username) : currentUser(), host, port };
}

// ---------------------------------------------------------------------------
// known_hosts

/** The host field OpenSSH uses: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(p: string): RegExp {
  return new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return h === hash;
  }
  let matched = false;
  for (const pat of field.split(',')) {
    if (pat.startsWith('!')) {
      if (globToRegExp(pat.slice(1)).test(name)) return false;
    } else if (globToRegExp(pat).test(name)) matched = true;
  }
  return matched;
}

export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked';

/** The key type inside an SSH public key blob (`ssh-ed25519`…). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** Check `blob` (the wire-format host key) for host:port against known_hosts text. */
export function checkKnownHosts(text: string, host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const b64 = blob.toString('base64');
  const type = keyTypeOf(blob);
  let sawHost = false;
  let match = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let marker: string | undefined;
    if (parts[0].startsWith('@')) marker = parts.shift();
    if (parts.length < 3) continue;
    const [hosts, ktype, key] = parts;
    if (!hostFieldMatches(hosts, name)) continue;
    if (marker === '@cert-authority') continue;
    if (marker === '@revoked') {
      if (key === b64) return 'revoked';
      continue;
    }
    if (ktype === type) sawHost = true;
    if (key === b64 && ktype === type) match = true;
  }
  if (match) return 'match';
  return sawHost ? 'mismatch' : 'unknown';
}

// ---------------------------------------------------------------------------

/** Commands that change nothing, so re-running them after a dropped connection is safe. */
export function isReadOnly(argv: readonly string[]): boolean {
  switch (argv[0]) {
    case 'list':
    case 'showvminfo':
    case 'showmediuminfo':
    case 'getextradata':
    case '--version':
    case '-v':
    case '-version':
      return true;
    case 'guestproperty':
      return argv[1] === 'get' || argv[1] === 'enumerate';
    default:
      return false;
  }
}

/**
 * Runs "$@" with stdin from /dev/null; a background subshell blocks in the
 * shell's builtin `read` on the channel's stdin (we never send data, so EOF =
 * the client closed the channel or the connection died) and then kills the
 * command. The watcher is a shell builtin, not a child process, so killing it
 * when the command ends releases the channel's socket at once.
 */
export const POSIX_WATCHDOG =
  'exec 3<&0; "$@" </dev/null 3<&- & p=$!; ' +
  '(while read -r _ <&3; do :; done; kill -9 $p) >/dev/null 2>&1 & w=$!; exec 3<&-; ' +
  'wait $p; r=$?; kill $w 2>/dev/null; exit $r';

class DroppedError extends VBoxError {}
class NotStartedError extends VBoxError {}

export class SshRunner implements Runner {
  private readonly dialect: ShellDialect;
  private readonly program: string;
  private readonly channels: Semaphore;
  private conn: Promise<Client> | null = null;
  private client: Client | null = null;
  private readonly active = new Map<Client, Set<(e: VBoxError) => void>>();
  private closed = false;
  /** Connections opened so far (tests, logs). */
  connections = 0;
  private readonly where: string;

  constructor(private readonly opts: SshRunnerOptions) {
    if (!opts || typeof opts.host !== 'string' || !opts.host) throw new VBoxError('invalid-argument', 'SshRunner needs a host');
    if (!opts.knownHostsFile) throw new VBoxError('invalid-argument', 'SshRunner needs a known_hosts file');
    this.dialect = opts.remoteShell ?? 'posix';
    if (this.dialect !== 'posix' && this.dialect !== 'cmd') throw new VBoxError('invalid-argument', `remoteShell must be posix or cmd`);
    this.program = opts.remoteVBoxManage ?? (this.dialect === 'cmd' ? 'C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe' : 'VBoxManage');
    this.channels = new Semaphore(Math.max(1, opts.maxChannels ?? 8));
    this.where = `ssh://${opts.user}@${opts.host}:${opts.port ?? 22}`;
  }

  /**
   * The exact command line sent to the remote shell. POSIX: VBoxManage runs
   * under a small `sh -c` watchdog that kills it when our side of the channel
   * goes away (stdin reaches EOF: timeout, dropped connection, close), so no
   * orphan keeps running on the VirtualBox host. All arguments travel in "$@":
   * the script itself contains no client data.
   */
  commandLine(argv: string[]): string {
    if (this.dialect === 'cmd') return quoteArgv([this.program, ...argv], 'cmd');
    const env = ['env', 'LC_ALL=C.UTF-8', 'LANG=C.UTF-8'];
    if (this.opts.remoteVBoxUserHome) env.push(`VBOX_USER_HOME=${this.opts.remoteVBoxUserHome}`);
    return quoteArgv(['sh', '-c', POSIX_WATCHDOG, 'vboxvirt', ...env, this.program, ...argv], 'posix');
  }

  /**
   * The remote machine's hostname and architecture (`uname -nm`; on Windows
   * `hostname` and PROCESSOR_ARCHITECTURE), read once over the same connection.
   * The command lines are constants: no client data reaches the remote shell.
   */
  async hostFacts(): Promise<HostFacts> {
    const line = this.dialect === 'cmd' ? 'hostname & echo %PROCESSOR_ARCHITECTURE%' : 'uname -nm';
    await this.channels.acquire();
    try {
      const r = await this.runOnce(line, ['uname'], this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      if (r.exitCode !== 0) return {};
      const words = r.stdout.replace(/\r/g, '').split(/\s+/).filter(Boolean);
      if (words.length < 2) return {};
      return { hostname: words[0], arch: kernelArch(words[words.length - 1]!) };
    } catch {
      return {};
    } finally {
      this.channels.release();
    }
  }

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    checkArgv(argv);
    const line = this.commandLine(argv);
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const readOnly = isReadOnly(argv);
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new VBoxError('unavailable', 'SSH runner is closed', undefined, argv);
      await this.channels.acquire();
      try {
        return normalizeResult(await this.runOnce(line, argv, timeoutMs));
      } catch (e) {
        const again = attempt === 0 && ((e instanceof NotStartedError) || (e instanceof DroppedError && readOnly));
        if (!again) {
          if (e instanceof VBoxError) throw new VBoxError(e.kind, e.message, e.vboxCode, argv);
          throw e;
        }
      } finally {
        this.channels.release();
      }
    }
  }

  private getClient(): Promise<Client> {
    if (!this.conn) {
      const p = this.connect();
      this.conn = p;
      p.catch(() => {
        if (this.conn === p) this.conn = null;
      });
    }
    return this.conn;
  }

  private async connect(): Promise<Client> {
    // ssh2 is loaded on first use: only `--vbox-host ssh://` needs it
    const { Client: SshClient } = await import('ssh2');
    return new Promise<Client>((resolve, reject) => {
      const o = this.opts;
      const port = o.port ?? 22;
      const c = new SshClient();
      let ready = false;
      let hostKeyProblem: string | undefined;
      const cfg: ConnectConfig = {
        host: o.host,
        port,
        username: o.user,
        readyTimeout: o.connectTimeoutMs ?? 20_000,
        keepaliveInterval: o.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          try {
            const text = existsSync(o.knownHostsFile) ? readFileSync(o.knownHostsFile, 'utf8') : '';
            const verdict = checkKnownHosts(text, o.host, port, key);
            if (verdict === 'match') return verify(true);
            if (verdict === 'unknown' && o.acceptNewHostKey) {
              mkdirSync(path.dirname(o.knownHostsFile), { recursive: true });
              const sep = text && !text.endsWith('\n') ? '\n' : '';
              appendFileSync(o.knownHostsFile, `${sep}${knownHostsName(o.host, port)} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
              return verify(true);
            }
            hostKeyProblem =
              verdict === 'unknown'
                ? `host key of ${knownHostsName(o.host, port)} (${keyTypeOf(key)}) is not in ${o.knownHostsFile}; add it (ssh-keyscan) or pass --accept-new-host-key`
                : verdict === 'revoked'
                  ? `host key of ${knownHostsName(o.host, port)} is marked @revoked in ${o.knownHostsFile}`
                  : `HOST KEY MISMATCH for ${knownHostsName(o.host, port)}: the key differs from the one in ${o.knownHostsFile} (possible man-in-the-middle); refusing to connect`;
            verify(false);
          } catch (e) {
            hostKeyProblem = `cannot check the host key: ${(e as Error).message}`;
            verify(false);
          }
        },
      };
      if (o.privateKey !== undefined) cfg.privateKey = o.privateKey;
      else if (o.privateKeyPath) {
        try {
          cfg.privateKey = readFileSync(o.privateKeyPath);
        } catch (e) {
          reject(new VBoxError('unavailable', `cannot read SSH key ${o.privateKeyPath}: ${(e as Error).message}`));
          return;
        }
      }
      if (o.passphrase) cfg.passphrase = o.passphrase;
      if (cfg.privateKey === undefined) {
        const agent = o.agent ?? process.env.SSH_AUTH_SOCK;
        if (!agent) {
          reject(new VBoxError('unavailable', `no SSH key given and no ssh-agent (SSH_AUTH_SOCK) for ${this.where}`));
          return;
        }
        cfg.agent = agent;
      }
      this.active.set(c, new Set());
      c.on('ready', () => {
        ready = true;
        this.connections++;
        this.client = c;
        resolve(c);
      });
      c.on('error', (err: Error) => {
        if (!ready) reject(new VBoxError('unavailable', hostKeyProblem ?? `cannot connect to ${this.where}: ${err.message}`));
      });
      c.on('close', () => {
        if (!ready) reject(new VBoxError('unavailable', hostKeyProblem ?? `connection to ${this.where} closed during the handshake`));
        if (this.client === c) this.client = null;
        if (this.conn && this.client === null) this.conn = null;
        const waiting = this.active.get(c);
        this.active.delete(c);
        for (const fail of waiting ?? []) fail(new DroppedError('unavailable', `SSH connection to ${this.where} dropped`));
      });
      c.connect(cfg);
    });
  }

  private async runOnce(line: string, argv: string[], timeoutMs: number): Promise<RunResult> {
    const c = await this.getClient();
    const set = this.active.get(c);
    if (!set) throw new NotStartedError('unavailable', `SSH connection to ${this.where} is closing`);
    return new Promise<RunResult>((resolve, reject) => {
      let settled = false;
      let stream: ClientChannel | undefined;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let exit: { code: number | null; signal?: string } | null = null;
      const finish = (e: VBoxError | null, r?: RunResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        set.delete(onDrop);
        if (e) reject(e);
        else resolve(r!);
      };
      const onDrop = (e: VBoxError) => {
        const what = isReadOnly(argv) ? '' : '; it was not re-run because it may have changed the VM';
        finish(new DroppedError('unavailable', `${e.message} while running VBoxManage ${argv[0]}${what}`));
      };
      set.add(onDrop);
      const timer = setTimeout(() => {
        try {
          stream?.signal('KILL'); // honoured by sshd with privilege separation
          stream?.end(); // EOF on stdin: the POSIX watchdog kills VBoxManage
        } catch {
          /* ignore */
        }
        const s = stream;
        setTimeout(() => {
          try {
            s?.close();
          } catch {
            /* ignore */
          }
        }, 200).unref();
        finish(new VBoxError('timeout', `VBoxManage ${argv[0]} on ${this.where} did not finish within ${timeoutMs} ms; channel closed`));
      }, timeoutMs);
      try {
        c.exec(line, (e, s) => {
          if (e) {
            finish(new NotStartedError('unavailable', `cannot open an SSH channel to ${this.where}: ${e.message}`));
            return;
          }
          stream = s;
          if (settled) {
            s.close();
            return;
          }
          s.on('data', (d: Buffer) => out.push(d));
          s.stderr.on('data', (d: Buffer) => err.push(d));
          s.on('exit', (code: number | null, signal?: string) => {
            exit = { code, signal };
          });
          s.on('close', () => {
            if (!exit) {
              finish(new DroppedError('unavailable', `SSH channel to ${this.where} closed without an exit status while running VBoxManage ${argv[0]}`));
              return;
            }
            const stderr = Buffer.concat(err).toString('utf8') + (exit.code === null ? `\nkilled by signal ${exit.signal ?? '?'}\n` : '');
            finish(null, { stdout: Buffer.concat(out).toString('utf8'), stderr, exitCode: exit.code ?? 255 });
          });
        });
      } catch (e) {
        finish(new NotStartedError('unavailable', `cannot run a command on ${this.where}: ${(e as Error).message}`));
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = null;
    this.conn = null;
    if (c) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        c.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        c.end();
      });
    }
  }

  describe(): RunnerIdentity {
    return {
      kind: 'ssh',
      user: this.opts.user,
      home: this.opts.remoteVBoxUserHome ?? '(the remote user\'s default VirtualBox home)',
      where: this.where,
    };
  }
}
