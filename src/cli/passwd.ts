/**
 * `vboxvirt passwd USER [--state-dir DIR] [--delete]`: set (or remove) the SSH
 * password of USER for the built-in SSH server. Only a salted scrypt hash is
 * stored, in `<state-dir>/passwords` (0600).
 *
 * The password is read from the terminal (asked twice, not echoed) or, when
 * stdin is not a terminal, from the first line of stdin.
 *
 * Wiring (src/cli/vboxvirt.ts): `addPasswdCommand(program);`
 */
import { Command } from 'commander';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setPassword } from '../auth/passwords.js';
import { defaultStateDir, statePaths, isValidUserName } from '../auth/state.js';

export class PasswdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswdError';
  }
}

interface Tty extends Readable {
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => void;
}

/** Read one line without echo from a tty. */
function readHidden(input: Tty, output: Writable, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    input.setRawMode?.(true);
    input.resume();
    let buf = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          cleanup();
          output.write('\n');
          resolve(buf);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          cleanup();
          output.write('\n');
          reject(new PasswdError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    const cleanup = () => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
    };
    input.on('data', onData);
  });
}

/** First line of a non-tty stream (at most 4 KiB). */
function readLine(input: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = () => {
      input.off('data', onData);
      input.off('end', done);
      input.pause();
      const nl = buf.indexOf('\n');
      resolve((nl >= 0 ? buf.slice(0, nl) : buf).replace(/\r$/, ''));
    };
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.includes('\n')) done();
      else if (buf.length > 4096) {
        input.off('data', onData);
        reject(new PasswdError('password line too long'));
      }
    };
    input.on('data', onData);
    input.on('end', done);
    input.on('error', reject);
    input.resume();
  });
}

export interface PasswdIo {
  input: Tty;
  output: Writable;
}

export async function runPasswd(
  user: string,
  opts: { stateDir?: string; delete?: boolean },
  io: PasswdIo = { input: process.stdin as Tty, output: process.stderr },
): Promise<string> {
  if (!isValidUserName(user)) throw new PasswdError(`invalid user name ${JSON.stringify(user)} (letters, digits, . _ -)`);
  const stateDir = path.resolve(opts.stateDir ?? defaultStateDir());
  const file = statePaths(stateDir).passwords;
  if (opts.delete) {
    await setPassword(file, user, null);
    return `password of ${user} removed from ${file}`;
  }
  let password: string;
  if (io.input.isTTY) {
    password = await readHidden(io.input, io.output, `New password for ${user}: `);
    const again = await readHidden(io.input, io.output, 'Retype it: ');
    if (again !== password) throw new PasswdError('the passwords differ; nothing changed');
  } else {
    password = await readLine(io.input);
  }
  if (!password) throw new PasswdError('empty password; nothing changed');
  await setPassword(file, user, password);
  return `password of ${user} set in ${file}`;
}

export function addPasswdCommand(program: Command): Command {
  return program
    .command('passwd')
    .description('set the SSH password of USER for the built-in SSH server (read from the terminal, or the first line of stdin)')
    .argument('<user>', 'SSH login name')
    .option('--state-dir <dir>', 'state directory (default $XDG_STATE_HOME/vboxvirt or ~/.local/state/vboxvirt)')
    .option('--delete', 'remove the password of USER')
    .action(async (user: string, opts: { stateDir?: string; delete?: boolean }) => {
      try {
        const msg = await runPasswd(user, opts);
        process.stderr.write(`vboxvirt: ${msg}\n`);
      } catch (e) {
        if (e instanceof PasswdError) {
          process.stderr.write(`vboxvirt passwd: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
    });
}
