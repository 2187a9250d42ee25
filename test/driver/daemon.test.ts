/**
 * Daemon: real TCP sockets on 127.0.0.1, the RPC engine's client, a real
 * simulated VirtualBox host. Proves connection tracking, cleanup of clients
 * that vanish without CONNECT_CLOSE, read/write backpressure, read-only
 * transports and shutdown.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Daemon } from '../../src/daemon.js';
import { TcpListener } from '../../src/transport/tcp.js';
import { createSimHost } from '../../src/vbox/index.js';
import { RpcClient } from '../../src/rpc/client.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { Proc } from '../../protocol/index.js';
import { uuidFromBytes } from '../../src/driver/names.js';
import type { Identity } from '../../src/transport/types.js';

let dir: string;
let daemon: Daemon;
let listener: TcpListener;
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

function connect(port = listener.port): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vboxvirt-daemon-'));
  const host = createSimHost({ home: dir, env: { VBOXSIM_START_MS: '20' } });
  const ctx = { who: 'fixture' };
  await host.createVm({ name: 'vm1', osType: 'Ubuntu_64', changes: { memoryMB: 512, cpus: 1 } }, ctx);
  const u2 = await host.createVm({ name: 'vm2', osType: 'Ubuntu_64', changes: { memoryMB: 512, cpus: 1 } }, ctx);
  await host.startVm(u2, ctx);
  daemon = new Daemon({ host });
  listener = await TcpListener.listen(daemon, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  await listener.close();
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

test('GetState after a lookup answers for the domain it names, not for the one looked up last', async () => {
  const c = new RpcClient(await connect());
  await c.connect('qemu:///system');
  const vm1 = (await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm1' })).dom;
  const vm2 = (await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm2' })).dom;
  // the domain just looked up (vm2, running), then another one (vm1, shut off) right after it
  expect(await c.call(Proc.DOMAIN_GET_STATE, { dom: vm2, flags: 0 })).toEqual({ state: 1, reason: 1 });
  expect(await c.call(Proc.DOMAIN_GET_STATE, { dom: vm1, flags: 0 })).toEqual({ state: 5, reason: 0 });
  // vm2's name and id with vm1's UUID: libvirt resolves by UUID, so this is vm1
  expect(await c.call(Proc.DOMAIN_GET_STATE, { dom: { ...vm2, uuid: vm1.uuid }, flags: 0 })).toEqual({ state: 5, reason: 0 });
  // a UUID no VM has, under the last looked-up name: not found, as libvirtd says it
  const ghost = Buffer.from(vm2.uuid);
  ghost[15] ^= 0xff;
  await expect(c.call(Proc.DOMAIN_GET_STATE, { dom: { ...vm2, uuid: ghost }, flags: 0 })).rejects.toMatchObject({ code: 42 });
  // the same lookup twice gives equal replies (one memoised wire form per domain)
  expect(await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm2' })).toEqual({ dom: vm2 });
  await c.close();
});

test('a full session: open, calls, CONNECT_CLOSE → the server closes the socket and forgets the connection', async () => {
  const c = new RpcClient(await connect());
  await c.connect('qemu:///system');
  await until(() => daemon.connectionCount === 1, 'the connection to be tracked');
  expect(daemon.connections()[0]).toMatchObject({ open: true, uri: 'qemu:///system', who: expect.stringMatching(/^tcp:127\.0\.0\.1:\d+$/) });
  const { dom } = await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm2' });
  expect(dom.id).toBeGreaterThan(0);
  expect(await c.call(Proc.DOMAIN_GET_STATE, { dom, flags: 0 })).toEqual({ state: 1, reason: 1 });
  expect((await c.call(Proc.CONNECT_GET_URI)).uri).toBe('qemu:///system');
  const all = await c.call(Proc.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 3 });
  expect(all.ret).toBe(2);
  expect(all.domains.map((d) => d.name).sort()).toEqual(['vm1', 'vm2']);
  const byUuid = await c.call(Proc.DOMAIN_LOOKUP_BY_UUID, { uuid: dom.uuid });
  expect(uuidFromBytes(byUuid.dom.uuid)).toBe(uuidFromBytes(dom.uuid));
  await c.close();
  await until(() => daemon.connectionCount === 0, 'the connection to be forgotten');
});

test('CONNECT_OPEN of a foreign driver is refused like libvirtd', async () => {
  const c = new RpcClient(await connect());
  await c.call(Proc.AUTH_LIST);
  const err = await c.call(Proc.CONNECT_OPEN, { name: 'xen:///system', flags: 0 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LibvirtError);
  expect((err as LibvirtError).code).toBe(5);
  expect((err as LibvirtError).message).toBe('no connection driver available for xen:///system');
  c.destroy();
  await until(() => daemon.connectionCount === 0, 'cleanup');
});

test('clients that vanish without CONNECT_CLOSE leave no connection and no timer behind', async () => {
  await until(() => daemon.connectionCount === 0, 'a quiet daemon');
  const before = timeouts();
  const clients: RpcClient[] = [];
  for (let i = 0; i < 5; i++) {
    const c = new RpcClient(await connect());
    await c.connect('qemu:///system'); // probes feature 10: server keepalive armed
    await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm1' });
    clients.push(c);
  }
  expect(daemon.connectionCount).toBe(5);
  for (const c of clients) c.destroy();
  await until(() => daemon.connectionCount === 0, 'all 5 connections to go');
  await until(() => timeouts() <= before, 'keepalive timers to be cleared');
  expect(listener.connectionCount).toBe(0);
});

/**
 * A connected pair of in-memory streams standing in for a transport whose
 * peer stops reading: while `hold` is on, the server side's writes do not
 * complete (like a full socket buffer), so `write()` returns false past 1 KiB.
 */
