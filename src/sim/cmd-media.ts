/**
 * Storage and host-network commands (issue 6): storagectl, storageattach,
 * createmedium/createhd, closemedium, showmediuminfo, hostonlyif, natnetwork.
 * Output formats and call sites follow the VirtualBox 7.0.18 sources
 * (VBoxManageStorageController.cpp, VBoxManageDisk.cpp, VBoxManageHostonly.cpp,
 * VBoxManageNATNetwork.cpp); see docs/vboxsim.md for what is source-derived.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import type { Ctx } from './context.js';
import { SITES, SimFailure, comError, errorLines, getOptError, lockedForSession, parseUuid, syntaxError, type CallSite } from './errors.js';
import { GetOpt, type OptDef } from './getopt.js';
import { ONLINE_STATES, settle, emptyDvd, type Attachment, type Machine, type StorageController } from './machine.js';
import type { HostOnlyIf, Medium, Registry, RegistryMachine } from './store.js';
import { mkdirp } from './store.js';
import { USAGE } from './usage.js';
import { writeCollision } from './cmd-vm.js';

const PROGRESS = '0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n';
const site = (file: string, line: number, context: string): CallSite => ({ file, line, context });

const STOR = SITES.F_STOR;
const DISK = SITES.F_DISK;
const S = {
  attachFind: site(STOR, 343, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())'),
  attachLock: site(STOR, 345, 'LockMachine(a->session, LockType_Shared)'),
  attachDevice: site(STOR, 781, 'AttachDevice(Bstr(pszCtl).raw(), port, device, DeviceType_HardDisk, pMedium2Mount)'),
  detachDevice: site(STOR, 412, 'DetachDevice(Bstr(pszCtl).raw(), port, device)'),
  ctlFind: site(STOR, 1053, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())'),
  ctlLock: site(STOR, 1057, 'LockMachine(a->session, LockType_Write)'),
  ctlRemove: site(STOR, 1071, 'RemoveStorageController(Bstr(pszCtl).raw())'),
  ctlAdd: site(STOR, 1081, 'AddStorageController(Bstr(pszCtl).raw(), StorageBus_IDE, ctl.asOutParam())'),
  openMedium: site(DISK, 197, 'OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())'),
  createMedium: site(DISK, 231, 'CreateMedium(Bstr(pszFormat).raw(), Bstr(pszFilename).raw(), enmAccessMode, enmDevType, pMedium.asOutParam())'),
  close: site(DISK, 1875, 'Close()'),
};

const BUS: Record<string, { bus: StorageController['bus']; type: string; ports: number; max: number; line: number; sb: string }> = {
  ide: { bus: 'ide', type: 'PIIX4', ports: 2, max: 2, line: 1081, sb: 'IDE' },
  sata: { bus: 'sata', type: 'IntelAhci', ports: 30, max: 30, line: 1087, sb: 'SATA' },
  scsi: { bus: 'scsi', type: 'LsiLogic', ports: 16, max: 16, line: 1093, sb: 'SCSI' },
  floppy: { bus: 'floppy', type: 'I82078', ports: 1, max: 1, line: 1099, sb: 'Floppy' },
  sas: { bus: 'sas', type: 'LsiLogicSas', ports: 8, max: 255, line: 1105, sb: 'SAS' },
  usb: { bus: 'usb', type: 'USB', ports: 8, max: 8, line: 1111, sb: 'USB' },
  pcie: { bus: 'pcie', type: 'NVMe', ports: 1, max: 255, line: 1117, sb: 'PCIe' },
  virtio: { bus: 'virtio', type: 'VirtioSCSI', ports: 1, max: 256, line: 1123, sb: 'VirtioSCSI' },
};

const CTL_TYPES: Record<string, string> = {
  lsilogic: 'LsiLogic',
  buslogic: 'BusLogic',
  intelahci: 'IntelAhci',
  piix3: 'PIIX3',
  piix4: 'PIIX4',
  ich6: 'ICH6',
  i82078: 'I82078',
  lsilogicsas: 'LsiLogicSas',
  usb: 'USB',
  nvme: 'NVMe',
  virtio: 'VirtioSCSI',
};

const devicesPerPort = (c: StorageController) => (c.bus === 'ide' || c.bus === 'floppy' ? 2 : 1);

/** LockMachine(Write) for commands that change a stopped VM's storage; the whole command holds the lock. */
async function withLock<T>(ctx: Ctx, entry: RegistryMachine, name: string, at: CallSite, fn: (m: Machine) => Promise<T> | T): Promise<T> {
  const pre = ctx.store.readMachine(entry.cfg);
  if (!pre) throw lockedForSession(name, at);
  settle(pre, ctx.now());
  if (ONLINE_STATES.has(pre.state) || (pre.unlockedAt !== undefined && ctx.now() < pre.unlockedAt)) throw lockedForSession(name, at);
  const owner = ctx.store.tryLockSession(entry.uuid, 'write', ctx.command);
  if (!owner) throw writeCollision(ctx, pre, at);
  try {
    await ctx.commandDelay();
    return await fn(pre);
  } finally {
    ctx.store.unlockSession(entry.uuid, owner);
  }
}

function sessionErr(message: string, at: CallSite, code: 'VBOX_E_OBJECT_IN_USE' | 'VBOX_E_OBJECT_NOT_FOUND' | 'NS_ERROR_INVALID_ARG' | 'VBOX_E_INVALID_VM_STATE' = 'NS_ERROR_INVALID_ARG'): SimFailure {
  return comError({ message, code, component: 'SessionMachine', iface: 'IMachine', site: at });
}

