/**
 * The access policy and the audit log on the storage/define handlers (define,
 * undefine, attach-disk, domblkinfo), end to end: the real command line
 * (`vboxvirt serve --vboxmanage bin/vboxsim.js --policy … --audit-log …`) as a child
 * process, driven by real virsh over SSH, TCP and the unix socket, plus raw
 * RPC calls that name a hidden VM by UUID without looking it up first.
 *
 * Identities (policy below):
 *   - `maas` over SSH: sees and changes group /maas and names maas-*  (allowed)
 *   - plain TCP from 127.0.0.1: sees and changes group /maas only     (`secret` is hidden)
 *   - the local unix socket: sees everything, changes nothing          (88 access denied)
 * Every refusal is checked against the simulator's invocation log (no change
 * command for the VM) and the VM's state.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createSimHost, type SimHost } from '../helpers/simhost.js';
import { waitFor, type LongProcess } from '../helpers/proc.js';
import { ROOT } from '../helpers/paths.js';
import { clientEnv } from '../helpers/virsh.js';
import { RawClient, decodeError, xdr, S_ERROR } from '../helpers/rpc.js';
import { MUTATING, maasStateDir, startServeWithSshClient, tmpDir, virshWith, type SshClientSetup } from './fixtures.js';

let sim: SimHost;
let dir: string;
let proc: LongProcess;
let sshPort: number;
let tcpPort: number;
let sock: string;
let client: SshClientSetup;
let stopServed: (() => Promise<void>) | undefined;
let key: { priv: string; fingerprint: string };
let auditFile: string;
let secretUuid: string;
let node1Uuid: string;
let disk: string;
const env = clientEnv();

// remote_protocol.x procedure numbers
const P = { DOMAIN_ATTACH_DEVICE: 8, DOMAIN_DEFINE_XML: 11, DOMAIN_UNDEFINE: 35, DOMAIN_GET_BLOCK_INFO: 194 };

beforeAll(async () => {
  sim = await createSimHost();
  await sim.createVm('node1');
  await sim.createVm('secret');
  await sim.createVm('node9');
  node1Uuid = (await sim.info('node1')).UUID!;
  secretUuid = (await sim.info('secret')).UUID!;
  expect(node1Uuid).toMatch(/^[0-9a-f-]{36}$/);
  await sim.vbox(['modifyvm', 'node1', '--groups', '/maas']);
  await sim.vbox(['modifyvm', 'node9', '--groups', '/maas']);
  dir = await tmpDir('vv-policy-storage-');
  disk = path.join(dir, 'extra.img');
  await writeFile(disk, Buffer.alloc(1024 * 1024));
  const { state, key: maasKey } = await maasStateDir(dir);
  key = maasKey;
  const policyFile = path.join(dir, 'policy.json');
  await writeFile(policyFile, JSON.stringify({
    default: 'deny',
    rules: [
      { name: 'maas', match: { transport: 'ssh', user: 'maas' }, see: ['group:/maas', 'name:maas-*'] },
      { name: 'tcp-maas-only', match: { transport: 'tcp' }, see: ['group:/maas'] },
      { name: 'local-viewer', match: { address: 'local' }, see: '*', change: false },
    ],
  }));
  auditFile = path.join(dir, 'audit.log');
  sock = path.join(dir, 'sock', 'libvirt-sock');
  const served = await startServeWithSshClient(state, [
    // real vboxsim processes (bin/vboxsim.js) so its invocation log (VBOXSIM_LOG) records every VBoxManage run
    '--backend', 'vboxmanage', '--vboxmanage', path.join(ROOT, 'bin', 'vboxsim.js'),
    '--state-dir', state, '--listen-ssh', '127.0.0.1:0', '--listen-tcp', '127.0.0.1:0', '--listen-unix', sock,
    '--policy', policyFile, '--audit-log', auditFile, '--log-level', 'warn',
  ], { ...process.env, VBOX_USER_HOME: sim.home, VBOXSIM_LOG: '1' }, ['unix', 'ssh', 'tcp']);
  stopServed = served.stop;
  proc = served.proc;
  sshPort = served.ports.ssh!;
  tcpPort = served.ports.tcp!;
  client = served.client;
});

afterAll(async () => {
  await stopServed?.();
  await sim?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sshUri = () => `qemu+ssh://maas@127.0.0.1:${sshPort}/system?keyfile=${key.priv}`;
const tcpUri = () => `qemu+tcp://127.0.0.1:${tcpPort}/system`;
const unixUri = () => `qemu+unix:///system?socket=${sock}`;

async function invocations(): Promise<string[][]> {
  const f = path.join(sim.home, 'vboxsim-invocations.jsonl');
  if (!existsSync(f)) return [];
  return (await readFile(f, 'utf8')).trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { argv: string[] }).argv);
}

/** Change commands run since `from` that name this VM (by name or UUID). */
async function changesTo(from: number, ...ids: string[]): Promise<string[][]> {
  return (await invocations()).slice(from).filter((argv) => MUTATING.has(argv[0]!) && argv.some((a) => ids.includes(a)));
}