function streamPair() {
  let hold = false;
  const held: Array<() => void> = [];
  const client = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      server.push(chunk);
      cb();
    },
    final(cb) {
      server.push(null);
      cb();
    },
  });
  const server: Duplex = new Duplex({
    writableHighWaterMark: 1024,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const deliver = () => {
        client.push(chunk);
        cb();
      };
      if (hold) held.push(deliver);
      else deliver();
    },
    final(cb) {
      client.push(null);
      cb();
    },
    destroy(err, cb) {
      client.push(null);
      cb(err);
    },
  });
  return {
    client,
    server,
    hold() {
      hold = true;
    },
    release() {
      hold = false;
      for (const d of held.splice(0)) d();
    },
  };
}

test('backpressure: while the peer does not take our replies, the daemon stops reading; it resumes after drain', async () => {
  const p = streamPair();
  daemon.attach(p.server, { transport: 'stdio', address: 'local' });
  const c = new RpcClient(p.client);
  await c.connect('qemu:///system');
  p.hold();
  const N = 100;
  const calls: Array<Promise<{ capabilities: string }>> = [];
  for (let i = 0; i < N; i++) calls.push(c.call(Proc.CONNECT_GET_CAPABILITIES));
  await until(() => p.server.isPaused(), 'the daemon to stop reading');
  expect(daemon.connections().find((x) => x.who === 'stdio:local')?.readPaused).toBe(true);
  p.release();
  const results = await Promise.all(calls);
  expect(results).toHaveLength(N);
  expect(new Set(results.map((r) => r.capabilities)).size).toBe(1);
  expect(results[0]!.capabilities).toMatch(/^<capabilities>/);
  expect(p.server.isPaused()).toBe(false);
  await c.close();
  expect(p.server.destroyed || p.server.writableEnded).toBe(true);
});

