/**
 * A tiny raw libvirt-RPC client for tests that need to send exact bytes:
 * framing (4-byte length counting itself + 24-byte header), a few XDR
 * encoders, `remote_error` decoding, and a socket wrapper that collects
 * incoming packets so a test can await "the reply with serial N" or "EOF".
 * Independent from src/rpc on purpose (the test must not share the code it checks).
 */
import net from 'node:net';

export const PROG_REMOTE = 0x20008086;
export const PROG_KEEPALIVE = 0x6b656570;
export const T_CALL = 0, T_REPLY = 1, T_MESSAGE = 2;
export const S_OK = 0, S_ERROR = 1;

export const PROC = {
  CONNECT_OPEN: 1, CONNECT_CLOSE: 2, CONNECT_GET_TYPE: 3, CONNECT_GET_VERSION: 4, NODE_GET_INFO: 6,
  DOMAIN_CREATE: 9, DOMAIN_DESTROY: 12, DOMAIN_LOOKUP_BY_ID: 22, DOMAIN_LOOKUP_BY_NAME: 23,
  DOMAIN_LOOKUP_BY_UUID: 24, CONNECT_GET_HOSTNAME: 59, CONNECT_SUPPORTS_FEATURE: 60, AUTH_LIST: 66,
  CONNECT_GET_URI: 110, DOMAIN_GET_STATE: 212, CONNECT_LIST_ALL_DOMAINS: 273,
  KEEPALIVE_PING: 1, KEEPALIVE_PONG: 2,
} as const;

export interface Header { len: number; prog: number; vers: number; proc: number; type: number; serial: number; status: number }
export interface Packet extends Header { payload: Buffer }

/** The 28 bytes of a header as given (`len` written as is, even if it is wrong). */
export function encodeHeader(h: Header): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(h.len, 0);
  b.writeUInt32BE(h.prog >>> 0, 4);
  b.writeUInt32BE(h.vers >>> 0, 8);
  b.writeInt32BE(h.proc, 12);
  b.writeInt32BE(h.type, 16);
  b.writeUInt32BE(h.serial >>> 0, 20);
  b.writeInt32BE(h.status, 24);
  return b;
}

export function encodePacket(h: Omit<Header, 'len'>, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeHeader({ ...h, len: 28 + payload.length }), payload]);
}

export function call(proc: number, serial: number, payload: Buffer = Buffer.alloc(0), prog = PROG_REMOTE, vers = 1): Buffer {
  return encodePacket({ prog, vers, proc, type: T_CALL, serial, status: S_OK }, payload);
}

// ---- XDR encoders --------------------------------------------------------
export const xdr = {
  int(v: number): Buffer { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; },
  uint(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; },
  string(s: string): Buffer {
    const body = Buffer.from(s, 'utf8');
    const pad = (4 - (body.length % 4)) % 4;
    return Buffer.concat([xdr.uint(body.length), body, Buffer.alloc(pad)]);
  },
  optString(s: string | null): Buffer { return s === null ? xdr.int(0) : Buffer.concat([xdr.int(1), xdr.string(s)]); },
};

/** A cursor over an XDR body. Throws on short reads. */
export class XdrReader {
  off = 0;
  constructor(readonly buf: Buffer) {}
  int(): number { this.need(4); const v = this.buf.readInt32BE(this.off); this.off += 4; return v; }
  uint(): number { this.need(4); const v = this.buf.readUInt32BE(this.off); this.off += 4; return v; }
  hyper(): bigint { this.need(8); const v = this.buf.readBigUInt64BE(this.off); this.off += 8; return v; }
  opaque(n: number): Buffer { this.need(n); const v = this.buf.subarray(this.off, this.off + n); this.off += n; return v; }
  string(): string {
    const n = this.uint(); const s = this.opaque(n).toString('utf8'); this.opaque((4 - (n % 4)) % 4); return s;
  }
  optString(): string | null { return this.int() ? this.string() : null; }
  done(): boolean { return this.off === this.buf.length; }
  private need(n: number) { if (this.off + n > this.buf.length) throw new Error(`XDR short read at ${this.off} (+${n} of ${this.buf.length})`); }
}

export interface RemoteError {
  code: number; domain: number; message: string | null; level: number;
  str1: string | null; str2: string | null; str3: string | null; int1: number; int2: number;
}

