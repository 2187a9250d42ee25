/**
 * Shared pieces of the transport tests:
 *  - `daemonSink()`: the real daemon on the simulator behind a sink that
 *    records each identity (`recordingSink()` records and closes);
 *  - a throw-away SSH client setup (own known_hosts, own config, an `ssh`
 *    wrapper first on PATH: OpenSSH takes ~ from the passwd entry, not from
 *    $HOME, so the wrapper's `-F` is what keeps the tests off /root/.ssh);
 *  - ssh-keygen / openssl helpers.
 */
import type { Duplex } from 'node:stream';
import { mkdtemp, writeFile, chmod, readFile, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionSink, Identity } from '../../src/transport/types.js';
import { existsSync } from 'node:fs';
import { run, startProcess, waitFor as waitForProc, type LongProcess, type RunResult } from '../helpers/proc.js';
import { ROOT, VBOXVIRT_BIN } from '../helpers/paths.js';
import { clientEnv } from '../helpers/virsh.js';
import { createSimHost, type SimHost } from '../helpers/simhost.js';
import { Daemon } from '../../src/daemon.js';
import { createSimHost as createSimBackend } from '../../src/vbox/index.js';
import { nullLogger } from '../../src/log.js';

export interface RecordingSink extends ConnectionSink {
  attached: Identity[];
  /** Streams currently open. */
  open(): number;
}

export interface DaemonSink extends RecordingSink {
  sim: SimHost;
  daemon: Daemon;
  /** argv of every simulated VBoxManage run so far (the simulator's invocation log). */
  invocations(): Promise<string[][]>;
  close(): Promise<void>;
}

/** VBoxManage subcommands that change something. */
export const MUTATING = new Set(['startvm', 'controlvm', 'modifyvm', 'unregistervm', 'createvm', 'discardstate', 'registervm', 'snapshot', 'storageattach', 'storagectl', 'clonevm', 'createmedium']);

/**
 * The REAL daemon (src/daemon.ts) on the in-process simulator (`--backend sim`)
 * with one running VM named `test`, behind a sink that records identities.
 */
export async function daemonSink(): Promise<DaemonSink> {
  const sim = await createSimHost();
  await sim.createVm('test', { start: true });
  const daemon = new Daemon({ host: createSimBackend({ home: sim.home, env: { VBOXSIM_LOG: '1' } }), logger: nullLogger() });
  const attached: Identity[] = [];
  let open = 0;
  return {
    sim,
    daemon,
    attached,
    open: () => open,
    attach(stream: Duplex, identity: Identity) {
      attached.push(identity);
      open++;
      stream.once('close', () => open--);
      daemon.attach(stream, identity);
    },
    async invocations() {
      const f = path.join(sim.home, 'vboxsim-invocations.jsonl');
      if (!existsSync(f)) return [];
      return (await readFile(f, 'utf8')).trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { argv: string[] }).argv);
    },
    async close() {
      await daemon.close();
      await sim.cleanup();
    },
  };
}

/** A sink that records and closes at once (for refusal tests: it must never be called). */
export function recordingSink(): RecordingSink {
  const attached: Identity[] = [];
  return {
    attached,
    open: () => 0,
    attach(stream: Duplex, identity: Identity) {
      attached.push(identity);
      stream.destroy();
    },
  };
}

export async function tmpDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function sshKeygen(file: string, passphrase = ''): Promise<{ priv: string; pub: string; fingerprint: string }> {
  const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', path.basename(file), '-f', file]);
  if (r.rc !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]);
  return { priv: file, pub: await readFile(`${file}.pub`, 'utf8'), fingerprint: fp.stdout.split(' ')[1]! };
}

export interface SshClientSetup {
  dir: string;
  /** Env for virsh / ssh / pexpect: our `ssh` wrapper first on PATH, HOME = dir. */
  env: NodeJS.ProcessEnv;
  config: string;
  wrapper: string;
  cleanup(): Promise<void>;
}

/**
 * Client side for SSH tests: known_hosts holding exactly `hostKeyPub` for
 * [127.0.0.1]:port (strict checking on), no agent, no default identities.
 */
