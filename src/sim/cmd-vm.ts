/** VM commands: list vms/runningvms, showvminfo, createvm, modifyvm, unregistervm, startvm, controlvm, discardstate. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { Ctx, sleep } from './context.js';
import {
  SITES,
  SimFailure,
  comError,
  errorLines,
  getOptError,
  lockedBySession,
  lockedForSession,
  parseUuid,
  plainError,
  syntaxError,
  argumentError,
  type CallSite,
} from './errors.js';
import { GetOpt, type OptDef } from './getopt.js';
import {
  API_STATE,
  ONLINE_STATES,
  RUNNINGVMS_STATES,
  findOsType,
  humanReadable,
  machineFolder,
  machineReadable,
  newMachine,
  pressPowerButton,
  randomMac,
  sanitiseMachineFilename,
  setState,
  settle,
  type Machine,
} from './machine.js';
import type { LockOwner, RegistryMachine } from './store.js';
import { mkdirp } from './store.js';
import { USAGE } from './usage.js';
import { listMore } from './cmd-media.js';
import { listHost } from './cmd-host.js';

const PROGRESS = '0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n';

function apiState(s: string): string {
  return API_STATE[s] ?? s;
}

// ---------------------------------------------------------------------------------------------
// Session locks

/** Machine is held by a running VM process, a live session lock, or the post-stop unlock window. */
function busy(ctx: Ctx, m: Machine): boolean {
  if (ONLINE_STATES.has(m.state)) return true;
  if (m.unlockedAt !== undefined && ctx.now() < m.unlockedAt) return true;
  return ctx.store.sessionHolder(m.uuid) !== undefined;
}

/**
 * The error a LockMachine(Write) gets on a busy VM: while a startvm is still
 * spawning the VM process (its lock is held but the VM has not begun starting),
 * VirtualBox answers E_ACCESSDENIED "An unexpected process …"; otherwise
 * `already locked for a session (or being unlocked)`.
 */
export function writeCollision(ctx: Ctx, m: Machine, site: CallSite): SimFailure {
  const holder = ctx.store.sessionHolder(m.uuid);
  if (holder?.kind === 'launch') {
    const cur = ctx.store.readMachine(m.cfgFile);
    if (cur && !ONLINE_STATES.has(cur.state)) {
      const hex = (n: number) => '0x' + (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
      return comError({
        message: `An unexpected process (PID=${hex(process.pid)}) has tried to lock the machine '${m.name}', while only the process started by LaunchVMProcess (PID=${hex(holder.pid)}) is allowed`,
        code: 'E_ACCESSDENIED',
        component: 'MachineWrap',
        iface: 'IMachine',
        site,
      });
    }
  }
  return lockedForSession(m.name, site);
}

/**
 * LockMachine(Write) for the duration of `fn` (the command's delay included).
 * Collisions → `already locked for a session (or being unlocked)` at `site`.
 */
async function withWriteLock<T>(
  ctx: Ctx,
  found: { entry: RegistryMachine; machine: Machine },
  site: CallSite,
  fn: (m: Machine) => Promise<T> | T,
): Promise<T> {
  const { entry } = found;
  const name = found.machine.name;
  if (busy(ctx, found.machine)) throw writeCollision(ctx, found.machine, site);
  const owner = ctx.store.tryLockSession(entry.uuid, 'write', ctx.command);
  if (!owner) throw writeCollision(ctx, found.machine, site);
  try {
    const m = ctx.store.readMachine(entry.cfg);
    if (!m) throw lockedForSession(name, site);
    settle(m, ctx.now());
    if (ONLINE_STATES.has(m.state) || (m.unlockedAt !== undefined && ctx.now() < m.unlockedAt)) {
      throw lockedForSession(name, site);
    }
    await ctx.commandDelay();
    return await fn(m);
  } finally {
    ctx.store.unlockSession(entry.uuid, owner);
  }
}

/** Read-modify-write a machine (settled first) under its mutex. */
async function update<T>(ctx: Ctx, entry: RegistryMachine, fn: (m: Machine) => T): Promise<T> {
  return ctx.store.updateMachine(entry.uuid, entry.cfg, (m) => {
    settle(m, ctx.now());
    return fn(m);
  });
}

// ---------------------------------------------------------------------------------------------
// list

export async function cmdList(ctx: Ctx, args: string[]): Promise<void> {
  const defs: OptDef[] = [
    { id: 'long', names: ['--long', '-l'], kind: 'none' },
    { id: 'sorted', names: ['--sorted', '-s'], kind: 'none' },
    { id: 'optional', names: ['--optional', '-o'], kind: 'none' },
  ];
  const g = new GetOpt(args, defs);
  let long = false;
  let sorted = false;
  let sub: string | undefined;
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.list);
    if (it.type === 'opt') {
      if (it.def.id === 'long') long = true;
      if (it.def.id === 'sorted') sorted = true;
      continue;
    }
    if (sub !== undefined) throw syntaxError(`Unknown subcommand "${it.value}".`, USAGE.list);
    sub = it.value;
  }
  if (sub === undefined) throw syntaxError('Missing subcommand for "list" command.\n', USAGE.list);
  await ctx.commandDelay();
  switch (sub) {
    case 'vms':
    case 'runningvms': {
      let rows = ctx.store.listMachines().map(({ entry, machine }) => {
        if (machine) settle(machine, ctx.now());
        return { entry, machine };
      });
      if (sub === 'runningvms') rows = rows.filter((r) => r.machine && RUNNINGVMS_STATES.has(r.machine.state));
      if (sorted) {
        rows.sort((a, b) => {
          const an = a.machine?.name ?? '<inaccessible>';
          const bn = b.machine?.name ?? '<inaccessible>';
          return an < bn ? -1 : an > bn ? 1 : 0;
        });
      }
      if (long) {
        ctx.out(rows.map((r) => (r.machine ? humanReadable(r.machine) : inaccessibleHuman(r.entry))).join('\n'));
      } else {
        for (const r of rows) ctx.out(`"${r.machine ? r.machine.name : '<inaccessible>'}" {${r.entry.uuid}}\n`);
      }
      return;
    }
    default:
      if (await listMore(ctx, sub, long)) return;
      if (listHost(ctx, sub)) return;
      throw syntaxError(`Unknown subcommand "${sub}".`, USAGE.list);
  }
}

