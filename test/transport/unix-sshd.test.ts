/**
 * Unix-socket listener, bin/virt-ssh-helper.js and the stdio transport, with
 * real virsh: directly (qemu+unix://?socket=), through the helper and through
 * stdio (libvirt's ext transport runs a command and talks over its stdio), and
 * through a real OpenSSH sshd on 127.0.0.1 (own config, host key and port,
 * started and stopped here) with virsh's default command (virt-ssh-helper on
 * the remote PATH) and with `?socket=` (the `nc -U` form).
 * Behind the listener: the real daemon on the simulator (a sink records each identity).
 */
import { mkdir, rm, writeFile, chmod, stat, readFile } from 'node:fs/promises';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startUnixServer, UnixSocketError, type UnixListener } from '../../src/transport/unix.js';
import { run, startProcess, type LongProcess } from '../helpers/proc.js';
import { freePort, waitForListening } from '../helpers/net.js';
import { ROOT, SYSTEM_PYTHON } from '../helpers/paths.js';
import { clientEnv } from '../helpers/virsh.js';
import { daemonSink, sshClient, sshKeygen, tmpDir, virshWith, FIXTURES, MUTATING, type DaemonSink, type SshClientSetup } from './fixtures.js';

const HELPER = path.join(ROOT, 'bin', 'virt-ssh-helper.js');
let dir: string;
let sock: string;
let sink: DaemonSink;
let unix: UnixListener;
const env = clientEnv();

beforeAll(async () => {
  sink = await daemonSink();
  dir = await tmpDir('vv-unix-');
  sock = path.join(dir, 'run', 'libvirt-sock');
  unix = await startUnixServer(sink, { path: sock });
});

