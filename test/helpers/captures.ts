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
import { encodeHeader } from './rpc.js';

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

/** `name` or `name.jsonl` → its path in ../shared/captures. */
export function capturePath(name: string): string {
  return path.join(CAPTURES, name.endsWith('.jsonl') ? name : `${name}.jsonl`);
}

export type CaptureRecord = { kind: string } & Record<string, unknown>;

/** Every record of a capture file, in order (blank lines skipped). */
export function readCaptureRecords(file: string): CaptureRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CaptureRecord);
}

export function readCapture(name: string): Capture {
  const c: Capture = { name, meta: {}, packets: [], events: [], tty: [] };
  for (const rec of readCaptureRecords(capturePath(name))) {
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

/** The exact bytes of a captured packet (header rebuilt from its fields, `len` as captured, + payload). */
export function packetBytes(p: CapturePacket): Buffer {
  const header = encodeHeader({ len: p.len, prog: parseInt(p.prog, 16), vers: p.vers, proc: p.proc, type: p.type, serial: p.serial, status: p.status });
  return Buffer.concat([header, Buffer.from(p.payload_hex, 'hex')]);
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
