/**
 * The built-in SSH server with the real OpenSSH client driven by real virsh
 * (qemu+ssh URIs), behind it the real daemon on the simulator (a sink that
 * records each identity, then hands the stream to the daemon).
 */
import { readFile, writeFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { startSshServer, type SshListener } from '../../src/transport/ssh.js';
import { setPassword } from '../../src/auth/passwords.js';
import { AuthThrottle } from '../../src/auth/throttle.js';
import { run, waitFor } from '../helpers/proc.js';
import { SYSTEM_PYTHON } from '../helpers/paths.js';
import { daemonSink, recordingSink, sshClient, sshKeygen, tmpDir, virshWith, FIXTURES, type DaemonSink, type SshClientSetup, refusalBaseline } from './fixtures.js';

let state: string;
let keys: string;
let sink: DaemonSink;
let srv: SshListener;
let client: SshClientSetup;
let alice: { priv: string; pub: string; fingerprint: string };
let aliceLocked: { priv: string; pub: string; fingerprint: string };
let mallory: { priv: string; pub: string; fingerprint: string };

const PASSPHRASE = 'correct horse battery';
const PASSWORD = 'power-pass-1';

beforeAll(async () => {
  sink = await daemonSink();
  state = await tmpDir('vv-sshs-');
  keys = await tmpDir('vv-keys-');
  alice = await sshKeygen(path.join(keys, 'alice'));
  aliceLocked = await sshKeygen(path.join(keys, 'alice-locked'), PASSPHRASE);
  mallory = await sshKeygen(path.join(keys, 'mallory'));
  await mkdir(path.join(state, 'users', 'alice'), { recursive: true });
  await writeFile(path.join(state, 'users', 'alice', 'authorized_keys'), alice.pub + aliceLocked.pub);
  await setPassword(path.join(state, 'passwords'), 'maas', PASSWORD);
  // Short delays so refusals stay quick; the throttle itself is unit-tested.
  srv = await startSshServer(sink, { host: '127.0.0.1', port: 0, stateDir: state, throttle: new AuthThrottle({ baseDelayMs: 50, maxDelayMs: 200 }) });
  client = await sshClient(srv.port, await readFile(path.join(state, 'ssh_host_ed25519_key.pub'), 'utf8'));
});

afterAll(async () => {
  await srv?.close();
  await sink?.close();
  await client?.cleanup();
  await rm(state, { recursive: true, force: true });
  await rm(keys, { recursive: true, force: true });
});

const uri = (user: string, query = '') => `qemu+ssh://${user}@127.0.0.1:${srv.port}/system${query}`;

function ssh(args: string[], input = '') {
  return run(client.wrapper, ['-p', String(srv.port), ...args], { env: client.env, input, timeoutMs: 20_000 });
}

describe('host key', () => {
  test('is generated on first start, 0600, and kept across restarts', async () => {
    const st = await stat(path.join(state, 'ssh_host_ed25519_key'));
    expect(st.mode & 0o777).toBe(0o600);
    const again = await startSshServer(recordingSink(), { port: 0, stateDir: state });
    try {
      expect(again.hostKeyFingerprint).toBe(srv.hostKeyFingerprint);
    } finally {
      await again.close();
    }
    const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(state, 'ssh_host_ed25519_key.pub')]);
    expect(fp.stdout.split(' ')[1]).toBe(srv.hostKeyFingerprint);
  });
});

