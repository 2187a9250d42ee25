/**
 * The SSH command recogniser against every remote command virsh 9.0 was
 * observed to send (../shared/captures/ssh-argv.txt), plus older clients'
 * forms and hostile variations.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLibvirtSshCommand, splitShellWords, SshCommandError } from '../../src/transport/ssh-command.js';
import { CAPTURES } from '../helpers/paths.js';

interface Observed { section: string; command: string }

/** Every `sh -c '…'` argv element in the capture, with its section title. */
function observedCommands(): Observed[] {
  const text = readFileSync(path.join(CAPTURES, 'ssh-argv.txt'), 'utf8');
  const out: Observed[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('### ')) section = line.slice(4);
    const m = /^argv\[\d+\]=<<(sh -c .*)>>$/.exec(line);
    // `$FAKEDIR` is the capture's placeholder for the client's temp directory.
    if (m) out.push({ section, command: m[1]!.replaceAll('$FAKEDIR', '/tmp/fakedir') });
  }
  return out;
}

const observed = observedCommands();

test('the capture holds the expected variety of commands', () => {
  expect(observed.length).toBeGreaterThanOrEqual(25);
});

describe.each(observed.map((o) => [o.section, o.command]))('%s', (section, command) => {
  test('is accepted, with the right form and read-only flag', () => {
    const c = parseLibvirtSshCommand(command);
    const ro = /--readonly/.test(section);
    expect(c.readOnly).toBe(ro);
    if (command.includes('which virt-ssh-helper')) {
      expect(c.form).toBe('auto');
      expect(c.uri).toMatch(/^(qemu|test|vbox):\/\//);
      expect(c.socket).toMatch(/libvirt-sock(-ro)?$/);
    } else if (command.includes('virt-ssh-helper')) {
      expect(c.form).toBe('helper');
      expect(c.uri).toBe('qemu:///system');
    } else {
      expect(c.form).toBe('netcat');
      const sock = /-U (\S+?)'?$/.exec(command)![1];
      expect(c.socket).toBe(sock);
    }
  });
});

test('exact values from the default command', () => {
  const cmd = observed.find((o) => o.section === 'URI: qemu+ssh://user@host/system')!.command;
  expect(parseLibvirtSshCommand(cmd)).toEqual({ form: 'auto', uri: 'qemu:///system', socket: '/var/run/libvirt/libvirt-sock', readOnly: false });
  const ncat = observed.find((o) => o.section.includes('netcat=/opt/bin/ncat'))!.command;
  expect(parseLibvirtSshCommand(ncat)).toEqual({ form: 'netcat', socket: '/var/run/libvirt/libvirt-sock', readOnly: false });
});

test.each([
  ['nc -U /var/run/libvirt/libvirt-sock', { form: 'netcat', socket: '/var/run/libvirt/libvirt-sock', readOnly: false }],
  ['nc -q0 -U /var/run/libvirt/libvirt-sock-ro', { form: 'netcat', socket: '/var/run/libvirt/libvirt-sock-ro', readOnly: true }],
  ['nc -q 0 -U /run/libvirt/libvirt-sock', { form: 'netcat', socket: '/run/libvirt/libvirt-sock', readOnly: false }],
  ["virt-ssh-helper 'qemu:///system'", { form: 'helper', uri: 'qemu:///system', readOnly: false }],
  ['virt-ssh-helper -r qemu:///system', { form: 'helper', uri: 'qemu:///system', readOnly: true }],
  ["sh -c 'nc -U /var/run/libvirt/libvirt-sock'", { form: 'netcat', socket: '/var/run/libvirt/libvirt-sock', readOnly: false }],
  // libvirt < 1.x style, spaces around the `;`
  ["sh -c 'if nc -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0; else ARG=; fi; nc $ARG -U /var/run/libvirt/libvirt-sock'",
    { form: 'netcat', socket: '/var/run/libvirt/libvirt-sock', readOnly: false }],
])('older / plain form accepted: %s', (cmd, want) => {
  expect(parseLibvirtSshCommand(cmd)).toEqual(want);
});

test.each([
  '',
  'id',
  'bash',
  'sh',
  'sh -c id',
  "sh -c 'virt-ssh-helper qemu:///system; id'",
  "sh -c 'virt-ssh-helper qemu:///system && id'",
  "sh -c 'virt-ssh-helper qemu:///system' extra",
  "bash -c 'virt-ssh-helper qemu:///system'",
  'virt-ssh-helper qemu:///system; id',
  'virt-ssh-helper $(id)',
  'virt-ssh-helper `id`',
  'virt-ssh-helper',
  'virt-ssh-helper a b',
  'virt-ssh-helper -x qemu:///system',
  'nc -U /var/run/libvirt/libvirt-sock; id',
  'nc -l -p 22',
  'nc example.com 80',
  'nc -U ../../etc/passwd',
  'nc -U /var/run/../../etc/shadow',
  "sh -c 'if nc -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;curl $ARG -U /sock'",
  "sh -c 'if nc -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;ncat $ARG -U /sock'",
  "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then virt-ssh-helper qemu:///system; else rm -rf /; fi'",
  'virt-ssh-helper "qemu:///$HOME"',
  "virt-ssh-helper 'unterminated",
  'virt-ssh-helper qemu:///system\nid',
  'x'.repeat(5000),
  'virt-ssh-helper qemu:///system\0',
])('refused: %j', (cmd) => {
  expect(() => parseLibvirtSshCommand(cmd)).toThrow(SshCommandError);
});

test('errors have a stable code', () => {
  try {
    parseLibvirtSshCommand('id');
    throw new Error('not refused');
  } catch (e) {
    expect(e).toBeInstanceOf(SshCommandError);
    expect((e as SshCommandError).code).toBe('ERR_SSH_COMMAND_REFUSED');
  }
});

test('shell word splitting', () => {
  expect(splitShellWords(`sh -c 'a '"b c"' d'`)).toEqual(['sh', '-c', 'a b c d']);
  expect(splitShellWords('a\\ b  c')).toEqual(['a b', 'c']);
  expect(splitShellWords(`"a\\"b"`)).toEqual(['a"b']);
  expect(() => splitShellWords('a;b')).toThrow(SshCommandError);
  expect(() => splitShellWords('"$x"')).toThrow(SshCommandError);
});
