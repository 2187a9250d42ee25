/**
 * `vboxvirt passwd` (piped and on a real pseudo-terminal), the secure CLI
 * flags, and the authentication building blocks (password hashes, authorized
 * keys, host key, throttle).
 */
import { readFile, rm, writeFile, stat, chmod } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { Command } from 'commander';
import { addSecureOptions, parseListenSpec, parseAuthorizedKeysSpec, wantsSecureListener, loadSecurity } from '../../src/cli/listeners-secure.js';
import { checkPassword, hashPassword, verifyPassword, readPasswordFile, setPassword } from '../../src/auth/passwords.js';
import { parseAuthorizedKeys, loadOrCreateHostKey, findKey } from '../../src/auth/keys.js';
import { AuthThrottle, hostOf } from '../../src/auth/throttle.js';
import { defaultStateDir } from '../../src/auth/state.js';
import { StateError } from '../../src/auth/state.js';
import { run } from '../helpers/proc.js';
import { VBOXVIRT_BIN } from '../helpers/paths.js';
import { SYSTEM_PYTHON } from '../helpers/paths.js';
import { sshKeygen, tmpDir, FIXTURES } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await tmpDir('vv-cli-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The real command line: `vboxvirt passwd USER [--state-dir DIR] [--delete]`.
const PASSWD = VBOXVIRT_BIN;

describe('vboxvirt passwd', () => {
  test('piped: first line of stdin; only a salted scrypt hash is stored, 0600', async () => {
    const state = path.join(dir, 'p1');
    const r = await run(process.execPath, [PASSWD, 'passwd', 'maas', '--state-dir', state], { input: 's3cret pass\nignored\n' });
    expect(r.stderr).toContain('password of maas set');
    expect(r.rc).toBe(0);
    const file = path.join(state, 'passwords');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('s3cret');
    expect(text).toMatch(/^maas:scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await checkPassword(file, 'maas', 's3cret pass')).toBe(true);
    expect(await checkPassword(file, 'maas', 'ignored')).toBe(false);
    // A second user, then delete the first.
    await run(process.execPath, [PASSWD, 'passwd', 'ops', '--state-dir', state], { input: 'other\n' });
    const d = await run(process.execPath, [PASSWD, 'passwd', 'maas', '--state-dir', state, '--delete']);
    expect(d.rc).toBe(0);
    expect([...readPasswordFile(file).keys()]).toEqual(['ops']);
  });

  test('on a terminal: asks twice without echo', async () => {
    const state = path.join(dir, 'p2');
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'passwd_tty.py'), 'tty-pass-1', 'tty-pass-1', process.execPath, PASSWD, 'alice', state]);
    const res = JSON.parse(r.stdout) as { prompts: string[]; rest: string; rc: number };
    expect(res.prompts).toEqual(['New password for alice: ', 'Retype it: ']);
    expect(res.rc).toBe(0);
    expect(res.rest).not.toContain('tty-pass-1');
    expect(await checkPassword(path.join(state, 'passwords'), 'alice', 'tty-pass-1')).toBe(true);
  });

  test('on a terminal: different answers change nothing (exit 2)', async () => {
    const state = path.join(dir, 'p3');
    const r = await run(SYSTEM_PYTHON, [path.join(FIXTURES, 'passwd_tty.py'), 'one', 'two', process.execPath, PASSWD, 'alice', state]);
    const res = JSON.parse(r.stdout) as { rest: string; rc: number };
    expect(res.rc).toBe(2);
    expect(res.rest).toContain('the passwords differ; nothing changed');
    expect(readPasswordFile(path.join(state, 'passwords')).size).toBe(0);
  });

  test.each([
    [['../../etc', 'x\n'], 'invalid user name'],
    [['maas', '\n'], 'empty password'],
  ])('refused: %j', async ([user, input], msg) => {
    const r = await run(process.execPath, [PASSWD, 'passwd', user!, '--state-dir', path.join(dir, 'p4')], { input });
    expect(r.rc).toBe(2);
    expect(r.stderr).toContain(msg);
  });
});