function inaccessibleHuman(e: RegistryMachine): string {
  return `Name:            <inaccessible!>\nUUID:            ${e.uuid}\nConfig file:     ${e.cfg}\n`;
}

// ---------------------------------------------------------------------------------------------
// showvminfo

export async function cmdShowVmInfo(ctx: Ctx, args: string[]): Promise<void> {
  const defs: OptDef[] = [
    { id: 'mr', names: ['--machinereadable', '-machinereadable'], kind: 'none' },
    { id: 'details', names: ['--details', '-details'], kind: 'none' },
    { id: 'log', names: ['--log'], kind: 'u32' },
    { id: 'pwid', names: ['--password-id'], kind: 'string' },
    { id: 'pw', names: ['--password'], kind: 'string' },
  ];
  const g = new GetOpt(args, defs);
  let vm: string | undefined;
  let mr = false;
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.showvminfo);
    if (it.type === 'arg') {
      if (vm !== undefined) throw syntaxError(`Invalid parameter '${it.value}'`, USAGE.showvminfo);
      vm = it.value;
      continue;
    }
    if (it.def.id === 'mr') mr = true;
  }
  if (vm === undefined) throw syntaxError('VM name or UUID required', USAGE.showvminfo);
  const broken = ctx.tryFind(vm) ? undefined : ctx.inaccessible(vm);
  if (broken) {
    await ctx.commandDelay();
    ctx.out(mr ? `name="<inaccessible>"\nUUID="${broken.uuid}"\n` : `Name:            <inaccessible!>\nUUID:            ${broken.uuid}\nConfig file:     ${broken.cfg}\n`);
    return;
  }
  const found = ctx.find(vm, SITES.showvminfoFind);
  // Shared lock; VBoxSVC turns it into a write lock on a VM that is not running (§3.5).
  let owner: LockOwner | undefined;
  if (!ONLINE_STATES.has(found.machine.state)) owner = ctx.store.tryLockSession(found.entry.uuid, 'write', 'showvminfo');
  try {
    await ctx.commandDelay();
    const m = ctx.store.readMachine(found.entry.cfg) ?? found.machine;
    settle(m, ctx.now());
    ctx.out(mr ? machineReadable(m) : humanReadable(m));
  } finally {
    if (owner) ctx.store.unlockSession(found.entry.uuid, owner);
  }
}

// ---------------------------------------------------------------------------------------------
// createvm

function parseGroups(s: string): string[] {
  return s.split(',').filter((g) => g !== '');
}