/** errorArgument from a catch block: the message only, exit 1. */
function argFail(message: string): SimFailure {
  return new SimFailure(errorLines(message.replace(/\n$/, '')), 1);
}

// ---------------------------------------------------------------------------------------------
// storagectl

async function cmdStorageCtl(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 1 || args.length < 2) throw syntaxError('Too few parameters', USAGE.storagectl);
  const defs: OptDef[] = [
    { id: 'name', names: ['--name', '-name'], kind: 'string' },
    { id: 'add', names: ['--add', '-add'], kind: 'string' },
    { id: 'controller', names: ['--controller', '-controller'], kind: 'string' },
    { id: 'portcount', names: ['--portcount', '-portcount', '--sataportcount'], kind: 'u32' },
    { id: 'remove', names: ['--remove', '-remove'], kind: 'none' },
    { id: 'rename', names: ['--rename'], kind: 'string' },
    { id: 'hostiocache', names: ['--hostiocache', '-hostiocache'], kind: 'string' },
    { id: 'bootable', names: ['--bootable', '-bootable'], kind: 'string' },
  ];
  const g = new GetOpt(args, defs, 1);
  const o: Record<string, string | number | boolean> = {};
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.storagectl);
    if (it.type === 'arg') throw getOptError(`Invalid parameter '${it.value}'`, USAGE.storagectl);
    o[it.def.id] = it.def.kind === 'u32' ? it.num : it.def.kind === 'none' ? true : it.value;
  }
  const found = ctx.find(args[0]!, S.ctlFind);
  await withLock(ctx, found.entry, found.machine.name, S.ctlLock, async () => {
    if (o.name === undefined) throw syntaxError('Storage controller name not specified\n', USAGE.storagectl);
    const name = String(o.name);
    await ctx.store.updateMachine(found.entry.uuid, found.entry.cfg, (m) => {
      const mutableCheck = (at: CallSite) => {
        if (!['poweroff', 'aborted', 'teleported'].includes(m.state)) {
          throw sessionErr(`The machine is not mutable (state is ${m.state === 'saved' ? 'Saved' : m.state})`, at, 'VBOX_E_INVALID_VM_STATE');
        }
      };
      if (o.remove) {
        mutableCheck(S.ctlRemove);
        if (!m.storageControllers.some((c) => c.name === name)) {
          throw sessionErr(`Could not find a storage controller named '${name}'`, S.ctlRemove, 'VBOX_E_OBJECT_NOT_FOUND');
        }
        m.storageControllers = m.storageControllers.filter((c) => c.name !== name);
        m.attachments = m.attachments.filter((a) => a.controller !== name);
        return;
      }
      if (o.add !== undefined) {
        const b = BUS[String(o.add).toLowerCase()];
        if (!b) throw argFail(`Invalid --add argument '${String(o.add)}'`);
        const at = site(STOR, b.line, `AddStorageController(Bstr(pszCtl).raw(), StorageBus_${b.sb}, ctl.asOutParam())`);
        mutableCheck(at);
        if (m.storageControllers.some((c) => c.name === name)) {
          throw sessionErr(`Storage controller named '${name}' already exists`, at, 'VBOX_E_OBJECT_IN_USE');
        }
        const instance = m.storageControllers.filter((c) => c.bus === b.bus).length;
        m.storageControllers.push({ name, bus: b.bus, type: b.type, instance, portCount: b.ports, maxPortCount: b.max, bootable: true });
      }
      const ctl = m.storageControllers.find((c) => c.name === name);
      if (o.controller !== undefined) {
        if (!ctl) throw argFail(`Couldn't find the controller with the name: '${name}'\n`);
        const t = CTL_TYPES[String(o.controller).toLowerCase()];
        if (!t) throw argFail(`Invalid --type argument '${String(o.controller)}'`);
        ctl.type = t;
      }
      if (o.portcount !== undefined) {
        if (!ctl) throw argFail(`Couldn't find the controller with the name: '${name}'\n`);
        const n = Number(o.portcount);
        if (n < 1 || n > ctl.maxPortCount) {
          throw comError({
            message: `Invalid port count: ${n} (must be in range [1, ${ctl.maxPortCount}])`,
            code: 'NS_ERROR_INVALID_ARG',
            component: 'StorageControllerWrap',
            iface: 'IStorageController',
            site: site(STOR, 1211, 'COMSETTER(PortCount)(portcount)'),
          });
        }
        ctl.portCount = n;
      }
      if (o.bootable !== undefined) {
        if (!ctl) throw argFail(`Couldn't find the controller with the name: '${name}'\n`);
        const v = String(o.bootable).toLowerCase();
        if (v !== 'on' && v !== 'off') throw argFail(`Invalid --bootable argument '${String(o.bootable)}'`);
        ctl.bootable = v === 'on';
      }
      if (o.rename !== undefined) {
        if (!ctl) throw argFail(`Couldn't find the controller with the name: '${name}'\n`);
        const nn = String(o.rename);
        for (const a of m.attachments) if (a.controller === name) a.controller = nn;
        ctl.name = nn;
      }
      if (o.add === undefined && !ctl && o.controller === undefined && o.portcount === undefined && o.bootable === undefined && o.rename === undefined) {
        throw argFail(`Couldn't find the controller with the name: '${name}'\n`);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// media registry helpers

function mediumKind(word: string | undefined): 'hdd' | 'dvd' | 'floppy' | undefined {
  if (word === undefined) return undefined;
  const w = word.toLowerCase();
  if (w === 'disk' || w === 'hdd') return 'hdd';
  if (w === 'dvd') return 'dvd';
  if (w === 'floppy' || w === 'fdd') return 'floppy';
  return undefined;
}

function resolveMediumPath(ctx: Ctx, p: string): string {
  return path.isAbsolute(p) ? path.normalize(p) : path.resolve(ctx.store.home, p);
}

function findMedium(reg: Registry, ref: string, ctx: Ctx): Medium | undefined {
  const u = parseUuid(ref);
  if (u) return reg.media.find((m) => m.uuid === u);
  const p = resolveMediumPath(ctx, ref);
  return reg.media.find((m) => m.path === p);
}

const KIND_WORD: Record<string, string> = { hdd: 'hard disk', dvd: 'DVD image', floppy: 'floppy image' };

/** OpenMedium: the registered medium, or register an existing image file; errors as VirtualBox prints them. */
function openMedium(ctx: Ctx, reg: Registry, ref: string, kind: 'hdd' | 'dvd' | 'floppy'): Medium {
  const hit = findMedium(reg, ref, ctx);
  if (hit) return hit;
  const u = parseUuid(ref);
  if (u) {
    throw comError({
      message: `Could not find an opened ${KIND_WORD[kind]} with UUID {${u}}`,
      code: 'VBOX_E_OBJECT_NOT_FOUND',
      component: 'VirtualBoxWrap',
      iface: 'IVirtualBox',
      site: S.openMedium,
    });
  }
  const p = resolveMediumPath(ctx, ref);
  if (!fs.existsSync(p)) {
    throw comError({
      message: `Could not find file for the medium '${p}' (VERR_FILE_NOT_FOUND)`,
      code: 'VBOX_E_FILE_ERROR',
      component: 'MediumWrap',
      iface: 'IMedium',
      site: S.openMedium,
    });
  }
  const ext = path.extname(p).slice(1).toUpperCase();
  const m: Medium = {
    uuid: crypto.randomUUID(),
    path: p,
    kind,
    format: kind === 'hdd' ? (['VDI', 'VMDK', 'VHD'].includes(ext) ? ext : 'VDI') : 'RAW',
    sizeMB: Math.max(1, Math.ceil(fs.statSync(p).size / 1048576)),
    variant: 'Standard',
  };
  reg.media.push(m);
  return m;
}

// ---------------------------------------------------------------------------------------------
// storageattach

async function cmdStorageAttach(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length < 3) throw syntaxError('Too few parameters', USAGE.storageattach);
  const defs: OptDef[] = [
    { id: 'storagectl', names: ['--storagectl', '-storagectl'], kind: 'string' },
    { id: 'port', names: ['--port', '-port'], kind: 'u32' },
    { id: 'device', names: ['--device', '-device'], kind: 'u32' },
    { id: 'type', names: ['--type', '-type'], kind: 'string' },
    { id: 'medium', names: ['--medium', '-medium'], kind: 'string' },
    { id: 'mtype', names: ['--mtype', '-mtype'], kind: 'string' },
    { id: 'passthrough', names: ['--passthrough', '-passthrough'], kind: 'string' },
    { id: 'tempeject', names: ['--tempeject', '-tempeject'], kind: 'string' },
    { id: 'nonrotational', names: ['--nonrotational', '-nonrotational'], kind: 'string' },
    { id: 'discard', names: ['--discard', '-discard'], kind: 'string' },
    { id: 'hotpluggable', names: ['--hotpluggable', '-hotpluggable'], kind: 'string' },
    { id: 'comment', names: ['--comment', '-comment'], kind: 'string' },
    { id: 'forceunmount', names: ['--forceunmount'], kind: 'none' },
    { id: 'bandwidthgroup', names: ['--bandwidthgroup'], kind: 'string' },
  ];
  const g = new GetOpt(args, defs, 1);
  const o: Record<string, string | number | boolean> = {};
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.storageattach);
    if (it.type === 'arg') throw getOptError(`Invalid parameter '${it.value}'`, USAGE.storageattach);
    if (it.def.id === 'type' && !['dvddrive', 'hdd', 'fdd'].includes(it.value.toLowerCase())) {
      throw new SimFailure(errorLines(`Invalid --type argument '${it.value}'`), 2);
    }
    o[it.def.id] = it.def.kind === 'u32' ? it.num : it.def.kind === 'none' ? true : it.value;
  }
  if (o.storagectl === undefined) throw syntaxError('Storage controller name not specified', USAGE.storageattach);
  const ctlName = String(o.storagectl);
  const found = ctx.find(args[0]!, S.attachFind);
  await withLock(ctx, found.entry, found.machine.name, S.attachLock, async () => {
    await ctx.store.updateRegistry((reg) => ctx.store.withMutex(`vm-${found.entry.uuid}`, () => {
      const m = ctx.store.readMachine(found.entry.cfg);
      if (!m) throw lockedForSession(found.machine.name, S.attachLock);
      const ctl = m.storageControllers.find((c) => c.name === ctlName);
      if (!ctl) throw argFail(`Could not find a controller named '${ctlName}'\n`);
      let port = o.port === undefined ? undefined : Number(o.port);
      let device = o.device === undefined ? undefined : Number(o.device);
      if (port === undefined) {
        if (ctl.maxPortCount === 1) port = 0;
        else throw syntaxError('Port not specified', USAGE.storageattach);
      }
      if (device === undefined) {
        if (devicesPerPort(ctl) === 1) device = 0;
        else throw syntaxError('Device not specified', USAGE.storageattach);
      }
      if (ctl.portCount !== ctl.maxPortCount && port >= ctl.portCount && port < ctl.maxPortCount) ctl.portCount = port + 1;
      const inRange = port < ctl.portCount && device < devicesPerPort(ctl);
      const mutable = ['poweroff', 'aborted', 'teleported'].includes(m.state);
      const existing = m.attachments.find((a) => a.controller === ctlName && a.port === port && a.device === device);
      const medium = o.medium === undefined ? undefined : String(o.medium);
      const dropAttachment = () => {
        m.attachments = m.attachments.filter((a) => a !== existing);
      };
      if (medium !== undefined) {
        if (!inRange) {
          throw sessionErr(
            `Invalid controller port number: ${port} (must be in range [0, ${ctl.portCount - 1}])`,
            medium.toLowerCase() === 'none' ? S.detachDevice : S.attachDevice,
          );
        }
        if (!mutable) throw sessionErr(`The machine is not mutable (state is ${m.state === 'saved' ? 'Saved' : m.state})`, S.attachDevice, 'VBOX_E_INVALID_VM_STATE');
        if (medium.toLowerCase() === 'none') {
          if (!existing) {
            throw comError({
              message: `No storage device attached to device slot ${device} on port ${port} of controller '${ctlName}'`,
              code: 'VBOX_E_OBJECT_NOT_FOUND',
              component: 'SessionMachine',
              iface: 'IMachine',
              site: S.detachDevice,
            });
          }
          dropAttachment();
        } else if (medium.toLowerCase() === 'emptydrive') {
          dropAttachment();
          const a = emptyDvd(ctlName, port, device);
          if (ctl.bus === 'floppy') a.kind = 'fdd';
          m.attachments.push(a);
        } else {
          const typeWord = o.type === undefined ? (existing ? existing.kind : undefined) : String(o.type).toLowerCase();
          if (typeWord === undefined) throw argFail('Argument --type must be specified\n');
          const kind: Attachment['kind'] = typeWord === 'dvddrive' || typeWord === 'dvd' ? 'dvd' : typeWord === 'fdd' ? 'fdd' : 'hdd';
          let md: Medium;
          try {
            md = openMedium(ctx, reg, medium, kind === 'hdd' ? 'hdd' : kind === 'dvd' ? 'dvd' : 'floppy');
          } catch (e) {
            if (e instanceof SimFailure) throw new SimFailure(e.stderr + errorLines(`Invalid UUID or filename "${medium}"`), 1);
            throw e;
          }
          if (kind === 'hdd') {
            for (const other of reg.machines) {
              if (other.uuid === m.uuid) continue;
              const om = ctx.store.readMachine(other.cfg);
              if (om?.attachments.some((a) => a.medium === md.uuid)) {
                throw comError({
                  message: `Medium '${md.path}' is already attached to another virtual machine`,
                  code: 'VBOX_E_OBJECT_IN_USE',
                  component: 'SessionMachine',
                  iface: 'IMachine',
                  site: S.attachDevice,
                });
              }
            }
          }
          dropAttachment();
          m.attachments.push({
            controller: ctlName,
            port,
            device,
            kind,
            medium: md.uuid,
            path: md.path,
            hotpluggable: false,
            nonrotational: false,
            discard: false,
            tempeject: false,
            passthrough: false,
          });
        }
      }
      const flag = (id: string, key: 'nonrotational' | 'discard' | 'hotpluggable' | 'tempeject' | 'passthrough') => {
        if (o[id] === undefined) return;
        const v = String(o[id]).toLowerCase();
        if (v !== 'on' && v !== 'off') throw argFail(`Invalid --${id} argument '${String(o[id])}'`);
        const a = m.attachments.find((x) => x.controller === ctlName && x.port === port && x.device === device);
        if (!a) throw argFail(`Couldn't find the controller attachment for the controller '${ctlName}'\n`);
        a[key] = v === 'on';
      };
      flag('nonrotational', 'nonrotational');
      flag('discard', 'discard');
      flag('hotpluggable', 'hotpluggable');
      flag('tempeject', 'tempeject');
      flag('passthrough', 'passthrough');
      ctx.store.writeMachine(m);
    }));
  });
}

// ---------------------------------------------------------------------------------------------
// createmedium / closemedium / showmediuminfo

async function cmdCreateMedium(ctx: Ctx, args: string[]): Promise<void> {
  const defs: OptDef[] = [
    { id: 'filename', names: ['--filename', '-filename'], kind: 'string' },
    { id: 'size', names: ['--size', '-size'], kind: 'u32' },
    { id: 'sizebyte', names: ['--sizebyte'], kind: 'i64' },
    { id: 'diffparent', names: ['--diffparent'], kind: 'string' },
    { id: 'format', names: ['--format', '-format'], kind: 'string' },
    { id: 'variant', names: ['--variant', '-variant'], kind: 'string' },
    { id: 'property', names: ['--property', '-o'], kind: 'string' },
  ];
  const g = new GetOpt(args, defs);
  let kind: 'hdd' | 'dvd' | 'floppy' | undefined;
  const o: Record<string, string | number> = {};
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw syntaxError(it.message.startsWith('Unknown option: ') ? `unknown option: ${it.message.slice(16)}\n` : it.message, USAGE.createmedium);
    if (it.type === 'arg') {
      const k = mediumKind(it.value);
      if (!k) throw syntaxError(`Invalid parameter '${it.value}'`, USAGE.createmedium);
      if (kind) throw syntaxError(`Only one command can be specified: '${it.value}'`, USAGE.createmedium);
      kind = k;
      continue;
    }
    o[it.def.id] = it.def.kind === 'string' ? it.value : it.num;
  }
  kind ??= 'hdd';
  if (o.filename === undefined) throw syntaxError('Parameter --filename is required', USAGE.createmedium);
  if (o.size === undefined && o.sizebyte === undefined && o.diffparent === undefined) {
    throw syntaxError('Parameter --size is required', USAGE.createmedium);
  }
  const format = String(o.format ?? 'VDI').toUpperCase();
  let file = String(o.filename);
  if (!path.extname(file)) file += '.' + format.toLowerCase();
  const p = resolveMediumPath(ctx, file);
  const sizeMB = o.sizebyte !== undefined ? Math.ceil(Number(o.sizebyte) / 1048576) : Number(o.size ?? 0);
  const variant = String(o.variant ?? 'Standard');
  await ctx.commandDelay();
  const uuid = crypto.randomUUID();
  await ctx.store.updateRegistry((reg) => {
    const taken = reg.media.find((m) => m.path === p);
    if (taken) {
      throw comError({
        message: `Cannot register the hard disk '${p}' {${uuid}} because a hard disk '${p}' with UUID {${taken.uuid}} already exists`,
        code: 'NS_ERROR_INVALID_ARG',
        component: 'VirtualBoxWrap',
        iface: 'IVirtualBox',
        site: S.createMedium,
      });
    }
    if (fs.existsSync(p)) {
      throw new SimFailure(
        '0%...\nVBOX_E_FILE_ERROR\n' +
          errorLines('Failed to create medium') +
          errorLines(`Could not create the medium storage unit '${p}'.`) +
          errorLines(`VD: error VERR_ALREADY_EXISTS creating image '${p}'`) +
          errorLines('Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MediumWrap, interface IMedium') +
          errorLines('Context: "RTEXITCODE handleCreateMedium(HandlerArg *)" at line 630 of file VBoxManageDisk.cpp'),
        1,
      );
    }
    let parent: string | undefined;
    if (o.diffparent !== undefined) {
      parent = openMedium(ctx, reg, String(o.diffparent), 'hdd').uuid;
    }
    mkdirp(path.dirname(p));
    fs.writeFileSync(p, `<<< vboxsim ${format} image, ${sizeMB} MB >>>\n`);
    reg.media.push({ uuid, path: p, kind, format, sizeMB: parent ? reg.media.find((m) => m.uuid === parent)!.sizeMB : sizeMB, variant, parent });
  });
  ctx.err(PROGRESS);
  ctx.out(`Medium created. UUID: ${uuid}\n`);
}

function mediumUsers(ctx: Ctx, reg: Registry, uuid: string): Array<{ name: string; uuid: string }> {
  const out: Array<{ name: string; uuid: string }> = [];
  for (const e of reg.machines) {
    const m = ctx.store.readMachine(e.cfg);
    if (m?.attachments.some((a) => a.medium === uuid)) out.push({ name: m.name, uuid: m.uuid });
  }
  return out;
}

function mediumText(ctx: Ctx, reg: Registry, md: Medium, parentLabel: string | undefined, long: boolean): string {
  let o = `UUID:           ${md.uuid}\n`;
  if (parentLabel !== undefined) o += `Parent UUID:    ${parentLabel}\n`;
  const exists = fs.existsSync(md.path);
  o += `State:          ${exists ? 'created' : 'inaccessible'}\n`;
  if (!exists) o += `Access Error:   Could not open the medium '${md.path}'.\nVD: error VERR_FILE_NOT_FOUND opening image file '${md.path}' (VERR_FILE_NOT_FOUND)\n`;
  if (md.kind === 'hdd') o += `Type:           normal (${md.parent ? 'differencing' : 'base'})\n`;
  else o += 'Type:           readonly\n';
  o += `Location:       ${md.path}\n`;
  o += `Storage format: ${md.format}\n`;
  if (long && md.kind === 'hdd') o += `Format variant: ${md.parent ? 'differencing' : /fixed/i.test(md.variant) ? 'fixed' : 'dynamic'} default\n`;
  o += `Capacity:       ${md.sizeMB} MBytes\n`;
  if (long) o += `Size on disk:   ${exists ? Math.floor(fs.statSync(md.path).size / 1048576) : 0} MBytes\n`;
  o += 'Encryption:     disabled\n';
  if (long) {
    const users = mediumUsers(ctx, reg, md.uuid);
    users.forEach((u, i) => (o += `${i === 0 ? 'In use by VMs:  ' : '                '}${u.name} (UUID: ${u.uuid})\n`));
    const kids = reg.media.filter((m) => m.parent === md.uuid);
    kids.forEach((k, i) => (o += `${i === 0 ? 'Child UUIDs:    ' : '                '}${k.uuid}\n`));
  }
  return o;
}

async function mediumCommand(ctx: Ctx, args: string[], which: 'closemedium' | 'showmediuminfo'): Promise<void> {
  const defs: OptDef[] = which === 'closemedium' ? [{ id: 'delete', names: ['--delete', '-delete'], kind: 'none' }] : [];
  const g = new GetOpt(args, defs);
  let kind: 'hdd' | 'dvd' | 'floppy' | undefined;
  let ref: string | undefined;
  let del = false;
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw syntaxError(it.message.startsWith('Unknown option: ') ? `unknown option: ${it.message.slice(16)}\n` : it.message, USAGE[which]);
    if (it.type === 'opt') {
      del = true;
      continue;
    }
    const k = ref === undefined && kind === undefined ? mediumKind(it.value) : undefined;
    if (k) kind = k;
    else if (ref === undefined) ref = it.value;
    else throw syntaxError(`Invalid parameter '${it.value}'`, USAGE[which]);
  }
  if (ref === undefined) throw syntaxError('Medium name or UUID required', USAGE[which]);
  await ctx.commandDelay();
  await ctx.store.updateRegistry((reg) => {
    const md = openMedium(ctx, reg, ref!, kind ?? 'hdd');
    if (which === 'showmediuminfo') {
      ctx.out(mediumText(ctx, reg, md, md.kind === 'hdd' ? md.parent ?? 'base' : undefined, true));
      return;
    }
    const users = mediumUsers(ctx, reg, md.uuid);
    if (users.length > 0) {
      throw comError({
        message: `Medium '${md.path}' cannot be closed because it is still attached to ${users.length} virtual machines`,
        code: 'VBOX_E_OBJECT_IN_USE',
        component: 'MediumWrap',
        iface: 'IMedium',
        site: del ? site(DISK, 1866, 'DeleteStorage(pProgress.asOutParam())') : S.close,
      });
    }
    if (del) {
      fs.rmSync(md.path, { force: true });
      ctx.err(PROGRESS);
    }
    reg.media = reg.media.filter((m) => m.uuid !== md.uuid);
  });
}

