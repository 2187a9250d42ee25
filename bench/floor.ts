/**
 * N, the Node floor: the least a Node.js server can do to answer W1's serial
 * lookup+state calls, so that every run shows how much of B's server CPU per
 * call is vboxvirt and how much is Node's `net` layer plus the kernel.
 *
 * It is a plain `net` server with Node's stream API (as B's TCP transport
 * uses), reading the 4-byte length of each frame and answering it with a reply
 * encoded once at start for that procedure, only its serial patched. It decodes
 * no arguments and has no driver: every name it is asked for is one fixed domain,
 * running. It answers only what python3-libvirt sends to open a connection and
 * to run `lookupByName(...).state()`; any other procedure gets libvirtd's
 * "unknown procedure" error. It is a measuring stick, not a server.
 *
 * Run: `node dist/bench/floor.js [--port N]`; prints `listening tcp 127.0.0.1:PORT`.
 */
import net from 'node:net';
import { MessageStatus, PROCEDURES, Proc, RemoteError, type XdrType } from '../protocol/index.js';
import { LibvirtError } from '../src/rpc/errors.js';
import { encodeReply, type Header } from '../src/rpc/framing.js';

const uuid = Buffer.from('0fba10f1000040008000000000000001', 'hex');
const BODIES: ReadonlyMap<number, unknown> = new Map<number, unknown>([
  [Proc.AUTH_LIST, { types: [0] }],
  [Proc.CONNECT_SUPPORTS_FEATURE, { supported: 0 }],
  [Proc.CONNECT_OPEN, undefined],
  [Proc.CONNECT_CLOSE, undefined],
  [Proc.CONNECT_GET_URI, { uri: 'qemu:///system' }],
  [Proc.CONNECT_REGISTER_CLOSE_CALLBACK, undefined],
  [Proc.CONNECT_UNREGISTER_CLOSE_CALLBACK, undefined],
  [Proc.DOMAIN_LOOKUP_BY_NAME, { dom: { name: 'floor', uuid, id: 1 } }],
  [Proc.DOMAIN_GET_STATE, { state: 1, reason: 1 }],
]);

/** One reply per procedure, encoded now; serial 0 (patched per call). */
function templates(): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const [proc, body] of BODIES) {
    const call: Header = { prog: 0x20008086, vers: 1, proc, type: 0, serial: 0, status: 0 };
    const def = (PROCEDURES as Record<number, { ret: XdrType }>)[proc]!;
    out.set(proc, Buffer.from(encodeReply(call, MessageStatus.OK, def.ret, body)));
  }
  return out;
}

/** Serve one connection: frame, look the procedure up, patch the serial, write. */
function serveFloor(sock: net.Socket, replies: Map<number, Buffer>): void {
  sock.setNoDelay(true);
  let pending: Buffer | null = null;
  sock.on('data', (chunk: Buffer) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len < 28 || len > 1 << 24) {
        sock.destroy();
        return;
      }
      if (buf.length < len) break;
      const call: Header = {
        prog: buf.readUInt32BE(4), vers: buf.readUInt32BE(8), proc: buf.readInt32BE(12),
        type: buf.readInt32BE(16), serial: buf.readUInt32BE(20), status: 0,
      };
      const t = replies.get(call.proc);
      let out: Buffer;
      if (t) {
        out = Buffer.allocUnsafe(t.length);
        t.copy(out);
        out.writeUInt32BE(call.serial >>> 0, 20);
      } else {
        out = Buffer.from(encodeReply(call, MessageStatus.ERROR, RemoteError, LibvirtError.unknownProcedure(call.proc).toRemoteError()));
      }
      sock.write(out);
      if (call.proc === Proc.CONNECT_CLOSE) {
        sock.end();
        return;
      }
      buf = buf.subarray(len);
    }
    if (buf.length) pending = Buffer.from(buf);
  });
  sock.on('error', () => undefined);
}

function main(): void {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 0;
  const replies = templates();
  const srv = net.createServer((s) => serveFloor(s, replies));
  // no signal handlers: the bench stops it with SIGTERM, whose default ends the process
  srv.listen(port, '127.0.0.1', () => {
    process.stdout.write(`listening tcp 127.0.0.1:${(srv.address() as net.AddressInfo).port}\n`);
  });
}

main();