export async function cmdCreateVm(ctx: Ctx, args: string[]): Promise<void> {
  const defs: OptDef[] = [
    { id: 'name', names: ['--name', '-name'], kind: 'string' },
    { id: 'groups', names: ['--groups'], kind: 'string' },
    { id: 'basefolder', names: ['--basefolder', '-basefolder'], kind: 'string' },
    { id: 'ostype', names: ['--ostype', '-ostype'], kind: 'string' },
    { id: 'uuid', names: ['--uuid', '-uuid'], kind: 'string' },
    { id: 'register', names: ['--register', '-register'], kind: 'none' },
    { id: 'default', names: ['--default', '-default'], kind: 'none' },
    { id: 'defaultflags', names: ['--default-flags'], kind: 'string' },
    { id: 'cipher', names: ['--cipher'], kind: 'string' },
    { id: 'pwid', names: ['--password-id'], kind: 'string' },
    { id: 'pw', names: ['--password'], kind: 'string' },
  ];
  const g = new GetOpt(args, defs);
  let name: string | undefined;
  let groups: string[] = [];
  let base: string | undefined;
  let ostype = '';
  let uuid: string | undefined;
  let register = false;
  let defaults = false;
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.createvm);
    if (it.type === 'arg') throw syntaxError(`Invalid parameter '${it.value}'`, USAGE.createvm);
    switch (it.def.id) {
      case 'name':
        name = it.value;
        break;
      case 'groups':
        groups = parseGroups(it.value);
        break;
      case 'basefolder':
        base = it.value;
        break;
      case 'ostype':
        ostype = it.value;
        break;
      case 'uuid': {
        const u = parseUuid(it.value);
        if (!u) throw getOptError(`--uuid: RTGetOpt: Command line option has argument with bad format.`, USAGE.createvm);
        uuid = u;
        break;
      }
      case 'register':
        register = true;
        break;
      case 'default':
        defaults = true;
        break;
      default:
        break;
    }
  }
  if (name === undefined) throw syntaxError('Parameter --name is required', USAGE.createvm);
  const createErr = (message: string, code: 'VBOX_E_FILE_ERROR' | 'VBOX_E_OBJECT_NOT_FOUND' | 'NS_ERROR_INVALID_ARG') =>
    comError({ message, code, component: 'VirtualBoxWrap', iface: 'IVirtualBox', site: SITES.createvmCreate });
  let osId = 'Other';
  if (ostype !== '') {
    const f = findOsType(ostype);
    if (!f) throw createErr(`'${ostype}' is not a valid Guest OS type`, 'VBOX_E_OBJECT_NOT_FOUND');
    osId = f;
  }
  if (name === '') throw createErr('Machine name cannot be empty', 'NS_ERROR_INVALID_ARG');
  // VirtualBox::composeMachineFilename: <base>[<first group>]/<sanitised name>/<sanitised name>.vbox
  const folderName = sanitiseMachineFilename(name);
  const baseDir = path.resolve(base || ctx.settings.machineFolder);
  const group = groups[0] && groups[0] !== '/' ? groups[0].split('/').filter(Boolean) : [];
  const cfg = path.join(baseDir, ...group, folderName, `${folderName}.vbox`);
  await ctx.commandDelay();
  const id = uuid ?? crypto.randomUUID();
  await ctx.store.updateRegistry((reg) => {
    if (fs.existsSync(cfg)) throw createErr(`Machine settings file '${cfg}' already exists`, 'VBOX_E_FILE_ERROR');
    if (register && reg.machines.some((x) => x.uuid === id)) {
      const other = ctx.store.readMachine(reg.machines.find((x) => x.uuid === id)!.cfg);
      throw comError({
        message: `Registered machine with UUID {${id}} ('${other?.name ?? ''}') already exists`,
        code: 'VBOX_E_OBJECT_IN_USE',
        component: 'VirtualBoxWrap',
        iface: 'IVirtualBox',
        site: SITES.createvmRegister,
      });
    }
    const m = newMachine({ uuid: id, name, ostype: osId, cfgFile: cfg, groups, defaults, now: ctx.now() });
    ctx.store.writeMachine(m);
    if (register) reg.machines.push({ uuid: id, cfg });
  });
  ctx.out(
    `Virtual machine '${name}' is created${register ? ' and registered' : ''}.\nUUID: ${id}\nSettings file: '${cfg}'\n`,
  );
}

// ---------------------------------------------------------------------------------------------
// modifyvm

const NIC_TYPES: Record<string, [string, number]> = {
  am79c970a: ['Am79C970A', 1562],
  am79c973: ['Am79C973', 1566],
  am79c960: ['Am79C960', 1570],
  '82540em': ['82540EM', 1575],
  '82543gc': ['82543GC', 1579],
  '82545em': ['82545EM', 1583],
  virtio: ['virtio', 1589],
};

const ATTACH: Record<string, [string, number]> = {
  null: ['null', 1752],
  nat: ['nat', 1758],
  bridged: ['bridged', 1765],
  hostif: ['bridged', 1765],
  intnet: ['intnet', 1771],
  hostonly: ['hostonly', 1777],
  generic: ['generic', 1791],
  natnetwork: ['natnetwork', 1797],
};

const MODIFY_DEFS: OptDef[] = [
  { id: 'name', names: ['--name', '-name'], kind: 'string' },
  { id: 'groups', names: ['--groups'], kind: 'string' },
  { id: 'description', names: ['--description', '-description'], kind: 'string' },
  { id: 'ostype', names: ['--ostype', '--os-type', '-ostype'], kind: 'string' },
  { id: 'memory', names: ['--memory', '-memory'], kind: 'u32' },
  { id: 'vram', names: ['--vram', '-vram'], kind: 'u32' },
  { id: 'cpus', names: ['--cpus', '-cpus'], kind: 'u32' },
  { id: 'firmware', names: ['--firmware', '-firmware'], kind: 'string' },
  { id: 'chipset', names: ['--chipset'], kind: 'string' },
  { id: 'ioapic', names: ['--ioapic'], kind: 'onoff' },
  { id: 'pae', names: ['--pae'], kind: 'onoff' },
  { id: 'longmode', names: ['--longmode', '--long-mode'], kind: 'onoff' },
  { id: 'graphicscontroller', names: ['--graphicscontroller', '--graphics-controller'], kind: 'string' },
  { id: 'autostartenabled', names: ['--autostart-enabled'], kind: 'onoff' },
  { id: 'autostartdelay', names: ['--autostart-delay'], kind: 'u32' },
  { id: 'defaultfrontend', names: ['--defaultfrontend', '--default-frontend'], kind: 'string' },
  { id: 'usb', names: ['--usb', '--usbohci', '--usb-ohci'], kind: 'onoff' },
  { id: 'ehci', names: ['--usbehci', '--usb-ehci'], kind: 'onoff' },
  { id: 'xhci', names: ['--usbxhci', '--usb-xhci'], kind: 'onoff' },
  { id: 'boot', names: ['--boot'], kind: 'string', indexed: true },
  { id: 'nictype', names: ['--nictype', '--nic-type'], kind: 'string', indexed: true },
  { id: 'nicspeed', names: ['--nicspeed', '--nic-speed'], kind: 'u32', indexed: true },
  { id: 'nicbootprio', names: ['--nicbootprio', '--nic-boot-prio'], kind: 'u32', indexed: true },
  { id: 'cable', names: ['--cableconnected', '--cable-connected'], kind: 'onoff', indexed: true },
  { id: 'bridge', names: ['--bridgeadapter', '--bridge-adapter'], kind: 'string', indexed: true },
  { id: 'hostonly', names: ['--hostonlyadapter', '--host-only-adapter'], kind: 'string', indexed: true },
  { id: 'intnet', names: ['--intnet'], kind: 'string', indexed: true },
  { id: 'natnetwork', names: ['--nat-network', '--natnetwork'], kind: 'string', indexed: true },
  { id: 'nicgenericdrv', names: ['--nicgenericdrv', '--nic-generic-drv'], kind: 'string', indexed: true },
  { id: 'mac', names: ['--macaddress', '--mac-address'], kind: 'string', indexed: true },
  { id: 'nic', names: ['--nic'], kind: 'string', indexed: true },
];

