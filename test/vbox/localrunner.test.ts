/**
 * LocalRunner against real spawned programs (small shell scripts standing in
 * for a misbehaving VBoxManage): argv passed without a shell, environment,
 * wrapper warnings and CRLF, timeouts that kill the whole process tree, and
 * VBoxManage discovery on every platform's layout.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findVBoxManage, LocalRunner } from '../../src/vbox/runner.js';
import { VBoxError } from '../../src/vbox/types.js';
import { PROJECT, waitDead } from './helpers.js';

let dir: string;
const script = (name: string, body: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
};
const spawned: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vboxvirt-localrunner-'));
});
afterAll(() => {
  for (const pid of spawned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('LocalRunner', () => {
  test('argv reaches the program verbatim (no shell), with a UTF-8 locale, USER/LOGNAME and VBOX_USER_HOME', async () => {
    const p = script('echoargs', 'for a in "$@"; do printf "%s\\0" "$a"; done; printf "ENV %s|%s|%s|%s|%s\\0" "$LC_ALL" "$LANG" "$USER" "$LOGNAME" "$VBOX_USER_HOME"');
    const r = new LocalRunner({ vboxmanage: p, vboxUserHome: '/tmp/some home' });
    const hostile = ['a b', "it's", '$(id)', '`id`', ';ls', '&', '|', '%PATH%', 'new\nline', '', '-x', 'Ünï ☃'];
    const res = await r.run(hostile);
    const parts = res.stdout.split('\0');
    parts.pop();
    expect(parts.slice(0, hostile.length)).toEqual(hostile);
    const user = os.userInfo().username;
    expect(parts[hostile.length]).toBe(`ENV C.UTF-8|C.UTF-8|${user}|${user}|/tmp/some home`);
    expect(res.exitCode).toBe(0);
    await r.close();
  });

  test('wrapper WARNING block dropped from stdout, CRLF normalised, stderr and exit code kept', async () => {
    const p = script('warn', [
      `printf 'WARNING: The vboxdrv kernel module is not loaded. Either there is no module\\r\\n'`,
      `printf '         available for the current kernel.\\r\\n\\r\\n'`,
      `printf '"vm one" {0a0b0c0d-1111-2222-3333-444455556666}\\r\\n'`,
      `printf 'VBoxManage: error: boom\\r\\n' >&2`,
      'exit 3',
    ].join('\n'));
    const r = new LocalRunner({ vboxmanage: p });
    const res = await r.run(['list', 'vms']);
    expect(res).toEqual({ stdout: '"vm one" {0a0b0c0d-1111-2222-3333-444455556666}\n', stderr: 'VBoxManage: error: boom\n', exitCode: 3 });
  });

  test('a hanging command is killed at the timeout together with its children (no orphans)', async () => {
    const pids = path.join(dir, 'pids');
    const p = script('hang', `sleep 300 & echo $! > '${pids}'; echo $$ >> '${pids}'; wait`);
    const r = new LocalRunner({ vboxmanage: p, killGraceMs: 200 });
    const err = await r.run(['showvminfo', 'x'], { timeoutMs: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(VBoxError);
    expect(err.kind).toBe('timeout');
    expect(err.argv).toEqual(['showvminfo', 'x']);
    const [child, leader] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    spawned.push(child, leader);
    expect(await waitDead(leader)).toBe(true);
    expect(await waitDead(child)).toBe(true);
  });

  test('a command ignoring SIGTERM is SIGKILLed after the grace period', async () => {
    const pids = path.join(dir, 'pids2');
    const p = script('stubborn', `trap '' TERM; echo $$ > '${pids}'; while :; do sleep 0.05; done`);
    const r = new LocalRunner({ vboxmanage: p, killGraceMs: 300 });
    const err = await r.run(['list', 'vms'], { timeoutMs: 300 }).catch((e) => e);
    expect(err.kind).toBe('timeout');
    const pid = Number(readFileSync(pids, 'utf8').trim());
    spawned.push(pid);
    expect(await waitDead(pid)).toBe(true);
  });

  test('a daemon that exits while a command runs takes the command (and its children) with it', async () => {
    const runnerJs = path.join(PROJECT, 'dist', 'src', 'vbox', 'runner.js');
    if (!existsSync(runnerJs)) execFileSync('npx', ['tsc', '-p', '.'], { cwd: PROJECT, stdio: 'ignore' });
    const pids = path.join(dir, 'pids3');
    const p = script('hang3', `sleep 300 & echo $! > '${pids}'; echo $$ >> '${pids}'; wait`);
    const daemon = path.join(dir, 'daemon.mjs');
    writeFileSync(daemon, [
      `import { LocalRunner } from ${JSON.stringify(runnerJs)};`,
      `import { existsSync } from 'node:fs';`,
      `const r = new LocalRunner({ vboxmanage: ${JSON.stringify(p)} });`,
      `r.run(['list', 'vms'], { timeoutMs: 600000 });`,
      `const t = setInterval(() => { if (existsSync(${JSON.stringify(pids)})) { clearInterval(t); setTimeout(() => process.exit(3), 100); } }, 20);`,
    ].join('\n'));
    const code = await new Promise<number | null>((resolve) => execFile(process.execPath, [daemon], (e) => resolve(e ? (e as { code?: number }).code ?? 1 : 0)));
    expect(code).toBe(3);
    const [child, leader] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    spawned.push(child, leader);
    expect(await waitDead(leader)).toBe(true);
    expect(await waitDead(child)).toBe(true);
  });

  test('a .js "VBoxManage" runs with this Node', async () => {
    const js = path.join(dir, 'fake.js');
    writeFileSync(js, 'process.stdout.write(JSON.stringify(process.argv.slice(2)) + "\\n"); process.exit(2);\n');
    const r = new LocalRunner({ vboxmanage: js });
    const res = await r.run(['--version', 'x y']);
    expect(JSON.parse(res.stdout)).toEqual(['--version', 'x y']);
    expect(res.exitCode).toBe(2);
  });

  test('missing program: clear unavailable errors', async () => {
    expect(() => new LocalRunner({ vboxmanage: path.join(dir, 'nope') })).toThrow(/not found at .*nope/);
    const p = script('vanishing', 'exit 0');
    const r = new LocalRunner({ vboxmanage: p });
    rmSync(p);
    const err = await r.run(['list', 'vms']).catch((e) => e);
    expect(err).toBeInstanceOf(VBoxError);
    expect(err.kind).toBe('unavailable');
  });

  test('bad argv: NUL and empty are rejected before spawning', async () => {
    const p = script('ok', 'exit 0');
    const r = new LocalRunner({ vboxmanage: p });
    await expect(r.run(['a\0b'])).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(r.run([])).rejects.toMatchObject({ kind: 'invalid-argument' });
    await r.close();
    await expect(r.run(['list'])).rejects.toMatchObject({ kind: 'unavailable' });
  });
});

describe('findVBoxManage', () => {
  const has = (...paths: string[]) => (p: string) => paths.includes(p);

  test('Linux: PATH first, then /usr/bin, /usr/lib/virtualbox', () => {
    expect(findVBoxManage('linux', { PATH: '/opt/x:/usr/bin' }, has('/opt/x/VBoxManage', '/usr/bin/VBoxManage')).path).toBe('/opt/x/VBoxManage');
    expect(findVBoxManage('linux', { PATH: '/nowhere' }, has('/usr/lib/virtualbox/VBoxManage')).path).toBe('/usr/lib/virtualbox/VBoxManage');
  });
  test('macOS: the app bundle, /usr/local/bin', () => {
    expect(findVBoxManage('darwin', { PATH: '/usr/bin' }, has('/Applications/VirtualBox.app/Contents/MacOS/VBoxManage')).path)
      .toBe('/Applications/VirtualBox.app/Contents/MacOS/VBoxManage');
    expect(findVBoxManage('darwin', { PATH: '/usr/bin' }, has('/usr/local/bin/vboxmanage')).path).toBe('/usr/local/bin/vboxmanage');
  });
  test('Windows: VBOX_MSI_INSTALL_PATH, VBOX_INSTALL_PATH, Program Files', () => {
    expect(findVBoxManage('win32', { VBOX_MSI_INSTALL_PATH: 'D:\\VBox\\', PATH: '' }, has('D:\\VBox\\VBoxManage.exe')).path).toBe('D:\\VBox\\VBoxManage.exe');
    expect(findVBoxManage('win32', { VBOX_INSTALL_PATH: 'E:\\Old', PATH: '' }, has('E:\\Old\\VBoxManage.exe')).path).toBe('E:\\Old\\VBoxManage.exe');
    expect(findVBoxManage('win32', { PATH: '' }, has('C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe')).path)
      .toBe('C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe');
  });
  test('nothing found: every place tried is reported', () => {
    const r = findVBoxManage('linux', { PATH: '/a:/b' }, () => false);
    expect(r.path).toBeUndefined();
    expect(r.tried).toEqual(expect.arrayContaining(['/a/VBoxManage', '/b/vboxmanage', '/usr/bin/VBoxManage', '/usr/lib/virtualbox/VBoxManage']));
  });
  test('the real lookup on this machine (VirtualBox is not installed on test hosts) gives the operator a way out', () => {
    expect(() => new LocalRunner()).toThrow(/VBoxManage not found; looked in: .*\/usr\/lib\/virtualbox\/VBoxManage.*--vboxmanage PATH/);
    expect(existsSync('/usr/lib/virtualbox/VBoxManage')).toBe(false);
  });
});