describe('passwords', () => {
  test('hashes are salted; wrong, unknown and malformed entries fail', async () => {
    const a = await hashPassword('x');
    const b = await hashPassword('x');
    expect(a).not.toBe(b);
    expect(await verifyPassword('x', a)).toBe(true);
    expect(await verifyPassword('y', a)).toBe(false);
    expect(await verifyPassword('x', undefined)).toBe(false);
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$3$8$1$AAAA$AAAA')).toBe(false); // N not a power of two
    const f = path.join(dir, 'pw');
    await setPassword(f, 'u', 'x');
    expect(await checkPassword(f, 'nobody', 'x')).toBe(false);
    expect(await checkPassword(f, 'u', 'x'.repeat(2000))).toBe(false);
    await expect(setPassword(f, 'bad/name', 'x')).rejects.toBeInstanceOf(StateError);
  });
});

describe('keys', () => {
  test('authorized_keys: options, comments, blank and broken lines', async () => {
    const k1 = await sshKeygen(path.join(dir, 'k1'));
    const k2 = await sshKeygen(path.join(dir, 'k2'));
    const text = [
      '# a comment',
      '',
      k1.pub.trim(),
      `from="10.0.0.0/8",no-pty ${k2.pub.trim()}`,
      'ssh-ed25519 not-base64!!',
      'garbage line',
    ].join('\n');
    const { keys, errors } = parseAuthorizedKeys(text);
    expect(keys.map((k) => k.comment)).toEqual(['k1', 'k2']);
    expect(keys[1]!.options).toBe('from="10.0.0.0/8",no-pty');
    expect(errors).toHaveLength(2);
    expect(findKey(keys, 'ssh-ed25519', keys[1]!.blob)).toBe(keys[1]);
    expect(findKey(keys, 'ssh-rsa', keys[1]!.blob)).toBeUndefined();
  });

  test('host key: created 0600 once, reused, refused when group/other readable', async () => {
    const f = path.join(dir, 'hk', 'key');
    const a = loadOrCreateHostKey(f);
    expect(a.created).toBe(true);
    const b = loadOrCreateHostKey(f);
    expect(b.created).toBe(false);
    expect(b.fingerprint).toBe(a.fingerprint);
    const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`]);
    expect(fp.stdout.split(' ')[1]).toBe(a.fingerprint);
    await chmod(f, 0o644);
    expect(() => loadOrCreateHostKey(f)).toThrow(/accessible by group\/others/);
  });

  test('host key: a generated key ssh2 cannot read back (its leading-zero bug) is never written', async () => {
    // a real malformed key from ssh2's generator: the public key lost its leading zero byte (31 bytes)
    const malformed = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMgAAAAtz',
      'c2gtZWQyNTUxOQAAAB8F0+e/9xtaeUejkE3AwXUumkRosD3W0W1j69t6s0HyAAAA',
      'mNM8gQvTPIELAAAAC3NzaC1lZDI1NTE5AAAAHwXT57/3G1p5R6OQTcDBdS6aRGiw',
      'PdbRbWPr23qzQfIAAAA/Jm05X4JupL75v6hZrudni4ZnpbUqUxWhr7WA2vjvGQAF',
      '0+e/9xtaeUejkE3AwXUumkRosD3W0W1j69t6s0HyAAAAEXZib3h2aXJ0IGhvc3Qg',
      'a2V5AQIDBAUG',
      '-----END OPENSSH PRIVATE KEY-----',
      '',
    ].join('\n');
    let good = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'vboxvirt host key' });
    while (ssh2.utils.parseKey(good.private) instanceof Error) good = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'vboxvirt host key' });
    const draws = [{ private: malformed, public: 'x' }, { private: malformed, public: 'x' }, good];
    const f = path.join(dir, 'hk2', 'key');
    const k = loadOrCreateHostKey(f, () => draws.shift()!);
    expect(draws).toHaveLength(0); // drew until a readable one
    expect(k.created).toBe(true);
    expect(readFileSync(f, 'utf8')).toBe(good.private);
    const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`]);
    expect(fp.stdout.split(' ')[1]).toBe(k.fingerprint);
    // a generator that never yields a readable key: a clear error, no file
    const g = path.join(dir, 'hk3', 'key');
    expect(() => loadOrCreateHostKey(g, () => ({ private: malformed, public: 'x' }))).toThrow(/could not generate a host key ssh2 can read \(16 tries\)/);
    expect(existsSync(g)).toBe(false);
  });
});

