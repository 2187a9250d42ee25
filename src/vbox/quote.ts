/**
 * The ONE function that turns an argv array into a remote command line (SSH
 * runs a command *string* through the remote user's shell).
 *
 *  - 'posix': sh, bash, dash, ksh, zsh. Each argument in single quotes; a
 *    single quote becomes '\'' . Nothing inside single quotes is special
 *    (not $, `, \, !, newlines), so every byte except NUL survives.
 *  - 'cmd': Windows OpenSSH's default shell, `cmd.exe /c <line>`. Two layers:
 *    first quote for the program's own argv parser (MS C runtime /
 *    CommandLineToArgvW rules: backslashes doubled before a quote, quotes as
 *    \"), then escape every cmd.exe metacharacter ( ) % ! ^ " < > & | with ^
 *    so cmd passes the line through literally (a leading ^" also keeps cmd's
 *    /c quote-stripping rule from firing). cmd.exe cannot carry CR/LF inside
 *    a command line at all: such arguments are rejected.
 *
 * NUL cannot be passed by any shell: rejected for both.
 */
import { VBoxError } from './types.js';

export type ShellDialect = 'posix' | 'cmd';

const POSIX_SAFE = /^[A-Za-z0-9_\/.,:@+-]+$/; // no "=" (a first word with = is an assignment)

function quotePosix(arg: string): string {
  if (POSIX_SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** MS C runtime argv quoting (what CommandLineToArgvW undoes). Always quotes. */
function quoteMsvcrt(arg: string): string {
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
    } else if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
      backslashes = 0;
    } else {
      out += '\\'.repeat(backslashes) + ch;
      backslashes = 0;
    }
  }
  return out + '\\'.repeat(backslashes * 2) + '"';
}

const CMD_META = /[()%!^"<>&|]/g;

function quoteCmd(arg: string): string {
  if (/[\r\n]/.test(arg)) {
    throw new VBoxError('invalid-argument', 'an argument with a line break cannot be passed through cmd.exe');
  }
  return quoteMsvcrt(arg).replace(CMD_META, '^$&');
}

export function quoteArgv(argv: readonly string[], dialect: ShellDialect): string {
  if (!Array.isArray(argv) || argv.length === 0) throw new VBoxError('invalid-argument', 'empty command');
  if (dialect !== 'posix' && dialect !== 'cmd') throw new VBoxError('invalid-argument', `unknown shell dialect ${String(dialect)}`);
  return argv
    .map((a) => {
      if (typeof a !== 'string') throw new VBoxError('invalid-argument', 'arguments must be strings');
      if (a.includes('\0')) throw new VBoxError('invalid-argument', 'arguments cannot contain NUL characters');
      return dialect === 'posix' ? quotePosix(a) : quoteCmd(a);
    })
    .join(' ');
}
