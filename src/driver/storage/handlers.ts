/**
 * Procedure handlers for domain definition (define/undefine/attach/block info),
 * domain capabilities, storage pools, volumes and networks. The driver
 * registers them in one line:
 *
 *   storageHandlers({ host, domains: driver }, domainHandlers(driver));
 *
 * `domains` is the driver (names, aliases, ids, the access policy and the
 * audit log stay the driver's business): every domain these handlers touch is
 * looked up through the connection's session (`sessionOf(ctx)`), so a VM the
 * policy hides is "Domain not found" and one it may not change is refused
 * (88) before anything reaches VirtualBox; every change is audit-logged by the
 * driver's `recordAudit` (docs/security.md).
 */
import path from 'node:path';
import fs from 'node:fs/promises';
import { HandlerTable, type CallContext } from '../../rpc/dispatch.js';
import { LibvirtError } from '../../rpc/errors.js';
import {
  DomainAffect, DomainUndefineFlags, ListNetworksFlags, ListStoragePoolsFlags, Proc, REMOTE_NETWORK_LIST_MAX,
  REMOTE_STORAGE_POOL_LIST_MAX, REMOTE_STORAGE_VOL_LIST_MAX, StoragePoolState, StorageVolType,
  type NonnullDomain, type NonnullNetwork, type NonnullStoragePool, type NonnullStorageVol,
} from '../../../protocol/index.js';
import type { Logger } from '../../log.js';
import { describeIdentity } from '../../transport/types.js';
import type { OpContext, VBoxHost, VmChanges, VmInfo } from '../../vbox/types.js';
import { VBoxError } from '../../vbox/types.js';
import { uuidFromBytes, uuidToBytes } from '../names.js';
import type { Session } from '../driver.js';
import { sessionOf } from '../handlers.js';
import type { VmRef } from '../../policy/index.js';
import { domainCapabilitiesXml, DomainCapabilitiesError, DEFAULT_EMULATOR, kernelArch } from '../xml/capabilities.js';
import { domainXml } from '../xml/domain.js';
import { busOfController, placeDisks, suffixToIndex, type Namespace } from '../xml/mapping.js';
import {
  busPlan, changesForExisting, controllerName, parseDeviceXml, parseDomainXml, planNewVm, type DefineContext, type DomainDef,
  type DomainDisk,
} from '../xml/parse.js';
import { configUnsupported, report } from '../xml/errors.js';
import { defaultMachineFolder, need, storageOpsOf, type StorageOps } from './backend.js';
import { imageInfo } from './images.js';
import { findNetwork, listNetworks, networkTarget, networkXml, type NetDef } from './networks.js';
import { PendingStore, canModify, isRunningLike, mergeChanges } from './pending.js';
import { samePath } from '../xml/paths.js';
import { PoolRegistry, poolStats, poolXml, type PoolDef } from './pools.js';
import {
  VBOX_FORMAT, createRawFile, findVolume, listVolumes, parseVolumeXml, volumeFileName, volumeInfo, volumeXml, type VolRef,
} from './volumes.js';

/** A domain as the driver presents it. */
export interface DomainRefLike {
  name: string;
  uuid: string;
  id: number;
}

/** What the handlers need from the driver (VBoxDriver implements it). */
export interface DomainLookups {
  /** With a session: only the VMs its policy lets it see. Without: every VM (matching only, never answered to a client). */
  lookupByUuid(uuid: string, s?: Session): Promise<DomainRefLike>;
  lookupByName(name: string, s?: Session): Promise<DomainRefLike>;
  /** Resolve through the session, check read-only and policy (88), serialise, run `fn`, audit-log. */
  changeDomain<T>(s: Session, op: string, dom: DomainRefLike, fn: (d: DomainRefLike, ctx: OpContext) => Promise<T>): Promise<T>;
  /** Throws read-only / 88 access denied when `s` may not change (or create) a VM like `vm`. */
  checkMayChange(s: Session, vm: VmRef, verb?: string): void;
  /** The 88 error for a refused change. */
  denied(s: Session, verb: string, name: string): LibvirtError;
  /** One audit line (the driver's single audit writer). */
  recordAudit(
    s: Session, op: string, vm: { name: string; uuid: string } | undefined,
    result: 'ok' | { code: number; message: string }, details?: Record<string, unknown>,
  ): void;
}

export interface StorageDeps {
  host: VBoxHost;
  domains: DomainLookups;
  /** Folder for pools.json / pending.json (persisted state); in memory only without it. */
  stateDir?: string;
  /** Pool `default`; when absent, VirtualBox's default machine folder (systemproperties), if the backend reports it. */
  defaultFolder?: string;
  /** More built-in pools. */
  pools?: Array<{ name: string; path: string }>;
  /** libvirt network aliases, e.g. { maas: 'vboxnet0' }. */
  networkAliases?: Record<string, string>;
  /** Files of pools and disks are on this machine (true for the sim and local VBoxManage backends). Default true. */
  localFiles?: boolean;
  /** `/domainCapabilities/path` and capabilities' `<emulator>`. */
  emulator?: string;
  log?: Logger;
}

const ATTACH_LIVE = DomainAffect.LIVE;
const ATTACH_CONFIG = DomainAffect.CONFIG;
const UNDEFINE_ALL = Object.values(DomainUndefineFlags).reduce((a, b) => a | b, 0);
const POOL_TYPE_FLAGS = ListStoragePoolsFlags.DIR | ListStoragePoolsFlags.FS | ListStoragePoolsFlags.NETFS
  | ListStoragePoolsFlags.LOGICAL | ListStoragePoolsFlags.DISK | ListStoragePoolsFlags.ISCSI | ListStoragePoolsFlags.SCSI
  | ListStoragePoolsFlags.MPATH | ListStoragePoolsFlags.RBD | ListStoragePoolsFlags.SHEEPDOG | ListStoragePoolsFlags.GLUSTER
  | ListStoragePoolsFlags.ZFS | ListStoragePoolsFlags.VSTORAGE | ListStoragePoolsFlags.ISCSI_DIRECT;
const POOL_LIST_ALL = POOL_TYPE_FLAGS | 63;
const NET_LIST_ALL = 63;

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~allowed;
  if (extra !== 0) throw LibvirtError.unsupportedFlags(extra, fn);
}

