/** Loads the real virsh ⇄ libvirtd captures in ../shared/captures (by path, never copied). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURES } from '../helpers/paths.js';
import { readCaptureRecords } from '../helpers/captures.js';

export { SHARED, CAPTURES } from '../helpers/paths.js';
// One capture reader for all tests: the path and packet-bytes helpers live in test/helpers/captures.ts.
export { capturePath, packetBytes } from '../helpers/captures.js';

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
  return readCaptureRecords(file) as CapLine[];
}

export function packets(lines: CapLine[]): CapPacket[] {
  return lines.filter((l): l is CapPacket => l.kind === 'pkt');
}

