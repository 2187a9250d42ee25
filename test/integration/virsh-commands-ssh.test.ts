/**
 * The virsh command suite (virsh-commands.suite.ts) on the REMOTE backend:
 * `serve --backend vboxmanage --vbox-host ssh://USER@127.0.0.1:PORT` against a
 * real OpenSSH sshd started here (test/helpers/sshd.ts), whose "VBoxManage" is
 * vboxsim working on the suite's own simulator home, so the suite's checks
 * through the simulator see what virsh did over SSH.
 *
 * The suite starts its daemon itself (`startDaemon({backend, host, args})` in
 * its beforeAll) and takes no daemon factory, so this file swaps in a
 * `startDaemon` for the suite's import that starts sshd first and then calls
 * the real test/helpers/daemon.ts `startDaemon` with the remote flags added.
 * Everything the suite talks to is real: virsh, the daemon, sshd, vboxsim.
 *
 * The remote VBoxManage wrapper refuses to run unless it was started by sshd
 * ($SSH_CONNECTION) and given VBOX_USER_HOME (by --remote-vbox-user-home), so
 * the run cannot silently pass through the local backend; the last describe
 * checks sshd's log for the daemon's public-key logins.
 */
import { jest } from '@jest/globals';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as realDaemon from '../helpers/daemon.js';
import type { Daemon, DaemonOptions } from '../helpers/daemon.js';
import { VBOXSIM_BIN } from '../helpers/paths.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
const daemons: Daemon[] = [];
/** Remote wrapper invocations are logged here (one line each), by the wrapper itself. */
let callLog = '';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The executable sshd runs as `--remote-vboxmanage`: vboxsim, only through sshd, only with a home. */
async function writeRemoteWrapper(s: Sshd, env: NodeJS.ProcessEnv): Promise<string> {
  const wrapper = path.join(s.dir, 'remote VBoxManage');
  callLog = path.join(s.dir, 'calls.log');
  const exports = Object.entries(env)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(e[0]))
    .map(([k, v]) => `${k}=${q(v)}; export ${k}\n`).join('');
  await writeFile(wrapper, [
    '#!/bin/sh',
    '[ -n "$SSH_CONNECTION" ] || { echo "remote VBoxManage: not started by sshd" >&2; exit 97; }',
    '[ -n "$VBOX_USER_HOME" ] || { echo "remote VBoxManage: VBOX_USER_HOME not set (--remote-vbox-user-home)" >&2; exit 98; }',
    `echo "$SSH_CONNECTION $1" >> ${q(callLog)}`,
    exports + `exec ${q(process.execPath)} ${q(VBOXSIM_BIN)} "$@"`,
    '',
  ].join('\n'));
  await chmod(wrapper, 0o755);
  return wrapper;
}

async function startRemoteDaemon(opts: DaemonOptions): Promise<Daemon> {
  sshd ??= await startSshd();
  const wrapper = await writeRemoteWrapper(sshd, opts.host.env);
  const d = await realDaemon.startDaemon({
    ...opts,
    backend: 'vboxmanage',
    args: [
      '--vbox-host', sshd.url,
      '--vbox-ssh-key', sshd.clientKey,
      '--vbox-known-hosts', sshd.knownHosts,
      '--remote-vboxmanage', wrapper,
      '--remote-vbox-user-home', opts.host.home,
      ...(opts.args ?? []),
    ],
    // no ssh-agent: only --vbox-ssh-key may authenticate
    env: { ...opts.env, SSH_AUTH_SOCK: '' },
  });
  daemons.push(d);
  return d;
}

jest.unstable_mockModule('../helpers/daemon.js', () => ({ ...realDaemon, startDaemon: startRemoteDaemon }));
const { virshCommandsSuite } = await import('./virsh-commands.suite.js');

afterAll(async () => {
  // the suite stops its daemon; this covers a failed beforeAll or an early throw
  for (const d of daemons) await d.stop();
  await sshd?.stop();
});

virshCommandsSuite('vboxmanage');

describe('the run above went through sshd', () => {
  test('the daemon logged in with its key and VBoxManage ran remotely with the suite\'s home', async () => {
    expect(sshd).toBeDefined();
    expect(daemons).toHaveLength(1);
    const s = sshd!;
    expect(s.logs()).toMatch(new RegExp(`Accepted publickey for ${s.user} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519`));
    const calls = (await readFile(callLog, 'utf8')).split('\n').filter(Boolean);
    // SSH_CONNECTION = "client-ip client-port server-ip server-port"
    expect(calls.length).toBeGreaterThan(10);
    for (const c of calls) expect(c).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${s.port} \\S+`));
  });
});
