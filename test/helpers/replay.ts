/**
 * Replay a raw-* capture against a server and compare what comes back with
 * what libvirtd sent: for each S>C packet, the header fields (prog, vers,
 * proc, type, serial, status), then for errors the remote_error's code,
 * domain, message and level; for OK replies the exact payload, except for
 * procedures whose answer depends on the host (hostname, type, version, URI),
 * where the payload must be one well-formed XDR value of the same type.
 * A `close S>C` event in the capture means the server must close the
 * connection there.
 */
import { readFileSync } from 'node:fs';
import { capturePath, packetBytes, type CapturePacket } from './captures.js';
import { RawClient, decodeError, XdrReader, PROG_KEEPALIVE, type Packet } from './rpc.js';

/** proc → how to check a host-dependent OK reply body. */
const HOST_DEPENDENT: Record<number, (r: XdrReader) => void> = {
  3: (r) => { r.string(); }, // CONNECT_GET_TYPE
  4: (r) => { r.hyper(); }, // CONNECT_GET_VERSION
  59: (r) => { r.string(); }, // CONNECT_GET_HOSTNAME
  110: (r) => { r.string(); }, // CONNECT_GET_URI
  157: (r) => { r.hyper(); }, // CONNECT_GET_LIB_VERSION
};

export interface Mismatch { index: number; expected: unknown; actual: unknown }

function view(p: { prog: number; vers: number; proc: number; type: number; serial: number; status: number }) {
  return { prog: `0x${(p.prog >>> 0).toString(16)}`, vers: p.vers, proc: p.proc, type: p.type, serial: p.serial, status: p.status };
}

function expectedView(c: CapturePacket) {
  return view({ prog: parseInt(c.prog, 16), vers: c.vers, proc: c.proc, type: c.type, serial: c.serial, status: c.status });
}

function bodyView(status: number, proc: number, payload: Buffer): unknown {
  if (status === 1) {
    const e = decodeError(payload);
    return { code: e.code, domain: e.domain, message: e.message, level: e.level };
  }
  const check = HOST_DEPENDENT[proc];
  if (check) {
    const r = new XdrReader(payload);
    check(r);
    return r.done() ? '<host-dependent value>' : `<${payload.length - r.off} trailing bytes>`;
  }
  return payload.toString('hex');
}

/**
 * Replay capture `name` (one connection) against 127.0.0.1:port. Returns the
 * list of differences (empty = same behaviour). Keepalive PINGs the server
 * may send on its own are ignored unless the capture has them.
 */
export async function replayCapture(name: string, port: number, replyTimeoutMs = 5000): Promise<Mismatch[]> {
  const lines = readOrdered(name);
  const client = await RawClient.connect(port);
  const mismatches: Mismatch[] = [];
  let i = 0;
  try {
    for (const rec of lines) {
      i++;
      if (rec.kind === 'event') {
        if (rec.what === 'close C>S') break; // the probe hung up; whatever follows is a consequence
        if (rec.what === 'close S>C') {
          const closed = await client.closesWithin(replyTimeoutMs);
          if (!closed) mismatches.push({ index: i, expected: 'server closes the connection', actual: 'still open' });
        }
        continue;
      }
      if (rec.kind !== 'pkt') continue;
      const p = rec as unknown as CapturePacket;
      if (p.dir === 'C>S') {
        if (!client.closedFlag) await client.write(packetBytes(p)).catch(() => undefined);
        continue;
      }
      const wantKeepalive = parseInt(p.prog, 16) === PROG_KEEPALIVE;
      let got: Packet;
      try {
        got = await client.take((x) => wantKeepalive || x.prog !== PROG_KEEPALIVE, replyTimeoutMs, `${p.proc_name ?? p.proc} serial ${p.serial}`);
      } catch (e) {
        mismatches.push({ index: i, expected: expectedView(p), actual: String(e) });
        break;
      }
      const exp = { header: expectedView(p), body: bodyView(p.status, p.proc, Buffer.from(p.payload_hex, 'hex')) };
      let actBody: unknown;
      try { actBody = bodyView(got.status, got.proc, got.payload); } catch (e) { actBody = `undecodable: ${String(e)}`; }
      const act = { header: view(got), body: actBody };
      if (JSON.stringify(exp) !== JSON.stringify(act)) mismatches.push({ index: i, expected: exp, actual: act });
    }
    // nothing else may arrive except keepalive
    const extra = client.packets.filter((x) => x.prog !== PROG_KEEPALIVE);
    if (extra.length) mismatches.push({ index: -1, expected: 'no further packets', actual: extra.map(view) });
    if (client.garbage) mismatches.push({ index: -1, expected: 'well-framed packets', actual: 'garbage bytes' });
  } finally {
    client.destroy();
  }
  return mismatches;
}

function readOrdered(name: string): Array<{ kind: string } & Record<string, unknown>> {
  return readFileSync(capturePath(name), 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { kind: string } & Record<string, unknown>)
    .filter((r) => (r.kind === 'pkt' && r.conn === 1) || (r.kind === 'event' && r.conn === 1));
}