/** Setters per state dependency (MachineImpl.cpp): which states each option tolerates besides mutable. */
const SAVED_OK = new Set(['description', 'autostartenabled', 'autostartdelay', 'groups', 'name', 'defaultfrontend']);

export async function cmdModifyVm(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw syntaxError('Not enough parameters', USAGE.modifyvm);
  const found = ctx.find(args[0]!, SITES.modifyFind);
  await withWriteLock(ctx, found, SITES.modifyLock, async (m) => {
    const work: Machine = JSON.parse(JSON.stringify(m)) as Machine;
    const g = new GetOpt(args, MODIFY_DEFS, 1);
    const smErr = (
      message: string,
      site: CallSite,
      code: 'NS_ERROR_INVALID_ARG' | 'VBOX_E_INVALID_VM_STATE' | 'VBOX_E_OBJECT_NOT_FOUND' | 'NS_ERROR_FAILURE' | 'VBOX_E_NOT_SUPPORTED' = 'NS_ERROR_INVALID_ARG',
      component = 'SessionMachine',
      iface = 'IMachine',
    ) => comError({ message, code, component, iface, site });
    const nicSite = (line: number, context: string): CallSite => ({ file: SITES.F_MOD, line, context });
    for (let it = g.next(); it; it = g.next()) {
      if (it.type === 'arg') {
        // errorGetOpt(VINF_GETOPT_NOT_OPTION) then hrc = E_FAIL → exit 1, nothing saved
        throw new SimFailure(getOptError(`Invalid parameter '${it.value}'`, USAGE.modifyvm).stderr, 1);
      }
      if (it.type === 'error') throw new SimFailure(getOptError(it.message, USAGE.modifyvm).stderr, 1);
      const id = it.def.id;
      const v = it.value;
      const state = work.state;
      const mutable = state === 'poweroff' || state === 'aborted' || state === 'teleported';
      const needMutable = (site: CallSite) => {
        if (!mutable && !SAVED_OK.has(id)) {
          throw smErr(`The machine is not mutable (state is ${apiState(state)})`, site, 'VBOX_E_INVALID_VM_STATE');
        }
      };
      const nicIndex = (): number => {
        if (it.index < 1 || it.index > work.nics.length) {
          // parseNum(): errorArgument without setting hrc — the option is skipped, exit code unaffected
          ctx.err(errorLines(`Invalid NIC number ${it.index}`));
          return -1;
        }
        return it.index - 1;
      };
      switch (id) {
        case 'name':
          if (parseUuid(v)) throw smErr('A machine cannot have a UUID as its name', SITES.setName);
          if (v === '') throw smErr('Machine name cannot be empty', SITES.setName);
          work.name = v;
          break;
        case 'groups':
          work.groups = parseGroups(v).length ? parseGroups(v) : ['/'];
          break;
        case 'description':
          work.description = v;
          break;
        case 'ostype': {
          needMutable(SITES.setOSType);
          const f = findOsType(v);
          if (!f) throw smErr(`'${v}' is not a valid Guest OS type`, SITES.setOSType, 'VBOX_E_OBJECT_NOT_FOUND', 'VirtualBoxWrap', 'IVirtualBox');
          work.ostype = f;
          break;
        }
        case 'memory':
          if (it.num < 4 || it.num > 2097152) {
            throw smErr(`Invalid RAM size: ${it.num} MB (must be in range [4, 2097152] MB)`, SITES.setMemory);
          }
          needMutable(SITES.setMemory);
          work.memory = it.num;
          break;
        case 'vram':
          needMutable({ file: SITES.F_MOD, line: 736, context: 'COMSETTER(VRAMSize)(ValueUnion.u32)' });
          work.vram = it.num;
          break;
        case 'cpus':
          if (it.num < 1 || it.num > 64) {
            throw smErr(`Invalid virtual CPU count: ${it.num} (must be in range [1, 64])`, SITES.setCPUs);
          }
          needMutable(SITES.setCPUs);
          work.cpus = it.num;
          break;
        case 'firmware': {
          const f = v.toLowerCase();
          const site = SITES.firmware[f];
          if (!site) throw argumentErrorExit1(`Invalid --firmware argument '${v}'`);
          needMutable(site);
          work.firmware = f === 'bios' ? 'BIOS' : f.toUpperCase();
          break;
        }
        case 'chipset': {
          const c = v.toLowerCase();
          if (c !== 'piix3' && c !== 'ich9') throw argumentErrorExit1(`Invalid --chipset argument '${v}' (valid: piix3,ich9)`);
          needMutable({ file: SITES.F_MOD, line: 3200, context: 'COMSETTER(ChipsetType)(ChipsetType_PIIX3)' });
          work.chipset = c;
          const want = c === 'ich9' ? 36 : 8;
          while (work.nics.length < want) work.nics.push({ ...work.nics[0]!, enabled: false, attachment: 'null', mac: randomMac() });
          if (work.nics.length > want) work.nics.length = want;
          break;
        }
        case 'ioapic':
          work.ioapic = it.bool;
          break;
        case 'pae':
          work.pae = it.bool;
          break;
        case 'longmode':
          work.longmode = it.bool;
          break;
        case 'graphicscontroller': {
          const c = v.toLowerCase();
          if (!['none', 'vboxvga', 'vmsvga', 'vboxsvga'].includes(c)) {
            throw argumentErrorExit1(`Invalid --graphicscontroller argument '${v}'`);
          }
          work.graphicscontroller = c === 'none' ? 'null' : c;
          break;
        }
        case 'autostartenabled':
          if (work.autostartEnabled !== it.bool && !ctx.settings.autostartDb) {
            throw smErr('The path to the autostart database is not set', SITES.setAutostartEnabled, 'NS_ERROR_FAILURE');
          }
          work.autostartEnabled = it.bool;
          break;
        case 'autostartdelay':
          work.autostartDelay = it.num;
          break;
        case 'defaultfrontend':
          work.defaultFrontend = v === 'default' ? '' : v;
          break;
        case 'usb':
          work.usb = it.bool;
          break;
        case 'ehci':
          work.ehci = it.bool;
          break;
        case 'xhci':
          work.xhci = it.bool;
          break;
        case 'boot': {
          const d = v.toLowerCase();
          const site = SITES.boot[d];
          if (!site) throw argumentError(`Invalid boot device '${v}'`);
          if (it.index < 1 || it.index > 4) {
            throw smErr(`Invalid boot position: ${it.index} (must be in range [1, 4])`, site);
          }
          needMutable(site);
          work.boot[it.index - 1] = d;
          break;
        }
        case 'nictype': {
          const n = nicIndex();
          if (n < 0) break;
          const t = NIC_TYPES[v.toLowerCase()];
          if (!t) throw argumentErrorExit1(`Invalid NIC type '${v}' specified for NIC ${it.index}`);
          needMutable(nicSite(t[1], `COMSETTER(AdapterType)(NetworkAdapterType_${t[0].startsWith('8') ? 'I' + t[0] : t[0] === 'virtio' ? 'Virtio' : t[0]})`));
          work.nics[n]!.type = t[0];
          break;
        }
        case 'nicspeed': {
          const n = nicIndex();
          if (n < 0) break;
          work.nics[n]!.speed = it.num;
          break;
        }
        case 'nicbootprio': {
          const n = nicIndex();
          if (n < 0) break;
          if (it.num > 4) throw argumentErrorExit1(`Invalid boot priority '${it.num}' specfied for NIC ${it.index}`);
          needMutable(nicSite(1658, 'COMSETTER(BootPriority)(ValueUnion.u32)'));
          work.nics[n]!.bootPrio = it.num;
          break;
        }
        case 'cable': {
          const n = nicIndex();
          if (n < 0) break;
          work.nics[n]!.cable = it.bool;
          break;
        }
        case 'bridge': {
          const n = nicIndex();
          if (n < 0) break;
          needMutable(nicSite(1845, 'COMSETTER(BridgedInterface)(Bstr(ValueUnion.psz).raw())'));
          work.nics[n]!.bridge = v === 'none' ? '' : v;
          break;
        }
        case 'hostonly': {
          const n = nicIndex();
          if (n < 0) break;
          needMutable(nicSite(1891, 'COMSETTER(HostOnlyInterface)(Bstr(ValueUnion.psz).raw())'));
          work.nics[n]!.hostonly = v === 'none' ? '' : v;
          break;
        }
        case 'intnet': {
          const n = nicIndex();
          if (n < 0) break;
          needMutable(nicSite(1937, 'COMSETTER(InternalNetwork)(Bstr(ValueUnion.psz).raw())'));
          work.nics[n]!.intnet = v === 'none' ? '' : v;
          break;
        }
        case 'natnetwork': {
          const n = nicIndex();
          if (n < 0) break;
          needMutable(nicSite(1964, 'COMSETTER(NATNetwork)(Bstr(ValueUnion.psz).raw())'));
          work.nics[n]!.natnet = v;
          break;
        }
        case 'nicgenericdrv': {
          const n = nicIndex();
          if (n < 0) break;
          needMutable(nicSite(1951, 'COMSETTER(GenericDriver)(Bstr(ValueUnion.psz).raw())'));
          work.nics[n]!.generic = v;
          break;
        }
        case 'mac': {
          const n = nicIndex();
          if (n < 0) break;
          if (v.toLowerCase() === 'auto') {
            needMutable(SITES.setMacAuto);
            work.nics[n]!.mac = randomMac();
            break;
          }
          if (!/^[0-9a-fA-F]{12}$/.test(v) || (parseInt(v.slice(0, 2), 16) & 1) === 1) {
            throw comError({ message: 'Invalid MAC address format', code: 'NS_ERROR_INVALID_ARG', component: 'NetworkAdapterWrap', iface: 'INetworkAdapter', site: SITES.setMac });
          }
          needMutable(SITES.setMac);
          work.nics[n]!.mac = v.toUpperCase();
          break;
        }
        case 'nic': {
          const n = nicIndex();
          if (n < 0) break;
          const t = v.toLowerCase();
          if (t === 'none') {
            needMutable(nicSite(1747, 'COMSETTER(Enabled)(FALSE)'));
            work.nics[n]!.enabled = false;
            break;
          }
          const a = ATTACH[t];
          if (!a) throw argumentErrorExit1(`Invalid type '${v}' specfied for NIC ${it.index}`);
          needMutable(nicSite(a[1], 'COMSETTER(Enabled)(TRUE)'));
          work.nics[n]!.enabled = true;
          work.nics[n]!.attachment = a[0];
          break;
        }
        default:
          break;
      }
    }
    await update(ctx, found.entry, (cur) => {
      // keep what others may change without the session lock (state, extra-data, guest properties)
      Object.assign(cur, work, {
        state: cur.state,
        stateChangeTime: cur.stateChangeTime,
        stateFile: cur.stateFile,
        extradata: cur.extradata,
        guestprops: cur.guestprops,
      });
    });
  });
}