// ---------------------------------------------------------------------------------------------
// hostonlyif / natnetwork

function hostOnlyMac(n: number): string {
  return `0a:00:27:00:00:${n.toString(16).padStart(2, '0')}`;
}

async function cmdHostOnlyIf(ctx: Ctx, args: string[]): Promise<void> {
  const sub = args[0]!;
  await ctx.commandDelay();
  if (sub === 'create') {
    let created = '';
    await ctx.store.updateRegistry((reg) => {
      let n = 0;
      while (reg.hostonlyifs.some((h) => h.name === `vboxnet${n}`)) n++;
      const hif: HostOnlyIf = {
        name: `vboxnet${n}`,
        ip: `192.168.${56 + n}.1`,
        mask: '255.255.255.0',
        mac: hostOnlyMac(n),
        guid: crypto.randomUUID(),
        dhcp: false,
      };
      reg.hostonlyifs.push(hif);
      created = hif.name;
    });
    ctx.err(PROGRESS);
    ctx.out(`Interface '${created}' was successfully created\n`);
    return;
  }
  if (sub === 'remove') {
    const name = args[1];
    if (!name) throw syntaxError('No interface name was specified', USAGE.hostonlyif);
    await ctx.store.updateRegistry((reg) => {
      if (!reg.hostonlyifs.some((h) => h.name === name)) {
        throw comError({
          message: `The host network interface named '${name}' could not be found`,
          code: 'VBOX_E_OBJECT_NOT_FOUND',
          component: 'HostWrap',
          iface: 'IHost',
          site: site(SITES.F_HOSTONLY, 150, 'FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())'),
        });
      }
      reg.hostonlyifs = reg.hostonlyifs.filter((h) => h.name !== name);
    });
    ctx.err(PROGRESS);
    return;
  }
  if (sub === 'ipconfig') {
    const name = args[1];
    if (!name) throw syntaxError('No interface name was specified', USAGE.hostonlyif);
    const g = new GetOpt(args, [
      { id: 'dhcp', names: ['--dhcp'], kind: 'none' },
      { id: 'ip', names: ['--ip'], kind: 'string' },
      { id: 'netmask', names: ['--netmask'], kind: 'string' },
    ], 2);
    const o: Record<string, string | boolean> = {};
    for (let it = g.next(); it; it = g.next()) {
      if (it.type !== 'opt') throw getOptError(it.type === 'error' ? it.message : `Invalid parameter '${it.value}'`, USAGE.hostonlyif);
      o[it.def.id] = it.def.kind === 'none' ? true : it.value;
    }
    await ctx.store.updateRegistry((reg) => {
      const h = reg.hostonlyifs.find((x) => x.name === name);
      if (!h) {
        throw comError({
          message: `The host network interface named '${name}' could not be found`,
          code: 'VBOX_E_OBJECT_NOT_FOUND',
          component: 'HostWrap',
          iface: 'IHost',
          site: site(SITES.F_HOSTONLY, 242, 'FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())'),
        });
      }
      if (o.dhcp) h.dhcp = true;
      if (typeof o.ip === 'string') {
        h.ip = o.ip;
        h.dhcp = false;
      }
      if (typeof o.netmask === 'string') h.mask = o.netmask;
    });
    return;
  }
  throw syntaxError(`Unknown subcommand: ${sub}`, USAGE.hostonlyif);
}