export async function sshClient(port: number, hostKeyPub: string): Promise<SshClientSetup> {
  const dir = await tmpDir('vv-sshc-');
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  const [type, b64] = hostKeyPub.trim().split(/\s+/);
  const kh = path.join(dir, 'known_hosts');
  await writeFile(kh, `[127.0.0.1]:${port} ${type} ${b64}\n`);
  const config = path.join(dir, 'ssh_config');
  await writeFile(
    config,
    [
      'Host *',
      `  UserKnownHostsFile ${kh}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  UpdateHostKeys no',
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      `  IdentityFile ${path.join(dir, 'no-default-identity')}`,
      '  GSSAPIAuthentication no',
      '  ConnectTimeout 10',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const wrapper = path.join(bin, 'ssh');
  await writeFile(wrapper, `#!/bin/sh\nexec /usr/bin/ssh -F '${config}' "$@"\n`);
  await chmod(wrapper, 0o755);
  const env = clientEnv({ HOME: dir, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
  delete env.SSH_AUTH_SOCK;
  return { dir, env, config, wrapper, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function virshWith(env: NodeJS.ProcessEnv, uri: string, args: string[], extra: string[] = []): Promise<RunResult> {
  const r = await run('virsh', ['-c', uri, ...extra, ...args], { env, timeoutMs: 30_000 });
  if (r.timedOut) throw new Error(`virsh ${uri} ${args.join(' ')} timed out: ${r.stderr}`);
  return r;
}

export async function openssl(args: string[], cwd?: string): Promise<RunResult> {
  const r = await run('openssl', args, { cwd });
  if (r.rc !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

/** The fixture scripts next to this file (pexpect login as MAAS does). */
export const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures');

async function makeCa(dir: string, cn: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'cakey.pem'), '-out', path.join(dir, 'cacert.pem'), '-days', '2', '-subj', `/CN=${cn}`]);
}

async function issue(ca: string, out: string, name: string, subj: string, ext: string): Promise<void> {
  await mkdir(out, { recursive: true });
  const extFile = path.join(out, `${name}.ext`);
  await writeFile(extFile, ext);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(out, `${name}key.pem`), '-out', path.join(out, `${name}.csr`), '-subj', subj]);
  await openssl(['x509', '-req', '-in', path.join(out, `${name}.csr`), '-CA', path.join(ca, 'cacert.pem'), '-CAkey', path.join(ca, 'cakey.pem'),
    '-CAcreateserial', '-out', path.join(out, `${name}cert.pem`), '-days', '2', '-extfile', extFile]);
  await writeFile(path.join(out, 'cacert.pem'), await readFile(path.join(ca, 'cacert.pem')));
}

const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n';

/**
 * A throw-away PKI made with openssl, in libvirt's layout:
 *   server/   cacert.pem servercert.pem serverkey.pem   (CN=127.0.0.1, SAN IP:127.0.0.1)
 *   maas/     cacert.pem clientcert.pem clientkey.pem   (/O=lab/CN=maas-rack, our CA)
 *   intruder/ …                                         (/O=elsewhere/CN=intruder, our CA)
 *   foreign/  …                                         (/O=lab/CN=maas-rack, ANOTHER CA; trusts both CAs)
 *   nocert/   cacert.pem only
 */
export async function makePki(dir: string): Promise<void> {
  await makeCa(path.join(dir, 'ca'), 'vboxvirt test CA');
  await makeCa(path.join(dir, 'otherca'), 'some other CA');
  await issue(path.join(dir, 'ca'), path.join(dir, 'server'), 'server', '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  await issue(path.join(dir, 'ca'), path.join(dir, 'maas'), 'client', '/O=lab/CN=maas-rack', CLIENT_EXT);
  await issue(path.join(dir, 'ca'), path.join(dir, 'intruder'), 'client', '/O=elsewhere/CN=intruder', CLIENT_EXT);
  await issue(path.join(dir, 'otherca'), path.join(dir, 'foreign'), 'client', '/O=lab/CN=maas-rack', CLIENT_EXT);
  // virsh checks its own certificate against its CA file and must trust our
  // server: give the foreign client both CAs, so only OUR check can fail.
  await writeFile(path.join(dir, 'foreign', 'cacert.pem'),
    (await readFile(path.join(dir, 'ca', 'cacert.pem'), 'utf8')) + (await readFile(path.join(dir, 'otherca', 'cacert.pem'), 'utf8')));
  await mkdir(path.join(dir, 'nocert'));
  await writeFile(path.join(dir, 'nocert', 'cacert.pem'), await readFile(path.join(dir, 'ca', 'cacert.pem')));
}

/** `STATE/users/maas/authorized_keys` holding a fresh key `DIR/maas_key` (the SSH user the policy tests log in as). */
export async function maasStateDir(dir: string): Promise<{ state: string; key: { priv: string; pub: string; fingerprint: string } }> {
  const state = path.join(dir, 'state');
  await mkdir(path.join(state, 'users', 'maas'), { recursive: true });
  const key = await sshKeygen(path.join(dir, 'maas_key'));
  await writeFile(path.join(state, 'users', 'maas', 'authorized_keys'), await readFile(`${key.priv}.pub`, 'utf8'));
  return { state, key };
}

export type ServeListener = 'ssh' | 'tcp' | 'unix';

/**
 * `node bin/vboxvirt.js serve ARGS` as a child, once it has printed a
 * `listening KIND …` line for every listener in `wait`; the ports of the
 * 127.0.0.1 ssh/tcp listeners it printed. If it exits or never gets there the
 * child is stopped before the error is thrown.
 */
export async function startServe(
  args: readonly string[], childEnv: NodeJS.ProcessEnv, wait: readonly ServeListener[],
): Promise<{ proc: LongProcess; stdout: string; ports: Partial<Record<'ssh' | 'tcp', number>> }> {
  const proc = startProcess(process.execPath, [VBOXVIRT_BIN, 'serve', ...args], { cwd: ROOT, env: childEnv });
  try {
    const out = await waitForProc('vboxvirt to print its listening lines', () => {
      if (proc.child.exitCode !== null) throw new Error(`vboxvirt exited: ${proc.stderr()}`);
      const o = proc.stdout();
      return wait.every((k) => new RegExp(`listening ${k} `).test(o)) ? o : undefined;
    }, 20_000);
    const ports: Partial<Record<'ssh' | 'tcp', number>> = {};
    for (const k of ['ssh', 'tcp'] as const) {
      const m = new RegExp(`listening ${k} 127\\.0\\.0\\.1:(\\d+)`).exec(out);
      if (m) ports[k] = Number(m[1]);
    }
    return { proc, stdout: out, ports };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

/**
 * `startServe` with a built-in SSH listener, plus an OpenSSH client set up to
 * trust its host key (read from STATE). `stop()` stops the daemon and removes
 * the client's files.
 */
export async function startServeWithSshClient(
  state: string, args: readonly string[], childEnv: NodeJS.ProcessEnv, wait: readonly ServeListener[],
): Promise<{ proc: LongProcess; ports: Partial<Record<'ssh' | 'tcp', number>>; client: SshClientSetup; stop(): Promise<void> }> {
  const served = await startServe(args, childEnv, wait);
  let client: SshClientSetup;
  try {
    client = await sshClient(served.ports.ssh!, await readFile(path.join(state, 'ssh_host_ed25519_key.pub'), 'utf8'));
  } catch (e) {
    await served.proc.stop();
    throw e;
  }
  return {
    proc: served.proc,
    ports: served.ports,
    client,
    stop: async () => {
      await served.proc.stop();
      await client.cleanup();
    },
  };
}

/**
 * For a `describe` of refusals: a beforeAll records the daemon's accepted
 * count and the length of the simulator's invocation log; `assertNothingReached()`
 * then checks the daemon accepted nothing since, no VirtualBox change ran and
 * the VM `test` is still running.
 */
export function refusalBaseline(sink: () => DaemonSink): { assertNothingReached(): Promise<void> } {
  let accepted = 0;
  let logLen = 0;
  beforeAll(async () => {
    accepted = sink().daemon.acceptedCount;
    logLen = (await sink().invocations()).length;
  });
  return {
    async assertNothingReached() {
      expect(sink().daemon.acceptedCount).toBe(accepted);
      expect((await sink().invocations()).slice(logLen).filter((a) => MUTATING.has(a[0]!))).toEqual([]);
      expect(await sink().sim.state('test')).toBe('running');
    },
  };
}