/** errorArgument() without `return` inside modifyvm: the message, hrc = E_FAIL → exit 1. */
function argumentErrorExit1(message: string): SimFailure {
  return new SimFailure(errorLines(message), 1);
}

// ---------------------------------------------------------------------------------------------
// unregistervm

export async function cmdUnregisterVm(ctx: Ctx, args: string[]): Promise<void> {
  const defs: OptDef[] = [
    { id: 'delete', names: ['--delete', '-delete'], kind: 'none' },
    { id: 'deleteall', names: ['--delete-all'], kind: 'none' },
  ];
  const g = new GetOpt(args, defs);
  let vm: string | undefined;
  let del = false;
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.unregistervm);
    if (it.type === 'arg') {
      if (vm !== undefined) throw syntaxError(`Invalid parameter '${it.value}'`, USAGE.unregistervm);
      vm = it.value;
      continue;
    }
    del = true;
  }
  if (vm === undefined) throw syntaxError('VM name required', USAGE.unregistervm);
  const found = ctx.find(vm, SITES.unregisterFind);
  await ctx.commandDelay();
  const m = found.machine;
  if (busy(ctx, m)) {
    throw comError({
      message: `Cannot unregister the machine '${m.name}' while it is locked`,
      code: 'VBOX_E_INVALID_OBJECT_STATE',
      component: 'MachineWrap',
      iface: 'IMachine',
      site: SITES.unregister,
    });
  }
  await ctx.store.updateRegistry((reg) => {
    reg.machines = reg.machines.filter((x) => x.uuid !== found.entry.uuid);
    if (del) {
      const mine = new Set(m.attachments.filter((a) => a.kind === 'hdd' && a.medium).map((a) => a.medium!));
      const used = new Set<string>();
      for (const other of reg.machines) {
        const om = ctx.store.readMachine(other.cfg);
        for (const a of om?.attachments ?? []) if (a.medium) used.add(a.medium);
      }
      for (const md of reg.media.filter((x) => mine.has(x.uuid) && !used.has(x.uuid))) {
        fs.rmSync(md.path, { force: true });
      }
      reg.media = reg.media.filter((x) => !(mine.has(x.uuid) && !used.has(x.uuid)));
    }
  });
  if (del) {
    ctx.err(PROGRESS);
    fs.rmSync(found.entry.cfg, { force: true });
    const dir = machineFolder(m);
    for (const sub of ['Logs', 'Snapshots']) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    try {
      fs.rmdirSync(dir);
    } catch {
      /* not empty: VirtualBox leaves foreign files too */
    }
  }
}