async function cmdNatNetwork(ctx: Ctx, args: string[]): Promise<void> {
  const sub = args[0]!;
  const g = new GetOpt(args, [
    { id: 'netname', names: ['--netname', '-t'], kind: 'string' },
    { id: 'network', names: ['--network', '-n'], kind: 'string' },
    { id: 'dhcp', names: ['--dhcp', '-h'], kind: 'onoff' },
    { id: 'ipv6', names: ['--ipv6', '-6'], kind: 'onoff' },
    { id: 'enable', names: ['--enable', '-e'], kind: 'none' },
    { id: 'disable', names: ['--disable', '-d'], kind: 'none' },
  ], 1);
  const o: Record<string, string | boolean> = {};
  const rest: string[] = [];
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.natnetwork);
    if (it.type === 'arg') {
      rest.push(it.value);
      continue;
    }
    o[it.def.id] = it.def.kind === 'string' ? it.value : it.def.kind === 'onoff' ? it.bool : true;
  }
  await ctx.commandDelay();
  if (sub === 'list') {
    const nets = ctx.store.readRegistry().natnets.filter((n) => !rest[0] || globMatch(rest[0], n.name));
    ctx.out('NAT Networks:\n\n' + nets.map((n) => natNetText(n, true)).join('') + `${nets.length} ${nets.length === 1 ? 'network' : 'networks'} found\n`);
    return;
  }
  if (!['add', 'remove', 'modify', 'start', 'stop'].includes(sub)) throw syntaxError(`Invalid parameter '${sub}'`, USAGE.natnetwork);
  if (typeof o.netname !== 'string') throw syntaxError('You need to specify the --netname option', USAGE.natnetwork);
  const name = o.netname;
  if (sub === 'add' && typeof o.network !== 'string') throw syntaxError('You need to specify the --network option', USAGE.natnetwork);
  await ctx.store.updateRegistry((reg) => {
    const cur = reg.natnets.find((n) => n.name === name);
    if (sub === 'add') {
      if (cur) throw new SimFailure(errorLines('NATNetwork server already exists'), 2);
      const network = String(o.network);
      if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(network)) throw new SimFailure(errorLines('Failed to set configuration'), 2);
      reg.natnets.push({ name, network, enabled: o.disable !== true, dhcp: o.dhcp !== false, ipv6: o.ipv6 === true });
      return;
    }
    if (!cur) throw new SimFailure(errorLines('NATNetwork server does not exist'), 2);
    if (sub === 'remove') reg.natnets = reg.natnets.filter((n) => n !== cur);
    if (sub === 'modify') {
      if (typeof o.network === 'string') cur.network = o.network;
      if (typeof o.dhcp === 'boolean') cur.dhcp = o.dhcp;
      if (o.enable) cur.enabled = true;
      if (o.disable) cur.enabled = false;
    }
  });
}

