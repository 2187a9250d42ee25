/**
 * The libvirt driver: what each domain/connection procedure means on a
 * VirtualBox host. It speaks `VBoxHost` only (src/vbox/types.ts) and knows
 * nothing about bytes; src/driver/handlers.ts binds it to the RPC engine.
 *
 * Conventions:
 *  - A domain is addressed by its UUID (the name/id in a request are only
 *    used for messages); VirtualBox is addressed by UUID too.
 *  - Every failure is a DriverError shaped like libvirtd's (errors.ts).
 *  - Every change is logged at info with who asked and the result.
 */
import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';
import type { HostInfo, OpContext, VBoxHost, VmChanges, VmInfo, VmSummary } from '../vbox/types.js';
import type { Identity } from '../transport/types.js';
import { describeIdentity } from '../transport/types.js';
import { filterVisible, type Policy, type VmAccess, type VmRef } from '../policy/index.js';
import type { AuditLog } from '../audit.js';
import { LibvirtError } from '../rpc/errors.js';
import { ErrorDomain } from '../../protocol/index.js';
import {
  DriverError,
  checkFlags,
  fromVBoxError,
  noConnect,
  noDomainById,
  noDomainByName,
  noDomainByUuid,
  readOnly,
  operationInvalid,
} from './errors.js';
import { DomainState, type LastAction, type MappedState, mapState, isActiveState, stateAndReason, stateWord } from './states.js';
import { normalizeUuid, presentNames } from './names.js';
import { IdTable } from './ids.js';
import { renderCapabilities, renderDomainXml } from './render.js';

/** A domain as it travels on the wire (`remote_nonnull_domain`), with a textual UUID. */
export interface DomainRef {
  name: string;
  /** lowercase 8-4-4-4-12 */
  uuid: string;
  /** positive while active, -1 otherwise */
  id: number;
}

/** Per-connection state the driver needs: set by CONNECT_OPEN. */
export interface Session {
  /** The URI the client opened (CONNECT_GET_URI). */
  uri: string;
  /** VIR_CONNECT_RO, or a read-only transport: every change is refused. */
  readOnly: boolean;
  /** Who is on the other end, for the audit lines (`tcp:127.0.0.1:5000`). */
  who: string;
  /** The transport's identity (audit log). */
  identity?: Identity;
  /** What the policy lets this connection see and change (none: everything). */
  access?: VmAccess;
  /** The procedure being served (`DOMAIN_CREATE`), for the audit log. */
  procedure?: string;
}

export interface NodeInfo {
  model: string;
  /** KiB */
  memory: bigint;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

export interface DomainInfo {
  state: number;
  /** KiB */
  maxMem: bigint;
  /** KiB */
  memory: bigint;
  nrVirtCpu: number;
  /** ns */
  cpuTime: bigint;
}

/**
 * Hooks for other parts of the driver layer (src/driver/storage: changes kept
 * pending while a VM runs).
 */
export interface DriverHooks {
  /**
   * The VM is stopped (after DESTROY, before START, when a reboot finds it
   * powered off, or when the daemon sees an active VM become inactive): apply
   * whatever was waiting for that. Errors are logged, never fail the call.
   */
  whenStopped?(uuid: string, ctx: OpContext): Promise<unknown>;
  /** The VM's persistent configuration (pending changes overlaid): `dumpxml --inactive`, autostart. */
  inactiveView?(vm: VmInfo): VmInfo;
  /** Keep a change VirtualBox cannot make while the VM runs until it stops (then whenStopped applies it). */
  deferChanges?(uuid: string, changes: VmChanges, ctx: OpContext): Promise<unknown>;
  /** Changes are waiting for this VM to stop (a start must apply them first). */
  hasPending?(uuid: string): boolean;
}

export interface DriverOptions {
  logger?: Logger;
  hooks?: DriverHooks;
  /** How long REBOOT waits for the guest to power off after the ACPI button before it resets the VM. Default 60 s. */
  rebootTimeoutMs?: number;
  /** How often REBOOT polls the VM state. Default 500 ms. */
  rebootPollMs?: number;
  /** CONNECT_GET_LIB_VERSION answer. Default 9000000 ("9.0.0", the protocol level we speak). */
  libVersion?: number;
  /** Access policy (src/policy; default: everyone sees and changes everything). */
  policy?: Policy;
  /** Audit log of every change (src/audit.ts). */
  audit?: AuditLog;
}

/** VIR_CONNECT_LIST_DOMAINS_* */
export const ListFlags = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  RUNNING: 16,
  PAUSED: 32,
  SHUTOFF: 64,
  OTHER: 128,
  MANAGEDSAVE: 256,
  NO_MANAGEDSAVE: 512,
  AUTOSTART: 1024,
  NO_AUTOSTART: 2048,
  HAS_SNAPSHOT: 4096,
  NO_SNAPSHOT: 8192,
  HAS_CHECKPOINT: 16384,
  NO_CHECKPOINT: 32768,
} as const;
const LIST_FLAGS_ALL = 0xffff;

/** Flags of individual calls (libvirt enums). */
const START_PAUSED = 1;
const START_BYPASS_CACHE = 4;
const START_FORCE_BOOT = 8;
const START_VALIDATE = 16;
const XML_SECURE = 1;
const XML_INACTIVE = 2;
const XML_UPDATE_CPU = 4;
const XML_MIGRATABLE = 8;
const DESTROY_GRACEFUL = 1;
const SHUTDOWN_ACPI = 1;
const REBOOT_ACPI = 1;
const SAVE_BYPASS_CACHE = 1;
const SAVE_RUNNING = 2;
const SAVE_PAUSED = 4;
const CONNECT_RO = 1;

/** The driver names CONNECT_OPEN accepts (query strings are ignored). */
export const ACCEPTED_URIS: readonly string[] = [
  'qemu:///system',
  'qemu:///session',
  'qemu:///',
  'qemu://',
  'vbox:///system',
  'vbox:///session',
  'vbox:///',
  'vbox://',
  'test:///default',
];
/** What CONNECT_GET_URI reports for a name-less open. */
export const DEFAULT_URI = 'qemu:///system';