// ---------------------------------------------------------------------------------------------
// startvm

export async function cmdStartVm(ctx: Ctx, args: string[]): Promise<void> {
  const defs: OptDef[] = [
    { id: 'type', names: ['--type', '-type'], kind: 'string' },
    { id: 'putenv', names: ['--putenv', '-E'], kind: 'string' },
    { id: 'pwid', names: ['--password-id'], kind: 'string' },
    { id: 'pw', names: ['--password'], kind: 'string' },
  ];
  const g = new GetOpt(args, defs);
  const vms: string[] = [];
  let type = '';
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw syntaxError(it.message.startsWith('Unknown option: ') ? `unknown option: ${it.message.slice(16)}\n` : it.message, USAGE.startvm);
    if (it.type === 'arg') {
      vms.push(it.value);
      continue;
    }
    if (it.def.id === 'type') type = it.value;
    if (it.def.id === 'putenv' && it.value.includes('\n')) {
      throw syntaxError('Parameter to option --putenv must not contain any newline character', USAGE.startvm);
    }
  }
  if (vms.length === 0) throw syntaxError('at least one VM name or uuid required', USAGE.startvm);
  let failed = false;
  for (const vm of vms) {
    try {
      await startOne(ctx, vm, type);
    } catch (e) {
      if (!(e instanceof SimFailure)) throw e;
      ctx.err(e.stderr);
      failed = true;
    }
  }
  if (failed) throw new SimFailure('', 1);
}