test('a read-only transport (virt-ssh-helper -r) may query but not change', async () => {
  const server = net.createServer((s) => {
    const id: Identity = { transport: 'ssh', address: '127.0.0.1:2222', user: 'maas', authMethod: 'publickey', readOnlyTransport: true };
    daemon.attach(s, id);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const c = new RpcClient(await connect((server.address() as net.AddressInfo).port));
  await c.connect('qemu:///system');
  const { dom } = await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm2' });
  const err = await c.call(Proc.DOMAIN_DESTROY, { dom }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LibvirtError);
  expect((err as LibvirtError).code).toBe(29);
  expect((err as LibvirtError).message).toMatch(/read only access prevents virDomainDestroy/);
  expect(await c.call(Proc.DOMAIN_GET_STATE, { dom, flags: 0 })).toEqual({ state: 1, reason: 1 });
  await c.close();
});

test('close(): open connections are dropped, later attaches are refused', async () => {
  const dir2 = await mkdtemp(path.join(os.tmpdir(), 'vboxvirt-daemon2-'));
  const d2 = new Daemon({ host: createSimHost({ home: dir2 }) });
  const l2 = await TcpListener.listen(d2, { host: '127.0.0.1', port: 0 });
  try {
    const c = new RpcClient(await connect(l2.port));
    await c.connect('qemu:///system');
    await d2.close();
    await c.waitClosed();
    expect(d2.connectionCount).toBe(0);
    const late = await connect(l2.port);
    await new Promise((r) => late.on('close', r));
    expect(d2.acceptedCount).toBe(1);
  } finally {
    await l2.close();
    await d2.close();
    await rm(dir2, { recursive: true, force: true });
  }
});

test('define on a running VM: the change waits (dumpxml --inactive shows it) and is applied when the VM is destroyed', async () => {
  const c = new RpcClient(await connect());
  await c.connect('qemu:///system');
  const { dom } = await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm2' });
  expect(dom.id).toBeGreaterThan(0);
  const { xml } = await c.call(Proc.DOMAIN_GET_XML_DESC, { dom, flags: 0 });
  expect(xml).toContain("<memory unit='KiB'>524288</memory>");
  const bigger = xml.replace(/524288/g, '1048576');
  await c.call(Proc.DOMAIN_DEFINE_XML, { xml: bigger });
  expect((await c.call(Proc.DOMAIN_GET_XML_DESC, { dom, flags: 0 })).xml).toContain("<memory unit='KiB'>524288</memory>");
  expect((await c.call(Proc.DOMAIN_GET_XML_DESC, { dom, flags: 2 })).xml).toContain("<memory unit='KiB'>1048576</memory>");
  await c.call(Proc.DOMAIN_DESTROY, { dom });
  expect((await daemon.host.getVm(uuidFromBytes(dom.uuid), { fresh: true })).memoryMB).toBe(1024);
  const info = await c.call(Proc.DOMAIN_GET_INFO, { dom });
  expect(BigInt(info.maxMem)).toBe(1048576n);
  await c.close();
});

test('autostart on a running VM: reported at once, written to VirtualBox when the VM stops', async () => {
  const c = new RpcClient(await connect());
  await c.connect('qemu:///system');
  let { dom } = await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm1' });
  if (dom.id < 0) {
    await c.call(Proc.DOMAIN_CREATE, { dom });
    dom = (await c.call(Proc.DOMAIN_LOOKUP_BY_UUID, { uuid: dom.uuid })).dom;
  }
  expect(dom.id).toBeGreaterThan(0);
  await c.call(Proc.DOMAIN_SET_AUTOSTART, { dom, autostart: 1 });
  expect((await c.call(Proc.DOMAIN_GET_AUTOSTART, { dom })).autostart).toBe(1);
  const auto = await c.call(Proc.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 1024 });
  expect(auto.domains.map((d) => d.name)).toContain('vm1');
  const uuid = uuidFromBytes(dom.uuid);
  expect((await daemon.host.getVm(uuid, { fresh: true })).autostart).toBe(false);
  await c.call(Proc.DOMAIN_DESTROY, { dom });
  expect((await daemon.host.getVm(uuid, { fresh: true })).autostart).toBe(true);
  expect((await c.call(Proc.DOMAIN_GET_AUTOSTART, { dom })).autostart).toBe(1);
  await c.call(Proc.DOMAIN_SET_AUTOSTART, { dom, autostart: 0 }); // stopped: written at once
  expect((await daemon.host.getVm(uuid, { fresh: true })).autostart).toBe(false);
  await c.close();
});

test('a pending change is applied when the guest shuts itself down (seen by the next call), without any destroy', async () => {
  const c = new RpcClient(await connect());
  await c.connect('qemu:///system');
  let { dom } = await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'vm2' });
  if (dom.id < 0) {
    await c.call(Proc.DOMAIN_CREATE, { dom });
    dom = (await c.call(Proc.DOMAIN_LOOKUP_BY_UUID, { uuid: dom.uuid })).dom;
  }
  const uuid = uuidFromBytes(dom.uuid);
  const before = (await daemon.host.getVm(uuid, { fresh: true })).cpus;
  const { xml } = await c.call(Proc.DOMAIN_GET_XML_DESC, { dom, flags: 2 });
  const wanted = before + 1;
  await c.call(Proc.DOMAIN_DEFINE_XML, { xml: xml.replace(/<vcpu([^>]*)>\d+<\/vcpu>/, `<vcpu$1>${wanted}</vcpu>`) });
  expect((await daemon.host.getVm(uuid, { fresh: true })).cpus).toBe(before);
  await c.call(Proc.DOMAIN_SHUTDOWN, { dom });
  // the daemon notices the power-off on a later call (virsh domstate polling, as MAAS does)
  let state = 0;
  const deadline = Date.now() + 15_000;
  while (state !== 5 && Date.now() < deadline) {
    state = (await c.call(Proc.DOMAIN_GET_STATE, { dom, flags: 0 })).state;
    if (state !== 5) await new Promise((r) => setTimeout(r, 50));
  }
  expect(state).toBe(5);
  let cpus = before;
  while (cpus !== wanted && Date.now() < deadline) {
    await c.call(Proc.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 3 });
    cpus = (await daemon.host.getVm(uuid, { fresh: true })).cpus;
    if (cpus !== wanted) await new Promise((r) => setTimeout(r, 50));
  }
  expect(cpus).toBe(wanted);
  await c.close();
});