/** `7.0.18r162988` → 7000018; 0 when it cannot be parsed (virsh then prints "Cannot extract …"). */
export function parseVBoxVersion(v: string): number {
  const m = /^\s*(\d+)\.(\d+)\.(\d+)/.exec(v ?? '');
  if (!m) return 0;
  return Number(m[1]) * 1_000_000 + Number(m[2]) * 1_000 + Number(m[3]);
}

/** Kernel architecture names only (MAAS refuses `arm64`/`amd64`). */
export function kernelArch(arch: string): string {
  const a = (arch ?? '').toLowerCase();
  if (a === 'arm64' || a === 'aarch64' || a === 'armv8') return 'aarch64';
  if (a === 'amd64' || a === 'x86_64' || a === 'x64' || a === 'x86-64') return 'x86_64';
  if (a === 'x86' || a === 'i386' || a === 'i686') return 'i686';
  return a || 'x86_64';
}

/** Number of VirtualBox snapshots in a showvminfo: one `SnapshotName[-i[-j…]]` key per snapshot. */
export function snapshotCount(vm: VmInfo): number {
  let n = 0;
  for (const k of Object.keys(vm.raw ?? {})) if (/^SnapshotName(-\d+)*$/.test(k)) n++;
  return n;
}

/** The libvirt API behind each change, for read-only refusals (`read only access prevents virDomainDestroy`). */
const API_NAMES: Record<string, string> = {
  start: 'virDomainCreateWithFlags',
  destroy: 'virDomainDestroy',
  shutdown: 'virDomainShutdown',
  reboot: 'virDomainReboot',
  reset: 'virDomainReset',
  suspend: 'virDomainSuspend',
  resume: 'virDomainResume',
  'managed-save': 'virDomainManagedSave',
  'managed-save-remove': 'virDomainManagedSaveRemove',
  autostart: 'virDomainSetAutostart',
  'autostart-disable': 'virDomainSetAutostart',
};

/** Every accessible VM as presented to clients, with O(1) lookups. */
interface PresentedView {
  /** The `listVms()` array this view was built from (identity check first). */
  src: VmSummary[];
  /** Accessible VMs, in VirtualBox's registration order. */
  vms: VmSummary[];
  /** uuid → presented name (docs/driver.md "Names and aliases"). */
  names: Map<string, string>;
  /** presented name → VM */
  byName: Map<string, VmSummary>;
  /** raw VirtualBox name → the first VM (registration order) with it */
  byRawName: Map<string, VmSummary>;
  byUuid: Map<string, VmSummary>;
}

function buildView(src: VmSummary[], vms: VmSummary[], names: Map<string, string>): PresentedView {
  const byName = new Map<string, VmSummary>();
  const byRawName = new Map<string, VmSummary>();
  const byUuid = new Map<string, VmSummary>();
  for (const vm of vms) {
    const n = names.get(vm.uuid);
    if (n !== undefined && !byName.has(n)) byName.set(n, vm);
    if (!byRawName.has(vm.name)) byRawName.set(vm.name, vm);
    byUuid.set(vm.uuid, vm);
  }
  return { src, vms, names, byName, byRawName, byUuid };
}

/** Same VMs, names, accessibility and states, in the same order (plain string compares, no allocation). */
function sameSummaries(a: readonly VmSummary[], b: readonly VmSummary[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.uuid !== y.uuid || x.name !== y.name || x.state !== y.state || x.accessible !== y.accessible || x.stateFromDetails !== y.stateFromDetails) return false;
  }
  return true;
}

interface Resolved {
  summary: VmSummary;
  name: string;
}

interface RebootJob {
  cancelled: boolean;
  timer?: NodeJS.Timeout;
  wake?: () => void;
  done: Promise<void>;
}

const sleep = (ms: number, job: RebootJob): Promise<void> =>
  new Promise((resolve) => {
    job.wake = resolve;
    job.timer = setTimeout(resolve, ms);
  });

export class VBoxDriver {
  readonly log: Logger;
  private readonly ids = new IdTable();
  /** getXmlDesc's live XML per details object (weak: gone with the details). */
  private readonly liveXml = new WeakMap<VmInfo, { name: string; id: number | undefined; securityInfo: boolean; xml: string }>();
  private readonly lastAction = new Map<string, LastAction>();
  /**
   * VMs that left `list runningvms` while we knew them active, with only the
   * list to say so: VirtualBox may still be stopping or saving (states that
   * `list runningvms` omits). They keep their id until GetState/IsActive read
   * their details once and find them settled: one showvminfo per transition,
   * never per poll.
   */
  private readonly unsettled = new Set<string>();
  /** Presented DomainRefs, one per VM while its name and id stay (see `ref`). */
  private readonly refs = new Map<string, DomainRef>();
  /** The presented view of the latest host snapshot (see snapshotAll). */
  private view: PresentedView | undefined;
  private viewBuilds = 0;
  private readonly reboots = new Map<string, RebootJob>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly rebootTimeoutMs: number;
  private readonly rebootPollMs: number;
  private readonly libVersion: number;
  private closed = false;
  private readonly background = new Set<Promise<void>>();
  /** Settable after construction (the storage handlers are built after the driver). */
  hooks: DriverHooks;
  private readonly policy?: Policy;
  private readonly audit?: AuditLog;

  constructor(
    readonly host: VBoxHost,
    opts: DriverOptions = {},
  ) {
    this.log = opts.logger ?? nullLogger();
    this.rebootTimeoutMs = opts.rebootTimeoutMs ?? 60_000;
    this.rebootPollMs = opts.rebootPollMs ?? 500;
    this.libVersion = opts.libVersion ?? 9_000_000;
    this.hooks = opts.hooks ?? {};
    this.policy = opts.policy;
    this.audit = opts.audit;
  }

  // ------------------------------------------------------------------------
  // Connection

