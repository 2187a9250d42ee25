/**
 * The real command line: `vboxvirt serve --backend sim --listen-ssh … --listen-unix …
 * --policy … --audit-log …` as a child process, driven by real virsh; and
 * `vboxvirt serve --stdio` through libvirt's ext transport. Checks the whole
 * chain: transport identity → policy (what a user sees and may change) →
 * audit log lines, and the simulator's state.
 */
import { readFile, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { createSimHost, type SimHost } from '../helpers/simhost.js';
import { waitFor, type LongProcess } from '../helpers/proc.js';
import { VBOXVIRT_BIN } from '../helpers/paths.js';
import { clientEnv } from '../helpers/virsh.js';
import { maasStateDir, startServeWithSshClient, tmpDir, virshWith, type SshClientSetup } from './fixtures.js';

let sim: SimHost;
let dir: string;
let proc: LongProcess;
let sshPort: number;
let sock: string;
let client: SshClientSetup;
let stopServed: (() => Promise<void>) | undefined;
let key: { priv: string; fingerprint: string };
let auditFile: string;
let policyFile: string;
const env = clientEnv();

beforeAll(async () => {
  sim = await createSimHost();
  await sim.createVm('node1');
  await sim.createVm('desk');
  await sim.vbox(['modifyvm', 'node1', '--groups', '/maas']);
  dir = await tmpDir('vv-cli-serve-');
  const { state, key: maasKey } = await maasStateDir(dir);
  key = maasKey;
  policyFile = path.join(dir, 'policy.json');
  await writeFile(policyFile, JSON.stringify({
    default: 'deny',
    rules: [
      { name: 'maas', match: { transport: 'ssh', user: 'maas' }, see: ['group:/maas'] },
      { name: 'local', match: { address: 'local' }, see: '*', change: false },
    ],
  }));
  auditFile = path.join(dir, 'audit.log');
  sock = path.join(dir, 'sock', 'libvirt-sock');
  const served = await startServeWithSshClient(state, [
    '--backend', 'sim', '--sim-home', sim.home,
    '--state-dir', state, '--listen-ssh', '127.0.0.1:0', '--listen-unix', sock,
    '--policy', policyFile, '--audit-log', auditFile, '--log-level', 'debug',
  ], { ...process.env, VBOX_USER_HOME: sim.home }, ['ssh', 'unix']);
  stopServed = served.stop;
  proc = served.proc;
  sshPort = served.ports.ssh!;
  client = served.client;
});

afterAll(async () => {
  await stopServed?.();
  await sim?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sshUri = () => `qemu+ssh://maas@127.0.0.1:${sshPort}/system?keyfile=${key.priv}`;

test('stdout: one listening line per listener, nothing for TCP (not asked)', () => {
  const lines = proc.stdout().trim().split('\n');
  expect(lines).toEqual([`listening ssh 127.0.0.1:${sshPort}`, `listening unix ${sock}`]);
});

test('maas over SSH sees only its group; an invisible VM does not exist for it', async () => {
  const list = await virshWith(client.env, sshUri(), ['list', '--all', '--name']);
  expect(list.stderr).toBe('');
  expect(list.stdout.trim().split('\n')).toEqual(['node1']);
  const r = await virshWith(client.env, sshUri(), ['start', 'desk']);
  expect(r.rc).toBe(1);
  expect(r.stderr).toContain("failed to get domain 'desk'");
  expect(await sim.state('desk')).toBe('poweroff');
});

test('maas starts its VM; the audit log records who, from where, with which key', async () => {
  const r = await virshWith(client.env, sshUri(), ['start', 'node1']);
  expect(r.stderr).toBe('');
  expect(await sim.state('node1')).toBe('running');
  const lines = await waitFor('the audit line', async () => {
    const text = await readFile(auditFile, 'utf8').catch(() => '');
    const ls = text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    return ls.some((l) => l.result === 'ok') ? ls : undefined;
  });
  const ok = lines.find((l) => l.result === 'ok')!;
  expect(ok).toMatchObject({ transport: 'ssh', user: 'maas', authMethod: 'publickey', fingerprint: key.fingerprint, vm: { name: 'node1' }, result: 'ok' });
  expect(String(ok.procedure)).toMatch(/CREATE/);
  expect(ok.address).toMatch(/^127\.0\.0\.1:\d+$/);
});

test('the local unix socket sees everything but may change nothing (access denied)', async () => {
  const list = await virshWith(env, `qemu+unix:///system?socket=${sock}`, ['list', '--all', '--name']);
  expect(list.stdout.trim().split('\n').sort()).toEqual(['desk', 'node1']);
  const r = await virshWith(env, `qemu+unix:///system?socket=${sock}`, ['destroy', 'node1']);
  expect(r.rc).toBe(1);
  expect(r.stderr).toMatch(/access denied/);
  expect(await sim.state('node1')).toBe('running');
  const denied = await waitFor('the audit line of the refused change', async () => {
    const text = await readFile(auditFile, 'utf8').catch(() => '');
    return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.transport === 'unix' && l.result === 'error');
  });
  expect(denied).toMatchObject({ address: 'local', procedure: 'DOMAIN_DESTROY', vm: { name: 'node1' }, error: { code: 88 } });
  expect((denied.error as { message: string }).message).toMatch(/access denied/);
});

test('`vboxvirt serve --stdio` serves one connection (ext transport), policy applies, nothing on stdout but RPC', async () => {
  const cmd = path.join(dir, 'stdio.sh');
  await writeFile(cmd, `#!/bin/sh\nexec '${process.execPath}' '${VBOXVIRT_BIN}' serve --stdio --backend sim --sim-home '${sim.home}' --policy '${policyFile}' --state-dir '${path.join(dir, 'state2')}' --log-level warn\n`);
  await chmod(cmd, 0o755);
  const r = await virshWith(env, `qemu+ext:///system?command=${cmd}`, ['list', '--all', '--name']);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim().split('\n').sort()).toEqual(['desk', 'node1']);
  const d = await virshWith(env, `qemu+ext:///system?command=${cmd}`, ['destroy', 'node1']);
  expect(d.rc).toBe(1);
  expect(d.stderr).toMatch(/access denied/);
  expect(await sim.state('node1')).toBe('running');
});

test('SIGUSR2: one status line on stdout and in the log, memory read after a full collection; serving goes on', async () => {
  process.kill(proc.pid, 'SIGUSR2');
  const line = await waitFor('a status line', () => proc.stdout().split('\n').find((l) => l.startsWith('status ')));
  const r = JSON.parse(line.slice('status '.length));
  expect(r.pid).toBe(proc.pid);
  expect(r.collected).toBe(true);
  expect(r.accepted).toBeGreaterThan(0);
  expect(r.memoryKb.rss).toBeGreaterThan(10_000);
  expect(r.memoryKb.heapUsed).toBeGreaterThan(0);
  expect(r.memoryKb.heapUsed).toBeLessThanOrEqual(r.memoryKb.heapTotal);
  await waitFor('the status log line', () => /info status .*"collected":true/.test(proc.stderr()));
  const list = await virshWith(client.env, sshUri(), ['list', '--all', '--name']);
  expect(list.stdout.trim()).toBe('node1');
});
