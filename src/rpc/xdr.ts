/**
 * XDR codec (RFC 4506, the subset libvirt's rpcgen files use). Descriptors
 * from protocol/ are compiled once into a pair of closures (encode, decode);
 * encoding goes into one reusable growable buffer, so a message costs one
 * allocation (the exact-size copy handed to the socket). Decoding enforces
 * every maximum of the layout and checks a count against the bytes left
 * before allocating anything, so hostile input yields an XdrError, never a
 * crash or a huge allocation.
 *
 * Why not @stellar/js-xdr: see docs/rpc.md "XDR codec" (bench/xdr.ts).
 */
import type { XdrType } from '../../protocol/xdr.js';

export type XdrErrorCode =
  | 'XDR_SHORT' // not enough bytes
  | 'XDR_LIMIT' // a length/count above the layout's maximum
  | 'XDR_BAD_BOOL' // optional flag neither 0 nor 1
  | 'XDR_TRAILING' // bytes left over after the value
  | 'XDR_VALUE'; // a value that cannot be encoded (wrong type, out of range, missing field)

export class XdrError extends Error {
  readonly code: XdrErrorCode;
  constructor(code: XdrErrorCode, message: string) {
    super(message);
    this.name = 'XdrError';
    this.code = code;
  }
}

const TWO32 = 4294967296;
const SAFE_HI = 0x200000; // |hi| < 2^21 keeps hi*2^32+lo below 2^53