  /**
   * CONNECT_OPEN. Accepts the names in ACCEPTED_URIS (with or without a query
   * string) and the name-less open; anything else gets libvirtd's
   * `no connection driver available for <name>` (code 5, domain 0).
   */
  open(name: string | null | undefined, flags: number, identity?: Identity): Session {
    // Only VIR_CONNECT_RO matters here; other open flags (NO_ALIASES…) are client-side.
    let uri = DEFAULT_URI;
    if (name !== null && name !== undefined && name !== '') {
      const base = name.split('?')[0]!;
      if (!ACCEPTED_URIS.includes(base)) throw noConnect(name);
      uri = base;
    }
    return {
      uri,
      readOnly: (flags & CONNECT_RO) !== 0 || identity?.readOnlyTransport === true,
      who: identity ? describeIdentity(identity) : 'local',
      identity,
      access: identity && this.policy ? this.policy.forIdentity(identity) : undefined,
    };
  }

  getType(): string {
    return 'VBOX';
  }

  async getVersion(): Promise<bigint> {
    const h = await this.hostInfo();
    return BigInt(parseVBoxVersion(h.vboxVersion));
  }

  getLibVersion(): bigint {
    return BigInt(this.libVersion);
  }

  async getHostname(): Promise<string> {
    return (await this.hostInfo()).hostname;
  }

  getUri(s: Session): string {
    return s.uri;
  }

  async nodeGetInfo(): Promise<NodeInfo> {
    const h = await this.hostInfo();
    const cpus = Math.max(1, h.cpuCount | 0);
    return {
      model: kernelArch(h.arch).slice(0, 31),
      memory: BigInt(Math.max(0, Math.floor(h.memoryKiB))),
      cpus,
      mhz: Math.max(0, Math.floor(h.cpuMhz)),
      nodes: 1,
      sockets: 1,
      cores: cpus,
      threads: 1,
    };
  }

  async getCapabilities(): Promise<string> {
    const h = await this.hostInfo();
    return renderCapabilities({ ...h, arch: kernelArch(h.arch) });
  }

  /** NODE_GET_SECURITY_MODEL: no security driver (virsh then skips the label lines). */
  nodeGetSecurityModel(): { model: string; doi: string } {
    return { model: '', doi: '' };
  }

  // ------------------------------------------------------------------------
  // Lookups and lists

  async lookupByName(name: string, s?: Session): Promise<DomainRef> {
    const v = await this.snapshot(s);
    // presented name, then raw VirtualBox name (first in registration order), then a UUID
    let vm = v.byName.get(name) ?? v.byRawName.get(name);
    if (!vm) {
      const u = normalizeUuid(name);
      if (u) vm = v.byUuid.get(u);
    }
    if (!vm) throw noDomainByName(name);
    return this.ref(vm.uuid, v.names);
  }

  /**
   * `lookupByName` without a promise when the presented view is current (the
   * hot path of `virsh domstate`); undefined: use `lookupByName`.
   */
  lookupByNameNow(name: string, s?: Session): DomainRef | undefined {
    const v = this.viewNow(s);
    const vm = v && (v.byName.get(name) ?? v.byRawName.get(name));
    return vm && this.ref(vm.uuid, v.names);
  }

  async lookupByUuid(uuid: string, s?: Session): Promise<DomainRef> {
    const u = normalizeUuid(uuid) ?? uuid;
    const v = await this.snapshot(s);
    const vm = v.byUuid.get(u);
    if (!vm) throw noDomainByUuid(u);
    return this.ref(vm.uuid, v.names);
  }

  async lookupById(id: number, s?: Session): Promise<DomainRef> {
    const v = await this.snapshot(s);
    const uuid = id > 0 ? this.ids.uuidOf(id) : undefined;
    if (uuid === undefined || !v.byUuid.has(uuid)) throw noDomainById(id);
    return this.ref(uuid, v.names);
  }

  /** CONNECT_LIST_ALL_DOMAINS, filtered by VIR_CONNECT_LIST_DOMAINS_* flags, in VirtualBox's registration order. */
  async listAllDomains(flags: number, s?: Session): Promise<DomainRef[]> {
    checkFlags(flags, LIST_FLAGS_ALL, 'virConnectListAllDomains');
    const f = flags >>> 0;
    const { vms, names } = await this.snapshot(s);
    const out: DomainRef[] = [];
    const has = (bit: number) => (f & bit) !== 0;
    if (has(ListFlags.TRANSIENT) && !has(ListFlags.PERSISTENT)) return out;
    if (has(ListFlags.HAS_CHECKPOINT) && !has(ListFlags.NO_CHECKPOINT)) return out;
    // The filter groups this call asks for, decided once: a group filters when one but not
    // both of its bits are set (the state group: when any of its bits is). A plain listing
    // (virsh list --all, MAAS's enlistment) has none and costs no await per VM.
    type Probe = { details: () => Promise<VmInfo>; state: () => Promise<MappedState>; vm: VmSummary };
    const checks: Array<(p: Probe) => Promise<boolean>> = [];
    const group = (a: number, b: number, valueA: (p: Probe) => boolean | Promise<boolean>) => {
      if (has(a) === has(b)) return;
      const wantA = has(a);
      checks.push(async (p) => (await valueA(p)) === wantA);
    };
    // list membership (runningvms = the online states) decides activity: no showvminfo needed
    group(ListFlags.ACTIVE, ListFlags.INACTIVE, (p) => isActiveState(p.vm.state));
    group(ListFlags.MANAGEDSAVE, ListFlags.NO_MANAGEDSAVE, async (p) => (await p.state()).managedSave);
    group(ListFlags.AUTOSTART, ListFlags.NO_AUTOSTART, async (p) => this.configView(await p.details()).autostart);
    group(ListFlags.HAS_SNAPSHOT, ListFlags.NO_SNAPSHOT, async (p) => snapshotCount(await p.details()) > 0);
    const stateBits = f & (ListFlags.RUNNING | ListFlags.PAUSED | ListFlags.SHUTOFF | ListFlags.OTHER);
    if (stateBits !== 0) {
      checks.push(async (p) => {
        const s = (await p.state()).state;
        const bucket =
          s === DomainState.RUNNING ? ListFlags.RUNNING
          : s === DomainState.PAUSED ? ListFlags.PAUSED
          : s === DomainState.SHUTOFF ? ListFlags.SHUTOFF
          : ListFlags.OTHER;
        return (stateBits & bucket) !== 0;
      });
    }
    for (const vm of vms) {
      let keep = true;
      if (checks.length) {
        let info: VmInfo | undefined;
        let mapped: MappedState | undefined;
        const probe: Probe = {
          vm,
          details: async () => (info ??= await this.host.getVm(vm.uuid)),
          state: async () => (mapped ??= await this.mappedState(vm)),
        };
        try {
          for (const c of checks) if (!(await c(probe))) { keep = false; break; }
        } catch (err) {
          // A VM unregistered between the list and its details: just not listed.
          if (isNotFound(err)) continue;
          throw fromVBoxError(err);
        }
      }
      if (keep) out.push(this.ref(vm.uuid, names));
    }
    return out;
  }

