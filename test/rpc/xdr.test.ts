/**
 * The XDR codec: round trips for every kind of layout, limits enforced on
 * decode (no huge allocation, no crash), clear errors on bad values, and
 * hostile input (every truncation and random corruption of real packets)
 * only ever yields XdrError.
 */
import { describe, expect, test } from '@jest/globals';
import {
  NodeGetInfoRet, NodeGetSecurityModelRet, NonnullDomain, PROCEDURES, Proc, RemoteError,
  xarray, xcharFixed, xcharVar, xfopaque, xhyper, xint, xoptional, xstring, xstruct, xuhyper, xuint, xvopaque,
  type XdrType,
} from '../../protocol/index.js';
import { XdrError, XdrReader, XdrWriter, compile, decode, encode } from '../../src/rpc/xdr.js';
import { captureFiles, loadCapture, packetBytes, packets } from './captures.js';

const uuid = Buffer.from('6695eb01f6a4830479aa97f2502e193f', 'hex');

function roundTrip<T>(d: XdrType<T>, v: T): Buffer {
  const b = encode(d, v);
  expect(decode(d, b)).toEqual(v);
  return b;
}

describe('round trips', () => {
  test('ints at their limits', () => {
    for (const v of [0, 1, -1, 2147483647, -2147483648]) expect(roundTrip(xint, v).length).toBe(4);
    for (const v of [0, 1, 4294967295]) roundTrip(xuint, v);
  });

  test('hypers: numbers up to 2^53, bigints beyond', () => {
    for (const v of [0, 1, -1, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) roundTrip(xhyper, v);
    for (const v of [0, 7000012, 2 ** 52]) roundTrip(xuhyper, v);
    roundTrip(xuhyper, 2n ** 64n - 1n);
    roundTrip(xhyper, -(2n ** 63n));
    expect(encode(xuhyper, 9000000).toString('hex')).toBe('0000000000895440');
    expect(encode(xhyper, -2).toString('hex')).toBe('fffffffffffffffe');
    expect(decode(xuhyper, Buffer.from('ffffffffffffffff', 'hex'))).toBe(2n ** 64n - 1n);
  });

  test('strings: UTF-8 and zero padding', () => {
    expect(roundTrip(xstring(100), 'test').toString('hex')).toBe('0000000474657374');
    expect(roundTrip(xstring(100), 'vm-1').length).toBe(8);
    expect(roundTrip(xstring(100), 'abcde').toString('hex')).toBe('000000056162636465000000');
    expect(roundTrip(xstring(100), '').toString('hex')).toBe('00000000');
    roundTrip(xstring(200), 'vm-é-1');
    roundTrip(xstring(200), 'x'.repeat(47) + 'é');
    roundTrip(xstring(200), 'y'.repeat(120));
    const b = roundTrip(xstring(100), 'Ünïcödé ✓');
    expect(b.readUInt32BE(0)).toBe(Buffer.byteLength('Ünïcödé ✓'));
  });

  test('optional, arrays, fixed and variable opaque', () => {
    expect(roundTrip(xoptional(xstring(10)), null).toString('hex')).toBe('00000000');
    roundTrip(xoptional(xstring(10)), 'x');
    roundTrip(xarray(xint, 5), [1, 2, 3]);
    roundTrip(xarray(NonnullDomain, 3), [{ name: 'a', uuid, id: -1 }, { name: 'bb', uuid, id: 4 }]);
    expect(roundTrip(xfopaque(16), uuid).length).toBe(16);
    expect(roundTrip(xvopaque(10), Buffer.from([1, 2, 3])).toString('hex')).toBe('0000000301020300');
  });

  test('remote_nonnull_domain matches the spec example', () => {
    expect(encode(NonnullDomain, { name: 'test', uuid, id: 1 }).toString('hex')).toBe(
      '00000004746573746695eb01f6a4830479aa97f2502e193f00000001',
    );
  });

  test('char[32]: 4 bytes per char, NUL padded (NODE_GET_INFO is 160 bytes of body)', () => {
    const v = { model: 'i686', memory: 3145728, cpus: 16, mhz: 1400, nodes: 2, sockets: 2, cores: 2, threads: 2 };
    const b = roundTrip(NodeGetInfoRet, v);
    expect(b.length).toBe(160);
    expect(b.subarray(0, 8).toString('hex')).toBe('0000006900000036');
    expect(() => encode(xcharFixed(4), 'toolong')).toThrow(XdrError);
    // bytes >= 0x80 are sign-extended like x86 libvirtd's xdr_char
    expect(() => encode(xcharFixed(1), 'é')).toThrow(/cannot hold 2 bytes/);
    expect(encode(xcharFixed(2), 'é').toString('hex')).toBe('ffffffc3ffffffa9');
    expect(decode(xcharFixed(2), encode(xcharFixed(2), 'é'))).toBe('é');
  });

  test('char<>: count includes the NUL; null is count 0, "" is a lone NUL', () => {
    const b = roundTrip(NodeGetSecurityModelRet, { model: 'testSecurity', doi: '' });
    expect(b.readUInt32BE(0)).toBe(13);
    expect(b.readUInt32BE(4 + 13 * 4)).toBe(1);
    expect(roundTrip(xcharVar(10), null).toString('hex')).toBe('00000000');
    expect(() => encode(xcharVar(4), 'abcd')).toThrow(XdrError);
  });

  test('remote_error with every optional present', () => {
    roundTrip(RemoteError, {
      code: 42, domain: 25, message: 'Domain not found', level: 2, dom: { name: 'x', uuid, id: -1 },
      str1: 'a', str2: 'b', str3: 'c', int1: 1, int2: 2, net: { name: 'n', uuid },
    });
  });

  test('compile() is cached per descriptor', () => {
    expect(compile(NonnullDomain)).toBe(compile(NonnullDomain));
  });

  test('the writer grows past its initial size', () => {
    const w = new XdrWriter(8);
    compile(xstring(100000)).encode(w, 'y'.repeat(50000));
    const r = new XdrReader(w.finish());
    expect(compile(xstring(100000)).decode(r)).toHaveLength(50000);
  });
});

describe('decode limits and hostile input', () => {
  test('a string length above its maximum is refused before reading it', () => {
    const b = Buffer.from('00000005616263646500000000', 'hex');
    expect(() => decode(xstring(4), b)).toThrow(expect.objectContaining({ code: 'XDR_LIMIT' }));
  });

  test('a count of 4 billion is refused without allocating', () => {
    const b = Buffer.from('fffffffe00000000', 'hex');
    expect(() => decode(xarray(xint, 16384), b)).toThrow(expect.objectContaining({ code: 'XDR_LIMIT' }));
    // within the maximum but beyond the bytes present
    const c = Buffer.from('0000400000000000', 'hex');
    expect(() => decode(xarray(NonnullDomain, 16384), c)).toThrow(expect.objectContaining({ code: 'XDR_SHORT' }));
    expect(() => decode(xstring(4194304), Buffer.from('003fffff', 'hex'))).toThrow(expect.objectContaining({ code: 'XDR_SHORT' }));
  });

  test('an optional flag other than 0/1 is an error', () => {
    expect(() => decode(xoptional(xint), Buffer.from('0000000200000001', 'hex'))).toThrow(expect.objectContaining({ code: 'XDR_BAD_BOOL' }));
  });

  test('leftover bytes are an error', () => {
    expect(() => decode(xint, Buffer.alloc(8))).toThrow(expect.objectContaining({ code: 'XDR_TRAILING' }));
  });

  test('every truncation of every captured payload fails with XdrError only', () => {
    let tried = 0;
    for (const f of captureFiles()) {
      for (const p of packets(loadCapture(f))) {
        if (p.payload_len === 0 || p.status !== 0 || p.prog !== '0x20008086') continue;
        const def = (PROCEDURES as Record<number, { args: XdrType; ret: XdrType }>)[p.proc];
        if (!def) continue;
        const d = p.dir === 'C>S' ? def.args : def.ret;
        const raw = packetBytes(p).subarray(28);
        for (let cut = 0; cut < raw.length; cut += 4) {
          tried++;
          try {
            decode(d, raw.subarray(0, cut));
            throw new Error('decoded a truncated payload');
          } catch (e) {
            expect(e).toBeInstanceOf(XdrError);
          }
        }
      }
    }
    expect(tried).toBeGreaterThan(1000);
  });

  test('random corruption never throws anything but XdrError', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const target = encode(PROCEDURES[Proc.CONNECT_LIST_ALL_DOMAINS].ret, {
      domains: [{ name: 'a', uuid, id: 1 }, { name: 'vm-two', uuid, id: -1 }], ret: 2,
    });
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(target);
      const n = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        decode(PROCEDURES[Proc.CONNECT_LIST_ALL_DOMAINS].ret, b);
      } catch (e) {
        expect(e).toBeInstanceOf(XdrError);
      }
    }
  });
});

describe('encode errors are clear and typed', () => {
  test.each<[string, XdrType, unknown, RegExp]>([
    ['missing field', NonnullDomain, { name: 'a', uuid }, /remote_nonnull_domain\.id/],
    ['uuid of the wrong size', NonnullDomain, { name: 'a', uuid: Buffer.alloc(15), id: 1 }, /uuid: expected a Buffer of 16 bytes/],
    ['int out of range', xint, 2 ** 31, /not a 32-bit int/],
    ['negative unsigned', xuint, -1, /not a 32-bit unsigned int/],
    ['fractional', xint, 1.5, /not a 32-bit int/],
    ['unsafe hyper number', xuhyper, 2 ** 60, /safe integer/],
    ['string that is not', xstring(10), 5, /expected a string/],
    ['array too long', xarray(xint, 2), [1, 2, 3], /exceeds maximum 2/],
    ['not an object', xstruct('s', { a: xint }), null, /expected an object/],
  ])('%s', (_n, d, v, re) => {
    expect(() => encode(d, v)).toThrow(XdrError);
    expect(() => encode(d, v)).toThrow(re);
  });
});