describe('throttle', () => {
  test('delay doubles per failure up to the cap, is forgotten after the quiet period and on success', () => {
    const t = new AuthThrottle({ baseDelayMs: 100, maxDelayMs: 1000, forgetAfterMs: 60_000 });
    expect([1, 2, 3, 4, 5, 6].map(() => t.fail('10.0.0.1', 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(t.count('10.0.0.1', 1000)).toBe(6);
    expect(t.fail('10.0.0.1', 1000 + 60_001)).toBe(100);
    expect(t.fail('10.0.0.2', 0)).toBe(100);
    t.succeed('10.0.0.2');
    expect(t.count('10.0.0.2', 0)).toBe(0);
    const small = new AuthThrottle({ maxEntries: 2 });
    small.fail('a');
    small.fail('b');
    small.fail('c');
    expect(small.count('a')).toBe(0);
    expect(small.count('c')).toBe(1);
  });

  test('hostOf', () => {
    expect(hostOf('1.2.3.4:55')).toBe('1.2.3.4');
    expect(hostOf('[::1]:55')).toBe('::1');
    expect(hostOf('local')).toBe('local');
  });
});

describe('CLI flags', () => {
  test('parseListenSpec', () => {
    expect(parseListenSpec(true, 16522)).toEqual({ host: '127.0.0.1', port: 16522 });
    expect(parseListenSpec('0.0.0.0:2222', 16522)).toEqual({ host: '0.0.0.0', port: 2222 });
    expect(parseListenSpec(':0', 16514)).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenSpec('2200', 16514)).toEqual({ host: '127.0.0.1', port: 2200 });
    expect(parseListenSpec('[::1]:16514', 1)).toEqual({ host: '::1', port: 16514 });
    expect(parseListenSpec('localhost', 16514)).toEqual({ host: 'localhost', port: 16514 });
    expect(() => parseListenSpec('h:99999', 1)).toThrow(/bad port/);
    expect(() => parseListenSpec('::1:5', 1)).toThrow(/IPv6/);
  });

  test('parseAuthorizedKeysSpec', () => {
    expect(parseAuthorizedKeysSpec('maas=/k')).toEqual({ user: 'maas', file: '/k' });
    expect(parseAuthorizedKeysSpec('/etc/keys')).toEqual({ file: '/etc/keys' });
    expect(parseAuthorizedKeysSpec('/a=b/keys')).toEqual({ file: '/a=b/keys' });
  });

  test('addSecureOptions: commander parses every flag', () => {
    const cmd = addSecureOptions(new Command('serve').exitOverride().action(() => {}));
    cmd.parse(['--listen-ssh', '--authorized-keys', 'maas=/k', '--authorized-keys', '/j', '--listen-tls', '0.0.0.0:16514', '--tls-dir', '/pki',
      '--tls-allowed-dn', 'maas-*', '--tls-max-version', '1.2', '--listen-unix', '--unix-mode', '660', '--no-ssh-password',
      '--state-dir', '/s', '--policy', '/p.json', '--audit-log', '/a.log'], { from: 'user' });
    const o = cmd.opts();
    expect(o).toMatchObject({
      listenSsh: true, authorizedKeys: ['maas=/k', '/j'], listenTls: '0.0.0.0:16514', tlsDir: '/pki', tlsAllowedDn: ['maas-*'],
      tlsMaxVersion: '1.2', listenUnix: true, unixMode: 0o660, sshPassword: false, stateDir: '/s', policy: '/p.json', auditLog: '/a.log',
    });
    expect(wantsSecureListener(o)).toBe(true);
    expect(wantsSecureListener({})).toBe(false);
    const bad = addSecureOptions(new Command('serve').exitOverride().configureOutput({ writeErr: () => {} }).action(() => {}));
    expect(() => bad.parse(['--unix-mode', '666'], { from: 'user' })).toThrow(/every local user/);
  });

  test('defaults: state dir from XDG_STATE_HOME or HOME', () => {
    expect(defaultStateDir({ XDG_STATE_HOME: '/x/state', HOME: '/h' })).toBe('/x/state/vboxvirt');
    expect(defaultStateDir({ HOME: '/h' })).toBe('/h/.local/state/vboxvirt');
    expect(defaultStateDir({ XDG_STATE_HOME: 'relative', HOME: '/h' })).toBe('/h/.local/state/vboxvirt');
  });

  test('loadSecurity: policy file errors surface; no flags → allow all, audit off', async () => {
    const s = loadSecurity({});
    expect(s.policy.forIdentity({ transport: 'tcp', address: '1.2.3.4:5' }).seesAll).toBe(true);
    await writeFile(path.join(dir, 'pol.json'), '{"default":"nope"}');
    expect(() => loadSecurity({ policy: path.join(dir, 'pol.json') })).toThrow(/policy.default/);
  });
});
