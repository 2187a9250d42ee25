/**
 * Framing: packets split at every byte boundary, many packets per chunk,
 * bad lengths are fatal, encodePacket writes the length word.
 */
import { describe, expect, test } from '@jest/globals';
import { MessageType, Proc, PROCEDURES, REMOTE_PROGRAM } from '../../protocol/index.js';
import { FramingError, MAX_PACKET, PacketDecoder, encodeEmptyPacket, encodePacket, encodeReply, type Packet } from '../../src/rpc/framing.js';
import { capturePath, loadCapture, packetBytes, packets } from './captures.js';

const stream = packets(loadCapture(capturePath('dominfo'))).map(packetBytes);
const all = Buffer.concat(stream);

function drain(d: PacketDecoder): Packet[] {
  const out: Packet[] = [];
  let p: Packet | null;
  while ((p = d.next()) !== null) out.push(p);
  return out;
}

describe('PacketDecoder', () => {
  test('a whole session in one chunk yields every packet', () => {
    const d = new PacketDecoder();
    d.push(all);
    const got = drain(d);
    expect(got.map((p) => p.raw.toString('hex'))).toEqual(stream.map((b) => b.toString('hex')));
    expect(d.pendingBytes).toBe(0);
  });

  test('split at every byte boundary (two chunks)', () => {
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new PacketDecoder();
      d.push(all.subarray(0, cut));
      const a = drain(d);
      d.push(all.subarray(cut));
      const b = drain(d);
      expect([...a, ...b].map((p) => p.raw.toString('hex'))).toEqual(stream.map((x) => x.toString('hex')));
    }
  });

  test('one byte at a time', () => {
    const d = new PacketDecoder();
    const got: Packet[] = [];
    for (let i = 0; i < all.length; i++) {
      d.push(all.subarray(i, i + 1));
      got.push(...drain(d));
    }
    expect(got.length).toBe(stream.length);
    expect(Buffer.concat(got.map((p) => p.raw)).equals(all)).toBe(true);
  });

  test('header fields are read as libvirt defines them', () => {
    const d = new PacketDecoder();
    d.push(stream[0]);
    const p = drain(d)[0];
    expect(p).toMatchObject({ prog: REMOTE_PROGRAM, vers: 1, proc: Proc.AUTH_LIST, type: MessageType.CALL, serial: 0, status: 0 });
    expect(p.payloadStart).toBe(28);
  });

  test.each([0, 1, 4, 27])('length %d is a fatal framing error', (len) => {
    const d = new PacketDecoder();
    const b = Buffer.alloc(32);
    b.writeUInt32BE(len, 0);
    d.push(b);
    expect(() => d.next()).toThrow(FramingError);
    // and stays failed
    d.push(stream[0]);
    expect(() => d.next()).toThrow(FramingError);
  });

  test('a length above 16 MiB + 4 is refused before any byte of it is buffered', () => {
    const d = new PacketDecoder();
    const b = Buffer.alloc(8);
    b.writeUInt32BE(MAX_PACKET + 1, 0);
    d.push(b);
    expect(() => d.next()).toThrow(/out of range/);
    expect(d.pendingBytes).toBe(0);
  });

  test('exactly 16 MiB + 4 is accepted', () => {
    const d = new PacketDecoder();
    const b = Buffer.alloc(MAX_PACKET);
    b.writeUInt32BE(MAX_PACKET, 0);
    d.push(b.subarray(0, 1000));
    expect(d.next()).toBeNull();
    d.push(b.subarray(1000));
    expect(d.next()!.raw.length).toBe(MAX_PACKET);
  });

  test('a truncated packet waits for more bytes and returns nothing', () => {
    const d = new PacketDecoder();
    d.push(stream[2].subarray(0, stream[2].length - 1));
    expect(d.next()).toBeNull();
    expect(d.pendingBytes).toBe(stream[2].length - 1);
  });
});

describe('encodePacket', () => {
  test('writes the length word including itself', () => {
    const b = encodePacket(
      { prog: REMOTE_PROGRAM, vers: 1, proc: Proc.DOMAIN_LOOKUP_BY_NAME, type: 0, serial: 6, status: 0 },
      PROCEDURES[Proc.DOMAIN_LOOKUP_BY_NAME].args,
      { name: 'test' },
    );
    // spec §1.1 example: LOOKUP_BY_NAME call
    expect(b.toString('hex')).toBe('00000024200080860000000100000017000000000000000600000000' + '0000000474657374');
  });

  test('encodeReply: program, version, procedure and serial of the call, type REPLY, the given status', () => {
    const call = { prog: REMOTE_PROGRAM, vers: 1, proc: Proc.DOMAIN_GET_STATE, type: MessageType.CALL, serial: 0xfffffffe, status: 0 };
    const def = PROCEDURES[Proc.DOMAIN_GET_STATE];
    const b = encodeReply(call, 0, def.ret, { state: 5, reason: 2 });
    // 28-byte header + two ints; serial kept unsigned
    expect(b.toString('hex')).toBe('000000242000808600000001000000d400000001fffffffe00000000' + '0000000500000002');
    expect(b).toEqual(encodePacket({ ...call, type: MessageType.REPLY }, def.ret, { state: 5, reason: 2 }));
  });

  test('empty packets are 28 bytes (keepalive PONG from the spec)', () => {
    const b = encodeEmptyPacket({ prog: 0x6b656570, vers: 1, proc: 2, type: 2, serial: 0, status: 0 });
    expect(b.toString('hex')).toBe('0000001c6b656570000000010000000200000002000000000000000' + '0');
  });

  test('a string beyond REMOTE_STRING_MAX is refused on encode', () => {
    const huge = 'x'.repeat(4194305);
    expect(() =>
      encodePacket({ prog: REMOTE_PROGRAM, vers: 1, proc: 7, type: 1, serial: 1, status: 0 }, PROCEDURES[Proc.CONNECT_GET_CAPABILITIES].ret, { capabilities: huge }),
    ).toThrow(/exceeds maximum 4194304/);
  });
});