function vboxToLibvirt(err: unknown, what: string): LibvirtError {
  if (err instanceof LibvirtError) return err;
  if (err instanceof VBoxError) {
    switch (err.kind) {
      case 'not-found': return LibvirtError.noDomain(what);
      case 'invalid-state': case 'not-running': case 'locked': return LibvirtError.operationInvalid(err.message.trim(), 25);
      case 'invalid-argument': return LibvirtError.invalidArg(err.message.trim());
      case 'timeout': return LibvirtError.timeout(err.message.trim());
      default: return LibvirtError.internalError(err.message.trim());
    }
  }
  return LibvirtError.internalError(err instanceof Error ? err.message : String(err));
}

/**
 * Names VirtualBox can take (its name is also the VM folder's name). Names that
 * are not safe virsh words are fine: the driver presents them under an alias.
 */
function checkVBoxName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.length > 200 || /[\u0000-\u001f\u007f/\\]/.test(name) || name.trim() === '' || name === '.' || name === '..') {
    throw LibvirtError.invalidArg(`domain name '${name}' cannot be used for a VirtualBox VM (no '/', '\\' or control characters, at most 200 characters)`);
  }
}

/** Everything storageHandlers keeps between calls (exposed for the driver and tests). */
export class StorageService {
  readonly ops: StorageOps;
  readonly pending: PendingStore;
  private registry?: Promise<PoolRegistry>;
  private readonly localFiles: boolean;

  constructor(readonly deps: StorageDeps) {
    this.ops = storageOpsOf(deps.host);
    this.pending = new PendingStore(deps.stateDir);
    this.localFiles = deps.localFiles ?? true;
  }

  opCtx(ctx: CallContext): OpContext {
    return { who: describeIdentity(ctx.identity) };
  }

  pools(): Promise<PoolRegistry> {
    this.registry ??= (async () => {
      const folder = this.deps.defaultFolder ?? (await defaultMachineFolder(this.ops).catch(() => undefined));
      return new PoolRegistry({ defaultFolder: folder, pools: this.deps.pools, stateDir: this.deps.stateDir });
    })();
    return this.registry;
  }

  requireLocal(what: string): void {
    if (!this.localFiles) throw LibvirtError.noSupport(`${what} reads files on the VirtualBox host, which is remote for this backend`);
  }

  networks(): Promise<NetDef[]> {
    return listNetworks(this.ops, this.deps.networkAliases ?? {});
  }

  /** What parse.ts needs to resolve networks and bridges, fetched only when the XML uses them. */
  async defineContext(def: Pick<DomainDef, 'interfaces'>, currentName?: string): Promise<DefineContext> {
    const ctx: DefineContext = { currentName };
    if (def.interfaces.some((i) => i.type === 'network')) {
      const nets = await this.networks().catch(() => [] as NetDef[]);
      ctx.resolveNetwork = (name) => {
        const n = nets.find((x) => x.name === name);
        return n ? networkTarget(n) : undefined;
      };
    }
    if (def.interfaces.some((i) => i.type === 'bridge' || i.type === 'direct') && this.ops.listBridgedIfs) {
      const b = await this.ops.listBridgedIfs().catch(() => []);
      ctx.bridgedIfs = b.map((x) => (typeof x === 'string' ? x : x.name));
    }
    return ctx;
  }

  // ---- domains ------------------------------------------------------------

  /**
   * DOMAIN_DEFINE_XML. An existing VM (same UUID, else same name) is updated
   * through the driver's changeDomain (policy: canChange, audit). Matching
   * looks at every VM, but a match the session may not see is answered with the
   * same 88 error as a new VM the policy does not let it create, naming only
   * the requested name (nothing tells it that VM exists). A new VM needs
   * canChange on { name, uuid, groups: ['/'] } (where VirtualBox creates it).
   */
  async define(xml: string, ctx: CallContext): Promise<DomainRefLike> {
    const { host, domains } = this.deps;
    const s = sessionOf(ctx);
    const op = 'DOMAIN_DEFINE_XML';
    let def: DomainDef;
    try {
      def = parseDomainXml(xml);
    } catch (e) {
      domains.recordAudit(s, op, undefined, auditResult(e));
      throw e;
    }
    const requested = { name: def.name, uuid: def.uuid ?? '' };
    const visible = (uuid: string) => domains.lookupByUuid(uuid, s).then((d) => d, () => undefined);
    const refuseHidden = (match: DomainRefLike): never => {
      const err = domains.denied(s, 'define', def.name);
      domains.recordAudit(s, op, match, auditResult(err), { requestedName: def.name, hidden: true });
      throw err;
    };
    let match: DomainRefLike | undefined;
    try {
      const vms = await host.listVms();
      const byUuid = def.uuid ? vms.find((v) => v.uuid === def.uuid) : undefined;
      if (byUuid) match = await domains.lookupByUuid(byUuid.uuid).catch(() => ({ name: byUuid.name, uuid: byUuid.uuid, id: -1 }));
      else match = await domains.lookupByName(def.name).catch(() => undefined);
    } catch (e) {
      const err = vboxToLibvirt(e, def.name);
      domains.recordAudit(s, op, requested, auditResult(err));
      throw err;
    }
    if (match) {
      const seen = await visible(match.uuid);
      if (!seen) return refuseHidden(match);
      if (def.uuid && match.uuid !== def.uuid) {
        const err = LibvirtError.operationFailed(`domain '${def.name}' already exists with uuid ${match.uuid}`);
        domains.recordAudit(s, op, seen, auditResult(err));
        throw err;
      }
      const uuid = match.uuid;
      return domains.changeDomain(s, op, seen, async (_d, opc) => {
        await this.updateExisting(uuid, def, { ...opc, ...this.opCtx(ctx) }, s);
        return domains.lookupByUuid(uuid, s);
      });
    }
    try {
      domains.checkMayChange(s, { name: def.name, uuid: def.uuid ?? '', groups: ['/'] }, 'define');
      const created = await this.createNew(def, this.opCtx(ctx), s);
      domains.recordAudit(s, op, created, 'ok', { created: true });
      return created;
    } catch (e) {
      domains.recordAudit(s, op, requested, auditResult(e), { created: false });
      throw e;
    }
  }

