/**
 * A throw-away OpenSSH sshd on 127.0.0.1 for tests: its own temp folder,
 * sshd_config, ed25519 host key, client key + authorized_keys and a
 * known_hosts line already recording the host key; runs as the current user
 * (root in CI: `/run/sshd` is created if missing). The port is picked here
 * (sshd cannot listen on 0 and report it): a free port is found, and if sshd
 * loses the race for it, it is started again on another one.
 *
 *   const s = await startSshd();
 *   // ssh://${s.user}@127.0.0.1:${s.port}, key s.clientKey, known hosts s.knownHosts
 *   await s.stop();
 *
 * LogLevel VERBOSE: `s.logs()` holds sshd's own log (e.g. "Accepted publickey
 * for USER from 127.0.0.1 …"), for proof and for failure messages.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';
import { startProcess, waitFor, type LongProcess } from './proc.js';

export interface Sshd {
  port: number;
  /** The account sshd lets in (the user running the tests). */
  user: string;
  /** `ssh://USER@127.0.0.1:PORT` */
  url: string;
  /** The temp folder holding config, keys and anything a test puts there; removed by stop(). */
  dir: string;
  /** Private key (no passphrase) listed in authorized_keys. */
  clientKey: string;
  /** known_hosts with `[127.0.0.1]:PORT <host key>`. */
  knownHosts: string;
  /** The host public key line (`ssh-ed25519 AAAA…`). */
  hostKeyPub: string;
  proc: LongProcess;
  /** sshd's log so far (stderr, `-e`). */
  logs(): string;
  /** Stop sshd (SIGTERM, then SIGKILL) and remove its folder; idempotent. */
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** sshd LogLevel (default VERBOSE). */
  logLevel?: string;
  /** sshd MaxSessions (default 10, OpenSSH's own default). */
  maxSessions?: number;
}

const SSHD = '/usr/sbin/sshd';

/** Resolves true once the port answers with an SSH banner. */
function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('data', (d) => { s.destroy(); resolve(d.toString('latin1').startsWith('SSH-')); });
    s.once('error', () => resolve(false));
    s.setTimeout(2000, () => { s.destroy(); resolve(false); });
  });
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'test-sshd-'));
  try {
    await chmod(dir, 0o755);
    const hostKey = path.join(dir, 'hostkey');
    const clientKey = path.join(dir, 'client');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-sshd-host', '-f', hostKey]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-sshd-client', '-f', clientKey]);
    const authorized = path.join(dir, 'authorized_keys');
    await writeFile(authorized, await readFile(`${clientKey}.pub`), { mode: 0o600 });
    const hostKeyPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    if (process.getuid?.() === 0 && !existsSync('/run/sshd')) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    const user = os.userInfo().username;

    let lastErr = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const config = path.join(dir, 'sshd_config');
      await writeFile(config, [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`,
        `AllowUsers ${user}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        `MaxSessions ${opts.maxSessions ?? 10}`,
        `LogLevel ${opts.logLevel ?? 'VERBOSE'}`,
        '',
      ].join('\n'));
      const proc = startProcess(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let exited = false;
      void proc.exited.then(() => { exited = true; });
      try {
        await waitFor(`sshd on 127.0.0.1:${port}`, async () => {
          if (exited) throw new Error('sshd exited');
          return banner(port);
        }, 15_000, 100);
      } catch (e) {
        lastErr = `${(e as Error).message}\n${proc.stderr()}`;
        await proc.stop('SIGKILL');
        if (/Address already in use|Bind to port/i.test(proc.stderr())) continue; // lost the port race
        break;
      }
      const knownHosts = path.join(dir, 'known_hosts');
      await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostKeyPub}\n`);
      let stopped = false;
      return {
        port, user, dir, clientKey, knownHosts, hostKeyPub, proc,
        url: `ssh://${user}@127.0.0.1:${port}`,
        logs: () => proc.stderr(),
        async stop() {
          if (stopped) return;
          stopped = true;
          await proc.stop('SIGTERM', 3000);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    throw new Error(`could not start ${SSHD}: ${lastErr}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
