/**
 * SSH keys: the server's host key (generated on first start, kept 0600 in the
 * state directory) and users' authorized_keys files (OpenSSH format).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import { writePrivateFile, StateError } from './state.js';

const { utils } = ssh2;
type ParsedKey = ssh2.ParsedKey;

/** SHA256:… fingerprint of a public key blob, as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * Load the host key from `path`, generating an ed25519 key (OpenSSH format,
 * 0600) on first start. Refuses a key file readable by group/others.
 */
export function loadOrCreateHostKey(
  path: string,
  generate: () => { private: string; public: string } = () => utils.generateKeyPairSync('ed25519', { comment: 'vboxvirt host key' }),
): { key: Buffer; fingerprint: string; created: boolean } {
  let created = false;
  if (!existsSync(path)) {
    // ssh2's generator wraps node:crypto.generateKeyPairSync and writes OpenSSH format, but
    // drops the leading zero byte of a public key that starts with one (1 key in 256), and
    // its own parser then refuses the file ("Malformed OpenSSH private key"): such a key is
    // never written; a new one is drawn instead.
    let pair = generate();
    for (let tries = 1; utils.parseKey(pair.private) instanceof Error; tries++) {
      if (tries >= 16) throw new StateError('ERR_HOSTKEY', `could not generate a host key ssh2 can read (${tries} tries)`);
      pair = generate();
    }
    writePrivateFile(path, pair.private, 0o600);
    writePrivateFile(`${path}.pub`, pair.public + '\n', 0o644);
    created = true;
  }
  const st = statSync(path);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new StateError('ERR_HOSTKEY_MODE', `host key ${path} is accessible by group/others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const key = readFileSync(path);
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw new StateError('ERR_HOSTKEY', `cannot parse host key ${path}: ${parsed.message}`);
  const k = Array.isArray(parsed) ? parsed[0]! : parsed;
  return { key, fingerprint: fingerprint(k.getPublicSSH() as Buffer), created };
}

export interface AuthorizedKey {
  type: string;
  blob: Buffer;
  comment: string;
  options: string;
  parsed: ParsedKey;
}

const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** Parse an OpenSSH authorized_keys text. Bad lines are skipped (returned in `errors`). */
export function parseAuthorizedKeys(text: string): { keys: AuthorizedKey[]; errors: string[] } {
  const keys: AuthorizedKey[] = [];
  const errors: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, n) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    // Optional leading options field (e.g. `from="…",no-pty`): find the key type token.
    const tokens = line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    let idx = tokens.findIndex((t) => KEY_TYPES.test(t));
    if (idx < 0 || idx + 1 >= tokens.length) {
      errors.push(`line ${n + 1}: no key`);
      return;
    }
    const type = tokens[idx]!;
    const b64 = tokens[idx + 1]!;
    const parsed = utils.parseKey(`${type} ${b64}`);
    if (parsed instanceof Error) {
      errors.push(`line ${n + 1}: ${parsed.message}`);
      return;
    }
    const k = Array.isArray(parsed) ? parsed[0]! : parsed;
    keys.push({
      type,
      blob: k.getPublicSSH() as Buffer,
      comment: tokens.slice(idx + 2).join(' '),
      options: tokens.slice(0, idx).join(' '),
      parsed: k,
    });
  });
  return { keys, errors };
}

export function readAuthorizedKeysFile(path: string): AuthorizedKey[] {
  if (!existsSync(path)) return [];
  return parseAuthorizedKeys(readFileSync(path, 'utf8')).keys;
}

/** Find the authorized key whose blob equals `blob` (constant time per key). */
export function findKey(keys: AuthorizedKey[], algo: string, blob: Buffer): AuthorizedKey | undefined {
  let found: AuthorizedKey | undefined;
  for (const k of keys) {
    if (k.blob.length === blob.length && timingSafeEqual(k.blob, blob)) {
      // rsa-sha2-256/512 are signature algorithms of an ssh-rsa key.
      if (k.type === algo || (k.type === 'ssh-rsa' && /^rsa-sha2-(256|512)$/.test(algo))) found = k;
    }
  }
  return found;
}
