/**
 * End to end with the REAL daemon (src/daemon.ts) on the in-process simulator
 * (`--backend sim`), its listeners started through the CLI glue
 * (startSecureListeners): real virsh changes VMs over SSH (key, password),
 * TLS and the unix socket; every refused attempt leaves the daemon untouched
 * (no connection accepted) and the simulator's invocation log shows no change
 * to any VM.
 */
import { readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Daemon } from '../../src/daemon.js';
import { createSimHost as createSimBackend } from '../../src/vbox/index.js';
import { nullLogger } from '../../src/log.js';
import type { Listener } from '../../src/transport/types.js';
import { startSecureListeners } from '../../src/cli/listeners-secure.js';
import { setPassword } from '../../src/auth/passwords.js';
import { createSimHost, type SimHost } from '../helpers/simhost.js';
import { run } from '../helpers/proc.js';
import { SYSTEM_PYTHON } from '../helpers/paths.js';
import { clientEnv } from '../helpers/virsh.js';
import { makePki, sshClient, sshKeygen, tmpDir, virshWith, FIXTURES, type SshClientSetup } from './fixtures.js';

let sim: SimHost;
let daemon: Daemon;
let listeners: Listener[];
let dir: string;
let client: SshClientSetup;
let key: { priv: string };
let badKey: { priv: string };
const PASSWORD = 'power pass with spaces';
const env = clientEnv();

const MUTATING = new Set(['startvm', 'controlvm', 'modifyvm', 'unregistervm', 'createvm', 'discardstate', 'registervm', 'snapshot', 'storageattach', 'storagectl']);

async function invocations(): Promise<string[][]> {
  const f = path.join(sim.home, 'vboxsim-invocations.jsonl');
  if (!existsSync(f)) return [];
  return (await readFile(f, 'utf8')).trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { argv: string[] }).argv);
}

const port = (kind: string) => Number(listeners.find((l) => l.kind === kind)!.address.split(':').pop());
const sshUri = (user: string, q = '') => `qemu+ssh://${user}@127.0.0.1:${port('ssh')}/system${q}`;
const tlsUri = (pki: string) => `qemu+tls://127.0.0.1:${port('tls')}/system?pkipath=${path.join(dir, 'pki', pki)}`;

beforeAll(async () => {
  sim = await createSimHost();
  await sim.createVm('node1', { macs: ['080027AABB01'], boot: ['net', 'disk'] });
  await sim.createVm('node2', { macs: ['080027AABB02'], start: true });
  dir = await tmpDir('vv-e2e-');
  const state = path.join(dir, 'state');
  await mkdir(path.join(state, 'users', 'maas'), { recursive: true });
  key = await sshKeygen(path.join(dir, 'maas_key'));
  badKey = await sshKeygen(path.join(dir, 'other_key'));
  await writeFile(path.join(state, 'users', 'maas', 'authorized_keys'), await readFile(`${key.priv}.pub`, 'utf8'));
  await setPassword(path.join(state, 'passwords'), 'maas', PASSWORD);
  await makePki(path.join(dir, 'pki'));
  daemon = new Daemon({ host: createSimBackend({ home: sim.home, env: { VBOXSIM_LOG: '1' } }), logger: nullLogger() });
  listeners = await startSecureListeners(
    daemon,
    {
      stateDir: state,
      listenSsh: '127.0.0.1:0',
      listenTls: '127.0.0.1:0',
      tlsDir: path.join(dir, 'pki', 'server'),
      tlsAllowedDn: ['maas-*'],
      listenUnix: path.join(dir, 'sock', 'libvirt-sock'),
    },
    nullLogger(),
  );
  client = await sshClient(port('ssh'), await readFile(path.join(state, 'ssh_host_ed25519_key.pub'), 'utf8'));
});

afterAll(async () => {
  await Promise.allSettled((listeners ?? []).map((l) => l.close()));
  await daemon?.close();
  await client?.cleanup();
  await sim?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the listeners are up where asked', () => {
  expect(listeners.map((l) => l.kind)).toEqual(['ssh', 'unix', 'tls']);
  expect(listeners.find((l) => l.kind === 'unix')!.address).toBe(path.join(dir, 'sock', 'libvirt-sock'));
});