async function startOne(ctx: Ctx, vm: string, typeArg: string): Promise<void> {
  const found = ctx.find(vm, SITES.startvmFind);
  const { entry } = found;
  const name = found.machine.name;
  const type = (typeArg || found.machine.defaultFrontend || 'gui').toLowerCase();
  const known = ['gui', 'headless', 'sdl', 'separate', 'vrdp', 'capture'];
  if (!known.includes(type)) {
    throw comError({
      message: `Invalid frontend name: '${typeArg}'`,
      code: 'NS_ERROR_INVALID_ARG',
      component: 'MachineWrap',
      iface: 'IMachine',
      site: SITES.startvmLaunch,
    });
  }
  if (busy(ctx, found.machine)) throw lockedBySession(name);
  const owner = ctx.store.tryLockSession(entry.uuid, 'launch', 'startvm');
  if (!owner) throw lockedBySession(name);
  try {
    const cur = ctx.store.readMachine(entry.cfg);
    if (!cur) throw lockedBySession(name);
    settle(cur, ctx.now());
    if (ONLINE_STATES.has(cur.state)) throw lockedBySession(name);
    await ctx.commandDelay();
    ctx.out(`Waiting for VM "${vm}" to power on...\n`);
    const dies = ctx.vmDiesOnStart;
    const gui = type === 'gui' || type === 'sdl' || type === 'separate';
    if (dies || ctx.noDriver || (gui && ctx.settings.noDisplay)) {
      await sleep(Math.min(ctx.settings.startMs, 200));
      if (dies) await update(ctx, entry, (m) => setState(m, 'aborted', ctx.now()));
      throw new SimFailure(
        errorLines(`The virtual machine '${name}' has terminated unexpectedly during startup with exit code 1 (0x1)`) +
          errorLines('Details: code NS_ERROR_FAILURE (0x80004005), component MachineWrap, interface IMachine'),
        1,
      );
    }
    const wasSaved = cur.state === 'saved' || cur.state === 'aborted-saved';
    const startAt = ctx.now();
    await update(ctx, entry, (m) => {
      setState(m, wasSaved ? 'restoring' : 'starting', startAt);
      m.runningAt = startAt + ctx.settings.startMs;
      m.sessionName = type === 'gui' ? 'GUI/Qt' : type === 'sdl' ? 'SDL' : 'headless';
      m.unlockedAt = undefined;
    });
    await sleep(ctx.settings.startMs);
    await update(ctx, entry, (m) => {
      if (m.state === 'starting' || m.state === 'restoring') {
        m.state = 'running';
        m.stateChangeTime = m.runningAt ?? ctx.now();
        m.runningAt = undefined;
      }
      if (wasSaved) m.stateFile = undefined;
    });
    ctx.out(`VM "${vm}" has been successfully started.\n`);
  } finally {
    ctx.store.unlockSession(entry.uuid, owner);
  }
}

// ---------------------------------------------------------------------------------------------
// controlvm