  private async updateExisting(uuid: string, def: DomainDef, op: OpContext, s: Session): Promise<void> {
    const { host, domains } = this.deps;
    const current = await domains.lookupByUuid(uuid, s);
    const vm = await host.getVm(uuid, { fresh: true }).catch((e) => { throw vboxToLibvirt(e, `no domain with matching uuid '${uuid}'`); });
    const changes = changesForExisting(vm, def, await this.defineContext(def, current.name));
    if (changes.name !== undefined) {
      checkVBoxName(changes.name);
      // Renaming must not move the VM out of what this identity may change (nor into another's names).
      domains.checkMayChange(s, { name: changes.name, uuid, groups: vm.groups }, 'rename');
      const clash = await domains.lookupByName(changes.name).catch(() => undefined);
      if (clash && clash.uuid !== uuid) {
        // A clash with a VM the identity cannot see: refused without naming it.
        if (!(await domains.lookupByUuid(clash.uuid, s).catch(() => undefined))) throw domains.denied(s, 'rename', changes.name);
        throw LibvirtError.operationFailed(`domain '${changes.name}' already exists with uuid ${clash.uuid}`);
      }
    }
    const pending = this.pending.get(uuid);
    if (!canModify(vm)) {
      if (Object.keys(changes).length) {
        await this.pending.add(uuid, changes);
        this.deps.log?.info('define: VM is running, change kept pending until power-off', { uuid, who: op.who, changes });
      }
      return;
    }
    const all = pending ? mergeChanges(pending, changes) : changes;
    if (!Object.keys(all).length) return;
    try {
      await host.modifyVm(uuid, all, op);
    } catch (e) {
      const err = e as VBoxError;
      if (err instanceof VBoxError && (err.kind === 'locked' || err.kind === 'invalid-state')) {
        // started meanwhile: keep it for the next power-off
        await this.pending.add(uuid, changes);
        return;
      }
      throw vboxToLibvirt(e, `no domain with matching uuid '${uuid}'`);
    } finally {
      host.invalidate(uuid);
    }
    await this.pending.clear(uuid);
    this.deps.log?.info('define: VM updated', { uuid, who: op.who, changes: all });
  }

  private async createNew(def: DomainDef, op: OpContext, s: Session): Promise<DomainRefLike> {
    const { host, domains } = this.deps;
    checkVBoxName(def.name);
    const plan = planNewVm(def, await this.defineContext(def));
    if (plan.chipset && plan.chipset !== 'piix3') {
      throw configUnsupported(`machine type '${def.machine ?? def.arch}' for a new VM (the backend creates PIIX3 'pc' machines only)`);
    }
    if (plan.controllers.length) {
      need(this.ops, 'storageCtl', 'defining a domain with disks');
      need(this.ops, 'storageAttach', 'defining a domain with disks');
    }
    let uuid: string;
    try {
      uuid = await host.createVm(plan.spec, op);
    } catch (e) {
      throw vboxToLibvirt(e, def.name);
    }
    try {
      for (const c of plan.controllers) {
        await this.ops.storageCtl!(uuid, { name: c.name, add: c.add, controller: c.controller, portCount: c.portCount, bootable: c.bootable }, op);
      }
      for (const a of plan.attachments) {
        await this.ops.storageAttach!(uuid, a, op);
      }
    } catch (e) {
      // roll back without deleting any medium (unregistervm --delete would delete attached disks)
      await host.unregisterVm(uuid, op, { deleteFiles: false }).catch(() => undefined);
      throw vboxToLibvirt(e, def.name);
    } finally {
      host.invalidate(uuid);
    }
    this.deps.log?.info('define: VM created', { uuid, name: def.name, who: op.who });
    return domains.lookupByUuid(uuid, s).catch(() => domains.lookupByUuid(uuid));
  }

  async undefine(dom: DomainRefLike, flags: number, ctx: CallContext): Promise<void> {
    checkFlags(flags, UNDEFINE_ALL, 'vboxDomainUndefineFlags');
    const { host } = this.deps;
    const op = this.opCtx(ctx);
    const vm = await host.getVm(dom.uuid, { fresh: true }).catch((e) => {
      throw vboxToLibvirt(e, `no domain with matching uuid '${dom.uuid}' (${dom.name})`);
    });
    if (isRunningLike(vm)) {
      throw LibvirtError.operationInvalid(`cannot undefine running domain '${dom.name}' (VirtualBox cannot unregister a running VM; destroy it first)`, 25);
    }
    if ((vm.state === 'saved' || vm.state === 'aborted-saved') && !(flags & DomainUndefineFlags.MANAGED_SAVE)) {
      throw LibvirtError.operationInvalid('Refusing to undefine while domain managed save image exists', 25);
    }
    const snapshots = Object.keys(vm.raw ?? {}).filter((k) => /^SnapshotName(-[\d-]+)?$/.test(k)).length;
    if (snapshots > 0 && !(flags & DomainUndefineFlags.SNAPSHOTS_METADATA)) {
      throw LibvirtError.operationInvalid(`cannot delete inactive domain with ${snapshots} snapshots`, 25);
    }
    try {
      if (vm.state === 'saved' || vm.state === 'aborted-saved') await host.discardState(dom.uuid, op);
      await host.unregisterVm(dom.uuid, op, { deleteFiles: false });
    } catch (e) {
      throw vboxToLibvirt(e, `no domain with matching uuid '${dom.uuid}' (${dom.name})`);
    } finally {
      host.invalidate(dom.uuid);
    }
    await this.pending.clear(dom.uuid);
    this.deps.log?.info('undefine: VM unregistered (media kept)', { uuid: dom.uuid, name: dom.name, who: op.who });
  }

  /** DOMAIN_DETACH_DEVICE_FLAGS: detach-interface / detach-disk --config (what virsh sends: the device's XML). */
  async detachDevice(dom: DomainRefLike, xml: string, flags: number, ctx: CallContext): Promise<void> {
    checkFlags(flags, ATTACH_LIVE | ATTACH_CONFIG, 'vboxDomainDetachDeviceFlags');
    const { host } = this.deps;
    const op = this.opCtx(ctx);
    const dev = parseDeviceXml(xml);
    const vm = await host.getVm(dom.uuid, { fresh: true }).catch((e) => { throw vboxToLibvirt(e, `no domain with matching uuid '${dom.uuid}'`); });
    const running = isRunningLike(vm);
    if ((flags & ATTACH_LIVE) !== 0 || (flags === 0 && running)) {
      throw LibvirtError.operationUnsupported(running
        ? 'live detach from a running VirtualBox VM (use --config and power it off)'
        : 'cannot detach device live from a domain that is not running');
    }
    if (dev.kind === 'interface') {
      const base = parseDomainXml(domainXml(vm, { name: dom.name }));
      const i = dev.iface;
      const matches = base.interfaces.filter((x) => (i.mac ? x.mac === i.mac : x.type === i.type && (i.source === undefined || x.source === i.source)));
      if (matches.length === 0) {
        throw LibvirtError.report(99, 20, i.mac ? `no device matching MAC address ${macColon(i.mac)} found` : `no ${i.type} interface found`);
      }
      if (matches.length > 1) throw LibvirtError.operationFailed(`multiple devices matching MAC address ${i.mac ? macColon(i.mac) : ''} found`.trim());
      base.interfaces = base.interfaces.filter((x) => x !== matches[0]);
      const changes = changesForExisting(vm, base, await this.defineContext(base, dom.name));
      if (!changes.nics?.length) return;
      await this.applyNicChanges(dom, canModify(vm), changes.nics, op);
      return;
    }
    if (!canModify(vm)) throw LibvirtError.operationInvalid(`detaching disks from a ${vm.state} VirtualBox VM is not supported; power it off first`, 25);
    const p = placeDisks(vm).find((x) => x.target === dev.disk.target);
    if (!p) throw LibvirtError.operationFailed(`disk ${dev.disk.target} not found`);
    const storageAttach = need(this.ops, 'storageAttach', 'detach-disk');
    try {
      await storageAttach(dom.uuid, { controller: p.attachment.controller, port: p.attachment.port, device: p.attachment.device, medium: 'none' }, op);
    } catch (e) {
      throw vboxToLibvirt(e, dom.name);
    } finally {
      host.invalidate(dom.uuid);
    }
    this.deps.log?.info('disk detached (medium kept)', { uuid: dom.uuid, target: p.target, who: op.who });
  }