describe('virsh over the built-in SSH server', () => {
  test('public key: virsh list works and the identity carries user and key fingerprint', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, uri('alice', `?keyfile=${alice.priv}`), ['list', '--all']);
    expect(r.stderr).toBe('');
    expect(r.rc).toBe(0);
    expect(r.stdout).toMatch(/\btest\s+running/);
    const id = sink.attached[before]!;
    expect(id).toMatchObject({ transport: 'ssh', user: 'alice', authMethod: 'publickey', fingerprint: alice.fingerprint, readOnlyTransport: false });
    expect(id.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test('virsh --readonly sends `virt-ssh-helper -r`: the identity is read-only', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, uri('alice', `?keyfile=${alice.priv}`), ['domstate', 'test'], ['--readonly']);
    expect(r.rc).toBe(0);
    expect(r.stdout.trim()).toBe('running');
    expect(sink.attached[before]).toMatchObject({ user: 'alice', readOnlyTransport: true });
  });

  test.each([
    ['proxy=netcat', false],
    ['socket=/var/run/libvirt/libvirt-sock-ro', true],
    ['proxy=native', false],
  ])('the %s command form is accepted', async (q, ro) => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, uri('alice', `?keyfile=${alice.priv}&${q}`), ['domstate', 'test']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('running');
    expect(sink.attached[before]).toMatchObject({ user: 'alice', readOnlyTransport: ro });
  });

  test('password login answered at the prompt through a pty, as MAAS does', async () => {
    const before = sink.attached.length;
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'maas_login.py'), uri('maas'), PASSWORD, 'domstate', 'test'], { env: client.env, timeoutMs: 60_000 });
    const res = JSON.parse(r.stdout) as { login: boolean; output: string; asked: string; prompts: number[] };
    expect(res.login).toBe(true);
    expect(res.asked.toLowerCase()).toContain('password');
    expect(res.output.trim()).toBe('running');
    expect(sink.attached[before]).toMatchObject({ transport: 'ssh', user: 'maas', authMethod: 'password' });
    expect(sink.attached[before]!.fingerprint).toBeUndefined();
  });

  test('passphrase-protected key: the passphrase prompt is answered as MAAS does', async () => {
    const before = sink.attached.length;
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'maas_login.py'), uri('alice', `?keyfile=${aliceLocked.priv}`), PASSPHRASE, 'domstate', 'test'], { env: client.env, timeoutMs: 60_000 });
    const res = JSON.parse(r.stdout) as { login: boolean; output: string; asked: string };
    expect(res.asked).toMatch(/passphrase for key/i);
    expect(res.login).toBe(true);
    expect(res.output.trim()).toBe('running');
    expect(sink.attached[before]).toMatchObject({ user: 'alice', authMethod: 'publickey', fingerprint: aliceLocked.fingerprint });
  });
});

test('a port in use is a typed error naming the address', async () => {
  await expect(startSshServer(recordingSink(), { host: '127.0.0.1', port: srv.port, stateDir: state })).rejects.toMatchObject({
    code: 'ERR_LISTEN',
    message: `cannot listen for ssh on 127.0.0.1:${srv.port}: EADDRINUSE`,
  });
});

describe('MAAS and operator variants', () => {
  test('MAAS exactly: ?command=unverified-ssh (no host key check), password at the prompt', async () => {
    const unverified = path.join(client.dir, 'unverified-ssh');
    // /usr/lib/maas/unverified-ssh
    await writeFile(unverified, '#!/bin/sh\nexec /usr/bin/ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "$@"\n', { mode: 0o755 });
    const before = sink.attached.length;
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'maas_login.py'), uri('maas', `?command=${unverified}`), PASSWORD, 'list', '--all'], { env: client.env, timeoutMs: 60_000 });
    const res = JSON.parse(r.stdout) as { login: boolean; output: string };
    expect(res.login).toBe(true);
    expect(res.output).toMatch(/\btest\s+running/);
    expect(sink.attached[before]).toMatchObject({ user: 'maas', authMethod: 'password' });
  });

  test('--authorized-keys FILE without USER= is for the user the daemon runs as', async () => {
    const { userInfo } = await import('node:os');
    const me = userInfo().username;
    const file = path.join(keys, 'operator_keys');
    await writeFile(file, mallory.pub);
    const s2 = await startSshServer(sink, { port: 0, stateDir: state, authorizedKeys: [{ file }] });
    const c2 = await sshClient(s2.port, await readFile(path.join(state, 'ssh_host_ed25519_key.pub'), 'utf8'));
    try {
      const before = sink.attached.length;
      const ok = await virshWith(c2.env, `qemu+ssh://${me}@127.0.0.1:${s2.port}/system?keyfile=${mallory.priv}`, ['domstate', 'test']);
      expect(ok.stdout.trim()).toBe('running');
      expect(sink.attached[before]).toMatchObject({ user: me, fingerprint: mallory.fingerprint });
      const other = await virshWith(c2.env, `qemu+ssh://alice@127.0.0.1:${s2.port}/system?keyfile=${mallory.priv}&no_tty=1`, ['domstate', 'test']);
      expect(other.rc).toBe(1);
      expect(other.stderr).toMatch(/Permission denied/);
    } finally {
      await s2.close();
      await c2.cleanup();
    }
  });
});

