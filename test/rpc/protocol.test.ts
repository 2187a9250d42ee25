/**
 * The procedure table against libvirt 9.0's own list (tools/procs_9.0.tsv,
 * dumped from the wireshark dissector): every number has libvirt's name,
 * every Proc has a layout, and the procedures the team relies on are there.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEEPALIVE_PROCEDURES, PROCEDURES, Proc, procDef, procName, type XdrType } from '../../protocol/index.js';
import { decode, encode } from '../../src/rpc/xdr.js';
import { SHARED } from './captures.js';

const libvirt = new Map<string, Map<number, string>>();
for (const line of readFileSync(join(SHARED, 'tools/procs_9.0.tsv'), 'utf8').split('\n')) {
  if (!line || line.startsWith('#')) continue;
  const [prog, num, name] = line.split('\t');
  if (!libvirt.has(prog)) libvirt.set(prog, new Map());
  libvirt.get(prog)!.set(Number(num), name.trim());
}

describe('procedure table', () => {
  test('every procedure number carries libvirt 9.0\'s name', () => {
    const remote = libvirt.get('remote')!;
    expect(remote.size).toBeGreaterThan(400);
    for (const [name, num] of Object.entries(Proc)) {
      expect([num, remote.get(num)]).toEqual([num, name]);
      expect(procDef(num)?.name).toBe(name);
      expect(procName(num)).toBe(name);
    }
    expect(Object.keys(PROCEDURES).length).toBe(Object.keys(Proc).length);
    expect(procName(9999)).toBe('PROC_9999');
    const ka = libvirt.get('keepalive')!;
    expect(Object.values(KEEPALIVE_PROCEDURES).map((p) => [p.num, p.name])).toEqual([...ka.entries()]);
  });

  test('covers what the team needs (spec §5 and the assignment)', () => {
    const needed = [
      66, 60, 1, 360, 361, 2, 3, 4, 157, 59, 6, 7, 122, 110, 23, 22, 24, 273, 212, 16, 19, 151, 15, 183, 121, 426, 150, 187,
      9, 196, 12, 234, 33, 258, 27, 245, 34, 28, 29, 11, 350, 231, 35, 14, 283, 44, 153, 152, 46, 43, 281, 89, 87, 154, 84,
      88, 194, 51, 37, 25, 21, 182, 184, 17, 200, 204, 199, 8, 160, 161, 174, 342, 5, 102, 203, 45, 47, 85, 86, 90, 77, 78,
      79, 83, 91, 92, 282, 93, 94, 95, 96, 97, 98, 99, 100, 202,
    ];
    expect(needed.filter((n) => !procDef(n))).toEqual([]);
  });

  test('only state-changing procedures are refused on read-only connections', () => {
    const writes = Object.values(PROCEDURES).filter((d) => d.writes).map((d) => d.name);
    for (const w of writes) expect(w).toMatch(/CREATE|DESTROY|SHUTDOWN|REBOOT|RESET|SUSPEND|RESUME|SET_|DEFINE|UNDEFINE|DEVICE|MANAGED_SAVE$|MANAGED_SAVE_REMOVE|BUILD|REFRESH|DELETE/);
    for (const r of ['DOMAIN_LOOKUP_BY_NAME', 'DOMAIN_GET_STATE', 'CONNECT_LIST_ALL_DOMAINS', 'DOMAIN_GET_XML_DESC', 'DOMAIN_HAS_MANAGED_SAVE_IMAGE']) {
      expect(writes).not.toContain(r);
    }
    expect(writes).toEqual(expect.arrayContaining(['DOMAIN_CREATE', 'DOMAIN_DESTROY', 'DOMAIN_UNDEFINE_FLAGS', 'DOMAIN_DEFINE_XML', 'STORAGE_VOL_CREATE_XML']));
  });

  test('connection-level procedures and the ones allowed before CONNECT_OPEN', () => {
    const conn = Object.values(PROCEDURES).filter((d) => d.connection).map((d) => d.num).sort((a, b) => a - b);
    expect(conn).toEqual([1, 2, 60, 66, 360, 361]);
    const before = Object.values(PROCEDURES).filter((d) => d.beforeOpen).map((d) => d.num).sort((a, b) => a - b);
    expect(before).toEqual([1, 2, 60, 66]);
  });
});

/** A value for any layout, varied by `seed` (optional present or not, arrays of 0..2, non-ASCII strings). */
function sample(d: XdrType, seed: number): unknown {
  switch (d.kind) {
    case 'void': return undefined;
    case 'int': return seed === 0 ? 0 : -seed;
    case 'uint': return seed * 7;
    case 'hyper': return -(2 ** 40) - seed;
    case 'uhyper': return 2 ** 45 + seed;
    case 'string': return `s${seed}-é`;
    case 'fopaque': return Buffer.alloc(d.len, seed);
    case 'vopaque': return Buffer.alloc(seed % 5, 1);
    case 'charfixed': return 'm' + seed;
    case 'charvar': return seed % 3 === 0 ? null : seed % 3 === 1 ? '' : 'label';
    case 'optional': return seed % 2 ? null : sample(d.of, seed + 1);
    case 'array': return Array.from({ length: seed % 3 }, (_, i) => sample(d.of, seed + i));
    case 'struct': return Object.fromEntries(d.fields.map(([k, f], i) => [k, sample(f, seed + i)]));
    default: throw new Error('unknown kind');
  }
}

describe('every layout in the table round-trips', () => {
  test.each(Object.values(PROCEDURES).map((d) => [d.name, d] as const))('%s', (_n, def) => {
    for (const seed of [0, 1, 2, 3]) {
      for (const desc of [def.args, def.ret] as XdrType[]) {
        const v = sample(desc, seed);
        const b = encode(desc, v);
        expect(b.length % 4).toBe(0);
        expect(decode(desc, b)).toEqual(v);
      }
    }
  });
});