  /** DOMAIN_UPDATE_DEVICE_FLAGS: change-media (insert/eject a CD/DVD or floppy image). */
  async updateDevice(dom: DomainRefLike, xml: string, flags: number, ctx: CallContext): Promise<void> {
    checkFlags(flags, ATTACH_LIVE | ATTACH_CONFIG | 4 /* FORCE */, 'vboxDomainUpdateDeviceFlags');
    const { host } = this.deps;
    const op = this.opCtx(ctx);
    const dev = parseDeviceXml(xml);
    if (dev.kind !== 'disk' || dev.disk.device === 'disk') {
      throw configUnsupported('only CD/DVD and floppy media can be changed with update-device (change-media)', 'device');
    }
    const vm = await host.getVm(dom.uuid, { fresh: true }).catch((e) => { throw vboxToLibvirt(e, `no domain with matching uuid '${dom.uuid}'`); });
    const p = placeDisks(vm).find((x) => x.target === dev.disk.target);
    if (!p) throw LibvirtError.operationFailed(`disk ${dev.disk.target} not found`);
    const want = dev.disk.device === 'cdrom' ? 'dvd' : 'floppy';
    if (p.attachment.kind !== want) throw configUnsupported(`disk ${dev.disk.target} is a ${p.attachment.kind}, not a ${dev.disk.device}`, 'device');
    if (dev.disk.file !== undefined && this.localFiles) {
      const st = await fs.stat(dev.disk.file).catch(() => undefined);
      if (!st) throw LibvirtError.report(38, 20, `cannot access storage file '${dev.disk.file}': No such file or directory`);
    }
    const storageAttach = need(this.ops, 'storageAttach', 'change-media');
    try {
      // VirtualBox changes removable media of running and stopped VMs alike (live and persistent)
      await storageAttach(dom.uuid, {
        controller: p.attachment.controller, port: p.attachment.port, device: p.attachment.device,
        type: want === 'dvd' ? 'dvddrive' : 'fdd', medium: dev.disk.file ?? 'emptydrive',
      }, op);
    } catch (e) {
      throw vboxToLibvirt(e, dom.name);
    } finally {
      host.invalidate(dom.uuid);
    }
  }

  async attachDevice(dom: DomainRefLike, xml: string, flags: number, ctx: CallContext): Promise<void> {
    checkFlags(flags, ATTACH_LIVE | ATTACH_CONFIG, 'vboxDomainAttachDeviceFlags');
    const { host } = this.deps;
    const op = this.opCtx(ctx);
    const dev = parseDeviceXml(xml);
    const vm = await host.getVm(dom.uuid, { fresh: true }).catch((e) => { throw vboxToLibvirt(e, `no domain with matching uuid '${dom.uuid}'`); });
    const running = isRunningLike(vm);
    const live = (flags & ATTACH_LIVE) !== 0 || (flags === 0 && running);
    const mutable = canModify(vm);
    if (live) {
      throw LibvirtError.operationUnsupported(running
        ? `live attach of ${dev.kind === 'disk' ? 'disks' : 'interfaces'} to a running VirtualBox VM (use --config and power it off)`
        : 'cannot attach device live to a domain that is not running');
    }
    if (dev.kind === 'interface') {
      const base = parseDomainXml(domainXml(vm, { name: dom.name }));
      base.interfaces.push(dev.iface);
      const changes = changesForExisting(vm, base, await this.defineContext(base, dom.name));
      if (!changes.nics?.length) return;
      await this.applyNicChanges(dom, mutable, changes.nics, op);
      return;
    }
    if (!mutable) throw LibvirtError.operationInvalid(`attaching disks to a ${vm.state} VirtualBox VM is not supported; power it off (or discard its saved state) first`, 25);
    await this.attachDisk(dom, vm, dev.disk, op);
  }

  /** NIC changes of attach/detach-interface: kept pending while VirtualBox refuses them, else one modifyvm. */
  private async applyNicChanges(dom: DomainRefLike, mutable: boolean, nics: NonNullable<VmChanges['nics']>, op: OpContext): Promise<void> {
    if (!mutable) { await this.pending.add(dom.uuid, { nics }); return; }
    const { host } = this.deps;
    try {
      await host.modifyVm(dom.uuid, { nics }, op);
    } catch (e) {
      throw vboxToLibvirt(e, `no domain with matching uuid '${dom.uuid}'`);
    } finally {
      host.invalidate(dom.uuid);
    }
  }

