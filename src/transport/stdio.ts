/**
 * Serve one libvirt connection on stdin/stdout (`vboxvirt serve --stdio`).
 * Meant for sshd `ForceCommand` / `command="…"` setups and for libvirt's
 * `ext` transport (`qemu+ext:///system?command=…`).
 *
 * Under sshd the identity is taken from the environment sshd sets
 * (`SSH_CONNECTION`, `USER`), and when sshd saved the client's requested
 * command in `SSH_ORIGINAL_COMMAND` (ForceCommand), it must be one of the
 * libvirt remote commands (same parser as the built-in SSH server); `-r` /
 * `…-sock-ro` make the connection read-only.
 */
import { Duplex, type Readable, type Writable } from 'node:stream';
import { userInfo } from 'node:os';
import type { ConnectionSink, Identity } from './types.js';
import { parseLibvirtSshCommand, SshCommandError } from './ssh-command.js';

export interface StdioOptions {
  input?: Readable;
  output?: Writable;
  /** Where refusals are written (default process.stderr). */
  errors?: Writable;
  env?: NodeJS.ProcessEnv;
  readOnly?: boolean;
}

export function stdioIdentity(env: NodeJS.ProcessEnv, readOnly: boolean): Identity {
  const conn = env.SSH_CONNECTION?.trim().split(/\s+/);
  let user: string | undefined = env.USER || env.LOGNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = undefined;
    }
  }
  const address = conn && conn.length >= 2 ? (conn[0]!.includes(':') ? `[${conn[0]}]:${conn[1]}` : `${conn[0]}:${conn[1]}`) : 'local';
  return { transport: 'stdio', address, user, authMethod: 'none', readOnlyTransport: readOnly };
}

/**
 * Attach stdin/stdout to the daemon; resolves when the connection is over.
 * Rejects with SshCommandError (after writing a message to `errors`) when
 * SSH_ORIGINAL_COMMAND is not a libvirt command.
 */
export function serveStdio(sink: ConnectionSink, opts: StdioOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const errors = opts.errors ?? process.stderr;
  let readOnly = opts.readOnly ?? false;
  const original = env.SSH_ORIGINAL_COMMAND;
  if (original !== undefined && original !== '') {
    try {
      readOnly = parseLibvirtSshCommand(original).readOnly || readOnly;
    } catch (e) {
      const why = e instanceof SshCommandError ? e.message : 'invalid command';
      errors.write(`vboxvirt: command refused (${why}); only libvirt remote commands are accepted here.\n`);
      return Promise.reject(e instanceof SshCommandError ? e : new SshCommandError(why));
    }
  } else if (original === '') {
    errors.write('vboxvirt: interactive shells are not available; only libvirt remote connections are accepted here.\n');
    return Promise.reject(new SshCommandError('shell refused'));
  }
  const stream = Duplex.from({ readable: input, writable: output });
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
    };
    stream.once('close', finish);
    stream.once('error', finish);
    sink.attach(stream, stdioIdentity(env, readOnly));
  });
}
