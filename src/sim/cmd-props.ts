/** getextradata / setextradata / guestproperty (VBoxManageMisc.cpp, VBoxManageGuestProp.cpp 7.0.18). */
import type { Ctx } from './context.js';
import { SITES, errorLines, SimFailure, syntaxError, type CallSite } from './errors.js';
import { settle } from './machine.js';
import { atomicWrite } from './store.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

const MISC = SITES.F_MISC;
const site = (file: string, line: number, context: string): CallSite => ({ file, line, context });

function globalExtraFile(ctx: Ctx): string {
  return path.join(ctx.store.home, 'vboxsim-extradata.json');
}

function readGlobal(ctx: Ctx): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(globalExtraFile(ctx), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

async function cmdGetExtraData(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length !== 2) throw syntaxError('Incorrect number of parameters');
  const [target, key] = [args[0]!, args[1]!];
  let data: Record<string, string>;
  if (target === 'global') data = readGlobal(ctx);
  else data = ctx.find(target, site(MISC, 1338, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())')).machine.extradata ?? {};
  await ctx.commandDelay();
  if (key === 'enumerate') {
    for (const [k, v] of Object.entries(data)) ctx.out(`Key: ${k}, Value: ${v}\n`);
    return;
  }
  ctx.out(data[key] !== undefined && data[key] !== '' ? `Value: ${data[key]}\n` : 'No value set!\n');
}

async function cmdSetExtraData(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw syntaxError('Not enough parameters');
  if (args.length > 3) throw syntaxError('Too many parameters');
  const [target, key, value] = [args[0]!, args[1]!, args[2]];
  await ctx.commandDelay();
  if (target === 'global') {
    await ctx.store.withMutex('extradata', () => {
      const g = readGlobal(ctx);
      if (value === undefined || value === '') delete g[key];
      else g[key] = value;
      atomicWrite(globalExtraFile(ctx), JSON.stringify(g));
    });
    return;
  }
  const found = ctx.find(target, site(MISC, 1398, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())'));
  await ctx.store.updateMachine(found.entry.uuid, found.entry.cfg, (m) => {
    settle(m, ctx.now());
    m.extradata ??= {};
    if (value === undefined || value === '') delete m.extradata[key];
    else m.extradata[key] = value;
  });
}

async function cmdGuestProperty(ctx: Ctx, args: string[]): Promise<void> {
  const sub = args[0]!;
  const rest = args.slice(1);
  const F = 'VBoxManageGuestProp.cpp';
  switch (sub) {
    case 'get': {
      const verbose = rest.includes('--verbose') || rest.includes('-verbose');
      const pos = rest.filter((a) => a !== '--verbose' && a !== '-verbose');
      if (pos.length !== 2) throw syntaxError('Incorrect parameters');
      const m = ctx.find(pos[0]!, site(F, 77, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())')).machine;
      await ctx.commandDelay();
      const p = m.guestprops?.[pos[1]!];
      if (!p) {
        ctx.out('No value set!\n');
        return;
      }
      ctx.out(`Value: ${p.value}\n`);
      if (verbose) ctx.out(`Timestamp: ${p.timestamp}000000\nFlags: ${p.flags}\n`);
      return;
    }
    case 'set':
    case 'unset':
    case 'delete': {
      const flagsIdx = rest.findIndex((a) => a === '--flags' || a === '-flags');
      let flags = '';
      let pos = rest;
      if (flagsIdx >= 0) {
        flags = rest[flagsIdx + 1] ?? '';
        pos = rest.filter((_, i) => i !== flagsIdx && i !== flagsIdx + 1);
      }
      if (pos.length < 2 || pos.length > 3 || (sub !== 'set' && pos.length !== 2)) throw syntaxError('Incorrect parameters');
      const found = ctx.find(pos[0]!, site(F, 140, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())'));
      await ctx.commandDelay();
      await ctx.store.updateMachine(found.entry.uuid, found.entry.cfg, (m) => {
        settle(m, ctx.now());
        m.guestprops ??= {};
        const value = sub === 'set' ? pos[2] : undefined;
        if (value === undefined) delete m.guestprops[pos[1]!];
        else m.guestprops[pos[1]!] = { value, timestamp: ctx.now(), flags };
      });
      return;
    }
    case 'enumerate': {
      const vm = rest.find((a) => !a.startsWith('-'));
      if (!vm) throw syntaxError('No VM name or UUID was specified');
      const m = ctx.find(vm, site(F, 325, 'FindMachine(Bstr(pszVmNameOrUuid).raw(), machine.asOutParam())')).machine;
      await ctx.commandDelay();
      const props = Object.entries(m.guestprops ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (props.length === 0) {
        ctx.out('No properties found.\n');
        return;
      }
      if (rest.includes('--old-format')) {
        for (const [k, p] of props) ctx.out(`Name: ${k}, value: ${p.value}, timestamp: ${p.timestamp}000000, flags: ${p.flags}\n`);
        return;
      }
      const wName = Math.max(...props.map(([k]) => k.length));
      const lines = props.map(([k, p]) => `${k.padEnd(wName)} = '${p.value}'`);
      const wLine = Math.max(...lines.map((l) => l.length));
      props.forEach(([, p], i) => {
        const t = new Date(p.timestamp).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
        ctx.out(`${lines[i]!.padEnd(wLine)} @ ${t}${p.flags ? ' ' + p.flags : ''}\n`);
      });
      return;
    }
    default:
      throw new SimFailure(errorLines(`Unknown subcommand: ${sub}`), 2);
  }
}

export const COMMANDS: Record<string, (ctx: Ctx, args: string[]) => Promise<void>> = {
  getextradata: cmdGetExtraData,
  setextradata: cmdSetExtraData,
  guestproperty: cmdGuestProperty,
};