  private async attachDisk(dom: DomainRefLike, vm: VmInfo, d: DomainDisk, op: OpContext): Promise<void> {
    const storageCtl = need(this.ops, 'storageCtl', 'attach-disk');
    const storageAttach = need(this.ops, 'storageAttach', 'attach-disk');
    const placed = placeDisks(vm);
    if (placed.some((p) => p.target === d.target)) {
      throw LibvirtError.operationFailed(`target ${d.target} already exists`);
    }
    if (d.file !== undefined && this.localFiles) {
      const st = await fs.stat(d.file).catch(() => undefined);
      if (!st) throw LibvirtError.report(38, 20, `cannot access storage file '${d.file}': No such file or directory`);
    }
    // Which controller: the k-th controller of the target's namespace and bus (created when missing).
    const ns = d.target.slice(0, 2) as Namespace;
    const idx = suffixToIndex(d.target.slice(2));
    const controllers = [...vm.storageControllers].sort((a, b) => a.index - b.index);
    const wantBus = d.bus;
    const sameNs = controllers.filter((c) => busOfController(c.type).namespace === ns);
    const sameBus = sameNs.filter((c) => busOfController(c.type).bus === wantBus);
    let ordinal: number, port: number, device: number;
    const spec = busOfController(sameBus[0]?.type ?? '');
    const slots = sameBus.length ? spec.slotsPerController : ns === 'hd' ? 4 : ns === 'fd' ? 2 : 32;
    if (ns === 'hd') { ordinal = Math.floor(idx / 4); port = Math.floor((idx % 4) / 2); device = idx % 2; }
    else if (ns === 'fd') { ordinal = Math.floor(idx / 2); port = 0; device = idx % 2; }
    else { ordinal = Math.floor(idx / slots); port = idx % slots; device = 0; }
    let ctl = sameNs[ordinal];
    if (ctl && busOfController(ctl.type).bus !== wantBus) {
      throw configUnsupported(`target '${d.target}' belongs to controller '${ctl.name}' (bus ${busOfController(ctl.type).bus}), not bus ${wantBus}`);
    }
    if (!ctl) {
      if (ordinal !== sameNs.length) throw configUnsupported(`target '${d.target}' needs controller #${ordinal} of its kind; the VM has ${sameNs.length}`);
      const planned = busPlan(wantBus);
      let name = controllerName(planned.base, 0);
      let n = 1;
      while (controllers.some((c) => c.name === name)) name = controllerName(planned.base, n++);
      await storageCtl(dom.uuid, { name, add: planned.add, controller: planned.controller, portCount: Math.max(port + 1, 1), bootable: true }, op)
        .catch((e) => { throw vboxToLibvirt(e, dom.name); });
      ctl = { index: controllers.length, name, type: planned.controller, instance: 0, portCount: port + 1, bootable: true };
    }
    if (port >= ctl.portCount && ['IntelAhci', 'LsiLogicSas', 'VirtioSCSI', 'NVMe', 'USB'].includes(ctl.type)) {
      // VirtualBox refuses a port beyond the controller's port count: grow it first
      await storageCtl(dom.uuid, { name: ctl.name, portCount: port + 1 }, op).catch((e) => { throw vboxToLibvirt(e, dom.name); });
    }
    try {
      await storageAttach(dom.uuid, {
        controller: ctl.name, port, device,
        type: d.device === 'disk' ? 'hdd' : d.device === 'cdrom' ? 'dvddrive' : 'fdd',
        medium: d.file ?? 'emptydrive',
      }, op);
    } catch (e) {
      throw vboxToLibvirt(e, dom.name);
    } finally {
      this.deps.host.invalidate(dom.uuid);
    }
  }

  async blockInfo(dom: DomainRefLike, pathOrTarget: string, flags: number): Promise<{ allocation: bigint; capacity: bigint; physical: bigint }> {
    checkFlags(flags, 0, 'vboxDomainGetBlockInfo');
    const vm = await this.deps.host.getVm(dom.uuid).catch((e) => { throw vboxToLibvirt(e, `no domain with matching uuid '${dom.uuid}'`); });
    const placed = placeDisks(vm);
    const p = placed.find((x) => x.target === pathOrTarget)
      ?? placed.find((x) => x.attachment.medium === pathOrTarget)
      ?? placed.find((x) => x.attachment.medium !== 'emptydrive' && samePath(path.resolve(x.attachment.medium), path.resolve(pathOrTarget)));
    if (!p) throw LibvirtError.invalidArg(`invalid path ${pathOrTarget} not assigned to domain`, 20);
    if (p.attachment.medium === 'emptydrive') throw LibvirtError.operationInvalid(`disk '${p.target}' does not have source`, 20);
    const file = p.attachment.medium;
    if (this.localFiles) {
      try {
        const info = await imageInfo(file);
        return { allocation: BigInt(info.allocation), capacity: BigInt(info.capacity), physical: BigInt(info.physical) };
      } catch (e) {
        if (!this.ops.showMediumInfo) throw LibvirtError.report(38, 20, `cannot stat file '${file}': ${(e as Error).message}`);
      }
    }
    const show = need(this.ops, 'showMediumInfo', 'domblkinfo');
    const m = await show(p.attachment.imageUuid ?? file).catch((e) => { throw vboxToLibvirt(e, dom.name); });
    const cap = BigInt(m.capacityBytes ?? 0);
    const alloc = BigInt(m.sizeOnDiskBytes ?? 0);
    return { allocation: alloc, capacity: cap, physical: alloc };
  }

  // ---- pools --------------------------------------------------------------

  async poolInfo(p: PoolDef) {
    const s = p.active ? await poolStats(p.path).catch(() => undefined) : undefined;
    return {
      state: p.active ? (s ? StoragePoolState.RUNNING : StoragePoolState.INACCESSIBLE) : StoragePoolState.INACTIVE,
      capacity: BigInt(s?.capacity ?? 0),
      allocation: BigInt(s?.allocation ?? 0),
      available: BigInt(s?.available ?? 0),
    };
  }

  async volumeFromWire(v: NonnullStorageVol): Promise<{ pool: PoolDef; vol: VolRef }> {
    const reg = await this.pools();
    const pool = reg.byName(v.pool);
    reg.requireActive(pool);
    const vol = await findVolume(pool, v.name);
    return { pool, vol };
  }

  async createVolume(pool: PoolDef, xml: string, flags: number, ctx: CallContext): Promise<VolRef> {
    checkFlags(flags, 1 /* PREALLOC_METADATA */, 'vboxStorageVolCreateXML');
    this.requireLocal('creating a volume');
    (await this.pools()).requireActive(pool);
    const spec = parseVolumeXml(xml);
    const file = path.join(pool.path, volumeFileName(spec));
    const existing = await listVolumes(pool);
    if (existing.some((v) => v.name === path.basename(file) || v.name === spec.name)) {
      throw report(90, 18, `storage volume name '${spec.name}' already in use.`);
    }
    if (spec.format === 'raw') {
      await createRawFile(file, spec);
    } else {
      const create = need(this.ops, 'createMedium', `creating a ${spec.format} volume`);
      await create({
        path: file,
        sizeMB: Math.ceil(spec.capacity / 1048576),
        format: VBOX_FORMAT[spec.format],
        variant: spec.allocation >= spec.capacity ? 'Fixed' : 'Standard',
      }, this.opCtx(ctx)).catch((e) => { throw vboxToLibvirt(e, spec.name); });
    }
    this.deps.log?.info('volume created', { pool: pool.name, file, who: this.opCtx(ctx).who });
    return { pool: pool.name, name: path.basename(file), key: file };
  }