async function cmdDhcpServer(ctx: Ctx, args: string[]): Promise<void> {
  const sub = args[0]!;
  if (!['add', 'modify', 'remove', 'restart', 'start', 'stop', 'findlease'].includes(sub)) {
    throw syntaxError(`Unknown subcommand: ${sub}`, USAGE.dhcpserver);
  }
  const g = new GetOpt(args, [
    { id: 'network', names: ['--network', '--netname'], kind: 'string' },
    { id: 'interface', names: ['--interface', '--ifname'], kind: 'string' },
    { id: 'ip', names: ['--server-ip', '--ip'], kind: 'string' },
    { id: 'mask', names: ['--netmask'], kind: 'string' },
    { id: 'lower', names: ['--lower-ip', '--lowerip'], kind: 'string' },
    { id: 'upper', names: ['--upper-ip', '--upperip'], kind: 'string' },
    { id: 'enable', names: ['--enable'], kind: 'none' },
    { id: 'disable', names: ['--disable'], kind: 'none' },
  ], 1);
  const o: Record<string, string | boolean> = {};
  for (let it = g.next(); it; it = g.next()) {
    if (it.type === 'error') throw getOptError(it.message, USAGE.dhcpserver);
    if (it.type === 'arg') throw getOptError(`Invalid parameter '${it.value}'`, USAGE.dhcpserver);
    o[it.def.id] = it.def.kind === 'none' ? true : it.value;
  }
  if (typeof o.network === 'string' && typeof o.interface === 'string') throw syntaxError('Either --network or --interface, not both', USAGE.dhcpserver);
  await ctx.commandDelay();
  await ctx.store.updateRegistry((reg) => {
    let net: string;
    if (typeof o.interface === 'string') {
      if (!reg.hostonlyifs.some((h) => h.name === o.interface)) throw new SimFailure(errorLines(`Failed to locate host-only interface '${o.interface}'`), 2);
      net = `HostInterfaceNetworking-${o.interface}`;
    } else if (typeof o.network === 'string') net = o.network;
    else throw syntaxError('You need to specify either --network or --interface to identify the DHCP server', USAGE.dhcpserver);
    const cur = reg.dhcpservers.find((d) => d.networkName === net);
    if (sub === 'add') {
      if (cur) throw new SimFailure(errorLines('DHCP server already exists'), 2);
      if (typeof o.ip !== 'string' || typeof o.mask !== 'string' || typeof o.lower !== 'string' || typeof o.upper !== 'string') {
        throw syntaxError('Missing required option: --server-ip, --netmask, --lower-ip and --upper-ip', USAGE.dhcpserver);
      }
      reg.dhcpservers.push({ networkName: net, ip: o.ip, mask: o.mask, lower: o.lower, upper: o.upper, enabled: o.disable !== true });
      return;
    }
    if (!cur) {
      const what = typeof o.interface === 'string'
        ? `Failed to find DHCP server for host-only interface '${o.interface}' (network '${net}')`
        : `Failed to find DHCP server for network '${net}'`;
      throw new SimFailure(errorLines(what), 2);
    }
    if (sub === 'remove') reg.dhcpservers = reg.dhcpservers.filter((d) => d !== cur);
    if (sub === 'modify') {
      if (typeof o.ip === 'string') cur.ip = o.ip;
      if (typeof o.mask === 'string') cur.mask = o.mask;
      if (typeof o.lower === 'string') cur.lower = o.lower;
      if (typeof o.upper === 'string') cur.upper = o.upper;
      if (o.enable) cur.enabled = true;
      if (o.disable) cur.enabled = false;
    }
  });
}

