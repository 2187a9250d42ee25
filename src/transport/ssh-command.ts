/**
 * Recognise the remote commands libvirt clients ask an SSH server to run to
 * reach a daemon, by parsing them — nothing is ever run. Pure, no I/O.
 *
 * Accepted (see ../shared/captures/ssh-argv.txt and spec §8.3):
 *   - `virt-ssh-helper [-r] URI`                                   (libvirt ≥ 8.5 "native")
 *   - `nc [-q0] -U SOCKET`                                          (old clients, plain netcat)
 *   - `sh -c '<script>'` where the script is one of the three forms virsh 9
 *     sends: proxy=auto (`which virt-ssh-helper …; if …; then virt-ssh-helper
 *     [-r] URI; else <netcat probe>; fi`), proxy=netcat (`if 'nc' -q … fi;'nc'
 *     $ARG -U SOCKET`) and proxy=native (`virt-ssh-helper [-r] URI`).
 * Everything else is refused with a typed error.
 */

export type SshCommandForm = 'helper' | 'netcat' | 'auto';

export interface LibvirtSshCommand {
  form: SshCommandForm;
  /** Driver URI given to virt-ssh-helper (`qemu:///system`), when present. */
  uri?: string;
  /** Unix socket path of the netcat form, when present. */
  socket?: string;
  /** `virt-ssh-helper -r` or a socket path ending in `-ro`. */
  readOnly: boolean;
}

export class SshCommandError extends Error {
  readonly code = 'ERR_SSH_COMMAND_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'SshCommandError';
  }
}

/** Longest command line we look at (virsh's is ~330 bytes). */
export const MAX_COMMAND_LENGTH = 4096;

/**
 * Split a command line the way a POSIX shell splits words, for the quoting
 * forms libvirt uses: single quotes, double quotes (with \\ \" \$ \` escapes),
 * backslash outside quotes. Adjacent quoted parts join into one word.
 * Anything a shell would expand or interpret outside quotes (`$`, backquote,
 * `;`, `|`, `&`, `<`, `>`, `(`, `)`, glob characters, newlines) is refused,
 * because an exact libvirt command never has them outside the `sh -c` script.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (inWord) {
        words.push(cur);
        cur = '';
        inWord = false;
      }
      i++;
      continue;
    }
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new SshCommandError('unterminated single quote');
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '\\"$`\n'.includes(line[i + 1]!)) {
          cur += line[i + 1];
          i += 2;
          continue;
        }
        if (d === '$' || d === '`') throw new SshCommandError('shell expansion inside double quotes');
        cur += d;
        i++;
      }
      if (!closed) throw new SshCommandError('unterminated double quote');
      inWord = true;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= line.length) throw new SshCommandError('trailing backslash');
      cur += line[i + 1];
      inWord = true;
      i += 2;
      continue;
    }
    if ('$`;|&<>()*?[]{}~#\n\r!'.includes(c)) {
      throw new SshCommandError(`unexpected shell character ${JSON.stringify(c)}`);
    }
    cur += c;
    inWord = true;
    i++;
  }
  if (inWord) words.push(cur);
  return words;
}

// The pieces of the script virsh generates, after the outer `sh -c '…'` word
// has been unquoted. Whitespace runs are normalised to one space first.
const URI = String.raw`([A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9/:._~%?&=@+,-]*)`;
const PROG = String.raw`([A-Za-z0-9_./+-]+)`;
const SOCK = String.raw`(/[A-Za-z0-9_./+@-]+)`;
const HELPER = String.raw`virt-ssh-helper(?: (-r))? ${URI}`;
const NC_PROBE =
  String.raw`if ${PROG} -q 2>&1 \| grep "requires an argument" >/dev/null 2>&1; ?then ARG=-q0; ?else ARG=; ?fi; ?${PROG} \$ARG -U ${SOCK}`;
const RE_HELPER = new RegExp(`^${HELPER}$`);
const RE_NC_PROBE = new RegExp(`^${NC_PROBE}$`);
const RE_AUTO = new RegExp(
  String.raw`^which virt-ssh-helper 1>/dev/null 2>&1; ?if test \$\? = 0; ?then ${HELPER}; ?else ${NC_PROBE}; ?fi$`,
);

function normalise(script: string): string {
  return script.replace(/[ \t]+/g, ' ').replace(/ ?; ?/g, '; ').trim();
}

function isRoSocket(path: string): boolean {
  return path.endsWith('-ro');
}

function checkProg(a: string, b: string): void {
  if (a !== b) throw new SshCommandError('netcat program names differ');
  const base = a.slice(a.lastIndexOf('/') + 1);
  if (!['nc', 'ncat', 'netcat', 'nc.openbsd', 'nc.traditional'].includes(base)) {
    throw new SshCommandError(`not a netcat program: ${a}`);
  }
  if (a.includes('..')) throw new SshCommandError('bad netcat path');
}

function checkSocket(path: string): void {
  if (path.split('/').includes('..')) throw new SshCommandError('bad socket path');
}

/** Parse the words of a direct (non-`sh -c`) command. */
function parseDirect(argv: string[]): LibvirtSshCommand {
  const prog = argv[0] ?? '';
  const base = prog.slice(prog.lastIndexOf('/') + 1);
  if (base === 'virt-ssh-helper') {
    const args = argv.slice(1);
    let readOnly = false;
    if (args[0] === '-r' || args[0] === '--readonly') {
      readOnly = true;
      args.shift();
    }
    if (args.length !== 1 || !new RegExp(`^${URI}$`).test(args[0]!)) {
      throw new SshCommandError('usage: virt-ssh-helper [-r] URI');
    }
    return { form: 'helper', uri: args[0], readOnly };
  }
  if (['nc', 'ncat', 'netcat', 'nc.openbsd'].includes(base)) {
    const args = argv.slice(1);
    if (args[0] === '-q0' || (args[0] === '-q' && args[1] === '0')) args.splice(0, args[0] === '-q0' ? 1 : 2);
    if (args.length !== 2 || args[0] !== '-U' || !new RegExp(`^${SOCK}$`).test(args[1]!)) {
      throw new SshCommandError('usage: nc [-q0] -U SOCKET');
    }
    checkProg(prog, prog);
    checkSocket(args[1]!);
    return { form: 'netcat', socket: args[1], readOnly: isRoSocket(args[1]!) };
  }
  throw new SshCommandError(`command not allowed: ${prog || '(empty)'}`);
}

