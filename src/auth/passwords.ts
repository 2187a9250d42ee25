/**
 * Password store: `<state-dir>/passwords`, one line per user, 0600:
 *
 *   alice:scrypt$N$r$p$<salt base64>$<hash base64>
 *
 * Only salted scrypt hashes are stored; verification is constant-time.
 * Written by `vboxvirt passwd USER`; read by the SSH server on every attempt
 * (so changes apply without a restart).
 */
import { scrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { writePrivateFile, isValidUserName, StateError } from './state.js';

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 64 * 1024 * 1024;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEYLEN, { N: n, r, p, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

// A fixed dummy hash so unknown users cost the same time as known ones.
const DUMMY = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEYLEN).toString('base64')}`;

export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parts = (stored ?? DUMMY).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    await scryptAsync(password, Buffer.alloc(16), N, R, P);
    return false;
  }
  const n = Number(parts[1]);
  const r = Number(parts[2]);
  const p = Number(parts[3]);
  if (!Number.isInteger(n) || n < 2 || n > 1 << 20 || (n & (n - 1)) !== 0 || !(r >= 1 && r <= 32) || !(p >= 1 && p <= 16)) {
    return false;
  }
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  const got = await scryptAsync(password, salt, n, r, p);
  const ok = want.length === got.length && timingSafeEqual(want, got);
  return ok && stored !== undefined;
}

export function readPasswordFile(file: string): Map<string, string> {
  const map = new Map<string, string>();
  if (!existsSync(file)) return map;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf(':');
    if (i <= 0) continue;
    map.set(t.slice(0, i), t.slice(i + 1));
  }
  return map;
}

/** Set (or with `password === null`, remove) one user's password. */
export async function setPassword(file: string, user: string, password: string | null): Promise<void> {
  if (!isValidUserName(user)) throw new StateError('ERR_BAD_USER', `invalid user name: ${JSON.stringify(user)}`);
  if (password !== null) {
    if (password.length === 0) throw new StateError('ERR_EMPTY_PASSWORD', 'empty password refused');
    if (password.length > 1024) throw new StateError('ERR_PASSWORD_TOO_LONG', 'password longer than 1024 characters');
  }
  const map = readPasswordFile(file);
  if (password === null) map.delete(user);
  else map.set(user, await hashPassword(password));
  const body = [...map].map(([u, h]) => `${u}:${h}\n`).join('');
  writePrivateFile(file, body, 0o600);
}

/** Check a user's password against the file (unknown users take as long as known ones). */
export async function checkPassword(file: string, user: string, password: string): Promise<boolean> {
  if (password.length > 1024) return false;
  const stored = readPasswordFile(file).get(user);
  return verifyPassword(password, stored);
}

export function hasPassword(file: string, user: string): boolean {
  return readPasswordFile(file).has(user);
}
