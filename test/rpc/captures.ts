/** Loads the real virsh ⇄ libvirtd captures in ../shared/captures (by path, never copied). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared');
export const CAPTURES = join(SHARED, 'captures');

export interface CapPacket {
  kind: 'pkt';
  conn: number;
  t: number;
  dir: 'C>S' | 'S>C';
  len: number;
  prog: string;
  prog_name: string;
  vers: number;
  proc: number;
  proc_name: string;
  type: number;
  type_name: string;
  serial: number;
  status: number;
  status_name: string;
  payload_len: number;
  payload_hex: string;
}

export interface CapEvent { kind: 'event'; conn: number; t: number; what: string }

export type CapLine = CapPacket | CapEvent | { kind: string; [k: string]: unknown };

export function captureFiles(): string[] {
  const top = readdirSync(CAPTURES).filter((f) => f.endsWith('.jsonl')).map((f) => join(CAPTURES, f));
  const exp = readdirSync(join(CAPTURES, 'experiments'))
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => join(CAPTURES, 'experiments', f));
  return [...top, ...exp].sort();
}

export function loadCapture(file: string): CapLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CapLine);
}

export function capturePath(name: string): string {
  return join(CAPTURES, name.endsWith('.jsonl') ? name : `${name}.jsonl`);
}

export function packets(lines: CapLine[]): CapPacket[] {
  return lines.filter((l): l is CapPacket => l.kind === 'pkt');
}

/** The exact bytes of a captured packet (captures/README.md). */
export function packetBytes(p: CapPacket): Buffer {
  const payload = Buffer.from(p.payload_hex, 'hex');
  const h = Buffer.alloc(28);
  h.writeUInt32BE(p.len, 0);
  h.writeUInt32BE(parseInt(p.prog, 16) >>> 0, 4);
  h.writeUInt32BE(p.vers >>> 0, 8);
  h.writeInt32BE(p.proc, 12);
  h.writeInt32BE(p.type, 16);
  h.writeUInt32BE(p.serial >>> 0, 20);
  h.writeInt32BE(p.status, 24);
  return Buffer.concat([h, payload]);
}
