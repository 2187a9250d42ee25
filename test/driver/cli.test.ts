/**
 * End to end through the real CLI and real virsh: `node bin/vboxvirt.js serve
 * --backend sim --sim-home TMP --listen-tcp 127.0.0.1:0`, VMs created by real
 * `vboxsim` spawns, then `virsh -c qemu+tcp://127.0.0.1:PORT/system …`.
 * (Needs a built dist/: `npm test` builds first.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/proc.js';
import { virsh, virshOk } from '../helpers/virsh.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VBOXVIRT = path.join(ROOT, 'bin', 'vboxvirt.js');
const VBOXSIM = path.join(ROOT, 'bin', 'vboxsim.js');

interface Served {
  child: ChildProcess;
  port: number;
  uri: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();
let home = '';

function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [VBOXVIRT, ...args], {
    cwd: ROOT,
    env: { ...process.env, VBOXSIM_START_MS: '20', VBOXSIM_ACPI_DELAY_MS: '50', VBOXSIM_STOPPING_MS: '20', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function serve(extra: string[] = []): Promise<Served> {
  const child = start(['serve', '--backend', 'sim', '--sim-home', home, '--listen-tcp', '127.0.0.1:0', '--log-level', 'debug', ...extra]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const m = /^listening tcp 127\.0\.0\.1:(\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`vboxvirt exited (${code}) before listening:\n${err}`)));
  });
  return { child, port, uri: `qemu+tcp://127.0.0.1:${port}/system`, stdout: () => out, stderr: () => err, exited };
}

async function sim(args: string[]): Promise<string> {
  const r = await run(process.execPath, [VBOXSIM, ...args], { env: { ...process.env, VBOX_USER_HOME: home }, timeoutMs: 30_000 });
  if (r.rc !== 0) throw new Error(`vboxsim ${args.join(' ')}: rc ${r.rc}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'vboxvirt-cli-'));
  await sim(['createvm', '--name', 'vm-off', '--ostype', 'Ubuntu_64', '--register']);
  await sim(['modifyvm', 'vm-off', '--memory', '1024', '--cpus', '1']);
  await sim(['createvm', '--name', 'vm-on', '--ostype', 'Ubuntu_64', '--register']);
  await sim(['modifyvm', 'vm-on', '--memory', '2048', '--cpus', '2']);
  await sim(['startvm', 'vm-on', '--type', 'headless']);
  await sim(['createvm', '--name', 'odd name; "quoted"', '--ostype', 'Ubuntu_64', '--register']);
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(home, { recursive: true, force: true });
});

describe('vboxvirt serve + real virsh', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve();
  });
  afterAll(async () => {
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toMatch(/daemon stopped/);
  });

  test('prints exactly one listening line on stdout, logs on stderr', () => {
    expect(s.stdout()).toBe(`listening tcp 127.0.0.1:${s.port}\n`);
    expect(s.stderr()).toMatch(/listening on tcp 127\.0\.0\.1:/);
  });

  test('list --all: running VM with id 1, others "-", unsafe name under its alias', async () => {
    const out = await virshOk(['list', '--all'], { uri: s.uri });
    const rows = out.split('\n').slice(2).filter((l) => l.trim()).map((l) => l.trim().split(/\s{2,}|\s+(?=\S+$)/));
    const names = await virshOk(['list', '--all', '--name'], { uri: s.uri });
    const list = names.split('\n').filter(Boolean);
    expect(list).toHaveLength(3);
    expect(list[0]).toBe('vm-on');
    const alias = list.find((n) => n.startsWith('odd-name-quoted-'))!;
    expect(alias).toMatch(/^odd-name-quoted-[0-9a-f]{8}$/);
    expect(out).toMatch(/^\s*1\s+vm-on\s+running\s*$/m);
    expect(out).toMatch(/^\s*-\s+vm-off\s+shut off\s*$/m);
    expect(out).toContain(alias);
    expect(rows.length).toBe(3);
    // the alias works as a virsh word
    expect((await virshOk(['domstate', alias], { uri: s.uri })).trim()).toBe('shut off');
  });

  test('domstate, start, domid, destroy — the MAAS power flow', async () => {
    expect((await virshOk(['domstate', 'vm-off'], { uri: s.uri })).trim()).toBe('shut off');
    expect(await virshOk(['start', 'vm-off'], { uri: s.uri })).toContain("Domain 'vm-off' started");
    expect((await virshOk(['domstate', 'vm-off'], { uri: s.uri })).trim()).toBe('running');
    const id = Number((await virshOk(['domid', 'vm-off'], { uri: s.uri })).trim());
    expect(id).toBeGreaterThan(1);
    expect((await virshOk(['domname', String(id)], { uri: s.uri })).trim()).toBe('vm-off');
    const again = await virsh(['start', 'vm-off'], { uri: s.uri });
    expect(again.rc).toBe(1);
    expect(again.stderr).toContain('Domain is already active');
    expect(await virshOk(['destroy', 'vm-off'], { uri: s.uri })).toContain("Domain 'vm-off' destroyed");
    expect((await virshOk(['domstate', '--reason', 'vm-off'], { uri: s.uri })).trim()).toBe('shut off (destroyed)');
    expect((await virshOk(['domid', 'vm-off'], { uri: s.uri })).trim()).toBe('-');
    // and VirtualBox agrees
    expect(await sim(['showvminfo', 'vm-off', '--machinereadable'])).toMatch(/^VMState="poweroff"$/m);
  });

  test('errors render like libvirtd', async () => {
    const d = await virsh(['destroy', 'vm-off'], { uri: s.uri });
    expect(d.rc).toBe(1);
    expect(d.stderr).toContain("error: Failed to destroy domain 'vm-off'");
    expect(d.stderr).toContain('error: Requested operation is not valid: domain is not running');
    const n = await virsh(['domstate', 'nosuchvm'], { uri: s.uri });
    expect(n.rc).toBe(1);
    expect(n.stderr).toContain("error: failed to get domain 'nosuchvm'");
    const x = await virsh(['list'], { uri: `xen+tcp://127.0.0.1:${s.port}/system` });
    expect(x.rc).toBe(1);
    expect(x.stderr).toContain('error: no connection driver available for xen:///system');
  });

  test('version --daemon, nodeinfo, dominfo', async () => {
    const v = await virshOk(['version', '--daemon'], { uri: s.uri });
    expect(v).toMatch(/Running hypervisor: VBOX \d+\.\d+\.\d+/);
    expect(v).toContain('Running against daemon: 9.0.0');
    expect(await virshOk(['nodeinfo'], { uri: s.uri })).toMatch(/CPU model:\s+(x86_64|aarch64)\n/);
    const info = await virshOk(['dominfo', 'vm-on'], { uri: s.uri });
    expect(info).toMatch(/State:\s+running/);
    expect(info).toMatch(/Max memory:\s+2097152 KiB/);
    expect(info).toMatch(/CPU\(s\):\s+2/);
    expect(info).toMatch(/Persistent:\s+yes/);
  });

  test('every change is logged at info with who asked', () => {
    expect(s.stderr()).toMatch(/info destroy vm-off: ok .*"who":"tcp:127\.0\.0\.1:\d+"/);
    expect(s.stderr()).toMatch(/info start vm-off: ok/);
  });
});

describe('policy and audit through the CLI (unix socket listener)', () => {
  test('a policy hides and protects VMs; every change lands in the audit log', async () => {
    const sock = path.join(home, 'sock');
    const policy = path.join(home, 'policy.json');
    const audit = path.join(home, 'audit.log');
    await writeFile(policy, JSON.stringify({ default: 'deny', rules: [{ name: 'ops', match: { transport: 'unix' }, see: ['name:vm-*'], change: ['name:vm-off'] }] }));
    const child = start(['serve', '--backend', 'sim', '--sim-home', home, '--listen-unix', sock, '--policy', policy, '--audit-log', audit, '--state-dir', path.join(home, 'state')]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    while (!/listening unix /.test(out)) {
      if (child.exitCode !== null) throw new Error('vboxvirt exited');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(out).toBe(`listening unix ${sock}\n`);
    const uri = `qemu+unix:///system?socket=${sock}`;
    const names = (await virshOk(['list', '--all', '--name'], { uri })).split('\n').filter(Boolean).sort();
    expect(names).toEqual(['vm-off', 'vm-on']);
    const hidden = await virsh(['domstate', 'odd name; "quoted"'], { uri });
    expect(hidden.stderr).toContain('failed to get domain');
    const denied = await virsh(['destroy', 'vm-on'], { uri });
    expect(denied.rc).toBe(1);
    expect(denied.stderr).toMatch(/error: access denied: unix:local may not change domain 'vm-on'/);
    await virshOk(['start', 'vm-off'], { uri });
    await virshOk(['destroy', 'vm-off'], { uri });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = (await readFile(audit, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.procedure, (l.vm as { name: string }).name, l.result])).toEqual([
      ['DOMAIN_DESTROY', 'vm-on', 'error'],
      ['DOMAIN_CREATE', 'vm-off', 'ok'],
      ['DOMAIN_DESTROY', 'vm-off', 'ok'],
    ]);
    expect(lines[0]).toMatchObject({ transport: 'unix', error: { code: 88 } });
  });
});

describe('--stdio (libvirt ext transport)', () => {
  test('virsh -c qemu+ext:///system?command=… talks to one daemon on stdin/stdout', async () => {
    const script = path.join(home, 'vboxvirt-stdio.sh');
    const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
    await writeFile(script, `#!/bin/sh\nexec ${q(process.execPath)} ${q(VBOXVIRT)} serve --stdio --backend sim --sim-home ${q(home)} --log-level warn\n`, { mode: 0o755 });
    const uri = `qemu+ext:///system?command=${script}`;
    expect((await virshOk(['domstate', 'vm-on'], { uri })).trim()).toBe('running');
    expect((await virshOk(['list', '--all', '--name'], { uri })).split('\n').filter(Boolean)).toHaveLength(3);
  });
});

describe('vboxvirt demo', () => {
  test('creates the demo host once, serves it, and reuses it on the next run', async () => {
    const demoHome = path.join(home, 'demo');
    const runDemo = async () => {
      const child = start(['demo', '--home', demoHome, '--listen-tcp', '127.0.0.1:0', '--log-level', 'warn']);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      while (!/^listening tcp 127\.0\.0\.1:\d+$/m.test(out) || !/Stop with Ctrl-C/.test(err)) {
        if (child.exitCode !== null) throw new Error(`demo exited: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      return { child, exited, err, uri: `qemu+tcp://127.0.0.1:${port}/system` };
    };
    const first = await runDemo();
    expect(first.err).toContain(`Created the demo VirtualBox host in ${demoHome}`);
    expect(first.err).toContain(`virsh -c ${first.uri} list --all`);
    const list = await virshOk(['list', '--all'], { uri: first.uri });
    expect(list).toMatch(/^\s*\d+\s+web-01\s+running\s*$/m);
    expect(list).toMatch(/^\s*\d+\s+db-01\s+running\s*$/m);
    expect(list).toMatch(/^\s*-\s+old-test\s+shut off\s*$/m);
    expect(list).toMatch(/^\s*-\s+My-Test-VM-[0-9a-f]{8}\s+shut off\s*$/m);
    // GetState answers from the list snapshot: a saved VM whose details were never read is
    // "shut off (unknown)"; once dominfo has read them it is "shut off (saved)" (docs/states.md).
    expect((await virshOk(['domstate', '--reason', 'build-agent'], { uri: first.uri })).trim()).toBe('shut off (unknown)');
    expect(await virshOk(['dominfo', 'build-agent'], { uri: first.uri })).toMatch(/^Managed save:\s+yes$/m);
    expect((await virshOk(['domstate', '--reason', 'build-agent'], { uri: first.uri })).trim()).toBe('shut off (saved)');
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    const second = await runDemo();
    expect(second.err).toContain(`Using the demo VirtualBox host in ${demoHome}`);
    expect((await virshOk(['list', '--all', '--name'], { uri: second.uri })).split('\n').filter(Boolean)).toHaveLength(5);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('startup refusals', () => {
  test('non-loopback TCP without --allow: exits non-zero with a clear message, prints no listening line', async () => {
    const child = start(['serve', '--backend', 'sim', '--sim-home', home, '--listen-tcp', '0.0.0.0:0']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).not.toBe(0);
    expect(out).toBe('');
    expect(err).toMatch(/refusing to listen for plain TCP on 0\.0\.0\.0.*--allow/);
  });

  test('bad flags are usage errors', async () => {
    const child = start(['serve', '--backend', 'hyperv']);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).not.toBe(0);
    expect(err).toMatch(/--backend.*hyperv|Allowed choices/);
  });
});