describe('refusals (nothing reaches the daemon)', () => {
  const baseline = refusalBaseline(() => sink);
  test('wrong key', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, uri('alice', `?keyfile=${mallory.priv}&no_tty=1`), ['destroy', 'test']);
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied \(publickey/);
    expect(sink.attached.length).toBe(before);
  });

  test('a key that belongs to another user', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, uri('maas', `?keyfile=${alice.priv}&no_tty=1`), ['destroy', 'test']);
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(sink.attached.length).toBe(before);
  });

  test('an unreadable authorized_keys (a directory) refuses that user and harms nothing else', async () => {
    await mkdir(path.join(state, 'users', 'broken', 'authorized_keys'), { recursive: true });
    const before = sink.attached.length;
    const r = await virshWith(client.env, uri('broken', `?keyfile=${alice.priv}&no_tty=1`), ['destroy', 'test']);
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(sink.attached.length).toBe(before);
  });

  test('unknown user', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, uri('nobody', `?keyfile=${alice.priv}&no_tty=1`), ['destroy', 'test']);
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(sink.attached.length).toBe(before);
  });

  test('wrong password (MAAS sees "Permission denied, please try again")', async () => {
    const before = sink.attached.length;
    const failed = srv.stats().failedAuth;
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'maas_login.py'), uri('maas'), 'not-the-password', 'destroy', 'test'], { env: client.env, timeoutMs: 60_000 });
    const res = JSON.parse(r.stdout) as { login: boolean; prompts: number[] };
    expect(res.login).toBe(false);
    // ssh's stderr ("Permission denied, please try again.") goes to virsh's
    // pipe, not the tty: MAAS sees a second password prompt and gives up.
    expect(res.prompts).toEqual([1, 1]);
    expect(srv.stats().failedAuth).toBeGreaterThan(failed);
    expect(sink.attached.length).toBe(before);
  });

  test('password for an unknown user', async () => {
    const before = sink.attached.length;
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'maas_login.py'), uri('ghost'), PASSWORD, 'destroy', 'test'], { env: client.env, timeoutMs: 60_000 });
    const res = JSON.parse(r.stdout) as { login: boolean; prompts: number[] };
    expect(res.login).toBe(false);
    expect(res.prompts).toEqual([1, 1]);
    expect(sink.attached.length).toBe(before);
  });

  test('a shell (no command) gets a clear message and a non-zero exit', async () => {
    const before = sink.attached.length;
    const r = await ssh(['-T', '-i', alice.priv, 'alice@127.0.0.1']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('interactive shells are not available');
    expect(sink.attached.length).toBe(before);
  });

  test('a pty request is refused (ssh -tt gives up)', async () => {
    const before = sink.attached.length;
    const r = await ssh(['-tt', '-i', alice.priv, 'alice@127.0.0.1'], 'id\n');
    expect(r.rc).toBe(255);
    expect(r.stderr).toMatch(/PTY allocation request failed/);
    expect(r.stdout).toBe('');
    expect(sink.attached.length).toBe(before);
  });

  test.each([
    'id',
    'cat /etc/passwd',
    "sh -c 'nc -U /var/run/libvirt/libvirt-sock; id'",
    "virt-ssh-helper 'qemu:///system'; id",
    'virt-ssh-helper $(id)',
    "sh -c 'virt-ssh-helper qemu:///system' extra",
    "bash -c 'virt-ssh-helper qemu:///system'",
  ])('an unexpected command is refused: %s', async (cmd) => {
    const before = sink.attached.length;
    const refused = srv.stats().refusedCommands;
    const r = await ssh(['-T', '-i', alice.priv, 'alice@127.0.0.1', cmd]);
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('vboxvirt: command refused');
    expect(r.stdout).toBe('');
    expect(srv.stats().refusedCommands).toBe(refused + 1);
    expect(sink.attached.length).toBe(before);
  });

  test('environment variables are not accepted (SendEnv)', async () => {
    const r = await ssh(['-T', '-o', 'SetEnv=LD_PRELOAD=/tmp/x.so', '-i', alice.priv, 'alice@127.0.0.1', 'id']);
    // The env request is refused silently by protocol (no reply wanted); the command is refused anyway.
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('command refused');
  });

  test('port forwarding (-W) is refused', async () => {
    const r = await ssh(['-T', '-i', alice.priv, '-W', `127.0.0.1:${srv.port}`, 'alice@127.0.0.1']);
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toMatch(/stdio forwarding failed|administratively prohibited|open failed/);
  });

  test('remote port forwarding (-R) is refused', async () => {
    const r = await ssh(['-T', '-N', '-o', 'ExitOnForwardFailure=yes', '-i', alice.priv, '-R', '0:127.0.0.1:9', 'alice@127.0.0.1']);
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toMatch(/remote port forwarding failed/);
  });

  test('garbage instead of an SSH handshake: the connection is closed, the server keeps serving', async () => {
    const net = await import('node:net');
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from('SSH-2.0-x\r\n\0\0\0\x10garbagegarbage!!'), Buffer.alloc(70000, 0x41)]) {
      const s = net.connect({ host: '127.0.0.1', port: srv.port });
      s.on('error', () => {});
      s.resume();
      s.write(junk);
      await new Promise<void>((res) => s.once('close', () => res()));
    }
    // Still serving: a real client authenticates and is refused a shell (nothing reaches the daemon).
    const r = await ssh(['-T', '-i', alice.priv, 'alice@127.0.0.1']);
    expect(r.stderr).toContain('interactive shells are not available');
  });

  test('subsystems (sftp) are refused', async () => {
    const r = await ssh(['-T', '-i', alice.priv, '-s', 'alice@127.0.0.1', 'sftp']);
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toMatch(/subsystem request failed/);
  });

  test('connections that never authenticate are limited', async () => {
    const small = await startSshServer(recordingSink(), { port: 0, stateDir: state, maxUnauthenticated: 2, loginGraceMs: 20_000 });
    const net = await import('node:net');
    const socks: import('node:net').Socket[] = [];
    try {
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        const s = net.connect({ host: '127.0.0.1', port: small.port });
        socks.push(s);
        // The first two get the SSH banner; the others are closed at once.
        got.push(await new Promise<string>((res) => {
          s.once('data', (b: Buffer) => res(b.toString('latin1').split('\r\n')[0]!));
          s.once('close', () => res('closed'));
        }));
      }
      expect(got.slice(0, 2)).toEqual(['SSH-2.0-vboxvirt', 'SSH-2.0-vboxvirt']);
      expect(got.slice(2)).toEqual(['closed', 'closed']);
      expect(small.stats().unauthenticated).toBe(2);
      // Once one goes away, a new one is served again.
      await new Promise<void>((res) => { socks[0]!.once('close', () => res()); socks[0]!.destroy(); });
      await new Promise((r) => setTimeout(r, 50));
      const s = net.connect({ host: '127.0.0.1', port: small.port });
      socks.push(s);
      const banner = await new Promise<string>((res) => {
        s.once('data', (b: Buffer) => res(b.toString('latin1').split('\r\n')[0]!));
        s.once('close', () => res('closed'));
      });
      expect(banner).toBe('SSH-2.0-vboxvirt');
    } finally {
      socks.forEach((s) => s.destroy());
      await small.close();
    }
  });

  test('a connection that does not authenticate within the grace time is closed', async () => {
    const small = await startSshServer(recordingSink(), { port: 0, stateDir: state, loginGraceMs: 300 });
    const net = await import('node:net');
    const s = net.connect({ host: '127.0.0.1', port: small.port });
    s.resume();
    try {
      await new Promise<void>((res) => s.once('close', () => res()));
      await waitFor('server side to forget the connection', () => small.stats().unauthenticated === 0);
    } finally {
      s.destroy();
      await small.close();
    }
  });

  test('after all of them: the daemon accepted nothing and no VirtualBox change ran', async () => {
    await baseline.assertNothingReached();
  });
});
