/**
 * A small RTGetOpt look-alike: `--opt value`, `--opt=value`, `--opt:value`,
 * indexed options (`--nic2`, `--boot3`), bare arguments. Errors carry the
 * message VBoxManage's errorGetOpt prints.
 */

export type OptKind = 'none' | 'string' | 'onoff' | 'u32' | 'i64';

export interface OptDef {
  id: string;
  names: string[];
  kind: OptKind;
  /** RTGETOPT_FLAG_INDEX: the name is a prefix followed by a number. */
  indexed?: boolean;
}

export type OptItem =
  | { type: 'opt'; def: OptDef; name: string; index: number; value: string; bool: boolean; num: number }
  | { type: 'arg'; value: string }
  | { type: 'error'; message: string };

export class GetOpt {
  private i: number;
  constructor(
    private readonly argv: string[],
    private readonly defs: OptDef[],
    start = 0,
  ) {
    this.i = start;
  }

  /** Next item, or undefined at the end. */
  next(): OptItem | undefined {
    if (this.i >= this.argv.length) return undefined;
    const a = this.argv[this.i++]!;
    if (a === '--') {
      return this.i < this.argv.length ? { type: 'arg', value: this.argv[this.i++]! } : undefined;
    }
    if (!a.startsWith('-') || a === '-') return { type: 'arg', value: a };
    const m = /^([^=:]+)(?:[=:](.*))?$/s.exec(a)!;
    let name = m[1]!;
    let inline = m[2];
    let def: OptDef | undefined;
    let index = 0;
    def = this.defs.find((d) => !d.indexed && d.names.includes(name));
    if (!def) {
      // also accept the whole argument (values with '=' after a short name are rare)
      for (const d of this.defs) {
        if (!d.indexed) continue;
        for (const n of d.names) {
          if (name.startsWith(n) && /^\d+$/.test(name.slice(n.length))) {
            def = d;
            index = Number(name.slice(n.length));
            break;
          }
        }
        if (def) break;
      }
    }
    if (!def) {
      if (inline !== undefined) {
        // RTGetOpt reports the full argument
        name = a;
      }
      return { type: 'error', message: `Unknown option: ${name}` };
    }
    if (def.kind === 'none') {
      if (inline !== undefined) return { type: 'error', message: `Unknown option: ${a}` };
      return { type: 'opt', def, name, index, value: '', bool: true, num: 0 };
    }
    let value: string;
    if (inline !== undefined) value = inline;
    else {
      if (this.i >= this.argv.length) {
        return { type: 'error', message: `${def.names[0]}: RTGetOpt: Command line option needs argument.` };
      }
      value = this.argv[this.i++]!;
    }
    let bool = false;
    let num = 0;
    if (def.kind === 'onoff') {
      if (/^(on|yes|true|enable|enabled|1)$/i.test(value)) bool = true;
      else if (/^(off|no|false|disable|disabled|0)$/i.test(value)) bool = false;
      else return { type: 'error', message: `${def.names[0]}: RTGetOpt: Command line option has argument with bad format.` };
    } else if (def.kind === 'u32' || def.kind === 'i64') {
      const t = value.trim();
      const ok = def.kind === 'u32' ? /^(0x[0-9a-f]+|\d+)$/i.test(t) : /^-?(0x[0-9a-f]+|\d+)$/i.test(t);
      const n = ok ? Number(t) : NaN;
      if (!ok || !Number.isFinite(n) || (def.kind === 'u32' && n > 0xffffffff)) {
        return { type: 'error', message: `${def.names[0]}: RTGetOpt: Command line option has argument with bad format.` };
      }
      num = n;
    }
    return { type: 'opt', def, name, index, value, bool, num };
  }
}
