/**
 * quoteArgv with hostile VM names. POSIX: round-trip through real shells
 * (/bin/sh, and bash/dash when installed — they always are on the CI image)
 * that print each parsed word NUL-terminated. cmd.exe cannot run here: its
 * two parsing layers (caret/metacharacter phase, then the MS C runtime argv
 * rules) are modelled below and the round trip is checked against that model.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { quoteArgv } from '../../src/vbox/quote.js';
import { VBoxError } from '../../src/vbox/types.js';

const HOSTILE = [
  'plain',
  'with space',
  '  leading and trailing  ',
  "single'quote",
  'double"quote',
  `both ' and " quotes`,
  '$(touch /tmp/pwned-vboxvirt)',
  '`touch /tmp/pwned-vboxvirt`',
  '${HOME}',
  '$HOME',
  'a;b',
  'a&b',
  'a&&b',
  'a|b',
  'a||b',
  '50%',
  '%PATH%',
  '!bang!',
  '^caret^',
  '<in',
  '>out',
  '(paren)',
  'back\\slash',
  'trailing\\',
  'trailing\\\\',
  'quote-after-backslash\\"x',
  '\\\\server\\share',
  'new\nline',
  'tab\there',
  'Ünïcødé ☃ 日本語',
  '',
  '-leading-dash',
  '--name=evil',
  '*',
  '?',
  '~',
  '#hash',
  'a=b',
  "'",
  '"',
  '\\',
  '\'"\'"',
];

const posixShells = ['/bin/sh', '/bin/bash', '/bin/dash', '/usr/bin/zsh'].filter((s) => existsSync(s));

function runShell(shell: string, line: string): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8', cwd: '/' });
  const parts = out.split('\0');
  parts.pop();
  return parts;
}

describe('quoteArgv posix', () => {
  test('at least /bin/sh is present', () => {
    expect(posixShells).toContain('/bin/sh');
  });

  test.each(posixShells)('%s: every hostile argument survives, one by one and all together', (shell) => {
    for (const arg of HOSTILE) {
      expect(runShell(shell, quoteArgv([arg], 'posix'))).toEqual([arg]);
    }
    expect(runShell(shell, quoteArgv(HOSTILE, 'posix'))).toEqual(HOSTILE);
    expect(existsSync('/tmp/pwned-vboxvirt')).toBe(false);
  });

  test('a first word containing = is a command, not an assignment', () => {
    const out = execFileSync('/bin/sh', ['-c', `${quoteArgv(['X=1'], 'posix')} 2>&1 || true`], { encoding: 'utf8' });
    expect(out).toMatch(/not found/);
  });

  test('the full remote command shape: env LC_ALL=… program argv', () => {
    const line = quoteArgv(['env', 'LC_ALL=C.UTF-8', 'printf', '%s\\0', ...HOSTILE], 'posix');
    const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' }).split('\0');
    out.pop();
    expect(out).toEqual(HOSTILE);
  });
});

// ---- cmd.exe model ---------------------------------------------------------

const META = new Set(['(', ')', '%', '!', '^', '"', '<', '>', '&', '|']);

/** cmd.exe's phase for a line where every metacharacter is caret-escaped: drop the carets. */
function cmdPhase(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '^') {
      out += line[++i];
      continue;
    }
    // an unescaped metacharacter would be interpreted by cmd.exe
    if (META.has(c)) throw new Error(`unescaped cmd metacharacter ${c} at ${i} in ${line}`);
    out += c;
  }
  return out;
}

/** MS C runtime (2008+) / CommandLineToArgvW argument parsing. */
function msvcrtArgv(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let cur = '';
    let inQuote = false;
    while (i < line.length && (inQuote || (line[i] !== ' ' && line[i] !== '\t'))) {
      const c = line[i];
      if (c === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n++;
          i++;
        }
        if (line[i] === '"') {
          cur += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) {
            cur += '"';
            i++;
          }
        } else cur += '\\'.repeat(n);
      } else if (c === '"') {
        if (inQuote && line[i + 1] === '"') {
          cur += '"';
          i += 2;
        } else {
          inQuote = !inQuote;
          i++;
        }
      } else {
        cur += c;
        i++;
      }
    }
    args.push(cur);
  }
  return args;
}

describe('quoteArgv cmd', () => {
  const single = HOSTILE.filter((a) => !/[\r\n]/.test(a));

  test('every hostile argument (except line breaks) survives cmd.exe + the C runtime parser', () => {
    for (const arg of single) {
      const line = quoteArgv(['C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe', arg], 'cmd');
      expect(msvcrtArgv(cmdPhase(line))).toEqual(['C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe', arg]);
    }
    const all = quoteArgv(single, 'cmd');
    expect(msvcrtArgv(cmdPhase(all))).toEqual(single);
  });

  test('the line never starts with a bare quote (cmd /c would strip the outer quotes)', () => {
    expect(quoteArgv(['C:\\x y\\VBoxManage.exe', 'a'], 'cmd').startsWith('^"')).toBe(true);
  });

  test('line breaks cannot pass through cmd.exe: a clear error', () => {
    expect(() => quoteArgv(['a\nb'], 'cmd')).toThrow(VBoxError);
    expect(() => quoteArgv(['a\rb'], 'cmd')).toThrow(/line break/);
  });
});

describe('quoteArgv input errors', () => {
  test('NUL, empty argv, non-strings, unknown dialect', () => {
    expect(() => quoteArgv(['a\0b'], 'posix')).toThrow(VBoxError);
    expect(() => quoteArgv(['a\0b'], 'cmd')).toThrow(VBoxError);
    expect(() => quoteArgv([], 'posix')).toThrow(VBoxError);
    expect(() => quoteArgv([1 as unknown as string], 'posix')).toThrow(VBoxError);
    expect(() => quoteArgv(['a'], 'fish' as 'posix')).toThrow(VBoxError);
  });
});