test('SSH public key: virsh starts and stops a VM', async () => {
  const uri = sshUri('maas', `?keyfile=${key.priv}`);
  let r = await virshWith(client.env, uri, ['start', 'node1']);
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('Domain \'node1\' started');
  expect(await sim.state('node1')).toBe('running');
  // The invocation log is live (so the refusal checks below are not vacuous).
  expect((await invocations()).some((argv) => argv[0] === 'startvm' && argv.includes('headless'))).toBe(true);
  r = await virshWith(client.env, uri, ['destroy', 'node1']);
  expect(r.stdout).toContain('Domain \'node1\' destroyed');
  expect(await sim.state('node1')).toBe('poweroff');
});

test('SSH password (MAAS pexpect login): domstate', async () => {
  const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'maas_login.py'), sshUri('maas'), PASSWORD, 'domstate', 'node2'], { env: client.env, timeoutMs: 60_000 });
  const res = JSON.parse(r.stdout) as { login: boolean; output: string };
  expect(res.login).toBe(true);
  expect(res.output.trim()).toBe('running');
});

test('TLS with an allowed client certificate: list', async () => {
  const r = await virshWith(env, tlsUri('maas'), ['list', '--all']);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/node1\s+shut off/);
  expect(r.stdout).toMatch(/node2\s+running/);
});

test('unix socket: list; the -ro socket refuses changes', async () => {
  const sock = path.join(dir, 'sock', 'libvirt-sock');
  const r = await virshWith(env, `qemu+unix:///system?socket=${sock}`, ['domstate', 'node2']);
  expect(r.stdout.trim()).toBe('running');
  const ro = await virshWith(env, `qemu+unix:///system?socket=${sock}-ro`, ['destroy', 'node2']);
  expect(ro.rc).toBe(1);
  expect(ro.stderr).toMatch(/read only|read-only/i);
  expect(await sim.state('node2')).toBe('running');
});

test('virsh --readonly over SSH (virt-ssh-helper -r): a change is refused and nothing is done', async () => {
  const r = await virshWith(client.env, sshUri('maas', `?keyfile=${key.priv}`), ['destroy', 'node2'], ['--readonly']);
  expect(r.rc).toBe(1);
  expect(r.stderr).toMatch(/read only|read-only/i);
  expect(await sim.state('node2')).toBe('running');
});

describe('refusals: the daemon never sees the connection, no VM is touched', () => {
  let accepted: number;
  let logLen: number;
  beforeAll(async () => {
    accepted = daemon.acceptedCount;
    logLen = (await invocations()).length;
  });

  test('wrong key', async () => {
    const r = await virshWith(client.env, sshUri('maas', `?keyfile=${badKey.priv}&no_tty=1`), ['destroy', 'node2']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  test('unknown user', async () => {
    const r = await virshWith(client.env, sshUri('root', `?keyfile=${key.priv}&no_tty=1`), ['destroy', 'node2']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  test('wrong password', async () => {
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'maas_login.py'), sshUri('maas'), 'wrong', 'destroy', 'node2'], { env: client.env, timeoutMs: 60_000 });
    expect((JSON.parse(r.stdout) as { login: boolean }).login).toBe(false);
  });

  test('a shell request', async () => {
    const r = await run(client.wrapper, ['-T', '-p', String(port('ssh')), '-i', key.priv, 'maas@127.0.0.1'], { env: client.env, input: 'VBoxManage controlvm node2 poweroff\n' });
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('interactive shells are not available');
  });

  test('an unexpected command', async () => {
    const r = await run(client.wrapper, ['-T', '-p', String(port('ssh')), '-i', key.priv, 'maas@127.0.0.1', 'VBoxManage controlvm node2 poweroff'], { env: client.env });
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('command refused');
  });

  test('TLS without a client certificate', async () => {
    const r = await virshWith(env, tlsUri('nocert'), ['destroy', 'node2']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/failed to connect to the hypervisor/);
  });

  test('TLS certificate from another CA', async () => {
    const r = await virshWith(env, tlsUri('foreign'), ['destroy', 'node2']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/Unable to read TLS confirmation/);
  });

  test('TLS certificate name not on the allow-list', async () => {
    const r = await virshWith(env, tlsUri('intruder'), ['destroy', 'node2']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('server verification (of our certificate or IP address) failed');
  });

  test('after all of them: no connection reached the daemon, no VBoxManage change ran, node2 still running', async () => {
    expect(daemon.acceptedCount).toBe(accepted);
    const after = (await invocations()).slice(logLen);
    expect(after.filter((argv) => MUTATING.has(argv[0]!))).toEqual([]);
    expect(await sim.state('node2')).toBe('running');
  });
});