/** Decode a `remote_error` body (dom and net must be NULL, as libvirtd sends them). */
export function decodeError(payload: Buffer): RemoteError {
  const r = new XdrReader(payload);
  const code = r.int(); const domain = r.int(); const message = r.optString(); const level = r.int();
  if (r.int() !== 0) throw new Error('remote_error.dom is not NULL');
  const str1 = r.optString(); const str2 = r.optString(); const str3 = r.optString();
  const int1 = r.int(); const int2 = r.int();
  if (r.int() !== 0) throw new Error('remote_error.net is not NULL');
  if (!r.done()) throw new Error(`remote_error has ${payload.length - r.off} trailing bytes`);
  return { code, domain, message, level, str1, str2, str3, int1, int2 };
}

export function decodeHeader(b: Buffer): Header {
  return {
    len: b.readUInt32BE(0), prog: b.readUInt32BE(4), vers: b.readUInt32BE(8), proc: b.readInt32BE(12),
    type: b.readInt32BE(16), serial: b.readUInt32BE(20), status: b.readInt32BE(24),
  };
}

/**
 * A raw TCP client. Incoming bytes are split into packets and queued; wait
 * for them with `next()`, `reply(serial)` or `closed`.
 */
export class RawClient {
  readonly packets: Packet[] = [];
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closedFlag = false;
  /** Resolves when the server closes (or the socket errors). */
  readonly closed: Promise<void>;
  /** Bytes received that did not frame as a sane packet (length < 28 or > 16 MiB + 4). */
  garbage = false;

  private constructor(readonly sock: net.Socket) {
    this.closed = new Promise((resolve) => {
      const done = () => { this.closedFlag = true; this.wake(); resolve(); };
      sock.once('close', done);
      sock.once('error', () => { /* close follows */ });
    });
    sock.on('data', (d: Buffer) => this.onData(d));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => { s.removeListener('error', reject); resolve(new RawClient(s)); });
      s.once('error', reject);
    });
  }

  private onData(d: Buffer) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len < 28 || len > 16 * 1024 * 1024 + 4) { this.garbage = true; this.buf = Buffer.alloc(0); break; }
      if (this.buf.length < len) break;
      const pkt = this.buf.subarray(0, len);
      this.buf = this.buf.subarray(len);
      this.packets.push({ ...decodeHeader(pkt), payload: Buffer.from(pkt.subarray(28)) });
    }
    this.wake();
  }
  private wake() { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  write(b: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(b, (e) => (e ? reject(e) : resolve())));
  }

  /**
   * Wait for the first queued packet matching `pred` and remove it from the
   * queue. Rejects when the connection closes first or `timeoutMs` elapses.
   */
  async take(pred: (p: Packet) => boolean, timeoutMs = 10_000, what = 'packet'): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.packets.findIndex(pred);
      if (i >= 0) return this.packets.splice(i, 1)[0];
      if (this.closedFlag) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Next packet (any). */
  next(timeoutMs?: number): Promise<Packet> { return this.take(() => true, timeoutMs, 'any packet'); }
  /** The REPLY with this serial (keepalive messages are left in the queue). */
  reply(serial: number, timeoutMs?: number): Promise<Packet> {
    return this.take((p) => p.type === T_REPLY && p.serial === serial, timeoutMs, `reply serial ${serial}`);
  }

  /** Send a CALL and await its reply; throws with the remote error text if status is ERROR and `allowError` is false. */
  async call(proc: number, serial: number, payload?: Buffer, allowError = false): Promise<Packet> {
    await this.write(call(proc, serial, payload));
    const p = await this.reply(serial);
    if (p.status === S_ERROR && !allowError) {
      throw new Error(`proc ${proc} failed: ${JSON.stringify(decodeError(p.payload))}`);
    }
    return p;
  }

  /** AUTH_LIST + CONNECT_OPEN(name) — what every client does first. Uses serials 0 and 1. */
  async open(name = 'qemu:///system'): Promise<void> {
    await this.call(PROC.AUTH_LIST, 0);
    await this.call(PROC.CONNECT_OPEN, 1, Buffer.concat([xdr.optString(name), xdr.uint(0)]));
  }

  /** Resolves true if the server closed the connection within `timeoutMs`. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => { t = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
    clearTimeout(t);
    return r;
  }

  destroy(): void { this.sock.destroy(); }
}
