/**
 * The remote backend against vboxsim behind a real OpenSSH sshd on 127.0.0.1
 * (own config, host key, authorized key and port; no ForceCommand: the remote
 * user's shell runs the quoted command line, and `VBoxManage` on the remote
 * side is a wrapper script that execs bin/vboxsim.js). Covers known-hosts
 * checking (known, unknown, TOFU, changed key), key and agent auth, one
 * connection for many commands, the channel bound, hostile VM names end to
 * end, a timeout, and a connection dropped in the middle of a command.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { VBoxManageHost } from '../../src/vbox/host.js';
import { SshRunner, parseSshUrl, checkKnownHosts } from '../../src/vbox/sshrunner.js';
import { createVBoxManageHost } from '../../src/vbox/index.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { builtSimExists, invocations, waitDead, PROJECT, removeHome, simCreate, simSettings, tempHome, VBOXSIM_BIN } from './helpers.js';

const who = { who: 'test:ssh' };
let dir: string;
let simHome: string;
let port: number;
let sshd: Sshd | undefined;
let agent: { pid: number; sock: string } | undefined;
let knownHosts: string;
let clientKey: string;
let wrapper: string;
const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
const runners: SshRunner[] = [];

/** Remote starts recorded by the wrapper in a simulator home. */
function remoteCalls(home: string): Array<{ pid: number; cmd: string }> {
  const f = path.join(home, 'remote-calls.log');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [pid, cmd] = l.split(' ');
    return { pid: Number(pid), cmd };
  });
}
const hosts: VBoxManageHost[] = [];

