/**
 * XDR codec benchmark: vboxvirt's compiled codec (src/rpc/xdr.ts) against
 * @stellar/js-xdr 4 on the hot messages, plus the server's whole per-call
 * cost in RpcConnection (frame, header, decode args, dispatch, encode reply,
 * write; no socket). Run: `npx tsc -p . ; node dist/bench/xdr.js [--quick]`.
 * Figures and the decision are recorded in docs/rpc.md ("XDR codec").
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  PROCEDURES, Proc, RemoteError, type ConnectListAllDomainsRet, type DomainLookupByNameRet, type XdrType,
} from '../protocol/index.js';
import { RpcClient } from '../src/rpc/client.js';
import { RpcConnection } from '../src/rpc/connection.js';
import { serveStream } from '../src/rpc/stream.js';
import { HandlerTable } from '../src/rpc/dispatch.js';
import { LibvirtError } from '../src/rpc/errors.js';
import { encodePacket } from '../src/rpc/framing.js';
import { XdrReader, XdrWriter, compile } from '../src/rpc/xdr.js';

const quick = process.argv.includes('--quick');
const serveMode = process.argv.includes('--serve');
const ROUNDS = quick ? 3 : 7;

// ---- the same layouts in @stellar/js-xdr ----------------------------------------
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const JsXdr = createRequire(import.meta.url)('@stellar/js-xdr');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const J: any = JsXdr.config((x: any) => {
  const str = x.string(4194304);
  x.struct('Dom', [['name', str], ['uuid', x.opaque(16)], ['id', x.int()]]);
  x.struct('Net', [['name', str], ['uuid', x.opaque(16)]]);
  x.struct('LookupRet', [['dom', x.lookup('Dom')]]);
  x.struct('GetStateArgs', [['dom', x.lookup('Dom')], ['flags', x.uint()]]);
  x.struct('GetStateRet', [['state', x.int()], ['reason', x.int()]]);
  x.struct('ListAllRet', [['domains', x.varArray(x.lookup('Dom'), 16384)], ['ret', x.uint()]]);
  x.struct('RemoteError', [
    ['code', x.int()], ['domain', x.int()], ['message', x.option(str)], ['level', x.int()],
    ['dom', x.option(x.lookup('Dom'))], ['str1', x.option(str)], ['str2', x.option(str)], ['str3', x.option(str)],
    ['int1', x.int()], ['int2', x.int()], ['net', x.option(x.lookup('Net'))],
  ]);
});

const uuid = Buffer.from('6695eb01f6a4830479aa97f2502e193f', 'hex');
const dom = { name: 'maas-node-042', uuid, id: 17 };
const lookupRet: DomainLookupByNameRet = { dom };
const getStateArgs = { dom, flags: 0 };
const getStateRet = { state: 1, reason: 1 };
const list100: ConnectListAllDomainsRet = {
  domains: Array.from({ length: 100 }, (_, i) => ({ name: `vm-${String(i).padStart(3, '0')}`, uuid, id: i % 2 ? -1 : i + 1 })),
  ret: 100,
};
const err = LibvirtError.noDomain("no domain with matching name 'nosuch'").toRemoteError();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const jDom = (d: { name: string; uuid: Buffer; id: number }) => new J.Dom({ name: d.name, uuid: d.uuid, id: d.id });

interface Case {
  name: string;
  desc: XdrType;
  value: unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  jType: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  jValue: () => any;
}

const cases: Case[] = [
  { name: 'LOOKUP_BY_NAME reply', desc: PROCEDURES[Proc.DOMAIN_LOOKUP_BY_NAME].ret, value: lookupRet, jType: J.LookupRet, jValue: () => new J.LookupRet({ dom: jDom(dom) }) },
  { name: 'GET_STATE args', desc: PROCEDURES[Proc.DOMAIN_GET_STATE].args, value: getStateArgs, jType: J.GetStateArgs, jValue: () => new J.GetStateArgs({ dom: jDom(dom), flags: 0 }) },
  { name: 'GET_STATE reply', desc: PROCEDURES[Proc.DOMAIN_GET_STATE].ret, value: getStateRet, jType: J.GetStateRet, jValue: () => new J.GetStateRet(getStateRet) },
  { name: 'LIST_ALL_DOMAINS reply (100)', desc: PROCEDURES[Proc.CONNECT_LIST_ALL_DOMAINS].ret, value: list100, jType: J.ListAllRet, jValue: () => new J.ListAllRet({ domains: list100.domains.map(jDom), ret: 100 }) },
  {
    name: 'remote_error', desc: RemoteError, value: err, jType: J.RemoteError,
    jValue: () => new J.RemoteError({ ...err, dom: null, net: null }),
  },
];

/** CPU time of this process (user + system), ns. Robust against other load on the host. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** CPU ns per op: median of ROUNDS rounds, each ≥ ~100 ms of CPU. */
function measure(fn: () => void): number {
  let n = 1;
  for (;;) {
    const t0 = cpuNs();
    for (let i = 0; i < n; i++) fn();
    const dt = cpuNs() - t0;
    if (dt > 100e6 || n >= 1 << 24) break;
    n *= 2;
  }
  const per: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuNs();
    for (let i = 0; i < n; i++) fn();
    per.push((cpuNs() - t0) / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

const fmt = (ns: number) => (ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`);

if (serveMode) {
  serveChild();
} else {
  await main();
}

/** Child process: the engine behind a loopback TCP socket; reports its own CPU time on request. */
function serveChild(): void {
  const h = new HandlerTable()
    .on(Proc.DOMAIN_GET_STATE, () => getStateRet)
    .on(Proc.DOMAIN_LOOKUP_BY_NAME, () => lookupRet);
  const srv = net.createServer((sock) => {
    sock.setNoDelay(true);
    serveStream(sock, { driver: { handlers: h }, identity: { transport: 'tcp', address: 'bench' } });
  });
  srv.listen(0, '127.0.0.1', () => process.send!({ port: (srv.address() as net.AddressInfo).port }));
  process.on('message', (m: string) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
    if (m === 'exit') process.exit(0);
  });
}

async function main(): Promise<void> {
const rows: string[][] = [];
let sink = 0;
for (const c of cases) {
  const codec = compile(c.desc);
  const w = new XdrWriter();
  const r = new XdrReader();
  const bytes = (() => {
    w.reset();
    codec.encode(w, c.value);
    return w.finish();
  })();
  const jBytes: Buffer = c.jType.toXDR(c.jValue());
  if (!jBytes.equals(bytes)) throw new Error(`${c.name}: js-xdr and vboxvirt disagree on the bytes`);
  const ourEnc = measure(() => {
    w.reset();
    codec.encode(w, c.value);
    sink += w.finish().length;
  });
  const ourDec = measure(() => {
    r.reset(bytes);
    sink += codec.decode(r) ? 1 : 0;
  });
  const jEnc = measure(() => {
    sink += c.jType.toXDR(c.jValue()).length;
  });
  const jDec = measure(() => {
    sink += c.jType.fromXDR(bytes) ? 1 : 0;
  });
  rows.push([c.name, String(bytes.length), fmt(ourEnc), fmt(jEnc), (jEnc / ourEnc).toFixed(1) + '×', fmt(ourDec), fmt(jDec), (jDec / ourDec).toFixed(1) + '×']);
}

// ---- whole server-side call: bytes in → handler → bytes out ----------------------
function serverCall(proc: number, args: unknown, handlers: HandlerTable): number {
  let out = 0;
  const conn = new RpcConnection({
    driver: { handlers },
    identity: { transport: 'tcp', address: 'bench' },
    write: (b) => {
      out += b.length;
    },
    keepalive: false,
  });
  conn.feed(encodePacket({ prog: 0x20008086, vers: 1, proc: Proc.CONNECT_OPEN, type: 0, serial: 0, status: 0 }, PROCEDURES[Proc.CONNECT_OPEN].args, { name: 'vbox:///session', flags: 0 }));
  const def = (PROCEDURES as Record<number, { args: XdrType }>)[proc];
  const pkt = encodePacket({ prog: 0x20008086, vers: 1, proc, type: 0, serial: 1, status: 0 }, def.args, args);
  const ns = measure(() => {
    conn.feed(pkt);
  });
  sink += out;
  conn.close();
  return ns;
}
const handlers = new HandlerTable()
  .on(Proc.DOMAIN_GET_STATE, () => getStateRet)
  .on(Proc.DOMAIN_LOOKUP_BY_NAME, () => lookupRet)
  .on(Proc.CONNECT_LIST_ALL_DOMAINS, () => list100)
  .on(Proc.DOMAIN_DESTROY, () => {
    throw LibvirtError.operationInvalid('domain is not running');
  });
const server: string[][] = [
  ['DOMAIN_GET_STATE', fmt(serverCall(Proc.DOMAIN_GET_STATE, getStateArgs, handlers))],
  ['DOMAIN_LOOKUP_BY_NAME', fmt(serverCall(Proc.DOMAIN_LOOKUP_BY_NAME, { name: 'maas-node-042' }, handlers))],
  ['CONNECT_LIST_ALL_DOMAINS (100)', fmt(serverCall(Proc.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 3 }, handlers))],
  ['DOMAIN_DESTROY → error reply', fmt(serverCall(Proc.DOMAIN_DESTROY, { dom }, handlers))],
];

const table = (head: string[], body: string[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');

console.log(`# XDR codec benchmark (${new Date().toISOString()})`);
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, CPU time per op (process.cpuUsage), median of ${ROUNDS} rounds\n`);
console.log(table(['message', 'bytes', 'encode (ours)', 'encode (js-xdr)', 'js-xdr/ours', 'decode (ours)', 'decode (js-xdr)', 'js-xdr/ours'], rows));
console.log('\nServer-side cost of one call in RpcConnection (framing + header + args decode + dispatch + reply encode; sync handler, no socket):\n');
console.log(table(['call', 'time per call'], server));
if (sink === 42) console.log('');

  // ---- over loopback TCP, server in a child process ---------------------------------
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(msg: string | null): Promise<T> =>
    new Promise((res) => {
      child.once('message', (m) => res(m as T));
      if (msg) child.send(msg);
    });
  const { port } = await ask<{ port: number }>(null);
  const tcp: string[][] = [];
  for (const depth of [1, 5, 16]) {
    const socks = await Promise.all(
      [0].map(() => new Promise<net.Socket>((res) => { const so = net.connect(port, '127.0.0.1', () => res(so)); so.setNoDelay(true); })),
    );
    const c = new RpcClient(socks[0]);
    await c.connect('vbox:///session');
    const total = quick ? 20000 : 60000;
    const runOnce = async (n: number) => {
      let issued = 0;
      const worker = async () => {
        while (issued < n) {
          issued++;
          await c.call(Proc.DOMAIN_GET_STATE, getStateArgs);
        }
      };
      await Promise.all(Array.from({ length: depth }, worker));
    };
    await runOnce(2000); // warm-up
    const cpu0 = (await ask<{ cpu: NodeJS.CpuUsage }>('cpu')).cpu;
    const t0 = process.hrtime.bigint();
    await runOnce(total);
    const wallNs = Number(process.hrtime.bigint() - t0);
    const cpu1 = (await ask<{ cpu: NodeJS.CpuUsage }>('cpu')).cpu;
    const serverUs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / total;
    tcp.push([String(depth), String(Math.round(total / (wallNs / 1e9))), `${serverUs.toFixed(1)} µs`]);
    await c.close();
  }
  child.send('exit');
  console.log('\nOver loopback TCP (server = serveStream in a child process, one connection, DOMAIN_GET_STATE, client = RpcClient in this process):\n');
  console.log(table(['calls in flight', 'calls/s', 'server CPU per call (incl. socket I/O)'], tcp));
}