afterAll(async () => {
  await unix?.close();
  await sink?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A script for libvirt's ext transport (it runs `command` with no arguments). */
async function extCommand(name: string, body: string): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
  return p;
}

describe('unix socket listener', () => {
  test('creates PATH and PATH-ro with mode 0600', async () => {
    expect(unix.paths).toEqual([sock, `${sock}-ro`]);
    for (const p of unix.paths) {
      const st = await stat(p);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
    }
  });

  test('virsh over qemu+unix://?socket= works; the -ro socket gives a read-only identity', async () => {
    const before = sink.attached.length;
    const r = await virshWith(env, `qemu+unix:///system?socket=${sock}`, ['domstate', 'test']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('running');
    expect(sink.attached[before]).toEqual({ transport: 'unix', address: 'local', authMethod: 'none', readOnlyTransport: false });
    const r2 = await virshWith(env, `qemu+unix:///system?socket=${sock}-ro`, ['domstate', 'test']);
    expect(r2.stdout.trim()).toBe('running');
    expect(sink.attached[before + 1]).toMatchObject({ transport: 'unix', readOnlyTransport: true });
  });

  test('a stale socket file is removed; a regular file or a live socket is never touched', async () => {
    const d = path.join(dir, 'stale');
    await mkdir(d);
    const stale = path.join(d, 'sock');
    // A socket file nobody listens on (python binds and exits without unlinking).
    const py = await run(SYSTEM_PYTHON, ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    expect(py.rc).toBe(0);
    expect((await stat(stale)).isSocket()).toBe(true);
    const l = await startUnixServer(sink, { path: stale, readOnlySocket: false });
    try {
      // The path is in use now: a second server refuses and leaves it alone.
      await expect(startUnixServer(sink, { path: stale, readOnlySocket: false })).rejects.toMatchObject({ code: 'ERR_UNIX_IN_USE' });
      const r = await virshWith(env, `qemu+unix:///system?socket=${stale}`, ['domstate', 'test']);
      expect(r.stdout.trim()).toBe('running');
    } finally {
      await l.close();
    }
    expect(existsSync(stale)).toBe(false);
    const regular = path.join(d, 'file');
    await writeFile(regular, 'precious');
    const err = await startUnixServer(sink, { path: regular, readOnlySocket: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnixSocketError);
    expect(err).toMatchObject({ code: 'ERR_UNIX_NOT_SOCKET' });
    expect(await readFile(regular, 'utf8')).toBe('precious');
  });

  test('mode 0660 when asked', async () => {
    const p = path.join(dir, 'grp-sock');
    const l = await startUnixServer(sink, { path: p, mode: 0o660, readOnlySocket: false });
    try {
      expect((await stat(p)).mode & 0o777).toBe(0o660);
    } finally {
      await l.close();
    }
  });
});

describe('virt-ssh-helper', () => {
  test('joins stdio to the socket from VBOXVIRT_SOCKET (virsh through the ext transport)', async () => {
    const cmd = await extCommand('helper-rw', `VBOXVIRT_SOCKET='${sock}' exec '${process.execPath}' '${HELPER}' 'qemu:///system'`);
    const before = sink.attached.length;
    const r = await virshWith(env, `qemu+ext:///system?command=${cmd}`, ['list', '--all']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/\btest\s+running/);
    expect(sink.attached[before]).toMatchObject({ transport: 'unix', readOnlyTransport: false });
  });

  test('-r uses the read-only socket', async () => {
    const cmd = await extCommand('helper-ro', `VBOXVIRT_SOCKET='${sock}' exec '${process.execPath}' '${HELPER}' -r 'qemu:///system'`);
    const before = sink.attached.length;
    const r = await virshWith(env, `qemu+ext:///system?command=${cmd}`, ['domstate', 'test']);
    expect(r.stdout.trim()).toBe('running');
    expect(sink.attached[before]).toMatchObject({ transport: 'unix', readOnlyTransport: true });
  });

  test('without VBOXVIRT_SOCKET it uses the daemon\'s default socket in the state directory', async () => {
    const xdg = path.join(dir, 'xdg');
    const def = await startUnixServer(sink, { path: path.join(xdg, 'vboxvirt', 'libvirt-sock') });
    try {
      const cmd = await extCommand('helper-default', `unset VBOXVIRT_SOCKET; XDG_STATE_HOME='${xdg}' exec '${process.execPath}' '${HELPER}' -r 'qemu:///system'`);
      const before = sink.attached.length;
      const r = await virshWith(env, `qemu+ext:///system?command=${cmd}`, ['domstate', 'test']);
      expect(r.stdout.trim()).toBe('running');
      expect(sink.attached[before]).toMatchObject({ transport: 'unix', readOnlyTransport: true });
    } finally {
      await def.close();
    }
  });

  test('a socket that does not exist: virsh shows the helper\'s message', async () => {
    const missing = path.join(dir, 'nothing-here');
    const cmd = await extCommand('helper-missing', `VBOXVIRT_SOCKET='${missing}' exec '${process.execPath}' '${HELPER}' 'qemu:///system'`);
    const r = await virshWith(env, `qemu+ext:///system?command=${cmd}`, ['list']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain(`virt-ssh-helper: cannot connect to '${missing}'`);
  });

  test('bad arguments: usage on stderr, exit 2', async () => {
    const r = await run(process.execPath, [HELPER], { env: { ...process.env, VBOXVIRT_SOCKET: sock } });
    expect(r.rc).toBe(2);
    expect(r.stderr).toMatch(/^usage: virt-ssh-helper \[-r\|--readonly\] URI/);
    const r2 = await run(process.execPath, [HELPER, '--evil', 'qemu:///system']);
    expect(r2.rc).toBe(2);
    expect(r2.stderr).toContain("unknown option '--evil'");
  });
});

describe('stdio transport', () => {
  test('virsh over stdio (ext transport → serveStdio); identity from the environment', async () => {
    const fixture = path.join(FIXTURES, 'stdio-serve.mjs');
    const log = path.join(dir, 'stdio-identity.json');
    const cmd = await extCommand('stdio', `exec '${process.execPath}' '${fixture}' '${sock}' '${log}'`);
    const r = await virshWith(env, `qemu+ext:///system?command=${cmd}`, ['domstate', 'test']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('running');
    const id = JSON.parse(await readFile(log, 'utf8')) as Record<string, unknown>;
    expect(id).toMatchObject({ transport: 'stdio', address: 'local', readOnlyTransport: false });
  });

  test('under sshd ForceCommand, a non-libvirt SSH_ORIGINAL_COMMAND is refused', async () => {
    const fixture = path.join(FIXTURES, 'stdio-serve.mjs');
    const r = await run(process.execPath, [fixture, sock, path.join(dir, 'x.json')], {
      env: { ...process.env, SSH_ORIGINAL_COMMAND: 'cat /etc/shadow', SSH_CONNECTION: '10.1.2.3 5555 10.1.2.4 22' },
    });
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('vboxvirt: command refused');
    expect(existsSync(path.join(dir, 'x.json'))).toBe(false);
  });
});

describe('through a real OpenSSH sshd', () => {
  let sshd: LongProcess | undefined;
  let sdir: string;
  let port: number;
  let client: SshClientSetup;
  let key: { priv: string; fingerprint: string };

  beforeAll(async () => {
    sdir = await tmpDir('vv-sshd-');
    port = await freePort();
    await mkdir(path.join(sdir, 'bin'));
    // The helper on the remote PATH, as `npm install -g` would put it there.
    await writeFile(path.join(sdir, 'bin', 'virt-ssh-helper'), `#!/bin/sh\nexec '${process.execPath}' '${HELPER}' "$@"\n`);
    await chmod(path.join(sdir, 'bin', 'virt-ssh-helper'), 0o755);
    const hk = await sshKeygen(path.join(sdir, 'host_key'));
    key = await sshKeygen(path.join(sdir, 'client_key'));
    await writeFile(path.join(sdir, 'authorized_keys'), await readFile(`${key.priv}.pub`, 'utf8'));
    await writeFile(
      path.join(sdir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hk.priv}`,
        `PidFile ${path.join(sdir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(sdir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        // The non-interactive PATH holding virt-ssh-helper, and the socket it uses.
        `SetEnv PATH=${path.join(sdir, 'bin')}:/usr/bin:/bin VBOXVIRT_SOCKET=${sock}`,
        '',
      ].join('\n'),
    );
    // sshd insists on its privilege-separation directory (the Debian unit creates it at boot).
    if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
    sshd = startProcess('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(sdir, 'sshd_config')]);
    try {
      await waitForListening(port);
    } catch (e) {
      throw new Error(`sshd did not start: ${sshd.stderr()}`);
    }
    client = await sshClient(port, hk.pub);
  });

  afterAll(async () => {
    await sshd?.stop();
    await client?.cleanup();
    await rm(sdir, { recursive: true, force: true });
  });

  const user = () => (process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root'));

  test('virsh qemu+ssh default command: sshd runs virt-ssh-helper from its PATH', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, `qemu+ssh://${user()}@127.0.0.1:${port}/system?keyfile=${key.priv}`, ['list', '--all']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/\btest\s+running/);
    expect(sink.attached[before]).toMatchObject({ transport: 'unix', readOnlyTransport: false });
    expect(sshd!.stderr()).toContain(`Accepted publickey for ${user()}`);
  });

  test('virsh --readonly: `virt-ssh-helper -r` reaches the read-only socket', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, `qemu+ssh://${user()}@127.0.0.1:${port}/system?keyfile=${key.priv}`, ['domstate', 'test'], ['--readonly']);
    expect(r.stdout.trim()).toBe('running');
    expect(sink.attached[before]).toMatchObject({ transport: 'unix', readOnlyTransport: true });
  });

  test('?socket=<our socket>: the nc -U form', async () => {
    const before = sink.attached.length;
    const r = await virshWith(client.env, `qemu+ssh://${user()}@127.0.0.1:${port}/system?keyfile=${key.priv}&socket=${sock}`, ['domstate', 'test']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('running');
    expect(sink.attached[before]).toMatchObject({ transport: 'unix', readOnlyTransport: false });
  });

  test('a wrong key is refused by sshd and nothing reaches the daemon', async () => {
    const other = await sshKeygen(path.join(sdir, 'other_key'));
    const before = sink.attached.length;
    const accepted = sink.daemon.acceptedCount;
    const logLen = (await sink.invocations()).length;
    const r = await virshWith(client.env, `qemu+ssh://${user()}@127.0.0.1:${port}/system?keyfile=${other.priv}&no_tty=1`, ['destroy', 'test']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(sink.attached.length).toBe(before);
    expect(sink.daemon.acceptedCount).toBe(accepted);
    expect((await sink.invocations()).slice(logLen).filter((a) => MUTATING.has(a[0]!))).toEqual([]);
    expect(await sink.sim.state('test')).toBe('running');
  });
});

test('the relay sink closes its libvirtd side when the client goes (no leak)', async () => {
  const c = net.connect({ path: sock });
  await new Promise<void>((r) => c.once('connect', () => r()));
  const { waitFor } = await import('../helpers/proc.js');
  await waitFor('the connection to be attached', () => sink.open() > 0);
  c.destroy();
  await waitFor('every relayed connection to close', () => sink.open() === 0);
});