/** Reads XDR values from a Buffer slice. Reusable: `reset()` it per message. */
export class XdrReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer = Buffer.alloc(0), start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  reset(buf: Buffer, start = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (this.end - this.pos < n) {
      throw new XdrError('XDR_SHORT', `short read: need ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  hyper(): number | bigint {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi < SAFE_HI && hi >= -SAFE_HI) return hi * TWO32 + lo;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  uhyper(): number | bigint {
    this.need(8);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi < SAFE_HI) return hi * TWO32 + lo;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Optional-data flag / bool: 0 or 1. */
  bool(): boolean {
    const v = this.uint();
    if (v > 1) throw new XdrError('XDR_BAD_BOOL', `bad optional flag ${v} at offset ${this.pos - 4}`);
    return v === 1;
  }

  /** n bytes plus padding; returns a copy (safe to keep after the packet buffer is reused). */
  fixedOpaque(n: number): Buffer {
    const padded = (n + 3) & ~3;
    this.need(padded);
    const out = Buffer.allocUnsafe(n);
    const src = this.buf;
    const p = this.pos;
    if (n <= 32) for (let i = 0; i < n; i++) out[i] = src[p + i];
    else src.copy(out, 0, p, p + n);
    this.pos += padded;
    return out;
  }

  /** A length word checked against `max` and against the bytes left. */
  length(max: number, elemSize: number): number {
    const n = this.uint();
    if (n > max) throw new XdrError('XDR_LIMIT', `length ${n} exceeds maximum ${max} at offset ${this.pos - 4}`);
    if (n * elemSize > this.end - this.pos) {
      throw new XdrError('XDR_SHORT', `length ${n} at offset ${this.pos - 4} runs past the end (${this.end - this.pos} bytes left)`);
    }
    return n;
  }

  varOpaque(max: number): Buffer {
    const n = this.length(max, 1);
    return this.fixedOpaque(n);
  }

  string(max: number): string {
    const n = this.length(max, 1);
    const padded = (n + 3) & ~3;
    this.need(padded);
    const buf = this.buf;
    const p = this.pos;
    // short ASCII strings (names, states, flags' words): checked here, then made in one
    // allocation (latin1 = UTF-8 for ASCII); appending char by char made one string per char
    let ascii = n <= 64;
    for (let i = 0; ascii && i < n; i++) if (buf[p + i] & 0x80) ascii = false;
    const s = buf.toString(ascii ? 'latin1' : 'utf8', p, p + n);
    this.pos += padded;
    return s;
  }

  /** n rpcgen `char`s (4 bytes each) as bytes (low byte of each). */
  chars(n: number): Buffer {
    this.need(n * 4);
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.buf[this.pos + i * 4 + 3];
    this.pos += n * 4;
    return out;
  }
}

/** Writes XDR values into one growable buffer. Reusable: `reset()` it per message. */
export class XdrWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 65536) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  ensure(n: number): void {
    const want = this.pos + n;
    if (want <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < want) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  int(v: number): void {
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new XdrError('XDR_VALUE', `not a 32-bit int: ${String(v)}`);
    }
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 4294967295) {
      throw new XdrError('XDR_VALUE', `not a 32-bit unsigned int: ${String(v)}`);
    }
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  private hyperParts(v: number | bigint, signed: boolean): void {
    this.ensure(8);
    if (typeof v === 'bigint') {
      const min = signed ? -(1n << 63n) : 0n;
      const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
      if (v < min || v > max) throw new XdrError('XDR_VALUE', `hyper out of range: ${v}`);
      const u = BigInt.asUintN(64, v);
      this.buf.writeUInt32BE(Number(u >> 32n), this.pos);
      this.buf.writeUInt32BE(Number(u & 0xffffffffn), this.pos + 4);
    } else {
      if (!Number.isSafeInteger(v) || (!signed && v < 0)) {
        throw new XdrError('XDR_VALUE', `not a ${signed ? '' : 'non-negative '}safe integer for a hyper: ${String(v)}`);
      }
      const hi = Math.floor(v / TWO32);
      const lo = v - hi * TWO32;
      this.buf.writeInt32BE(hi, this.pos);
      this.buf.writeUInt32BE(lo, this.pos + 4);
    }
    this.pos += 8;
  }

  hyper(v: number | bigint): void {
    this.hyperParts(v, true);
  }

  uhyper(v: number | bigint): void {
    this.hyperParts(v, false);
  }

  bool(v: boolean): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v ? 1 : 0, this.pos);
    this.pos += 4;
  }

  private pad(n: number): void {
    const padded = (n + 3) & ~3;
    for (let i = n; i < padded; i++) this.buf[this.pos + i - n] = 0;
    this.pos += padded - n;
  }

  fixedOpaque(b: Buffer, n: number): void {
    if (!Buffer.isBuffer(b) || b.length !== n) {
      throw new XdrError('XDR_VALUE', `expected a Buffer of ${n} bytes`);
    }
    this.ensure(n + 3);
    const dst = this.buf;
    const p = this.pos;
    if (n <= 32) for (let i = 0; i < n; i++) dst[p + i] = b[i];
    else b.copy(dst, p);
    this.pos += n;
    this.pad(n);
  }

  varOpaque(b: Buffer, max: number): void {
    if (!Buffer.isBuffer(b)) throw new XdrError('XDR_VALUE', 'expected a Buffer');
    if (b.length > max) throw new XdrError('XDR_LIMIT', `opaque of ${b.length} bytes exceeds maximum ${max}`);
    this.uint(b.length);
    this.fixedOpaque(b, b.length);
  }

  string(s: string, max: number): void {
    if (typeof s !== 'string') throw new XdrError('XDR_VALUE', `expected a string, got ${typeof s}`);
    // upper bound first (3 bytes per UTF-16 unit), then write in place: one scan.
    this.ensure(4 + s.length * 3 + 3);
    const buf = this.buf;
    let n = -1;
    const len = s.length;
    if (len <= 48) {
      // short ASCII fast path
      const p = this.pos + 4;
      n = len;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          n = -1;
          break;
        }
        buf[p + i] = c;
      }
    }
    if (n < 0) n = buf.write(s, this.pos + 4, 'utf8');
    if (n > max) throw new XdrError('XDR_LIMIT', `string of ${n} bytes exceeds maximum ${max}`);
    this.buf.writeUInt32BE(n, this.pos);
    this.pos += 4 + n;
    this.pad(n);
  }

  /** rpcgen `char`s: each byte as a sign-extended 4-byte int (as x86 libvirtd sends). */
  chars(b: Buffer, count: number): void {
    this.ensure(count * 4);
    for (let i = 0; i < count; i++) {
      const c = i < b.length ? b[i] : 0;
      this.buf.writeInt32BE(c >= 128 ? c - 256 : c, this.pos);
      this.pos += 4;
    }
  }

  /** An exact-size copy of what was written. */
  finish(): Buffer {
    const n = this.pos;
    const out = Buffer.allocUnsafe(n);
    const src = this.buf;
    // small replies byte by byte: Buffer.copy makes a view object of the source per call
    if (n <= 128) for (let i = 0; i < n; i++) out[i] = src[i];
    else src.copy(out, 0, 0, n);
    return out;
  }
}

export interface Codec<T> {
  encode(w: XdrWriter, v: T): void;
  decode(r: XdrReader): T;
  /** Smallest encoded size in bytes (used to bound array counts before allocating). */
  readonly minSize: number;
}

const cache = new WeakMap<object, Codec<unknown>>();

/** Compile a descriptor (cached: compile once, call many). */
export function compile<T>(desc: XdrType<T>): Codec<T> {
  const hit = cache.get(desc);
  if (hit) return hit as Codec<T>;
  const c = build(desc) as Codec<unknown>;
  cache.set(desc, c);
  return c as Codec<T>;
}

function cut(b: Buffer): string {
  const z = b.indexOf(0);
  return (z < 0 ? b : b.subarray(0, z)).toString('utf8');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function build(d: XdrType): Codec<any> {
  switch (d.kind) {
    case 'void':
      return { minSize: 0, encode: () => undefined, decode: () => undefined };
    case 'int':
      return { minSize: 4, encode: (w, v: number) => w.int(v), decode: (r) => r.int() };
    case 'uint':
      return { minSize: 4, encode: (w, v: number) => w.uint(v), decode: (r) => r.uint() };
    case 'hyper':
      return { minSize: 8, encode: (w, v) => w.hyper(v), decode: (r) => r.hyper() };
    case 'uhyper':
      return { minSize: 8, encode: (w, v) => w.uhyper(v), decode: (r) => r.uhyper() };
    case 'string': {
      const max = d.max;
      return { minSize: 4, encode: (w, v: string) => w.string(v, max), decode: (r) => r.string(max) };
    }
    case 'fopaque': {
      const len = d.len;
      return { minSize: (len + 3) & ~3, encode: (w, v: Buffer) => w.fixedOpaque(v, len), decode: (r) => r.fixedOpaque(len) };
    }
    case 'vopaque': {
      const max = d.max;
      return { minSize: 4, encode: (w, v: Buffer) => w.varOpaque(v, max), decode: (r) => r.varOpaque(max) };
    }
    case 'charfixed': {
      const len = d.len;
      return {
        minSize: len * 4,
        encode: (w, v: string) => {
          if (typeof v !== 'string') throw new XdrError('XDR_VALUE', `expected a string, got ${typeof v}`);
          const b = Buffer.from(v, 'utf8');
          if (b.length > len) throw new XdrError('XDR_LIMIT', `char[${len}] cannot hold ${b.length} bytes`);
          w.chars(b, len);
        },
        decode: (r) => cut(r.chars(len)),
      };
    }
    case 'charvar': {
      const max = d.max;
      return {
        minSize: 4,
        encode: (w, v: string | null) => {
          if (v === null || v === undefined) {
            w.uint(0);
            return;
          }
          if (typeof v !== 'string') throw new XdrError('XDR_VALUE', `expected a string or null, got ${typeof v}`);
          const b = Buffer.from(v, 'utf8');
          if (b.length + 1 > max) throw new XdrError('XDR_LIMIT', `char<${max}> cannot hold ${b.length + 1} bytes`);
          w.uint(b.length + 1);
          w.chars(b, b.length + 1);
        },
        decode: (r) => {
          const n = r.length(max, 4);
          if (n === 0) return null;
          return cut(r.chars(n));
        },
      };
    }
    case 'optional': {
      const inner = compile(d.of);
      return {
        minSize: 4,
        encode: (w, v) => {
          if (v === null || v === undefined) {
            w.bool(false);
          } else {
            w.bool(true);
            inner.encode(w, v);
          }
        },
        decode: (r) => (r.bool() ? inner.decode(r) : null),
      };
    }
    case 'array': {
      const inner = compile(d.of);
      const max = d.max;
      const elem = Math.max(1, inner.minSize);
      return {
        minSize: 4,
        encode: (w, v: unknown[]) => {
          if (!Array.isArray(v)) throw new XdrError('XDR_VALUE', `expected an array, got ${typeof v}`);
          if (v.length > max) throw new XdrError('XDR_LIMIT', `array of ${v.length} exceeds maximum ${max}`);
          w.uint(v.length);
          for (let i = 0; i < v.length; i++) inner.encode(w, v[i]);
        },
        decode: (r) => {
          const n = r.length(max, elem);
          const out = new Array(n);
          for (let i = 0; i < n; i++) out[i] = inner.decode(r);
          return out;
        },
      };
    }
    case 'struct':
      return buildStruct(d.name, d.fields);
    default:
      throw new Error(`unknown XDR descriptor kind ${(d as { kind: string }).kind}`);
  }
}

/**
 * Structs are compiled to straight-line code (one `new Function` per layout,
 * from our own descriptors only): a decode that builds the object with a
 * fixed shape in one literal, and an encode without per-field loops.
 */
function buildStruct(name: string, fields: ReadonlyArray<readonly [string, XdrType]>): Codec<Record<string, unknown>> {
  const names = fields.map((f) => f[0]);
  const codecs = fields.map((f) => compile(f[1]));
  const minSize = codecs.reduce((a, c) => a + c.minSize, 0);
  // fields that may be left undefined: optional (→ NULL), char<> (→ count 0), void
  const mayBeUndefined = fields.map((f) => f[1].kind === 'optional' || f[1].kind === 'charvar' || f[1].kind === 'void');
  const key = (n: string) => JSON.stringify(n);
  const read = (i: number) => {
    const k = fields[i][1].kind;
    if (k === 'int') return 'r.int()';
    if (k === 'uint') return 'r.uint()';
    return `c[${i}].decode(r)`;
  };
  const decodeSrc = `return function decode(r) { return { ${names.map((n, i) => `${key(n)}: ${read(i)}`).join(', ')} }; };`;
  const encodeBody = names
    .map((n, i) => {
      const check = mayBeUndefined[i] ? '' : `if (f === undefined) throw missing(${i});`;
      const write = fields[i][1].kind === 'int' ? 'w.int(f)' : fields[i][1].kind === 'uint' ? 'w.uint(f)' : `c[${i}].encode(w, f)`;
      return `i = ${i}; f = v[${key(n)}]; ${check} ${write};`;
    })
    .join('\n');
  const encodeSrc = `return function encode(w, v) {
    if (v === null || typeof v !== 'object') throw notObject();
    let i = -1, f;
    try {
      ${encodeBody}
    } catch (e) { throw wrap(e, i); }
  };`;
  const missing = (i: number) => new XdrError('XDR_VALUE', `${name}.${names[i]} is missing`);
  const notObject = () => new XdrError('XDR_VALUE', `${name}: expected an object`);
  const wrap = (e: unknown, i: number) =>
    e instanceof XdrError && i >= 0 && !e.message.startsWith(name) ? new XdrError(e.code, `${name}.${names[i]}: ${e.message}`) : e;
  const decodeFn = new Function('c', decodeSrc)(codecs) as (r: XdrReader) => Record<string, unknown>;
  const encodeFn = new Function('c', 'missing', 'notObject', 'wrap', encodeSrc)(codecs, missing, notObject, wrap) as (
    w: XdrWriter,
    v: Record<string, unknown>,
  ) => void;
  return { minSize, encode: encodeFn, decode: decodeFn };
}

// ---- one-shot helpers --------------------------------------------------------
const sharedWriter = new XdrWriter();
const sharedReader = new XdrReader();

/** Encode a value to a fresh Buffer. */
export function encode<T>(desc: XdrType<T>, v: T): Buffer {
  const w = sharedWriter.reset();
  compile(desc).encode(w, v);
  return w.finish();
}

/** Decode exactly `buf[start, end)`; leftover bytes are an XdrError. */
export function decode<T>(desc: XdrType<T>, buf: Buffer, start = 0, end = buf.length): T {
  const r = sharedReader.reset(buf, start, end);
  const v = compile(desc).decode(r);
  if (r.pos !== end) throw new XdrError('XDR_TRAILING', `${end - r.pos} bytes left over after the value`);
  return v;
}
