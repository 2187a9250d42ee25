/**
 * Access policy (pure) and the JSON-lines audit log (a real file written by winston).
 */
import { readFile, rm, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parsePolicy, loadPolicyFile, allowAll, filterVisible, PolicyError, type VmRef } from '../../src/policy/index.js';
import { createAuditLog, auditLine } from '../../src/audit.js';
import type { Identity } from '../../src/transport/types.js';
import { tmpDir } from './fixtures.js';

const vm = (name: string, groups: string[] = ['/'], uuid = '11111111-2222-3333-4444-555555555555'): VmRef => ({ name, uuid, groups });
const ssh = (user: string, address = '10.0.0.5:4242', extra: Partial<Identity> = {}): Identity => ({ transport: 'ssh', user, address, authMethod: 'publickey', ...extra });
const local: Identity = { transport: 'unix', address: 'local', authMethod: 'none' };
const tcp: Identity = { transport: 'tcp', address: '192.168.1.9:5000' };

describe('policy', () => {
  test('default: everything for everyone; read-only transports change nothing', () => {
    for (const id of [local, tcp, ssh('alice')]) {
      const a = allowAll.forIdentity(id);
      expect(a.canSee(vm('x'))).toBe(true);
      expect(a.canChange(vm('x'))).toBe(true);
      expect(a.seesAll).toBe(true);
    }
    const ro = allowAll.forIdentity(ssh('alice', '10.0.0.5:1', { readOnlyTransport: true }));
    expect(ro.canSee(vm('x'))).toBe(true);
    expect(ro.canChange(vm('x'))).toBe(false);
  });

  const policy = parsePolicy({
    default: 'deny',
    rules: [
      { name: 'maas', match: { transport: ['ssh', 'tls'], user: 'maas*' }, see: ['group:/maas', 'name:pxe-*'], change: ['group:/maas'] },
      { name: 'lab-net', match: { address: ['10.1.0.0/16', '2001:db8::/32'] }, see: '*', change: false },
      { name: 'ops', match: { cert: 'ops-?' }, see: ['uuid:AAAAAAAA-2222-3333-4444-555555555555'] },
      { name: 'local', match: { address: 'local' }, see: '*' },
    ],
  });

  test('first matching rule decides; selectors by group (and subgroups), name glob, uuid', () => {
    const m = policy.forIdentity(ssh('maas-rack1'));
    expect(m.rule).toBe('maas');
    expect(m.seesAll).toBe(false);
    expect(m.canSee(vm('node1', ['/maas']))).toBe(true);
    expect(m.canSee(vm('node2', ['/maas/rack2']))).toBe(true);
    expect(m.canSee(vm('node3', ['/maasive']))).toBe(false);
    expect(m.canSee(vm('pxe-7'))).toBe(true);
    expect(m.canChange(vm('pxe-7'))).toBe(false);
    expect(m.canChange(vm('node1', ['/maas']))).toBe(true);
    expect(m.canSee(vm('desktop'))).toBe(false);
  });

  test('addresses by CIDR (IPv4, IPv6, v4-mapped), "local" for unix/stdio', () => {
    expect(policy.forIdentity({ transport: 'tcp', address: '10.1.200.3:999' }).rule).toBe('lab-net');
    expect(policy.forIdentity({ transport: 'tcp', address: '[::ffff:10.1.2.3]:999' }).rule).toBe('lab-net');
    expect(policy.forIdentity({ transport: 'tcp', address: '[2001:db8::7]:999' }).rule).toBe('lab-net');
    const lab = policy.forIdentity({ transport: 'tcp', address: '10.1.200.3:999' });
    expect(lab.canSee(vm('any'))).toBe(true);
    expect(lab.canChange(vm('any'))).toBe(false);
    expect(policy.forIdentity(local).rule).toBe('local');
    expect(policy.forIdentity(local).canChange(vm('any'))).toBe(true);
  });

  test('cert names apply to TLS only; uuid match ignores case', () => {
    const tls: Identity = { transport: 'tls', address: '10.9.9.9:1', user: 'ops-1', authMethod: 'certificate' };
    const a = policy.forIdentity(tls);
    expect(a.rule).toBe('ops');
    expect(a.canSee(vm('x', ['/'], 'aaaaaaaa-2222-3333-4444-555555555555'))).toBe(true);
    expect(a.canSee(vm('x'))).toBe(false);
    expect(policy.forIdentity(ssh('ops-1', '10.9.9.9:1')).rule).toBe('default');
  });

  test('no rule matches → the default (deny: nothing visible)', () => {
    const a = policy.forIdentity(tcp);
    expect(a.rule).toBe('default');
    expect(a.canSee(vm('x'))).toBe(false);
    expect(a.canChange(vm('x'))).toBe(false);
    const ro = parsePolicy({ default: 'read-only' }).forIdentity(tcp);
    expect(ro.canSee(vm('x'))).toBe(true);
    expect(ro.canChange(vm('x'))).toBe(false);
  });

  test('filterVisible: keeps order, fetches groups only when the rule needs them', async () => {
    const list = [{ uuid: 'a', name: 'pxe-1' }, { uuid: 'b', name: 'desk' }, { uuid: 'c', name: 'n' }];
    const asked: string[] = [];
    const groupsOf = async (u: string) => { asked.push(u); return u === 'c' ? ['/maas/r1'] : ['/']; };
    const m = policy.forIdentity(ssh('maas'));
    expect(m.needsGroups).toBe(true);
    expect((await filterVisible(m, list, groupsOf)).map((v) => v.name)).toEqual(['pxe-1', 'n']);
    expect(asked).toEqual(['a', 'b', 'c']);
    asked.length = 0;
    expect(await filterVisible(allowAll.forIdentity(tcp), list, groupsOf)).toEqual(list);
    expect(asked).toEqual([]);
    const byName = parsePolicy({ default: 'deny', rules: [{ see: 'name:d*' }] }).forIdentity(tcp);
    expect(byName.needsGroups).toBe(false);
    expect((await filterVisible(byName, list, groupsOf)).map((v) => v.uuid)).toEqual(['b']);
    expect(asked).toEqual([]);
  });

  test.each([
    [[], 'expected a JSON object'],
    [{ default: 'maybe' }, 'policy.default'],
    [{ rules: {} }, 'policy.rules'],
    [{ rules: [{ match: { transport: 'telnet' } }] }, 'rules[0].match.transport: unknown transport'],
    [{ rules: [{ match: { address: '10.0.0.0/33' } }] }, 'rules[0].match.address: bad prefix'],
    [{ rules: [{ match: { address: 'example.com' } }] }, 'not an address'],
    [{ rules: [{ match: { colour: 'red' } }] }, 'unknown match key'],
    [{ rules: [{ see: ['host:x'] }] }, 'rules[0].see: unknown selector'],
    [{ rules: [{ see: ['group:maas'] }] }, 'a group starts with "/"'],
    [{ rules: [{ see: ['uuid:nope'] }] }, 'bad UUID'],
    [{ rules: [{ see: 5 }] }, 'rules[0].see: expected a string'],
    [{ rules: [{ sees: '*' }] }, 'rules[0]: unknown key'],
    [{ typo: 1 }, 'unknown key'],
  ])('invalid policy %j → PolicyError', (doc, msg) => {
    expect(() => parsePolicy(doc)).toThrow(PolicyError);
    expect(() => parsePolicy(doc)).toThrow(msg);
  });

  test('loadPolicyFile: typed errors for unreadable or invalid files', async () => {
    const d = await tmpDir('vv-pol-');
    try {
      await expect(async () => loadPolicyFile(path.join(d, 'missing.json'))).rejects.toThrow(/cannot read policy file/);
      await writeFile(path.join(d, 'bad.json'), '{ nope');
      expect(() => loadPolicyFile(path.join(d, 'bad.json'))).toThrow(/not valid JSON/);
      await writeFile(path.join(d, 'ok.json'), JSON.stringify({ default: 'deny', rules: [{ match: { user: 'a' } }] }));
      expect(loadPolicyFile(path.join(d, 'ok.json')).forIdentity(ssh('a')).canSee(vm('x'))).toBe(true);
      expect(loadPolicyFile(path.join(d, 'ok.json')).forIdentity(ssh('b')).canSee(vm('x'))).toBe(false);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('audit log', () => {
  test('one JSON line per change, with who, where, transport, procedure, VM and result', async () => {
    const d = await tmpDir('vv-audit-');
    const file = path.join(d, 'audit.log');
    try {
      const audit = createAuditLog(file);
      const id = ssh('maas', '10.0.0.5:4242', { fingerprint: 'SHA256:abc' });
      audit.record({ identity: id, procedure: 'DOMAIN_CREATE', vm: { name: 'node1', uuid: '11111111-2222-3333-4444-555555555555' }, result: 'ok', time: new Date('2026-01-02T03:04:05Z') });
      audit.record({ identity: { transport: 'tcp', address: '127.0.0.1:5' }, procedure: 'DOMAIN_DESTROY', vm: { name: 'vm "quoted"\nnewline', uuid: 'u' }, result: { code: 55, message: 'Requested operation is not valid: domain is not running' } });
      await audit.close();
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(2);
      const a = JSON.parse(lines[0]!);
      expect(a).toEqual({
        time: '2026-01-02T03:04:05.000Z', who: 'ssh:maas@10.0.0.5:4242', transport: 'ssh', address: '10.0.0.5:4242', user: 'maas',
        authMethod: 'publickey', fingerprint: 'SHA256:abc', procedure: 'DOMAIN_CREATE',
        vm: { name: 'node1', uuid: '11111111-2222-3333-4444-555555555555' }, result: 'ok',
      });
      const b = JSON.parse(lines[1]!);
      expect(b.vm.name).toBe('vm "quoted"\nnewline');
      expect(b.result).toBe('error');
      expect(b.error).toEqual({ code: 55, message: 'Requested operation is not valid: domain is not running' });
      expect(Date.parse(b.time)).not.toBeNaN();
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  test('appends across restarts; no file → disabled', async () => {
    const d = await tmpDir('vv-audit-');
    const file = path.join(d, 'audit.log');
    try {
      for (let i = 0; i < 2; i++) {
        const audit = createAuditLog(file);
        audit.record({ identity: local, procedure: 'DOMAIN_SUSPEND', vm: { name: `n${i}`, uuid: 'u' }, result: 'ok' });
        await audit.close();
      }
      const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.vm.name)).toEqual(['n0', 'n1']);
      const off = createAuditLog(undefined);
      off.record({ identity: local, procedure: 'X', result: 'ok' });
      await off.close();
      expect(auditLine({ identity: local, procedure: 7, result: 'ok' })).toMatchObject({ who: 'unix:local', procedure: 7, result: 'ok' });
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