  async deleteVolume(vol: VolRef, flags: number, ctx: CallContext): Promise<void> {
    checkFlags(flags, 3 /* ZEROED | WITH_SNAPSHOTS */, 'vboxStorageVolDelete');
    this.requireLocal('deleting a volume');
    const op = this.opCtx(ctx);
    if (this.ops.listHdds) {
      const hdds = await this.ops.listHdds().catch(() => []);
      const m = hdds.find((h) => samePath(path.resolve(h.path), vol.key));
      if (m) {
        if (m.inUseBy && m.inUseBy.length) {
          // Never deleted while attached; name only the VMs this connection may see.
          const s = sessionOf(ctx);
          const seen: string[] = [];
          for (const u of m.inUseBy) {
            const d = await this.deps.domains.lookupByUuid(u, s).catch(() => this.deps.domains.lookupByName(u, s)).catch(() => undefined);
            if (d) seen.push(d.name);
          }
          throw LibvirtError.operationInvalid(`volume '${vol.name}' is attached to ${seen.length ? `VirtualBox VM ${seen.join(', ')}` : 'a VirtualBox VM'}`, 18);
        }
        const close = need(this.ops, 'closeMedium', 'deleting a registered medium');
        await close(m.uuid ?? vol.key, op, { delete: true }).catch((e) => { throw vboxToLibvirt(e, vol.name); });
        this.deps.log?.info('volume deleted (closemedium --delete)', { key: vol.key, who: op.who });
        return;
      }
    }
    await fs.unlink(vol.key).catch((e: NodeJS.ErrnoException) => {
      throw report(38, 18, `cannot unlink file '${vol.key}': ${e.message}`);
    });
    this.deps.log?.info('volume deleted', { key: vol.key, who: op.who });
  }

  async lookupVolumeByPath(p: string): Promise<VolRef> {
    const reg = await this.pools();
    const abs = path.resolve(p);
    const pool = reg.forFile(abs);
    if (!pool || !pool.active) throw LibvirtError.noStorageVol(`no storage vol with matching path '${p}'`);
    const st = await fs.stat(abs).catch(() => undefined);
    if (!st || !st.isFile()) throw LibvirtError.noStorageVol(`no storage vol with matching path '${p}'`);
    return { pool: pool.name, name: path.basename(abs), key: path.join(pool.path, path.basename(abs)) };
  }
}

/** The audit result of a failure. */
function auditResult(e: unknown): { code: number; message: string } {
  const err = e instanceof LibvirtError ? e : vboxToLibvirt(e, '');
  return { code: err.code, message: err.message };
}

const macColon = (mac: string) => mac.toLowerCase().match(/../g)!.join(':');

// ---- wire helpers ------------------------------------------------------------

const domWire = (d: DomainRefLike): NonnullDomain => ({ name: d.name, uuid: uuidToBytes(d.uuid), id: d.id });
const domRef = (d: NonnullDomain): DomainRefLike => ({ name: d.name, uuid: uuidFromBytes(d.uuid), id: d.id });
const poolWire = (p: PoolDef): NonnullStoragePool => ({ name: p.name, uuid: uuidToBytes(p.uuid) });
const volWire = (v: VolRef): NonnullStorageVol => ({ pool: v.pool, name: v.name, key: v.key });
const netWire = (n: NetDef): NonnullNetwork => ({ name: n.name, uuid: uuidToBytes(n.uuid) });

function poolMatches(p: PoolDef, flags: number): boolean {
  const f = flags >>> 0;
  const F = ListStoragePoolsFlags;
  if ((f & (F.ACTIVE | F.INACTIVE)) && !((f & F.ACTIVE && p.active) || (f & F.INACTIVE && !p.active))) return false;
  if ((f & F.TRANSIENT) && !(f & F.PERSISTENT)) return false; // every pool is persistent
  if ((f & (F.AUTOSTART | F.NO_AUTOSTART)) && !((f & F.AUTOSTART && p.autostart) || (f & F.NO_AUTOSTART && !p.autostart))) return false;
  if ((f & POOL_TYPE_FLAGS) && !(f & F.DIR)) return false; // only dir pools
  return true;
}

/**
 * Register the handlers on `table` (a new one by default) and return it.
 * The StorageService is reachable as `storageHandlers.service(table)` for the
 * driver (pending changes after power-off: `service.pending.applyIfStopped`).
 */
