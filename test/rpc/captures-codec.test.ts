/**
 * Every packet of every real capture (../shared/captures/*.jsonl and
 * experiments/*.jsonl) decodes with protocol/ layouts — args for C>S calls,
 * ret for S>C OK replies, remote_error for S>C error replies, empty bodies
 * for keepalive — consumes its payload exactly, and re-encodes to the
 * identical bytes. The three deliberately malformed calls must fail.
 */
import { describe, expect, test } from '@jest/globals';
import { basename } from 'node:path';
import {
  KEEPALIVE_PROGRAM, MessageStatus, MessageType, REMOTE_PROGRAM, RemoteError, procDef, Void,
  type XdrType,
} from '../../protocol/index.js';
import { decode, encode } from '../../src/rpc/xdr.js';
import { PacketDecoder, encodePacket } from '../../src/rpc/framing.js';
import { captureFiles, loadCapture, packetBytes, packets, type CapPacket } from './captures.js';

/** Deliberately malformed calls libvirtd rejected (captures/README.md). */
const MALFORMED = new Set(['raw-garbage-args.jsonl:23:2', 'raw-unknown-proc.jsonl:9999:2', 'raw-wrong-program.jsonl:3:2']);

function layoutFor(p: CapPacket): XdrType | undefined {
  const prog = parseInt(p.prog, 16) >>> 0;
  if (p.type === MessageType.REPLY && p.status === MessageStatus.ERROR) return RemoteError;
  if (prog === KEEPALIVE_PROGRAM) return Void;
  // (raw-wrong-version sends REMOTE v2: the layouts are the same, the server refuses the version)
  if (prog !== REMOTE_PROGRAM) return undefined;
  const def = procDef(p.proc);
  if (!def) return undefined;
  return p.dir === 'C>S' ? def.args : def.ret;
}

const files = captureFiles();

describe('captures decode and re-encode byte for byte', () => {
  test('the capture set is there', () => {
    expect(files.length).toBeGreaterThan(90);
  });

  let total = 0;
  let malformedSeen = 0;
  test.each(files.map((f) => [basename(f), f]))('%s', (_name, file) => {
    const pkts = packets(loadCapture(file));
    // virsh never connected in these two (client-side failure: no packets at all)
    const noTraffic = ['tcp-no-driver-uri.jsonl', 'err-unknown-command.jsonl'].includes(basename(file));
    expect(pkts.length > 0).toBe(!noTraffic);
    const stream = new PacketDecoder();
    for (const p of pkts) {
      const raw = packetBytes(p);
      expect(raw.length).toBe(p.len);
      // framing: the packet comes out of the decoder whole, header intact
      stream.push(raw);
      const framed = stream.next();
      expect(framed).not.toBeNull();
      expect(framed!.raw.equals(raw)).toBe(true);
      expect([framed!.proc, framed!.serial, framed!.type, framed!.status]).toEqual([p.proc, p.serial, p.type, p.status]);

      const key = `${basename(file)}:${p.proc}:${p.serial}`;
      const desc = layoutFor(p);
      if (MALFORMED.has(key) && p.dir === 'C>S') {
        malformedSeen++;
        // must NOT decode: no layout, or the payload is short/garbage
        if (desc) expect(() => decode(desc, raw, 28, raw.length)).toThrow();
        continue;
      }
      expect(desc).toBeDefined();
      const value = decode(desc!, raw, 28, raw.length);
      const again = encodePacket(framed!, desc!, value);
      expect(again.toString('hex')).toBe(raw.toString('hex'));
      expect(encode(desc!, value).equals(raw.subarray(28))).toBe(true);
      total++;
    }
  });

  test('all three deliberately malformed calls were met and refused', () => {
    expect(malformedSeen).toBe(3);
    expect(total).toBeGreaterThan(1000);
  });
});