export async function cmdControlVm(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 2) throw syntaxError('Not enough parameters.', USAGE.controlvm);
  const [vm, sub] = [args[0]!, args[1]!];
  const found = ctx.find(vm, SITES.controlFind);
  const { entry } = found;
  const known = ['pause', 'resume', 'reset', 'poweroff', 'savestate', 'acpipowerbutton', 'acpisleepbutton', 'shutdown', 'reboot'];
  if (!ONLINE_STATES.has(found.machine.state)) {
    await ctx.commandDelay();
    throw plainError(`Machine '${vm}' is not currently running.`);
  }
  if (!known.includes(sub)) {
    throw syntaxError(`Invalid parameter '${sub}'.`, USAGE.controlvm);
  }
  await ctx.commandDelay();
  const vmState = (code: 'VBOX_E_INVALID_VM_STATE', message: string, site: CallSite) =>
    comError({ message, code, component: 'ConsoleWrap', iface: 'IConsole', site });
  const now = () => ctx.now();
  switch (sub) {
    case 'pause':
      await update(ctx, entry, (m) => {
        if (m.state === 'paused' || m.state === 'teleportingpausedvm' || m.state === 'onlinesnapshotting') {
          throw vmState('VBOX_E_INVALID_VM_STATE', 'Already paused', SITES.pause);
        }
        if (m.state !== 'running') throw vmState('VBOX_E_INVALID_VM_STATE', `Invalid machine state: ${apiState(m.state)}`, SITES.pause);
        setState(m, 'paused', now());
        m.acpiStopAt = undefined; // the frozen guest forgets the pending shutdown
        m.poweroffAt = undefined;
      });
      return;
    case 'resume':
      await update(ctx, entry, (m) => {
        if (m.state !== 'paused') {
          throw vmState('VBOX_E_INVALID_VM_STATE', `Cannot resume the machine as it is not paused (machine state: ${apiState(m.state)})`, SITES.resume);
        }
        setState(m, 'running', now());
      });
      return;
    case 'reset':
      await update(ctx, entry, (m) => {
        if (m.state !== 'running') throw vmState('VBOX_E_INVALID_VM_STATE', `Invalid machine state: ${apiState(m.state)}`, SITES.reset);
        m.acpiStopAt = undefined;
        m.poweroffAt = undefined;
      });
      return;
    case 'acpipowerbutton':
    case 'acpisleepbutton': {
      const site = sub === 'acpipowerbutton' ? SITES.powerButton : SITES.sleepButton;
      await update(ctx, entry, (m) => {
        if (m.state !== 'running') throw vmState('VBOX_E_INVALID_VM_STATE', `Invalid machine state: ${apiState(m.state)}`, site);
        if (sub === 'acpipowerbutton') {
          pressPowerButton(m, now(), ctx.settings);
          m.unlockMs = ctx.settings.unlockMs;
        }
      });
      return;
    }
    case 'poweroff': {
      const t0 = now();
      await update(ctx, entry, (m) => {
        if (m.state === 'saved' || m.state === 'aborted-saved') {
          throw vmState('VBOX_E_INVALID_VM_STATE', 'Cannot power down a saved virtual machine', SITES.powerDown);
        }
        if (m.state === 'stopping') throw vmState('VBOX_E_INVALID_VM_STATE', 'The virtual machine is being powered down', SITES.powerDown);
        if (!['running', 'paused', 'gurumeditation'].includes(m.state)) {
          throw vmState('VBOX_E_INVALID_VM_STATE', `Invalid machine state: ${apiState(m.state)} (must be Running, Paused or Stuck)`, SITES.powerDown);
        }
        setState(m, 'stopping', t0);
        m.poweroffAt = t0 + ctx.settings.stoppingMs;
        m.unlockMs = ctx.settings.unlockMs;
      });
      await sleep(ctx.settings.stoppingMs);
      await update(ctx, entry, () => undefined); // settle → poweroff
      ctx.err(PROGRESS);
      return;
    }
    case 'savestate': {
      const t0 = now();
      let file = '';
      await update(ctx, entry, (m) => {
        if (m.state !== 'running' && m.state !== 'paused') {
          throw plainError(`Machine in invalid state ${stateNumber(m.state)} -- ${m.state}.`);
        }
        file = `${machineFolder(m)}/Snapshots/${new Date(t0).toISOString().replace(/:/g, '-').replace(/\.(\d{3})Z$/, '-$1000000Z')}.sav`;
        setState(m, 'saving', t0);
        m.stateFile = file;
      });
      await sleep(ctx.settings.stoppingMs);
      await update(ctx, entry, (m) => {
        setState(m, 'saved', ctx.now());
        m.stateFile = file;
        m.unlockedAt = ctx.now() + ctx.settings.unlockMs;
      });
      mkdirp(path.dirname(file));
      fs.writeFileSync(file, 'vboxsim saved state\n');
      ctx.err(PROGRESS);
      return;
    }
    case 'shutdown':
    case 'reboot': {
      const m = found.machine;
      if (m.state !== 'running' && m.state !== 'paused') throw plainError('Guest not running.');
      throw comError({
        message: 'Could not open guest session: VERR_NOT_SUPPORTED',
        code: 'VBOX_E_IPRT_ERROR',
        component: 'GuestWrap',
        iface: 'IGuest',
        site: { file: 'VBoxManageControlVM.cpp', line: 696, context: 'Shutdown(ComSafeArrayAsInParam(aShutdownFlags))' },
      });
    }
    default:
      throw syntaxError(`Invalid parameter '${sub}'.`, USAGE.controlvm);
  }
}

const STATE_NUMBERS: Record<string, number> = {
  poweroff: 1, saved: 2, teleported: 3, aborted: 4, 'aborted-saved': 5, running: 6, paused: 7, gurumeditation: 8,
  teleporting: 9, livesnapshotting: 10, starting: 11, stopping: 12, saving: 13, restoring: 14,
};
function stateNumber(s: string): number {
  return STATE_NUMBERS[s] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// discardstate

export async function cmdDiscardState(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length !== 1) throw syntaxError('Incorrect number of parameters', USAGE.discardstate);
  const found = ctx.find(args[0]!, SITES.discardFind);
  await withWriteLock(ctx, found, SITES.discardLock, async (m) => {
    if (m.state !== 'saved' && m.state !== 'aborted-saved') {
      throw comError({
        message: `Cannot discard the saved state as the machine is not in the Saved or Aborted-Saved state (machine state: ${apiState(m.state)})`,
        code: 'VBOX_E_INVALID_VM_STATE',
        component: 'SessionMachine',
        iface: 'IMachine',
        site: SITES.discard,
      });
    }
    const file = m.stateFile;
    await update(ctx, found.entry, (cur) => {
      setState(cur, 'poweroff', ctx.now());
      cur.stateFile = undefined;
    });
    if (file) fs.rmSync(file, { force: true });
  });
}
