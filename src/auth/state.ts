/**
 * Where vboxvirt keeps its own state (SSH host key, password hashes,
 * per-user authorized_keys, the default unix socket).
 *
 *   --state-dir DIR, else $XDG_STATE_HOME/vboxvirt, else ~/.local/state/vboxvirt
 */
import { mkdirSync, statSync, chmodSync, writeFileSync, renameSync, openSync, closeSync, fsyncSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';

export class StateError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'StateError';
  }
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'vboxvirt');
  return join(env.HOME || homedir(), '.local', 'state', 'vboxvirt');
}

/** Create the directory (0700) if missing. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new StateError('ERR_STATE_DIR', `${dir} is not a directory`);
}

/** Write a file atomically with the given mode (tmp file + rename). */
export function writePrivateFile(path: string, data: string | Buffer, mode = 0o600): void {
  ensurePrivateDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  chmodSync(tmp, mode);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Paths inside the state directory. */
export function statePaths(stateDir: string) {
  return {
    hostKey: join(stateDir, 'ssh_host_ed25519_key'),
    passwords: join(stateDir, 'passwords'),
    users: join(stateDir, 'users'),
    authorizedKeys: (user: string) => join(stateDir, 'users', user, 'authorized_keys'),
    socket: join(stateDir, 'libvirt-sock'),
  };
}

/** User names we accept anywhere (ssh login names, passwd entries, directory names). */
export function isValidUserName(user: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(user);
}
