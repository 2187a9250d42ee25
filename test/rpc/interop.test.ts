/**
 * The RPC engine against real libvirt clients: virsh 9.0 and
 * python3-libvirt 9.0 connect over TCP (127.0.0.1, random port) to
 * RpcConnection with a small in-test handler table (two fake domains).
 * Proves the prologue/epilogue, replies, errors (as virsh renders them),
 * unknown procedures (the client maps them to "not supported") and
 * pipelining of concurrent calls from python threads on one connection.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainState, ListDomainsFlags, Proc, type NonnullDomain } from '../../protocol/index.js';
import { HandlerTable } from '../../src/rpc/dispatch.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { serveTcp, type TestServer } from './harness.js';

interface Vm { name: string; uuid: Buffer; id: number; state: number }

const vms: Vm[] = [
  { name: 'vm-on', uuid: Buffer.from('11111111222233334444555555555555', 'hex'), id: 3, state: DomainState.RUNNING },
  { name: 'vm-off', uuid: Buffer.from('aaaaaaaabbbbccccddddeeeeeeeeeeee', 'hex'), id: -1, state: DomainState.SHUTOFF },
];
const wire = (v: Vm): NonnullDomain => ({ name: v.name, uuid: v.uuid, id: v.id });
const find = (pred: (v: Vm) => boolean, what: string): Vm => {
  const v = vms.find(pred);
  if (!v) throw LibvirtError.noDomain(`no domain with matching ${what}`);
  return v;
};

let inFlight = 0;
let maxInFlight = 0;
const handlers = new HandlerTable()
  .on(Proc.CONNECT_GET_HOSTNAME, () => ({ hostname: 'vbox-host-1' }))
  .on(Proc.CONNECT_GET_TYPE, () => ({ type: 'VBOX' }))
  .on(Proc.CONNECT_GET_VERSION, () => ({ hv_ver: 7000012 }))
  .on(Proc.CONNECT_GET_LIB_VERSION, () => ({ lib_ver: 9000000 }))
  .on(Proc.CONNECT_LIST_ALL_DOMAINS, ({ flags }) => {
    const sel = vms.filter((v) =>
      v.id >= 0 ? flags & ListDomainsFlags.ACTIVE || !(flags & 3) : flags & ListDomainsFlags.INACTIVE || !(flags & 3));
    return { domains: sel.map(wire), ret: sel.length };
  })
  .on(Proc.DOMAIN_LOOKUP_BY_NAME, ({ name }) => ({ dom: wire(find((v) => v.name === name, `name '${name}'`)) }))
  .on(Proc.DOMAIN_LOOKUP_BY_ID, ({ id }) => ({ dom: wire(find((v) => v.id === id && id >= 0, `id ${id}`)) }))
  .on(Proc.DOMAIN_LOOKUP_BY_UUID, ({ uuid }) => ({ dom: wire(find((v) => v.uuid.equals(uuid), 'uuid')) }))
  .on(Proc.DOMAIN_GET_STATE, async ({ dom }) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await sleep(2);
    inFlight--;
    return { state: find((v) => v.name === dom.name, 'name').state, reason: 1 };
  })
  .on(Proc.DOMAIN_DESTROY, ({ dom }) => {
    const v = find((x) => x.name === dom.name, 'name');
    if (v.id < 0) throw LibvirtError.operationInvalid('domain is not running');
    v.id = -1;
    v.state = DomainState.SHUTOFF;
  });

let server: TestServer;
let uri: string;

beforeAll(async () => {
  server = await serveTcp({ handlers, open: (name) => {
    if (name !== 'test:///default') throw LibvirtError.noConnect(name ?? '');
  } });
  uri = `test+tcp://127.0.0.1:${server.port}/default`;
});

afterAll(async () => {
  await server.close();
});

async function virsh(...args: string[]) {
  return execa('virsh', ['-c', uri, ...args], { reject: false, timeout: 30000, env: { LC_ALL: 'C' } });
}

describe('virsh 9.0', () => {
  test('hostname, version --daemon', async () => {
    const h = await virsh('hostname');
    expect(h.exitCode).toBe(0);
    expect(h.stdout.trim()).toBe('vbox-host-1');
    expect(h.stderr).toBe('');
    const v = await virsh('version', '--daemon');
    expect(v.exitCode).toBe(0);
    expect(v.stdout).toContain('Running hypervisor: VBOX 7.0.12');
    expect(v.stdout).toContain('Running against daemon: 9.0.0');
  });

  test('list --all shows ids and states from pipelined GET_STATE calls', async () => {
    const r = await virsh('list', '--all');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/ 3\s+vm-on\s+running/);
    expect(r.stdout).toMatch(/ -\s+vm-off\s+shut off/);
  });

  test('domstate by name / by id, and a missing domain', async () => {
    expect((await virsh('domstate', 'vm-on')).stdout.trim()).toBe('running');
    expect((await virsh('domstate', '3')).stdout.trim()).toBe('running');
    const miss = await virsh('domstate', 'nosuch');
    expect(miss.exitCode).toBe(1);
    expect(miss.stderr).toContain("error: failed to get domain 'nosuch'");
  });

  test('an error reply is printed verbatim', async () => {
    const r = await virsh('destroy', 'vm-off');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("error: Failed to destroy domain 'vm-off'");
    expect(r.stderr).toContain('error: Requested operation is not valid: domain is not running');
  });

  test('a procedure the driver lacks is "not supported" for the client', async () => {
    const r = await virsh('nodeinfo');
    expect(r.exitCode).toBe(1);
    // libvirtd's exact wording reaches the user; the client library treats it as VIR_ERR_NO_SUPPORT
    expect(r.stderr).toContain('error: failed to get node information');
    expect(r.stderr).toContain('error: unknown procedure: 6');
  });

  test('the open hook refusing a URI: virsh cannot connect', async () => {
    const r = await execa('virsh', ['-c', `qemu+tcp://127.0.0.1:${server.port}/system`, 'hostname'], { reject: false, timeout: 30000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error: failed to connect to the hypervisor');
    expect(r.stderr).toContain('no connection driver available for qemu:///system');
  });
});

describe('virsh 9.0 and server keepalive', () => {
  test('an idle interactive virsh answers our PINGs and its session survives', async () => {
    const ka = await serveTcp({ handlers }, { keepalive: { interval: 0.2, count: 2 } });
    try {
      // commands on stdin (as MAAS types them into the prompt), with idle time in between
      const script = 'sleep 0.2; echo hostname; sleep 2; echo hostname; sleep 0.2; echo quit';
      const r = await execa('sh', ['-c', `(${script}) | virsh -c test+tcp://127.0.0.1:${ka.port}/default`], {
        reject: false, timeout: 30000, env: { LC_ALL: 'C' },
      });
      expect(r.stderr).toBe('');
      expect(r.stdout.match(/vbox-host-1/g)).toHaveLength(2);
      const c = ka.connections[0];
      // several PINGs went out during the idle 2 s and virsh answered them (else it would be gone after 2)
      expect(c.pingsSent).toBeGreaterThanOrEqual(3);
      expect(c.pongsReceived).toBeGreaterThanOrEqual(3);
      expect(c.closed).toBe(true);
    } finally {
      await ka.close();
    }
  });
});

describe('python3-libvirt 9.0', () => {
  test('concurrent calls from 8 threads on one connection are pipelined and all correct', async () => {
    maxInFlight = 0;
    const script = `
import libvirt, sys, threading
libvirt.registerErrorHandler(lambda ctx, err: None, None)
c = libvirt.open(sys.argv[1])
errors = []
def work():
    try:
        for i in range(40):
            d = c.lookupByName('vm-on')
            st, reason = d.state()
            assert st == libvirt.VIR_DOMAIN_RUNNING and reason == 1, (st, reason)
            assert d.ID() == 3 and d.UUIDString() == '11111111-2222-3333-4444-555555555555'
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
try:
    c.lookupByName('nosuch')
    errors.append('lookup of nosuch succeeded')
except libvirt.libvirtError as e:
    print('ERR', e.get_error_code(), e.get_error_domain(), e.get_error_message())
print('HOST', c.getHostname())
try:
    c.getInfo()
except libvirt.libvirtError as e:
    print('NOSUP', e.get_error_code(), e.get_error_message())
c.close()
print('ERRORS', errors)
`;
    const r = await execa('/usr/bin/python3', ['-c', script, uri], { reject: false, timeout: 60000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ERRORS []');
    expect(r.stdout).toContain("ERR 42 25 Domain not found: no domain with matching name 'nosuch'");
    expect(r.stdout).toContain('HOST vbox-host-1');
    // "unknown procedure" is what makes the client library report VIR_ERR_NO_SUPPORT (3)
    expect(r.stdout).toContain('NOSUP 3 unknown procedure: 6');
    expect(r.exitCode).toBe(0);
    // the server really ran several of this connection's calls at once, and never more than 5
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(5);
  });

  test('client keepalive PINGs are answered: the connection survives idle time', async () => {
    const script = `
import libvirt, sys, time, threading
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
c = libvirt.open(sys.argv[1])
c.setKeepAlive(1, 1)
time.sleep(3.5)
print('ALIVE', c.isAlive(), c.getHostname())
`;
    const r = await execa('/usr/bin/python3', ['-c', script, uri], { reject: false, timeout: 60000 });
    expect(r.stdout).toContain('ALIVE 1 vbox-host-1');
  });
});