function globMatch(pat: string, s: string): boolean {
  const re = new RegExp('^' + pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(s);
}

function natNetText(n: { name: string; network: string; enabled: boolean; dhcp: boolean; ipv6: boolean }, long: boolean): string {
  const [net] = n.network.split('/');
  const parts = net!.split('.').map(Number);
  parts[3] = (parts[3] ?? 0) + 1;
  let o = `Name:         ${n.name}\n`;
  if (long) o += `Enabled:      ${n.enabled ? 'Yes' : 'No'}\n`;
  o += `Network:      ${n.network}\n`;
  o += `Gateway:      ${parts.join('.')}\n`;
  o += `DHCP Server:  ${n.dhcp ? 'Yes' : 'No'}\n`;
  o += `IPv6:         ${n.ipv6 ? 'Yes' : 'No'}\n`;
  o += 'IPv6 Prefix:  fd17:625c:f037:2::/64\n';
  o += 'IPv6 Default: No\n';
  return o + '\n';
}

/** The non-VM `list` subcommands. */
export async function listMore(ctx: Ctx, sub: string, long: boolean): Promise<boolean> {
  const reg = ctx.store.readRegistry();
  switch (sub) {
    case 'hdds':
    case 'dvds':
    case 'floppies': {
      const kind = sub === 'hdds' ? 'hdd' : sub === 'dvds' ? 'dvd' : 'floppy';
      const emit = (parent: string | undefined, label: string | undefined) => {
        for (const md of reg.media.filter((m) => m.kind === kind && m.parent === parent)) {
          ctx.out(mediumText(ctx, reg, md, label, long) + '\n');
          if (kind === 'hdd') emit(md.uuid, md.uuid);
        }
      };
      emit(undefined, kind === 'hdd' ? 'base' : undefined);
      return true;
    }
    case 'hostonlyifs':
      for (const h of reg.hostonlyifs) {
        ctx.out(
          `Name:            ${h.name}\nGUID:            ${h.guid}\nDHCP:            ${h.dhcp ? 'Enabled' : 'Disabled'}\n` +
            `IPAddress:       ${h.ip}\nNetworkMask:     ${h.mask}\nIPV6Address:     \nIPV6NetworkMaskPrefixLength: 0\n` +
            `HardwareAddress: ${h.mac}\nMediumType:      Ethernet\nWireless:        No\nStatus:          Up\n` +
            `VBoxNetworkName: HostInterfaceNetworking-${h.name}\n\n`,
        );
      }
      return true;
    case 'bridgedifs':
      for (const b of ctx.settings.host.bridgedIfs) {
        ctx.out(
          `Name:            ${b.name}\nGUID:            ${b.guid}\nDHCP:            Disabled\n` +
            `IPAddress:       ${b.ip}\nNetworkMask:     ${b.mask}\nIPV6Address:     \nIPV6NetworkMaskPrefixLength: 0\n` +
            `HardwareAddress: ${b.mac}\nMediumType:      Ethernet\nWireless:        No\nStatus:          Up\n` +
            `VBoxNetworkName: HostInterfaceNetworking-${b.name}\n\n`,
        );
      }
      return true;
    case 'natnets':
      ctx.out(reg.natnets.map((n) => natNetText(n, long)).join(''));
      return true;
    case 'dhcpservers':
      ctx.out(
        reg.dhcpservers
          .map(
            (d) =>
              `NetworkName:    ${d.networkName}\nDhcpd IP:       ${d.ip}\nLowerIPAddress: ${d.lower}\nUpperIPAddress: ${d.upper}\n` +
              `NetworkMask:    ${d.mask}\nEnabled:        ${d.enabled ? 'Yes' : 'No'}\nGlobal Configuration:\n` +
              '    minLeaseTime:     default\n    defaultLeaseTime: default\n    maxLeaseTime:     default\n' +
              `    Forced options:   None\n    Suppressed opts.: None\n        1/legacy: ${d.mask}\n` +
              'Groups:               None\nIndividual Configs:   None\n',
          )
          .join('\n'),
      );
      return true;
    default:
      return false;
  }
}

export const COMMANDS: Record<string, (ctx: Ctx, args: string[]) => Promise<void>> = {
  storagectl: cmdStorageCtl,
  storageattach: cmdStorageAttach,
  createmedium: cmdCreateMedium,
  closemedium: (ctx, args) => mediumCommand(ctx, args, 'closemedium'),
  showmediuminfo: (ctx, args) => mediumCommand(ctx, args, 'showmediuminfo'),
  hostonlyif: cmdHostOnlyIf,
  natnetwork: cmdNatNetwork,
  dhcpserver: cmdDhcpServer,
};