/** sshd's per-connection children (started by our sshd: safe to kill by pid). */
function sshdChildren(): number[] {
  if (!sshd) return [];
  try {
    return execFileSync('pgrep', ['-P', String(sshd.proc.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function runner(extra: Partial<ConstructorParameters<typeof SshRunner>[0]> = {}): SshRunner {
  const r = new SshRunner({
    host: '127.0.0.1',
    port,
    user,
    privateKeyPath: clientKey,
    knownHostsFile: knownHosts,
    remoteVBoxManage: wrapper,
    remoteVBoxUserHome: simHome,
    ...extra,
  });
  runners.push(r);
  return r;
}

function hostOver(r: SshRunner, opts: Partial<ConstructorParameters<typeof VBoxManageHost>[0]> = {}): VBoxManageHost {
  const h = new VBoxManageHost({ runner: r, cacheTtlMs: 0, pollIntervalMs: 50, ...opts });
  hosts.push(h);
  return h;
}

beforeAll(async () => {
  if (!builtSimExists()) execFileSync('npx', ['tsc', '-p', '.'], { cwd: PROJECT, stdio: 'ignore' });
  dir = tempHome('vboxvirt-ssh-');
  chmodSync(dir, 0o755);
  simHome = path.join(dir, 'vbox home');
  mkdirSync(simHome);
  wrapper = path.join(dir, 'VBoxManage');
  // records every remote start (pid + command word) before becoming vboxsim
  writeFileSync(
    wrapper,
    `#!/bin/sh\nprintf '%s %s\\n' "$$" "$1" >> "$VBOX_USER_HOME/remote-calls.log"\nexec '${process.execPath}' '${VBOXSIM_BIN}' "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  sshd = await startSshd({ logLevel: 'ERROR', maxSessions: 20 });
  port = sshd.port;
  clientKey = sshd.clientKey;
  knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `# test\n[127.0.0.1]:${port} ${sshd.hostKeyPub}\n`);
});

afterAll(async () => {
  for (const h of hosts) await h.close().catch(() => {});
  for (const r of runners) await r.close().catch(() => {});
  await sshd?.stop();
  if (agent) {
    try {
      process.kill(agent.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  if (dir) removeHome(dir);
});

describe('SshRunner against a real sshd', () => {
  test('parseSshUrl', () => {
    expect(parseSshUrl('ssh://alice@vbox.example:2222')).toEqual({ user: 'alice', host: 'vbox.example', port: 2222 });
    expect(parseSshUrl('ssh://b%40ob@[::1]')).toEqual({ user: 'b@ob', host: '::1', port: 22 });
    expect(() => parseSshUrl('http://x')).toThrow(/ssh:\/\//);
    expect(() => parseSshUrl('ssh://a@h/path')).toThrow();
    expect(() => parseSshUrl('not a url')).toThrow();
  });

  test('one connection carries many commands; the channel bound holds', async () => {
    const r = runner({ maxChannels: 2 });
    const results = await Promise.all(Array.from({ length: 8 }, () => r.run(['--version'])));
    for (const res of results) expect(res).toEqual({ stdout: expect.stringMatching(/^\d+\.\d+\.\d+r\d+\n$/), stderr: '', exitCode: 0 });
    expect(r.connections).toBe(1);
    const res = await r.run(['showvminfo', 'nope', '--machinereadable']);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/VBOX_E_OBJECT_NOT_FOUND/);
    expect(r.connections).toBe(1);
  });

  test('at most maxChannels commands run at once on the remote side', async () => {
    const h = tempHome('vboxvirt-ssh-chan-');
    try {
      const a = await simCreate(h, 'chan');
      simSettings(h, { log: true, delays: { showvminfo: 1500 } });
      const r = runner({ remoteVBoxUserHome: h, maxChannels: 2 });
      const res = await Promise.all(Array.from({ length: 6 }, () => r.run(['showvminfo', a, '--machinereadable'])));
      expect(res.every((x) => x.exitCode === 0)).toBe(true);
      const spans = invocations(h).map((l) => [Date.parse(l.time), Date.parse(l.time) + l.durationMs] as const);
      expect(spans).toHaveLength(6);
      const overlap = (t: number) => spans.filter(([s0, e0]) => s0 <= t && t < e0).length;
      const maxOverlap = Math.max(...spans.map(([s0]) => overlap(s0)));
      expect(maxOverlap).toBeLessThanOrEqual(2);
      expect(maxOverlap).toBe(2); // the bound is reached, so it is what limited the runs
      expect(r.connections).toBe(1);
    } finally {
      removeHome(h);
    }
  });

  test('the host over SSH: hostile VM names end to end', async () => {
    const names = [`it's "quoted" $(touch /tmp/pwned-ssh) \`id\` ; & | % ! ^ * ~ ☃`, '-leading dash', '  spaces  '];
    const host = hostOver(runner());
    for (const name of names) {
      const uuid = await host.createVm({ name, changes: { description: `desc of ${name}\nsecond line` } }, who);
      const vm = await host.getVm(uuid);
      expect(vm.name).toBe(name);
      expect(vm.description).toBe(`desc of ${name}\nsecond line`);
    }
    expect((await host.listVms()).map((v) => v.name)).toEqual(expect.arrayContaining(names));
    expect(existsSync('/tmp/pwned-ssh')).toBe(false);
    const uuid = (await host.listVms()).find((v) => v.name === names[0])!.uuid;
    await host.modifyVm(uuid, { name: `${names[0]} renamed` }, who);
    expect((await host.getVm(uuid)).name).toBe(`${names[0]} renamed`);
  });

  test('host key: unknown refused, TOFU only when asked, changed key always refused', async () => {
    const empty = path.join(dir, 'kh-empty');
    writeFileSync(empty, '');
    await expect(runner({ knownHostsFile: empty }).run(['--version'])).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/not in .*kh-empty.*accept-new-host-key/),
    });
    const tofu = path.join(dir, 'kh-tofu');
    const r = runner({ knownHostsFile: tofu, acceptNewHostKey: true });
    expect((await r.run(['--version'])).exitCode).toBe(0);
    expect(readFileSync(tofu, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${port} ssh-ed25519 \\S+\\n$`));
    expect((await runner({ knownHostsFile: tofu }).run(['--version'])).exitCode).toBe(0);

    const other = path.join(dir, 'otherkey');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrong = path.join(dir, 'kh-wrong');
    const pub = readFileSync(`${other}.pub`, 'utf8').split(/\s+/);
    writeFileSync(wrong, `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`);
    await expect(runner({ knownHostsFile: wrong, acceptNewHostKey: true }).run(['--version'])).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/HOST KEY MISMATCH/),
    });
    expect(readFileSync(wrong, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);

    // hashed entries (ssh-keygen -H) are understood
    const hashed = path.join(dir, 'kh-hashed');
    writeFileSync(hashed, readFileSync(knownHosts));
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'ignore' });
    expect(readFileSync(hashed, 'utf8')).toMatch(/^\|1\|/m);
    expect((await runner({ knownHostsFile: hashed }).run(['--version'])).exitCode).toBe(0);
    expect(checkKnownHosts(readFileSync(hashed, 'utf8'), '127.0.0.1', port + 1, Buffer.from('x'))).toBe('unknown');
  });

  test('wrong client key: a clear unavailable error', async () => {
    await expect(runner({ privateKeyPath: path.join(dir, 'otherkey') }).run(['--version'])).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(runner({ privateKeyPath: path.join(dir, 'missing-key') }).run(['--version'])).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/cannot read SSH key/),
    });
  });

  test('ssh-agent authentication', async () => {
    const sock = path.join(dir, 'agent.sock');
    const out = execFileSync('ssh-agent', ['-a', sock, '-s'], { encoding: 'utf8' });
    agent = { pid: Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]), sock };
    execFileSync('ssh-add', ['-q', clientKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    const r = runner({ privateKeyPath: undefined, agent: sock });
    expect((await r.run(['--version'])).exitCode).toBe(0);
  });

  test('a hanging remote command times out and is killed on the remote side; the connection keeps working', async () => {
    const h = tempHome('vboxvirt-ssh-hang-');
    try {
      const a = await simCreate(h, 'hang');
      simSettings(h, { faults: [{ mode: 'hang', command: 'showvminfo', count: 1, id: 'h' }] });
      const r = runner({ remoteVBoxUserHome: h });
      await expect(r.run(['showvminfo', a, '--machinereadable'], { timeoutMs: 4000 })).rejects.toMatchObject({ kind: 'timeout' });
      const [hung] = remoteCalls(h);
      expect(hung.cmd).toBe('showvminfo');
      expect(await waitDead(hung.pid)).toBe(true);
      expect((await r.run(['showvminfo', a, '--machinereadable'])).exitCode).toBe(0);
      expect(r.connections).toBe(1);
    } finally {
      removeHome(h);
    }
  });

  test('connection dropped mid-command: a read is retried on a new connection, a change is NOT re-run', async () => {
    const h = tempHome('vboxvirt-ssh-drop-');
    try {
      const a = await simCreate(h, 'drop');
      simSettings(h, { delays: { showvminfo: 3000, modifyvm: 3000 } });
      const r = runner({ remoteVBoxUserHome: h });
      expect((await r.run(['--version'])).exitCode).toBe(0);
      // drop the connection once the remote side has really started `cmd`
      const killWhenStarted = (cmd: string, n: number) => {
        const poll = setInterval(() => {
          if (remoteCalls(h).filter((c) => c.cmd === cmd).length >= n) {
            clearInterval(poll);
            sshdChildren().forEach((pid) => process.kill(pid, 'SIGKILL'));
          }
        }, 20);
      };

      killWhenStarted('showvminfo', 1);
      const read = await r.run(['showvminfo', a, '--machinereadable']);
      expect(read.exitCode).toBe(0);
      expect(read.stdout).toMatch(/^name="drop"$/m);
      expect(r.connections).toBe(2);

      killWhenStarted('modifyvm', 1);
      const err = await r.run(['modifyvm', a, '--cpus', '2']).catch((e) => e);
      expect(err).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/dropped.*not re-run/) });
      // started once on the remote side, never again; and not left running there
      const starts = remoteCalls(h).filter((c) => c.cmd === 'modifyvm');
      expect(starts).toHaveLength(1);
      expect(await waitDead(starts[0].pid)).toBe(true);
      expect(remoteCalls(h).filter((c) => c.cmd === 'showvminfo')).toHaveLength(2); // the read: once per connection
      // and the runner reconnects for the next command
      expect((await r.run(['--version'])).exitCode).toBe(0);
      expect(r.connections).toBe(3);
    } finally {
      removeHome(h);
    }
  });

  test('the host: a change cut off by a dropped connection fails unavailable, is logged with the state read back, and is not repeated', async () => {
    const h = tempHome('vboxvirt-ssh-hostdrop-');
    try {
      const a = await simCreate(h, 'hostdrop');
      simSettings(h, { delays: { modifyvm: 3000 } });
      const { captureLogger } = await import('./helpers.js');
      const { logger, entries } = captureLogger();
      const host = hostOver(runner({ remoteVBoxUserHome: h }), { logger, lockRetry: { attempts: 10, baseDelayMs: 100, maxDelayMs: 500 } });
      await host.getVm(a);
      const poll = setInterval(() => {
        if (remoteCalls(h).some((c) => c.cmd === 'modifyvm')) {
          clearInterval(poll);
          sshdChildren().forEach((pid) => process.kill(pid, 'SIGKILL'));
        }
      }, 20);
      const err = await host.modifyVm(a, { cpus: 3 }, who).catch((e) => e);
      clearInterval(poll);
      expect(err).toMatchObject({ kind: 'unavailable' });
      const failed = entries.find((e) => e.message === 'modify failed')!;
      expect(failed).toMatchObject({ who: who.who, uuid: a, kind: 'unavailable' });
      expect(failed.after).not.toBe('unknown'); // read back over a new connection
      expect(remoteCalls(h).filter((c) => c.cmd === 'modifyvm')).toHaveLength(1);
      expect((await host.getVm(a, { fresh: true })).uuid).toBe(a);
    } finally {
      removeHome(h);
    }
  });

  test('createVBoxManageHost with an ssh:// URL', async () => {
    const host = createVBoxManageHost({
      vboxHost: `ssh://${user}@127.0.0.1:${port}`,
      sshKey: clientKey,
      knownHosts,
      remoteVBoxManage: wrapper,
      remoteVBoxUserHome: simHome,
    });
    hosts.push(host);
    expect((await host.listVms()).length).toBeGreaterThan(0);
    const info = await host.hostInfo();
    // The far side of sshd names itself (`uname -nm` there), not the URL's host.
    const [farName, farArch] = execFileSync('uname', ['-nm'], { encoding: 'utf8' }).trim().split(/\s+/);
    expect(info.hostname).toBe(farName);
    expect(info.arch).toBe(farArch === 'arm64' ? 'aarch64' : farArch);
    expect(info.vboxVersion).toMatch(/^7\./);
  });
});
