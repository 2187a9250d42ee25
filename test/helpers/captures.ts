/**
 * Reader for the reference captures in ../shared/captures/*.jsonl
 * (format `lvrelay-jsonl-1`, described in ../shared/captures/README.md).
 *
 *   const c = readCapture('err-domstate-nosuchvm');
 *   c.virsh   // {argv, stdout, stderr, rc} — what virsh printed against libvirtd
 *   c.packets // every RPC packet, in order, with dir 'C>S' | 'S>C'
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CAPTURES } from './paths.js';

export interface CapturePacket {
  kind: 'pkt';
  conn: number;
  t: number;
  dir: 'C>S' | 'S>C';
  len: number;
  prog: string; // "0x20008086"
  prog_name?: string;
  vers: number;
  proc: number;
  proc_name?: string;
  type: number;
  serial: number;
  status: number;
  payload_len: number;
  payload_hex: string;
}
export interface CaptureVirsh { kind: 'virsh'; argv: string[]; stdout: string; stderr: string; rc: number }
export interface CaptureProbe { kind: 'probe'; description: string; client_saw: string[] }
export interface CaptureTty { kind: 'tty'; t: number; send?: string; prompt?: string; output?: string }

export interface Capture {
  name: string;
  meta: Record<string, unknown>;
  packets: CapturePacket[];
  events: Array<Record<string, unknown>>;
  tty: CaptureTty[];
  virsh?: CaptureVirsh;
  probe?: CaptureProbe;
}

export function capturePath(name: string): string {
  return path.join(CAPTURES, `${name}.jsonl`);
}

export function readCapture(name: string): Capture {
  const text = readFileSync(capturePath(name), 'utf8');
  const c: Capture = { name, meta: {}, packets: [], events: [], tty: [] };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as { kind: string } & Record<string, unknown>;
    switch (rec.kind) {
      case 'meta': c.meta = rec; break;
      case 'pkt': c.packets.push(rec as unknown as CapturePacket); break;
      case 'event': c.events.push(rec); break;
      case 'tty': c.tty.push(rec as unknown as CaptureTty); break;
      case 'virsh': c.virsh = rec as unknown as CaptureVirsh; break;
      case 'probe': c.probe = rec as unknown as CaptureProbe; break;
      default: throw new Error(`${name}: unknown record kind ${rec.kind}`);
    }
  }
  return c;
}

/** Capture names (without .jsonl) starting with `prefix`, sorted. */
export function listCaptures(prefix = ''): string[] {
  return readdirSync(CAPTURES)
    .filter((f) => f.endsWith('.jsonl') && f.startsWith(prefix))
    .map((f) => f.slice(0, -'.jsonl'.length))
    .sort();
}

/** The exact bytes of a captured packet (header rebuilt from its fields + payload). */
export function packetBytes(p: CapturePacket): Buffer {
  const payload = Buffer.from(p.payload_hex, 'hex');
  const b = Buffer.alloc(28);
  b.writeUInt32BE(p.len, 0);
  b.writeUInt32BE(parseInt(p.prog, 16) >>> 0, 4);
  b.writeUInt32BE(p.vers >>> 0, 8);
  b.writeInt32BE(p.proc, 12);
  b.writeInt32BE(p.type, 16);
  b.writeUInt32BE(p.serial >>> 0, 20);
  b.writeInt32BE(p.status, 24);
  return Buffer.concat([b, payload]);
}

/** The URI argument (`-c URI`) of a captured virsh argv, if any. */
export function captureUri(v: CaptureVirsh): string | undefined {
  const i = v.argv.indexOf('-c');
  return i >= 0 ? v.argv[i + 1] : undefined;
}

/** The virsh arguments after `virsh -c URI`. */
export function captureArgs(v: CaptureVirsh): string[] {
  const i = v.argv.indexOf('-c');
  return i >= 0 ? v.argv.slice(i + 2) : v.argv.slice(1);
}