function parseScript(script: string): LibvirtSshCommand {
  if (script.length > MAX_COMMAND_LENGTH) throw new SshCommandError('command too long');
  const s = normalise(script);
  let m = RE_AUTO.exec(s);
  if (m) {
    const [, r, uri, nc1, nc2, sock] = m;
    checkProg(nc1!, nc2!);
    checkSocket(sock!);
    return { form: 'auto', uri, socket: sock, readOnly: r === '-r' || isRoSocket(sock!) };
  }
  m = RE_NC_PROBE.exec(s);
  if (m) {
    const [, nc1, nc2, sock] = m;
    checkProg(nc1!, nc2!);
    checkSocket(sock!);
    return { form: 'netcat', socket: sock, readOnly: isRoSocket(sock!) };
  }
  m = RE_HELPER.exec(s);
  if (m) return { form: 'helper', uri: m[2], readOnly: m[1] === '-r' };
  // A script that is a single plain command (`sh -c 'nc -U /sock'`).
  let words: string[];
  try {
    words = splitShellWords(s);
  } catch {
    throw new SshCommandError('command not allowed: only libvirt remote commands are accepted');
  }
  return parseDirect(words);
}

/**
 * Classify an SSH exec command line. Throws SshCommandError for anything that
 * is not one of the libvirt client commands.
 */
export function parseLibvirtSshCommand(command: string): LibvirtSshCommand {
  if (typeof command !== 'string' || command.length === 0) throw new SshCommandError('empty command');
  if (command.length > MAX_COMMAND_LENGTH) throw new SshCommandError('command too long');
  if (command.includes('\0')) throw new SshCommandError('NUL byte in command');
  const argv = splitShellWords(command.trim());
  if (argv.length === 0) throw new SshCommandError('empty command');
  if (argv[0] === 'sh' || argv[0] === '/bin/sh') {
    if (argv.length !== 3 || argv[1] !== '-c') throw new SshCommandError("only `sh -c '<libvirt command>'` is accepted");
    return parseScript(argv[2]!);
  }
  return parseDirect(argv);
}