  /** CONNECT_NUM_OF_DOMAINS (51): active domains. */
  async numOfDomains(s?: Session): Promise<number> {
    return (await this.listAllDomains(ListFlags.ACTIVE, s)).length;
  }

  /** CONNECT_LIST_DOMAINS (21): ids of active domains, at most `max`. */
  async listDomainIds(max: number, s?: Session): Promise<number[]> {
    const doms = await this.listAllDomains(ListFlags.ACTIVE, s);
    return doms.map((d) => d.id).slice(0, Math.max(0, max));
  }

  /** CONNECT_NUM_OF_DEFINED_DOMAINS (25): inactive domains. */
  async numOfDefinedDomains(s?: Session): Promise<number> {
    return (await this.listAllDomains(ListFlags.INACTIVE, s)).length;
  }

  /** CONNECT_LIST_DEFINED_DOMAINS (37): names of inactive domains, at most `max`. */
  async listDefinedDomains(max: number, s?: Session): Promise<string[]> {
    const doms = await this.listAllDomains(ListFlags.INACTIVE, s);
    return doms.map((d) => d.name).slice(0, Math.max(0, max));
  }

  // ------------------------------------------------------------------------
  // Per-domain queries

  /**
   * DOMAIN_GET_STATE from the host snapshot alone (no showvminfo): see
   * `summaryState` and docs/states.md ("What GetState knows").
   */
  async getState(dom: DomainRef, flags = 0, s?: Session): Promise<{ state: number; reason: number }> {
    checkFlags(flags, 0, 'vboxDomainGetState');
    const r = await this.resolve(dom, s);
    return stateAndReason(await this.snapshotState(r.summary));
  }

  /**
   * `getState` without a promise when the presented view is current and the
   * VM's state needs no read; undefined: use `getState`.
   */
  getStateNow(dom: DomainRef, flags = 0, s?: Session): { state: number; reason: number } | undefined {
    checkFlags(flags, 0, 'vboxDomainGetState');
    const v = this.viewNow(s);
    const summary = v?.byUuid.get(dom.uuid);
    if (!summary || this.unsettled.has(summary.uuid)) return undefined;
    return stateAndReason(this.summaryState(summary));
  }

  async getInfo(dom: DomainRef, s?: Session): Promise<DomainInfo> {
    const r = await this.resolve(dom, s);
    const info = await this.details(r);
    const m = this.mapInfo(info);
    const kib = BigInt(Math.max(0, Math.round(info.memoryMB))) * 1024n;
    return { state: m.state, maxMem: kib, memory: kib, nrVirtCpu: Math.max(0, info.cpus | 0), cpuTime: 0n };
  }

  async getOsType(dom: DomainRef, s?: Session): Promise<string> {
    await this.resolve(dom, s);
    return 'hvm';
  }

  async isActive(dom: DomainRef, s?: Session): Promise<boolean> {
    const r = await this.resolve(dom, s);
    // active = in `list runningvms`, except a VM that just left it (see `unsettled`)
    return (await this.snapshotState(r.summary)).active;
  }

  async isPersistent(dom: DomainRef, s?: Session): Promise<boolean> {
    await this.resolve(dom, s);
    return true;
  }

  async isUpdated(dom: DomainRef, s?: Session): Promise<boolean> {
    await this.resolve(dom, s);
    return false;
  }

  async hasManagedSaveImage(dom: DomainRef, flags = 0, s?: Session): Promise<boolean> {
    checkFlags(flags, 0, 'vboxDomainHasManagedSaveImage');
    const r = await this.resolve(dom, s);
    return (await this.mappedState(r.summary)).managedSave;
  }

  /** The configured autostart flag, including a change still pending (see setAutostart). */
  async getAutostart(dom: DomainRef, s?: Session): Promise<boolean> {
    const r = await this.resolve(dom, s);
    return this.configView(await this.details(r)).autostart;
  }

  async getSecurityLabel(dom: DomainRef, s?: Session): Promise<{ label: string; enforcing: number }> {
    await this.resolve(dom, s);
    return { label: '', enforcing: 0 };
  }

  async getMessages(dom: DomainRef, flags = 0, s?: Session): Promise<string[]> {
    checkFlags(flags, 3, 'vboxDomainGetMessages');
    await this.resolve(dom, s);
    return [];
  }

  async snapshotNum(dom: DomainRef, _flags = 0, s?: Session): Promise<number> {
    const r = await this.resolve(dom, s);
    return snapshotCount(await this.details(r));
  }

  async getXmlDesc(dom: DomainRef, flags = 0, s?: Session): Promise<string> {
    checkFlags(flags, XML_SECURE | XML_INACTIVE | XML_UPDATE_CPU | XML_MIGRATABLE, 'vboxDomainGetXMLDesc');
    const r = await this.resolve(dom, s);
    const info = await this.details(r);
    const inactive = (flags & XML_INACTIVE) !== 0;
    const m = this.mapInfo(info);
    const id = m.active ? this.ids.idOf(r.summary.uuid) : undefined;
    const securityInfo = (flags & XML_SECURE) !== 0;
    if (inactive) return renderDomainXml(this.configView(info), { name: r.name, inactive, securityInfo });
    // The live XML depends only on the details (a fresh object after every showvminfo,
    // never modified), the libvirt name and the id: rendered once per details read.
    const memo = this.liveXml.get(info);
    if (memo && memo.name === r.name && memo.id === id && memo.securityInfo === securityInfo) return memo.xml;
    const xml = renderDomainXml(info, { name: r.name, id, inactive, securityInfo });
    this.liveXml.set(info, { name: r.name, id, securityInfo, xml });
    return xml;
  }

