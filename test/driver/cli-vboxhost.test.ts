/**
 * `vboxvirt serve --vbox-host ssh://…` end to end: a real OpenSSH sshd on
 * 127.0.0.1 (port picked here), whose "VBoxManage" is vboxsim, driven by real
 * virsh through the daemon. Also the host-key flags: an unknown host key is
 * refused unless --accept-new-host-key, which records it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/proc.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { virsh, virshOk } from '../helpers/virsh.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VBOXVIRT = path.join(ROOT, 'bin', 'vboxvirt.js');
const VBOXSIM = path.join(ROOT, 'bin', 'vboxsim.js');

let dir = '';
let simHome = '';
let sshd: Sshd | undefined;
let port = 0;
const children = new Set<ChildProcess>();

async function serve(extra: string[]): Promise<{ child: ChildProcess; uri?: string; stderr: () => string; exited: Promise<number | null> }> {
  const user = os.userInfo().username;
  const child = spawn(
    process.execPath,
    [
      VBOXVIRT, 'serve', '--backend', 'vboxmanage', '--vbox-host', `ssh://${user}@127.0.0.1:${port}`,
      '--vbox-ssh-key', sshd!.clientKey, '--remote-vboxmanage', path.join(dir, 'VBoxManage'),
      '--remote-vbox-user-home', simHome, '--listen-tcp', '127.0.0.1:0', '--log-level', 'debug', ...extra,
    ],
    { cwd: ROOT, env: { ...process.env, SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => { children.delete(child); r(c); }));
  const p = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /^listening tcp 127\.0\.0\.1:(\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((c) => reject(new Error(`vboxvirt exited ${c}: ${err}`)));
  });
  return { child, uri: `qemu+tcp://127.0.0.1:${p}/system`, stderr: () => err, exited };
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  child.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vboxvirt-vboxhost-'));
  chmodSync(dir, 0o755);
  simHome = path.join(dir, 'vbox home');
  mkdirSync(simHome);
  writeFileSync(path.join(dir, 'VBoxManage'), `#!/bin/sh\nexec '${process.execPath}' '${VBOXSIM}' "$@"\n`);
  chmodSync(path.join(dir, 'VBoxManage'), 0o755);
  sshd = await startSshd({ logLevel: 'ERROR', maxSessions: 20 });
  port = sshd.port;
  // two VMs in the simulator on the "remote" host
  const sim = async (args: string[]) => {
    const r = await run(process.execPath, [VBOXSIM, ...args], { env: { ...process.env, VBOX_USER_HOME: simHome }, timeoutMs: 30_000 });
    if (r.rc !== 0) throw new Error(`vboxsim ${args.join(' ')}: ${r.stderr}`);
  };
  await sim(['createvm', '--name', 'remote-vm', '--ostype', 'Ubuntu_64', '--register']);
  await sim(['createvm', '--name', 'remote vm 2', '--ostype', 'Ubuntu_64', '--register']);
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('an unknown host key is refused; --accept-new-host-key records it; then virsh drives the remote VirtualBox', async () => {
  const kh = path.join(dir, 'known_hosts');
  writeFileSync(kh, '');
  const strict = await serve(['--vbox-known-hosts', kh]);
  const refused = await virsh(['list', '--all'], { uri: strict.uri! });
  expect(refused.rc).toBe(1);
  expect(refused.stderr).toMatch(/--accept-new-host-key/);
  expect(await stop(strict.child, strict.exited)).toBe(0);
  expect(readFileSync(kh, 'utf8')).toBe('');

  const tofu = await serve(['--vbox-known-hosts', kh, '--accept-new-host-key']);
  try {
    const names = (await virshOk(['list', '--all', '--name'], { uri: tofu.uri! })).split('\n').filter(Boolean).sort();
    expect(names[0]).toBe('remote-vm');
    expect(names[1]).toMatch(/^remote-vm-2-[0-9a-f]{8}$/);
    expect(readFileSync(kh, 'utf8')).toContain(`[127.0.0.1]:${port}`);
    expect(await virshOk(['start', 'remote-vm'], { uri: tofu.uri! })).toContain("Domain 'remote-vm' started");
    expect((await virshOk(['domstate', 'remote-vm'], { uri: tofu.uri! })).trim()).toBe('running');
    expect(await virshOk(['destroy', 'remote-vm'], { uri: tofu.uri! })).toContain('destroyed');
    // The VirtualBox machine names itself (`uname -n` over the SSH connection), as
    // a remote libvirtd would; here the far side of sshd is this machine.
    const far = (await run('uname', ['-n'])).stdout.trim();
    expect((await virshOk(['hostname'], { uri: tofu.uri! })).trim()).toBe(far);
    // nodeinfo's CPU model is the far side's architecture as a kernel name.
    const arch = (await run('uname', ['-m'])).stdout.trim();
    expect(await virshOk(['nodeinfo'], { uri: tofu.uri! })).toMatch(new RegExp(`^CPU model:\\s+${arch}$`, 'm'));
  } finally {
    expect(await stop(tofu.child, tofu.exited)).toBe(0);
  }
});
