/**
 * Replays every real virsh ⇄ libvirtd capture (../shared/captures/*.jsonl)
 * into an RpcConnection: C>S bytes go in, and the S>C bytes that come out
 * must be identical to libvirtd's. Connection-level procedures and protocol
 * errors (unknown procedure/program/version, undecodable args, call before
 * open, duplicate open, CONNECT_CLOSE then EOF, keepalive PONG) come from the
 * engine itself; driver procedures come from a replay handler table that
 * checks the decoded args against the capture and answers libvirtd's reply.
 * Only difference allowed: feature 14 (event callbacks) is answered 0, since
 * vboxvirt sends no events.
 */
import { describe, expect, test } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  Feature, KEEPALIVE_PROGRAM, KeepaliveProc, MessageStatus, Proc, PROCEDURES, RemoteError, procDef,
} from '../../protocol/index.js';
import { RpcConnection } from '../../src/rpc/connection.js';
import { HandlerTable, type RpcDriver } from '../../src/rpc/dispatch.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { decode } from '../../src/rpc/xdr.js';
import { CAPTURES, loadCapture, packetBytes, packets, type CapPacket } from './captures.js';

interface Exchange {
  call: CapPacket;
  reply?: CapPacket;
}

function replayDriver(exchanges: Exchange[], seenArgs: unknown[]): RpcDriver {
  const byKey = new Map<string, Exchange[]>();
  for (const x of exchanges) {
    const k = `${x.call.proc}:${x.call.serial}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k)!.push(x);
  }
  const answer = (x: Exchange | undefined, proc: number): unknown => {
    if (!x?.reply) throw new Error(`no captured reply for proc ${proc}`);
    const raw = packetBytes(x.reply);
    if (x.reply.status === MessageStatus.ERROR) {
      throw LibvirtError.fromRemoteError(decode(RemoteError, raw, 28));
    }
    return decode(procDef(proc)!.ret, raw, 28);
  };
  const handlers = new HandlerTable();
  for (const def of Object.values(PROCEDURES)) {
    if (def.connection) continue;
    handlers.set(def.num, (args, ctx) => {
      const x = byKey.get(`${ctx.proc}:${ctx.serial}`)?.shift();
      expect(x).toBeDefined();
      // the engine hands the driver exactly the arguments virsh sent
      expect(args).toEqual(decode(def.args, packetBytes(x!.call), 28));
      seenArgs.push(args);
      return answer(x, def.num);
    });
  }
  const opens = exchanges.filter((x) => x.call.proc === Proc.CONNECT_OPEN);
  return {
    handlers,
    open: (name) => {
      const x = opens.shift();
      expect(name).toEqual((decode(PROCEDURES[Proc.CONNECT_OPEN].args, packetBytes(x!.call), 28)).name);
      answer(x, Proc.CONNECT_OPEN);
    },
  };
}

const files = readdirSync(CAPTURES).filter((f) => f.endsWith('.jsonl')).sort();

describe('replaying libvirtd captures through RpcConnection', () => {
  test.each(files)('%s', (file) => {
    const pkts = packets(loadCapture(join(CAPTURES, file)));
    const conns = [...new Set(pkts.map((p) => p.conn))];
    for (const conn of conns) {
      const mine = pkts.filter((p) => p.conn === conn);
      const calls = mine.filter((p) => p.dir === 'C>S');
      const exchanges: Exchange[] = [];
      const replies = mine.filter((p) => p.dir === 'S>C' && p.type === 1);
      for (const c of calls) {
        if (c.type !== 0) continue;
        const i = replies.findIndex((r) => r.serial === c.serial && r.proc === c.proc);
        exchanges.push({ call: c, reply: i >= 0 ? replies.splice(i, 1)[0] : undefined });
      }
      const out: Buffer[] = [];
      let closed: string | null = null;
      const seen: unknown[] = [];
      const rc = new RpcConnection({
        driver: replayDriver(exchanges, seen),
        identity: { transport: 'tcp', address: '127.0.0.1:1' },
        write: (b) => out.push(b),
        onClose: (r) => {
          closed = r;
        },
        keepalive: { interval: 3600, count: 5 },
      });
      const feature14: number[] = [];
      for (const c of calls) {
        rc.feed(packetBytes(c));
      }
      // expected: libvirtd's bytes, minus its timer-driven PINGs
      const expected = mine.filter(
        (p) => p.dir === 'S>C' && !(parseInt(p.prog, 16) === KEEPALIVE_PROGRAM && p.proc === KeepaliveProc.PING),
      );
      expect(out.length).toBe(expected.length);
      out.forEach((b, i) => {
        const want = packetBytes(expected[i]);
        const call = exchanges.find((x) => x.reply === expected[i])?.call;
        const isFeature14 =
          expected[i].proc === Proc.CONNECT_SUPPORTS_FEATURE &&
          call && decode(PROCEDURES[Proc.CONNECT_SUPPORTS_FEATURE].args, packetBytes(call), 28).feature === Feature.REMOTE_EVENT_CALLBACK;
        if (isFeature14) {
          feature14.push(decode(PROCEDURES[Proc.CONNECT_SUPPORTS_FEATURE].ret, b, 28).supported);
          expect(b.subarray(0, 28).equals(want.subarray(0, 28))).toBe(true);
        } else {
          expect(b.toString('hex')).toBe(want.toString('hex'));
        }
      });
      expect(feature14.every((v) => v === 0)).toBe(true);
      // libvirtd closed the socket after CONNECT_CLOSE; so must we
      const sawClose = calls.some((c) => c.proc === Proc.CONNECT_CLOSE && c.prog === '0x20008086');
      if (sawClose) expect(closed).toBe('client-close');
      else {
        expect(closed).toBeNull();
        rc.end();
      }
    }
  });
});