export function storageHandlers(deps: StorageDeps, table: HandlerTable = new HandlerTable()): HandlerTable {
  const svc = new StorageService(deps);
  services.set(table, svc);
  const pools = () => svc.pools();
  const poolOf = async (p: NonnullStoragePool) => (await pools()).byUuid(uuidFromBytes(p.uuid));
  /** A change to one domain: through the driver (session lookup, read-only/policy check, lock, audit). */
  const onDomain = <T>(ctx: CallContext, op: string, dom: NonnullDomain, fn: (d: DomainRefLike) => Promise<T>): Promise<T> =>
    deps.domains.changeDomain(sessionOf(ctx), op, domRef(dom), (d) => fn(d));
  /** A host-level storage change (pools, volumes): no VM, audit-logged with what it touched. */
  const audited = async <T>(ctx: CallContext, op: string, details: () => Record<string, unknown>, fn: () => Promise<T>): Promise<T> => {
    const s = sessionOf(ctx);
    try {
      const out = await fn();
      deps.domains.recordAudit(s, op, undefined, 'ok', details());
      return out;
    } catch (e) {
      deps.domains.recordAudit(s, op, undefined, auditResult(e), details());
      throw e;
    }
  };

  table
    // capabilities
    .on(Proc.CONNECT_GET_DOMAIN_CAPABILITIES, async (a) => {
      checkFlags(a.flags, 0, 'vboxConnectGetDomainCapabilities');
      const host = await deps.host.hostInfo();
      try {
        return { capabilities: domainCapabilitiesXml({ ...host, arch: kernelArch(host.arch) }, a, deps.emulator ?? DEFAULT_EMULATOR) };
      } catch (e) {
        if (e instanceof DomainCapabilitiesError) throw configUnsupported(e.message);
        throw e;
      }
    })
    // define / undefine / attach / block info
    .on(Proc.DOMAIN_DEFINE_XML, async (a, ctx) => ({ dom: domWire(await svc.define(a.xml, ctx)) }))
    .on(Proc.DOMAIN_DEFINE_XML_FLAGS, async (a, ctx) => {
      checkFlags(a.flags, 1 /* VALIDATE */, 'vboxDomainDefineXMLFlags');
      return { dom: domWire(await svc.define(a.xml, ctx)) };
    })
    .on(Proc.DOMAIN_UNDEFINE, (a, ctx) => onDomain(ctx, 'DOMAIN_UNDEFINE', a.dom, (d) => svc.undefine(d, 0, ctx)))
    .on(Proc.DOMAIN_UNDEFINE_FLAGS, (a, ctx) => onDomain(ctx, 'DOMAIN_UNDEFINE_FLAGS', a.dom, (d) => svc.undefine(d, a.flags, ctx)))
    .on(Proc.DOMAIN_ATTACH_DEVICE, (a, ctx) => onDomain(ctx, 'DOMAIN_ATTACH_DEVICE', a.dom, (d) => svc.attachDevice(d, a.xml, 0, ctx)))
    .on(Proc.DOMAIN_ATTACH_DEVICE_FLAGS, (a, ctx) =>
      onDomain(ctx, 'DOMAIN_ATTACH_DEVICE_FLAGS', a.dom, (d) => svc.attachDevice(d, a.xml, a.flags, ctx)))
    .on(Proc.DOMAIN_DETACH_DEVICE_FLAGS, (a, ctx) =>
      onDomain(ctx, 'DOMAIN_DETACH_DEVICE_FLAGS', a.dom, (d) => svc.detachDevice(d, a.xml, a.flags, ctx)))
    .on(Proc.DOMAIN_UPDATE_DEVICE_FLAGS, (a, ctx) =>
      onDomain(ctx, 'DOMAIN_UPDATE_DEVICE_FLAGS', a.dom, (d) => svc.updateDevice(d, a.xml, a.flags, ctx)))
    .on(Proc.DOMAIN_GET_BLOCK_INFO, async (a, ctx) => {
      // a read: only the session's lookup (a hidden VM is "Domain not found")
      const d = await deps.domains.lookupByUuid(uuidFromBytes(a.dom.uuid), sessionOf(ctx));
      return svc.blockInfo(d, a.path, a.flags);
    })
    // pools
    .on(Proc.CONNECT_LIST_ALL_STORAGE_POOLS, async (a) => {
      checkFlags(a.flags, POOL_LIST_ALL, 'vboxConnectListAllStoragePools');
      const list = (await pools()).list().filter((p) => poolMatches(p, a.flags));
      return { pools: a.need_results ? list.slice(0, REMOTE_STORAGE_POOL_LIST_MAX).map(poolWire) : [], ret: list.length };
    })
    .on(Proc.STORAGE_POOL_LOOKUP_BY_NAME, async (a) => ({ pool: poolWire((await pools()).byName(a.name)) }))
    .on(Proc.STORAGE_POOL_LOOKUP_BY_UUID, async (a) => ({ pool: poolWire((await pools()).byUuid(uuidFromBytes(a.uuid))) }))
    .on(Proc.STORAGE_POOL_LOOKUP_BY_VOLUME, async (a) => {
      const p = (await pools()).byName(a.vol.pool);
      return { pool: poolWire(p) };
    })
    .on(Proc.STORAGE_POOL_GET_INFO, async (a) => svc.poolInfo(await poolOf(a.pool)))
    .on(Proc.STORAGE_POOL_GET_XML_DESC, async (a) => {
      checkFlags(a.flags, 1 /* INACTIVE */, 'vboxStoragePoolGetXMLDesc');
      return { xml: await poolXml(await poolOf(a.pool)) };
    })
    .on(Proc.STORAGE_POOL_GET_AUTOSTART, async (a) => ({ autostart: (await poolOf(a.pool)).autostart ? 1 : 0 }))
    .on(Proc.STORAGE_POOL_SET_AUTOSTART, (a, ctx) => audited(ctx, 'STORAGE_POOL_SET_AUTOSTART', () => ({ pool: a.pool.name, autostart: a.autostart !== 0 }),
      async () => (await pools()).setAutostart(await poolOf(a.pool), a.autostart !== 0)))
    .on(Proc.STORAGE_POOL_IS_ACTIVE, async (a) => ({ active: (await poolOf(a.pool)).active ? 1 : 0 }))
    .on(Proc.STORAGE_POOL_DEFINE_XML, (a, ctx) => {
      let defined: PoolDef | undefined;
      return audited(ctx, 'STORAGE_POOL_DEFINE_XML', () => (defined ? { pool: defined.name, path: defined.path } : {}), async () => {
        checkFlags(a.flags, 1 /* VALIDATE */, 'vboxStoragePoolDefineXML');
        const p = await (await pools()).define(a.xml);
        defined = p;
        deps.log?.info('pool defined', { name: p.name, path: p.path, who: svc.opCtx(ctx).who });
        return { pool: poolWire(p) };
      });
    })
    .on(Proc.STORAGE_POOL_BUILD, (a, ctx) => audited(ctx, 'STORAGE_POOL_BUILD', () => ({ pool: a.pool.name }), async () => {
      checkFlags(a.flags, 0 | 4 | 8 /* NO_OVERWRITE | OVERWRITE */, 'vboxStoragePoolBuild');
      svc.requireLocal('pool-build');
      await (await pools()).build(await poolOf(a.pool));
    }))
    .on(Proc.STORAGE_POOL_CREATE, (a, ctx) => audited(ctx, 'STORAGE_POOL_CREATE', () => ({ pool: a.pool.name }), async () => {
      checkFlags(a.flags, 0, 'vboxStoragePoolCreate');
      svc.requireLocal('pool-start');
      await (await pools()).start(await poolOf(a.pool));
    }))
    .on(Proc.STORAGE_POOL_REFRESH, async (a) => {
      checkFlags(a.flags, 0, 'vboxStoragePoolRefresh');
      (await pools()).requireActive(await poolOf(a.pool));
    })
    .on(Proc.STORAGE_POOL_NUM_OF_VOLUMES, async (a) => {
      const p = await poolOf(a.pool);
      (await pools()).requireActive(p);
      return { num: (await listVolumes(p)).length };
    })
    .on(Proc.STORAGE_POOL_LIST_VOLUMES, async (a) => {
      if (a.maxnames < 0 || a.maxnames > REMOTE_STORAGE_VOL_LIST_MAX) throw LibvirtError.rpc(`maxnames > REMOTE_STORAGE_VOL_LIST_MAX`);
      const p = await poolOf(a.pool);
      (await pools()).requireActive(p);
      return { names: (await listVolumes(p)).slice(0, a.maxnames).map((v) => v.name) };
    })
    .on(Proc.STORAGE_POOL_LIST_ALL_VOLUMES, async (a) => {
      checkFlags(a.flags, 0, 'vboxStoragePoolListAllVolumes');
      const p = await poolOf(a.pool);
      (await pools()).requireActive(p);
      const vols = await listVolumes(p);
      return { vols: a.need_results ? vols.slice(0, REMOTE_STORAGE_VOL_LIST_MAX).map(volWire) : [], ret: vols.length };
    })
    // volumes
    .on(Proc.STORAGE_VOL_CREATE_XML, (a, ctx) => {
      let made: VolRef | undefined;
      return audited(ctx, 'STORAGE_VOL_CREATE_XML', () => ({ pool: a.pool.name, ...(made ? { volume: made.name, path: made.key } : {}) }), async () => {
        made = await svc.createVolume(await poolOf(a.pool), a.xml, a.flags, ctx);
        return { vol: volWire(made) };
      });
    })
    .on(Proc.STORAGE_VOL_DELETE, (a, ctx) => audited(ctx, 'STORAGE_VOL_DELETE', () => ({ pool: a.vol.pool, volume: a.vol.name, path: a.vol.key }),
      async () => svc.deleteVolume((await svc.volumeFromWire(a.vol)).vol, a.flags, ctx)))
    .on(Proc.STORAGE_VOL_LOOKUP_BY_NAME, async (a) => {
      const p = await poolOf(a.pool);
      (await pools()).requireActive(p);
      return { vol: volWire(await findVolume(p, a.name)) };
    })
    .on(Proc.STORAGE_VOL_LOOKUP_BY_KEY, async (a) => ({ vol: volWire(await svc.lookupVolumeByPath(a.key).catch(() => {
      throw LibvirtError.noStorageVol(`no storage vol with matching key ${a.key}`);
    })) }))
    .on(Proc.STORAGE_VOL_LOOKUP_BY_PATH, async (a) => ({ vol: volWire(await svc.lookupVolumeByPath(a.path)) }))
    .on(Proc.STORAGE_VOL_GET_INFO, async (a) => {
      const { vol } = await svc.volumeFromWire(a.vol);
      const info = await volumeInfo(vol);
      return { type: StorageVolType.FILE, capacity: BigInt(info.capacity), allocation: BigInt(info.allocation) };
    })
    .on(Proc.STORAGE_VOL_GET_XML_DESC, async (a) => {
      checkFlags(a.flags, 0, 'vboxStorageVolGetXMLDesc');
      return { xml: await volumeXml((await svc.volumeFromWire(a.vol)).vol) };
    })
    .on(Proc.STORAGE_VOL_GET_PATH, async (a) => ({ name: (await svc.volumeFromWire(a.vol)).vol.key }))
    // networks
    .on(Proc.CONNECT_LIST_ALL_NETWORKS, async (a) => {
      checkFlags(a.flags, NET_LIST_ALL, 'vboxConnectListAllNetworks');
      const f = a.flags >>> 0;
      // every network is active, persistent and autostarted
      const none = (f & ListNetworksFlags.ACTIVE) === 0 && (f & ListNetworksFlags.INACTIVE) !== 0
        || (f & ListNetworksFlags.PERSISTENT) === 0 && (f & ListNetworksFlags.TRANSIENT) !== 0
        || (f & ListNetworksFlags.AUTOSTART) === 0 && (f & ListNetworksFlags.NO_AUTOSTART) !== 0;
      const nets = none ? [] : await svc.networks();
      return { nets: a.need_results ? nets.slice(0, REMOTE_NETWORK_LIST_MAX).map(netWire) : [], ret: nets.length };
    })
    .on(Proc.NETWORK_LOOKUP_BY_NAME, async (a) => ({ net: netWire(findNetwork(await svc.networks(), a.name)) }))
    .on(Proc.NETWORK_LOOKUP_BY_UUID, async (a) => {
      const u = uuidFromBytes(a.uuid);
      const n = (await svc.networks()).find((x) => x.uuid === u);
      if (!n) throw LibvirtError.noNetwork(`no network with matching uuid '${u}'`);
      return { net: netWire(n) };
    })
    .on(Proc.NETWORK_GET_XML_DESC, async (a) => {
      checkFlags(a.flags, 1 /* INACTIVE */, 'vboxNetworkGetXMLDesc');
      return { xml: networkXml(findNetwork(await svc.networks(), a.net.name)) };
    })
    .on(Proc.NETWORK_GET_BRIDGE_NAME, async (a) => {
      const n = findNetwork(await svc.networks(), a.net.name);
      if (!n.bridge) throw LibvirtError.internalError(`network '${n.name}' does not have a bridge name.`, 19);
      return { name: n.bridge };
    })
    .on(Proc.NETWORK_GET_AUTOSTART, async (a) => { findNetwork(await svc.networks(), a.net.name); return { autostart: 1 }; })
    .on(Proc.NETWORK_IS_ACTIVE, async (a) => { findNetwork(await svc.networks(), a.net.name); return { active: 1 }; })
    .on(Proc.NETWORK_IS_PERSISTENT, async (a) => { findNetwork(await svc.networks(), a.net.name); return { persistent: 1 }; });
  // Domain XML shows disk paths under pool aliases (xml/paths.ts) and define/attach
  // compare paths through them: the pool registry (which registers the aliases)
  // is loaded before any of these runs, whatever the client called first.
  for (const proc of [Proc.DOMAIN_GET_XML_DESC, Proc.DOMAIN_DEFINE_XML, Proc.DOMAIN_DEFINE_XML_FLAGS, Proc.DOMAIN_ATTACH_DEVICE,
    Proc.DOMAIN_ATTACH_DEVICE_FLAGS, Proc.DOMAIN_DETACH_DEVICE_FLAGS, Proc.DOMAIN_UPDATE_DEVICE_FLAGS, Proc.DOMAIN_GET_BLOCK_INFO]) {
    const inner = table.get(proc);
    if (inner) table.set(proc, async (args, ctx) => { await pools().catch(() => undefined); return inner(args, ctx); });
  }
  return table;
}

const services = new WeakMap<HandlerTable, StorageService>();

/** The StorageService behind a table built by storageHandlers (for the driver: pending changes). */
storageHandlers.service = (table: HandlerTable): StorageService | undefined => services.get(table);