async function auditLines(): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(auditFile, 'utf8').catch(() => '');
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function xmlFile(name: string, xml: string): Promise<string> {
  const f = path.join(dir, name);
  await writeFile(f, xml);
  return f;
}

const domainXml = (name: string, memMiB: number, uuid?: string) =>
  `<domain type='vbox'><name>${name}</name>${uuid ? `<uuid>${uuid}</uuid>` : ''}<memory unit='MiB'>${memMiB}</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;

/** A VM's own XML (read over the unix socket, which sees everything) with another memory size / name. */
async function vmXml(vm: string, memMiB: number, name = vm): Promise<string> {
  const r = await virshWith(env, unixUri(), ['dumpxml', '--inactive', vm]);
  expect(r.rc).toBe(0);
  const kib = memMiB * 1024;
  return r.stdout
    .replace(`<name>${vm}</name>`, `<name>${name}</name>`)
    .replace(/<memory unit='KiB'>\d+<\/memory>/, `<memory unit='KiB'>${kib}</memory>`)
    .replace(/<currentMemory unit='KiB'>\d+<\/currentMemory>/, `<currentMemory unit='KiB'>${kib}</currentMemory>`);
}

/** XDR remote_nonnull_domain. */
function nonnullDomain(name: string, uuid: string): Buffer {
  return Buffer.concat([xdr.string(name), Buffer.from(uuid.replace(/-/g, ''), 'hex'), xdr.int(-1)]);
}

describe('a VM the policy hides does not exist for define/undefine/attach/domblkinfo', () => {
  test('virsh over TCP: "failed to get domain", and VirtualBox is not asked to change it', async () => {
    const before = (await invocations()).length;
    for (const args of [
      ['dumpxml', 'secret'],
      ['domblkinfo', 'secret', 'hda'],
      ['undefine', 'secret'],
      ['attach-disk', 'secret', disk, 'sdb', '--config'],
    ]) {
      const r = await virshWith(env, tcpUri(), args);
      expect(r.rc).toBe(1);
      expect(r.stderr).toContain("failed to get domain 'secret'");
    }
    expect(await changesTo(before, 'secret', secretUuid)).toEqual([]);
    expect(await sim.state('secret')).toBe('poweroff');
    // the TCP identity itself works: it sees its own VM
    const ok = await virshWith(env, tcpUri(), ['domstate', 'node1']);
    expect(ok.stdout.trim()).toBe('shut off');
  });

  test('raw RPC naming the hidden VM by UUID (no lookup first): "Domain not found", like an unknown VM', async () => {
    const c = await RawClient.connect(tcpPort);
    try {
      await c.open();
      const unknown = '0badc0de-0000-4000-8000-000000000000';
      let serial = 10;
      const err = async (proc: number, payload: Buffer) => {
        const p = await c.call(proc, serial++, payload, true);
        expect(p.status).toBe(S_ERROR);
        return decodeError(p.payload);
      };
      const disk1 = `<disk type='file' device='disk'><source file='${disk}'/><target dev='sdb' bus='sata'/></disk>`;
      const before = (await invocations()).length;
      for (const [proc, tail] of [
        [P.DOMAIN_UNDEFINE, Buffer.alloc(0)],
        [P.DOMAIN_ATTACH_DEVICE, xdr.string(disk1)],
        [P.DOMAIN_GET_BLOCK_INFO, Buffer.concat([xdr.string('hda'), xdr.uint(0)])],
      ] as Array<[number, Buffer]>) {
        const hidden = await err(proc, Buffer.concat([nonnullDomain('secret', secretUuid), tail]));
        const none = await err(proc, Buffer.concat([nonnullDomain('secret', unknown), tail]));
        expect(hidden.code).toBe(42); // VIR_ERR_NO_DOMAIN
        expect(none.code).toBe(42);
        expect(hidden.message).toContain('Domain not found');
        expect(hidden.message).not.toContain('access denied');
      }
      expect(await changesTo(before, 'secret', secretUuid)).toEqual([]);
    } finally {
      c.destroy();
    }
  });

  test('define of the hidden VM (by its name, or by its UUID under another name) is refused without revealing it', async () => {
    const before = (await invocations()).length;
    const byName = await virshWith(env, tcpUri(), ['define', await xmlFile('secret.xml', domainXml('secret', 4096))]);
    expect(byName.rc).toBe(1);
    expect(byName.stderr).toMatch(/access denied: .*may not define domain 'secret'/);
    expect(byName.stderr).not.toContain(secretUuid);
    const byUuid = await virshWith(env, tcpUri(), ['define', await xmlFile('sneaky.xml', domainXml('sneaky', 4096, secretUuid))]);
    expect(byUuid.rc).toBe(1);
    expect(byUuid.stderr).toMatch(/access denied: .*may not define domain 'sneaky'/);
    expect(byUuid.stderr).not.toContain("'secret'");
    // the same answer as for a new VM this identity may not create
    const fresh = await virshWith(env, tcpUri(), ['define', await xmlFile('fresh.xml', domainXml('fresh', 512))]);
    expect(fresh.rc).toBe(1);
    const errLine = (t: string, name: string) => t.split('\n')[1]!.replace(`'${name}'`, "'X'").replace(/127\.0\.0\.1:\d+/, 'A');
    expect(errLine(fresh.stderr, 'fresh')).toBe(errLine(byName.stderr, 'secret'));
    expect(await changesTo(before, 'secret', secretUuid, 'sneaky', 'fresh')).toEqual([]);
    expect((await invocations()).slice(before).filter((a) => a[0] === 'createvm')).toEqual([]);
    const info = await sim.info('secret');
    expect(info.name).toBe('secret');
    expect(Number(info.memory)).not.toBe(4096);
    // audited (for the operator: which VM it was)
    const lines = await waitFor('audit lines of the refused defines', async () => {
      const ls = (await auditLines()).filter((l) => l.transport === 'tcp' && String(l.procedure).startsWith('DOMAIN_DEFINE_XML'));
      return ls.length >= 3 ? ls : undefined;
    });
    for (const l of lines) expect(l).toMatchObject({ result: 'error', error: { code: 88 } });
    expect(lines.some((l) => (l.vm as { uuid: string } | undefined)?.uuid === secretUuid)).toBe(true);
  });
});

describe('a VM the identity may see but not change: 88 access denied, nothing changes', () => {
  test('define / undefine / attach-disk over the local unix socket', async () => {
    const before = (await invocations()).length;
    const memBefore = (await sim.info('node1')).memory;
    const cases = [
      ['define', await xmlFile('node1-big.xml', await vmXml('node1', 3072))],
      ['undefine', 'node1'],
      ['attach-disk', 'node1', disk, 'sdb', '--config'],
    ];
    for (const args of cases) {
      const r = await virshWith(env, unixUri(), args);
      expect(r.rc).toBe(1);
      expect(r.stderr).toMatch(/access denied: .*may not change domain 'node1' \(policy local-viewer\)/);
    }
    // reads still work for it
    const blk = await virshWith(env, unixUri(), ['domblklist', 'node1']);
    expect(blk.rc).toBe(0);
    expect(await changesTo(before, 'node1', node1Uuid)).toEqual([]);
    expect((await sim.info('node1')).memory).toBe(memBefore);
    const denied = await waitFor('audit lines of the refused changes', async () => {
      const ls = (await auditLines()).filter((l) => l.transport === 'unix' && l.result === 'error');
      return ls.length >= 3 ? ls : undefined;
    });
    expect(denied.map((l) => String(l.procedure)).sort().join(' ')).toMatch(/DOMAIN_ATTACH_DEVICE.*DOMAIN_DEFINE_XML.*DOMAIN_UNDEFINE/);
    for (const l of denied) expect(l).toMatchObject({ address: 'local', vm: { name: 'node1', uuid: node1Uuid }, error: { code: 88 } });
  });
});

describe('an allowed identity: define / attach-disk / undefine work and are audit-logged with who did it', () => {
  test('maas over SSH redefines its VM, attaches a disk, creates and undefines a maas-* VM; other names are refused', async () => {
    const before = (await invocations()).length;
    let r = await virshWith(client.env, sshUri(), ['define', await xmlFile('node1-2g.xml', await vmXml('node1', 1536))]);
    expect(r.stderr).toBe('');
    expect(Number((await sim.info('node1')).memory)).toBe(1536);
    r = await virshWith(client.env, sshUri(), ['attach-disk', 'node1', disk, 'sdb', '--targetbus', 'sata', '--config']);
    expect(r.stderr).toBe('');
    expect(Object.values(await sim.info('node1'))).toContain(disk);
    r = await virshWith(client.env, sshUri(), ['define', await xmlFile('maas-new.xml', domainXml('maas-new', 512))]);
    expect(r.stderr).toBe('');
    expect(await sim.state('maas-new')).toBe('poweroff');
    // renaming it out of its rules (maas-* → desk-1, group /): refused, not renamed
    r = await virshWith(client.env, sshUri(), ['define', await xmlFile('rename.xml', await vmXml('maas-new', 512, 'desk-1'))]);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/access denied: .*may not rename domain 'desk-1' \(policy maas\)/);
    expect((await sim.info('maas-new')).name).toBe('maas-new');
    r = await virshWith(client.env, sshUri(), ['undefine', 'maas-new']);
    expect(r.stderr).toBe('');
    expect((await sim.vboxRaw(['showvminfo', 'maas-new'])).rc).not.toBe(0);
    // the invocation log is live (so the refusal checks above are not vacuous)
    expect((await changesTo(before, 'node1', node1Uuid)).some((a) => a[0] === 'modifyvm')).toBe(true);
    expect((await changesTo(before, 'node1', node1Uuid)).some((a) => a[0] === 'storageattach')).toBe(true);
    // a new VM outside its names: refused before VirtualBox creates anything
    const mark = (await invocations()).length;
    r = await virshWith(client.env, sshUri(), ['define', await xmlFile('other.xml', domainXml('other-vm', 512))]);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/access denied: .*may not define domain 'other-vm' \(policy maas\)/);
    expect((await invocations()).slice(mark).filter((a) => a[0] === 'createvm')).toEqual([]);

    const lines = await waitFor('the audit lines of maas', async () => {
      const ls = (await auditLines()).filter((l) => l.user === 'maas');
      return ls.filter((l) => l.result === 'ok').length >= 4 && ls.some((l) => l.result === 'error') ? ls : undefined;
    });
    const ok = lines.filter((l) => l.result === 'ok');
    for (const l of ok) expect(l).toMatchObject({ transport: 'ssh', authMethod: 'publickey', fingerprint: key.fingerprint });
    const procs = ok.map((l) => `${String(l.procedure)} ${(l.vm as { name: string }).name}`);
    expect(procs.some((p) => /^DOMAIN_DEFINE_XML\S* node1$/.test(p))).toBe(true);
    expect(procs.some((p) => /^DOMAIN_ATTACH_DEVICE\S* node1$/.test(p))).toBe(true);
    expect(procs.some((p) => /^DOMAIN_DEFINE_XML\S* maas-new$/.test(p))).toBe(true);
    expect(procs.some((p) => /^DOMAIN_UNDEFINE\S* maas-new$/.test(p))).toBe(true);
    expect(lines.find((l) => (l.vm as { name: string } | undefined)?.name === 'other-vm')).toMatchObject({ result: 'error', error: { code: 88 } });
  });

  test('pool and volume changes are audit-logged too', async () => {
    const poolDir = path.join(dir, 'pool2');
    let r = await virshWith(client.env, sshUri(), ['pool-define-as', 'p2', 'dir', '--target', poolDir]);
    expect(r.stderr).toBe('');
    r = await virshWith(client.env, sshUri(), ['pool-build', 'p2']);
    expect(r.stderr).toBe('');
    r = await virshWith(client.env, sshUri(), ['pool-start', 'p2']);
    expect(r.stderr).toBe('');
    r = await virshWith(client.env, sshUri(), ['vol-create-as', 'p2', 'v1', '1M', '--format', 'raw']);
    expect(r.stderr).toBe('');
    expect(existsSync(path.join(poolDir, 'v1.img'))).toBe(true);
    r = await virshWith(client.env, sshUri(), ['vol-delete', 'v1', '--pool', 'p2']);
    expect(r.stderr).toBe('');
    expect(existsSync(path.join(poolDir, 'v1.img'))).toBe(false);
    const lines = await waitFor('the storage audit lines', async () => {
      const ls = (await auditLines()).filter((l) => l.user === 'maas' && String(l.procedure).startsWith('STORAGE_'));
      return ls.length >= 5 ? ls : undefined;
    });
    expect(lines.map((l) => l.procedure)).toEqual([
      'STORAGE_POOL_DEFINE_XML', 'STORAGE_POOL_BUILD', 'STORAGE_POOL_CREATE', 'STORAGE_VOL_CREATE_XML', 'STORAGE_VOL_DELETE',
    ]);
    for (const l of lines) expect(l).toMatchObject({ result: 'ok', transport: 'ssh', details: { pool: 'p2' } });
    expect(lines[3]!.details).toMatchObject({ volume: 'v1.img' });
  });
});