  // ------------------------------------------------------------------------
  // Lifecycle

  /**
   * DOMAIN_CREATE / CREATE_WITH_FLAGS. Returns once VirtualBox reports the VM
   * running (paused with START_PAUSED), with its new id. A saved VM is
   * restored (FORCE_BOOT discards the saved state first).
   */
  async create(s: Session, dom: DomainRef, flags = 0): Promise<DomainRef> {
    checkFlags(flags, START_PAUSED | START_BYPASS_CACHE | START_FORCE_BOOT | START_VALIDATE, 'vboxDomainCreateWithFlags');
    return this.change(s, 'start', dom, async (r, ctx) => {
      const uuid = r.summary.uuid;
      // The common case (MAAS powering nodes on): the list shows the VM stopped, no
      // flag or pending change needs its exact state. The host then runs startvm with
      // no showvminfo before or after (VBoxHost StartOptions.listedStopped), marks its
      // lists stale for this VM, and falls back to the full path by itself when its
      // list cannot vouch.
      const mayHavePending = !!this.hooks.whenStopped && (!this.hooks.hasPending || this.hooks.hasPending(uuid));
      const plain = (flags & (START_FORCE_BOOT | START_PAUSED)) === 0 && !mayHavePending && !this.unsettled.has(uuid);
      let action: LastAction = 'start';
      if (plain && !isActiveState(r.summary.state) && r.summary.state !== 'saved' && this.lastAction.get(uuid) !== 'save') {
        await this.host.startVm(uuid, ctx, { listedStopped: true });
      } else {
        const m = await this.mappedState(r.summary, { fresh: true });
        if (m.active) throw operationInvalid('domain is already running');
        let restoring = m.managedSave;
        if (restoring && (flags & START_FORCE_BOOT) !== 0) {
          await this.host.discardState(uuid, ctx);
          restoring = false;
        }
        if (!restoring) await this.runWhenStopped(uuid, ctx);
        await this.host.startVm(uuid, ctx, { paused: (flags & START_PAUSED) !== 0 });
        this.host.invalidate(uuid);
        // started paused: recorded as our own pause, so GetState says paused without a showvminfo
        action = (flags & START_PAUSED) !== 0 ? 'suspend' : restoring ? 'restore' : 'start';
      }
      this.ids.release(uuid);
      this.ids.assign(uuid);
      this.setLastAction(uuid, action);
      return { name: r.name, uuid, id: this.ids.idOf(uuid) ?? -1 };
    });
  }

  /** DOMAIN_DESTROY / DESTROY_FLAGS: hard power-off (`controlvm poweroff`). Cancels a pending reboot. */
  async destroy(s: Session, dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, DESTROY_GRACEFUL, 'vboxDomainDestroyFlags');
    await this.change(s, 'destroy', dom, async (r, ctx) => {
      this.cancelReboot(r.summary.uuid);
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.active) throw operationInvalid('domain is not running');
      await this.host.powerOff(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
      this.ids.release(r.summary.uuid);
      this.setLastAction(r.summary.uuid, 'destroy');
      await this.runWhenStopped(r.summary.uuid, ctx);
    });
  }

  /** DOMAIN_SHUTDOWN / SHUTDOWN_FLAGS: press the ACPI power button and return at once. */
  async shutdown(s: Session, dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, SHUTDOWN_ACPI, 'vboxDomainShutdownFlags');
    await this.change(s, 'shutdown', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.active) throw operationInvalid('domain is not running');
      this.cancelReboot(r.summary.uuid);
      await this.host.acpiPowerButton(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
      this.setLastAction(r.summary.uuid, 'shutdown');
    });
  }

  /**
   * DOMAIN_REBOOT. VirtualBox has no ACPI reboot, so: press the ACPI power
   * button now and return; in the background poll the VM until it is powered
   * off, then start it again. If it is still running after rebootTimeoutMs the
   * guest ignored ACPI and the VM is reset (`controlvm reset`) instead.
   * DESTROY, SHUTDOWN, MANAGED_SAVE and a second REBOOT cancel/merge with a
   * pending one.
   */
  async reboot(s: Session, dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, REBOOT_ACPI, 'vboxDomainReboot');
    await this.change(s, 'reboot', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.active) throw operationInvalid('domain is not running');
      if (m.state !== DomainState.RUNNING) throw operationInvalid(`domain is ${stateWord(m.state)}`);
      if (this.reboots.has(r.summary.uuid)) return; // one is already under way
      await this.host.acpiPowerButton(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
      this.startRebootJob(r.summary.uuid, r.name, ctx);
    });
  }

  /** DOMAIN_RESET: `controlvm reset`. */
  async reset(s: Session, dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'vboxDomainReset');
    await this.change(s, 'reset', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.active) throw operationInvalid('domain is not running');
      await this.host.reset(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
    });
  }

  /** DOMAIN_SUSPEND: pause; a paused domain stays paused (no error, like qemu). */
  async suspend(s: Session, dom: DomainRef): Promise<void> {
    await this.change(s, 'suspend', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.active) throw operationInvalid('domain is not running');
      if (m.state === DomainState.PAUSED) return;
      await this.host.pause(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
      this.setLastAction(r.summary.uuid, 'suspend');
    });
  }

  /**
   * DOMAIN_RESUME: resume a paused domain. Resuming a domain that is not paused
   * is refused (`Requested operation is not valid: domain is not paused`), as
   * libvirtd's test driver does in the reference capture err-resume-not-paused.
   */
  async resume(s: Session, dom: DomainRef): Promise<void> {
    await this.change(s, 'resume', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.active) throw operationInvalid('domain is not running');
      if (m.state !== DomainState.PAUSED) throw operationInvalid('domain is not paused');
      await this.host.resume(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
      this.setLastAction(r.summary.uuid, 'resume');
    });
  }

  /** DOMAIN_MANAGED_SAVE: `controlvm savestate`; the domain becomes inactive with a managed-save image. */
  async managedSave(s: Session, dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, SAVE_BYPASS_CACHE | SAVE_RUNNING | SAVE_PAUSED, 'vboxDomainManagedSave');
    await this.change(s, 'managed-save', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.active) throw operationInvalid('domain is not running');
      this.cancelReboot(r.summary.uuid);
      await this.host.saveState(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
      this.ids.release(r.summary.uuid);
      this.setLastAction(r.summary.uuid, 'save');
    });
  }

  /** DOMAIN_MANAGED_SAVE_REMOVE: `discardstate`; nothing to do without an image. */
  async managedSaveRemove(s: Session, dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'vboxDomainManagedSaveRemove');
    await this.change(s, 'managed-save-remove', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (!m.managedSave) return;
      await this.host.discardState(r.summary.uuid, ctx);
      this.host.invalidate(r.summary.uuid);
      this.setLastAction(r.summary.uuid, undefined);
    });
  }

  /** DOMAIN_SET_AUTOSTART: `modifyvm --autostart-enabled on|off`. */
  async setAutostart(s: Session, dom: DomainRef, autostart: boolean): Promise<void> {
    await this.change(s, autostart ? 'autostart' : 'autostart-disable', dom, async (r, ctx) => {
      const m = await this.mappedState(r.summary, { fresh: true });
      if (m.active && this.hooks.deferChanges) {
        // modifyvm needs the VM's write lock, which a running VM holds: keep the
        // change pending until the VM stops (it is reported at once).
        await this.hooks.deferChanges(r.summary.uuid, { autostart }, ctx);
        this.log.info(`autostart ${r.name}: VM is running, change kept pending until it stops`, { uuid: r.summary.uuid, who: ctx.who });
        return;
      }
      await this.host.modifyVm(r.summary.uuid, { autostart }, ctx);
      this.host.invalidate(r.summary.uuid);
    });
  }

  // ------------------------------------------------------------------------
  // Shutdown

  /** Stop background work (pending reboots); idempotent. Does not close the host. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = [...this.reboots.values()];
    for (const j of jobs) this.stopJob(j);
    await Promise.allSettled([...jobs.map((j) => j.done), ...this.background]);
  }

  /** Number of reboots still being emulated (tests, shutdown). */
  get pendingReboots(): number {
    return this.reboots.size;
  }

  /** Wait until no reboot is being emulated for this VM (tests). */
  async waitForReboot(uuid: string): Promise<void> {
    await this.reboots.get(uuid)?.done;
  }

  // ------------------------------------------------------------------------
  // Internals

  private async hostInfo(): Promise<HostInfo> {
    try {
      return await this.host.hostInfo();
    } catch (err) {
      throw fromVBoxError(err);
    }
  }

  /**
   * Accessible VMs (only those the session's policy lets it see, when it has
   * one) and the names they are presented under (computed over every VM, so a
   * name does not depend on who asks); refreshes the id table.
   */
  private async snapshot(s?: Session): Promise<PresentedView> {
    const all = await this.snapshotAll();
    const access = s?.access;
    if (!access || access.seesAll) return all;
    const vms = await filterVisible(access, all.vms, async (uuid) => (await this.host.getVm(uuid)).groups);
    return buildView(all.src, vms, all.names);
  }

  /** The memoised presented view when it is current and the session sees every VM (no await needed). */
  private viewNow(s?: Session): PresentedView | undefined {
    const access = s?.access;
    if (access && !access.seesAll) return undefined;
    const v = this.view;
    if (!v || this.closed) return undefined;
    const all = this.host.peekVms?.();
    return all !== undefined && all === v.src ? v : undefined;
  }

  /**
   * The presented view of every accessible VM, memoised per host snapshot:
   * rebuilt (observe/ids/lastAction upkeep, names, maps) only when `listVms()`
   * returns a different array whose entries differ from the last one's, or
   * after the driver itself recorded an action. Otherwise a lookup costs one
   * `listVms()` plus Map hits.
   */
  private async snapshotAll(): Promise<PresentedView> {
    let all: VmSummary[];
    try {
      all = await this.host.listVms();
    } catch (err) {
      throw fromVBoxError(err);
    }
    const prev = this.view;
    if (prev && (prev.src === all || sameSummaries(prev.src, all))) {
      prev.src = all;
      return prev;
    }
    const vms = all.filter((v) => v.accessible);
    for (const v of vms) {
      const active = isActiveState(v.state);
      if (!active && !v.stateFromDetails && this.ids.idOf(v.uuid) !== undefined) {
        this.unsettled.add(v.uuid);
        continue;
      }
      this.unsettled.delete(v.uuid);
      this.observe(v.uuid, active);
    }
    const view = buildView(all, vms, presentNames(vms));
    this.ids.retain(new Set(view.byUuid.keys()));
    for (const uuid of [...this.lastAction.keys()]) if (!view.byUuid.has(uuid)) this.lastAction.delete(uuid);
    for (const uuid of [...this.unsettled]) if (!view.byUuid.has(uuid)) this.unsettled.delete(uuid);
    for (const uuid of [...this.refs.keys()]) if (!view.byUuid.has(uuid)) this.refs.delete(uuid);
    this.view = view;
    this.viewBuilds++;
    return view;
  }

  /** How many times the presented view was rebuilt (tests: proves lookups reuse it). */
  get viewRebuilds(): number {
    return this.viewBuilds;
  }

  private setLastAction(uuid: string, action: LastAction | undefined): void {
    if (action === undefined) this.lastAction.delete(uuid);
    else this.lastAction.set(uuid, action);
    this.view = undefined;
  }

  private observe(uuid: string, active: boolean): void {
    if (active) this.ids.assign(uuid);
    else if (this.ids.idOf(uuid) !== undefined) {
      this.ids.release(uuid);
      // Seen going from active to inactive (e.g. the guest shut down): run the hook in the background.
      if (this.hooks.whenStopped && !this.closed && !this.reboots.has(uuid)) {
        const p = this.runWhenStopped(uuid, { who: 'vboxvirt' }).finally(() => this.background.delete(p));
        this.background.add(p);
      }
    }
    // Forget what we last did once the VM has visibly moved on from it.
    const last = this.lastAction.get(uuid);
    if (last === undefined) return;
    const leavesActive = last === 'start' || last === 'restore' || last === 'resume' || last === 'suspend';
    const leavesInactive = last === 'destroy' || last === 'save';
    if ((leavesActive && !active) || (leavesInactive && active)) this.lastAction.delete(uuid);
  }

  /**
   * The DomainRef for a VM as presented now: one frozen object per (uuid, name, id), kept
   * until either changes, so that a lookup allocates nothing (and its wire form can be
   * memoised by the object, handlers.ts). Entries of VMs gone from the view are dropped
   * when it is rebuilt.
   */
  private ref(uuid: string, names: Map<string, string>): DomainRef {
    const name = names.get(uuid) ?? uuid;
    const id = this.ids.idOf(uuid) ?? -1;
    const hit = this.refs.get(uuid);
    if (hit && hit.name === name && hit.id === id) return hit;
    const r: DomainRef = Object.freeze({ name, uuid, id });
    this.refs.set(uuid, r);
    return r;
  }

  private async resolve(dom: DomainRef, s?: Session): Promise<Resolved> {
    const { byUuid, names } = await this.snapshot(s);
    // UUIDs off the wire are canonical already: normalise only on a miss
    let uuid = dom.uuid;
    let summary = byUuid.get(uuid);
    if (!summary) {
      uuid = normalizeUuid(dom.uuid) ?? dom.uuid;
      summary = byUuid.get(uuid);
    }
    if (!summary) throw noDomainByUuid(uuid, dom.name);
    return { summary, name: names.get(uuid) ?? dom.name };
  }

  private async details(r: Resolved, opts?: { fresh?: boolean }): Promise<VmInfo> {
    try {
      return await this.host.getVm(r.summary.uuid, opts);
    } catch (err) {
      throw fromVBoxError(err, { uuid: r.summary.uuid, name: r.name });
    }
  }

  private mapInfo(info: VmInfo): MappedState {
    // Details that contradict what we last did (paused or saved by us, since
    // resumed / discarded outside vboxvirt): forget it, so GetState stops using it.
    const last = this.lastAction.get(info.uuid);
    if ((last === 'suspend' && info.state !== 'paused') || (last === 'save' && info.state !== 'saved')) this.lastAction.delete(info.uuid);
    const m = mapState(info.state, this.lastAction.get(info.uuid));
    this.observe(info.uuid, m.active);
    return m;
  }

  /**
   * The VM's libvirt state from the snapshot summary alone (never a
   * showvminfo). With consistent cached details (`stateFromDetails`) that is
   * the exact state. Otherwise the summary only knows list membership: in
   * `list runningvms` → running, or paused when our own last action was a
   * suspend; absent → shut off, its reason from our own last action
   * (destroyed, shutdown, saved) when known, else unknown. A VM paused or
   * saved outside vboxvirt reads running / shut off until its details are
   * next read (docs/states.md).
   */
  private async snapshotState(summary: VmSummary): Promise<MappedState> {
    if (!this.unsettled.has(summary.uuid)) return this.summaryState(summary);
    const m = await this.mappedState(summary);
    if (!m.active) this.unsettled.delete(summary.uuid);
    return m;
  }

  private summaryState(summary: VmSummary): MappedState {
    const last = this.lastAction.get(summary.uuid);
    if (summary.stateFromDetails) return mapState(summary.state, last);
    if (isActiveState(summary.state)) return last === 'suspend' ? mapState('paused', last) : mapState('running', last);
    return last === 'save' ? mapState('saved', last) : mapState('poweroff', last);
  }

  /**
   * The VM's libvirt state. The list snapshot only knows "in runningvms or
   * not"; unless it already came from a showvminfo, read the details (cached by
   * the backend) and re-read them fresh when they contradict the list.
   */
  private async mappedState(summary: VmSummary, opts: { fresh?: boolean } = {}): Promise<MappedState> {
    if (summary.stateFromDetails && !opts.fresh) return this.mapInfo({ uuid: summary.uuid, state: summary.state } as VmInfo);
    const r = { summary, name: summary.name };
    let info = await this.details(r, opts);
    if (!opts.fresh && isActiveState(info.state) !== isActiveState(summary.state)) info = await this.details(r, { fresh: true });
    return this.mapInfo(info);
  }

  /** Serialise changes per VM, check read-only, audit-log the outcome, map errors. */
  private async change<T>(
    s: Session,
    op: string,
    dom: DomainRef,
    fn: (r: Resolved, ctx: OpContext) => Promise<T>,
  ): Promise<T> {
    if (s.readOnly) throw readOnly(API_NAMES[op] ?? op);
    if (this.closed) throw operationInvalid('the daemon is shutting down');
    const key = normalizeUuid(dom.uuid) ?? dom.uuid;
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(async () => {
      let r: Resolved | undefined;
      try {
        r = await this.resolve(dom, s);
        await this.checkChange(s, r);
        const out = await fn(r, { who: s.who });
        this.log.info(`${op} ${r.name}: ok`, { op, domain: r.name, uuid: r.summary.uuid, who: s.who, result: 'ok' });
        this.auditRecord(s, op, r, 'ok');
        return out;
      } catch (err) {
        const e = fromVBoxError(err, r ? { uuid: r.summary.uuid, name: r.name } : undefined);
        this.log.info(`${op} ${r?.name ?? dom.name}: ${e.message}`, {
          op,
          domain: r?.name ?? dom.name,
          uuid: key,
          who: s.who,
          result: 'error',
          code: e.code,
        });
        this.auditRecord(s, op, r, { code: e.code, message: e.message });
        throw e;
      }
    });
    this.locks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === run) this.locks.delete(key);
    }
  }

  /**
   * A change to `dom` made outside the driver (the storage/define handlers),
   * under the driver's own rules: resolved through the session (a VM the
   * policy hides is "Domain not found", as for an unknown one), refused on a
   * read-only connection or when the policy forbids changing it (88 access
   * denied) before `fn` runs, serialised with the VM's other changes, and
   * audit-logged (ok or error).
   */
  changeDomain<T>(s: Session, op: string, dom: DomainRef, fn: (d: DomainRef, ctx: OpContext) => Promise<T>): Promise<T> {
    return this.change(s, op, dom, (r, ctx) =>
      fn({ name: r.name, uuid: r.summary.uuid, id: this.ids.idOf(r.summary.uuid) ?? -1 }, ctx));
  }

  /**
   * May this session change (or create) a VM like `vm`? Throws what the
   * driver's own changes throw: read-only, or 88 `access denied: WHO may not
   * <verb> domain 'NAME' (policy RULE)`. Without a policy: allowed.
   */
  checkMayChange(s: Session, vm: VmRef, verb = 'change'): void {
    if (s.readOnly) throw readOnly(API_NAMES[s.procedure ?? ''] ?? s.procedure ?? verb);
    const access = s.access;
    if (access && !access.canChange(vm)) throw this.denied(s, verb, vm.name);
  }

  /** The 88 error the driver answers a change the policy forbids with. */
  denied(s: Session, verb: string, name: string): LibvirtError {
    return LibvirtError.accessDenied(`${s.who} may not ${verb} domain '${name}' (policy ${s.access?.rule ?? 'default'})`, ErrorDomain.VBOX);
  }

  /** One audit line for a change made on `s` (no-op without an audit log or identity). The only writer of driver audit lines. */
  recordAudit(
    s: Session,
    op: string,
    vm: { name: string; uuid: string; vboxName?: string } | undefined,
    result: 'ok' | { code: number; message: string },
    details?: Record<string, unknown>,
  ): void {
    if (!this.audit || !s.identity) return;
    const extra = { ...(vm?.vboxName !== undefined && vm.vboxName !== vm.name ? { vboxName: vm.vboxName } : {}), ...(details ?? {}) };
    this.audit.record({
      identity: s.identity,
      procedure: s.procedure ?? op,
      vm: vm ? { name: vm.name, uuid: vm.uuid } : undefined,
      result,
      details: Object.keys(extra).length ? extra : undefined,
    });
  }

  /** The session's policy may forbid changing this VM: 88 `access denied: …`. */
  private async checkChange(s: Session, r: Resolved): Promise<void> {
    const access = s.access;
    if (!access) return;
    const groups = access.needsGroups ? (await this.details(r)).groups : undefined;
    if (!access.canChange({ uuid: r.summary.uuid, name: r.summary.name, groups })) throw this.denied(s, 'change', r.name);
  }

  private auditRecord(s: Session, op: string, r: Resolved | undefined, result: 'ok' | { code: number; message: string }): void {
    this.recordAudit(s, op, r ? { name: r.name, uuid: r.summary.uuid, vboxName: r.summary.name } : undefined, result);
  }

  /** The persistent configuration: the VM with pending changes overlaid. */
  private configView(info: VmInfo): VmInfo {
    return this.hooks.inactiveView ? this.hooks.inactiveView(info) : info;
  }

  private async runWhenStopped(uuid: string, ctx: OpContext): Promise<void> {
    if (!this.hooks.whenStopped) return;
    try {
      await this.hooks.whenStopped(uuid, ctx);
    } catch (err) {
      this.log.warn(`applying pending changes to ${uuid} failed: ${(err as Error).message}`, { uuid, who: ctx.who });
    }
  }

  private startRebootJob(uuid: string, name: string, ctx: OpContext): void {
    const job: RebootJob = { cancelled: false, done: Promise.resolve() };
    this.reboots.set(uuid, job);
    const deadline = Date.now() + this.rebootTimeoutMs;
    const loop = async () => {
      while (!job.cancelled) {
        await sleep(this.rebootPollMs, job);
        if (job.cancelled) return;
        let info: VmInfo;
        try {
          info = await this.host.getVm(uuid, { fresh: true });
        } catch (err) {
          this.log.warn(`reboot ${name}: cannot read the VM state, giving up: ${(err as Error).message}`, { uuid, who: ctx.who });
          return;
        }
        if (job.cancelled) return;
        if (info.state === 'poweroff' || info.state === 'aborted') {
          await this.runWhenStopped(uuid, ctx);
          await this.host.startVm(uuid, ctx);
          this.host.invalidate(uuid);
          this.ids.release(uuid);
          this.ids.assign(uuid);
          this.setLastAction(uuid, 'start');
          this.log.info(`reboot ${name}: guest powered off, started again`, { op: 'reboot', uuid, who: ctx.who, result: 'ok' });
          return;
        }
        if (!isActiveState(info.state)) {
          this.log.info(`reboot ${name}: VM is now ${info.state}; not restarting it`, { op: 'reboot', uuid, who: ctx.who });
          return;
        }
        if (Date.now() >= deadline && info.state === 'running') {
          await this.host.reset(uuid, ctx);
          this.host.invalidate(uuid);
          this.log.info(`reboot ${name}: guest ignored ACPI for ${this.rebootTimeoutMs} ms, reset instead`, {
            op: 'reboot',
            uuid,
            who: ctx.who,
            result: 'reset',
          });
          return;
        }
      }
    };
    job.done = loop()
      .catch((err) => {
        this.log.warn(`reboot ${name} failed: ${(err as Error).message}`, { op: 'reboot', uuid, who: ctx.who, result: 'error' });
      })
      .finally(() => {
        if (job.timer) clearTimeout(job.timer);
        if (this.reboots.get(uuid) === job) this.reboots.delete(uuid);
      });
  }

  private stopJob(job: RebootJob): void {
    job.cancelled = true;
    if (job.timer) clearTimeout(job.timer);
    job.wake?.();
  }

  private cancelReboot(uuid: string): void {
    const job = this.reboots.get(uuid);
    if (!job) return;
    this.stopJob(job);
    this.reboots.delete(uuid);
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { kind?: string })?.kind === 'not-found';
}

export { DriverError };
