/**
 * VBoxManageHost: VBoxHost over a Runner (see docs/vbox-backend.md).
 *
 *  - one shared host snapshot (`list vms` + `list runningvms`), one refresh in
 *    flight at a time, refreshed when older than cacheTtlMs or after a change;
 *  - per-VM details (`showvminfo --machinereadable`) read lazily and cached,
 *    dropped when the lists show the VM changed running-ness, after our own
 *    changes and after detailsMaxAgeMs;
 *  - every operation on one VM serialised (per-UUID mutex), session-lock errors
 *    retried with bounded exponential back-off, at most maxProcs VBoxManage
 *    processes at once;
 *  - changes re-read the VM before (when the cached details are not fresh) and
 *    after, and log at info with ctx.who.
 */
import os from 'node:os';
import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';
import {
  classifyResult,
  LISTED_AS_RUNNING,
  normalizeUuid,
  parseCreateVm,
  parseHostInfo,
  parseListVms,
  parseShowVmInfo,
  parseVersion,
  parseCreateMedium,
  parseDhcpServers,
  parseHostIfs,
  parseMediumInfo,
  parseMediumList,
  parseNatNets,
  parseSystemProperties,
  type ListEntry,
  type RunResult,
} from './parse.js';
import { kernelArch, type Runner } from './runner.js';
import { Semaphore } from './semaphore.js';
import {
  VBoxError,
  type CreateMediumSpec,
  type DhcpServerInfo,
  type HostIfInfo,
  type MediumInfo,
  type NatNetworkInfo,
  type StorageAttachSpec,
  type StorageCtlSpec,
  type SystemProperties,
  type VBoxStorageHost,
  type CreateVmSpec,
  type HostInfo,
  type NicAttachment,
  type OpContext,
  type StartOptions,
  type VBoxHost,
  type VBoxMachineState,
  type VmChanges,
  type VmInfo,
  type VmSummary,
} from './types.js';

export interface LockRetryOptions {
  /** Total attempts for a command that hits a session lock (≥1). Default 6. */
  attempts?: number;
  /** First back-off delay. Default 200 ms; doubles each time. */
  baseDelayMs?: number;
  /** Cap on one back-off delay. Default 2000 ms. */
  maxDelayMs?: number;
}

export interface VBoxManageHostOptions {
  runner: Runner;
  logger?: Logger;
  /**
   * Max age of the host snapshot (list vms + runningvms). Default 5000 ms: long
   * enough that MAAS's poll of 100 VMs (5 virsh at a time, ~2-4 s) is served by
   * one snapshot (2 VBoxManage runs); our own changes invalidate it at once, so
   * only changes made outside vboxvirt can take this long to show.
   */
  cacheTtlMs?: number;
  /** Max age of cached showvminfo details. Default 30 s (transient states: cacheTtlMs). */
  detailsMaxAgeMs?: number;
  /** Max VBoxManage processes at once for reads and quick commands (list, showvminfo, modifyvm…). Default 4. */
  maxProcs?: number;
  /**
   * Max long state-changing processes at once (`startvm`, `controlvm`), a
   * separate bound so that reads are never queued behind them and starts of
   * distinct VMs overlap as they do in VirtualBox (each VM is still
   * serialised by its own lock). Default 32. Total processes ≤ maxProcs + maxChangeProcs.
   */
  maxChangeProcs?: number;
  lockRetry?: LockRetryOptions;
  /** Per-invocation timeout for quick commands. Default 60 s. */
  timeoutMs?: number;
  /** Timeout for startvm, savestate, poweroff, unregistervm --delete. Default 300 s. */
  longTimeoutMs?: number;
  /** How long startVm polls for `running` after startvm returned. Default 30 s. */
  startSettleMs?: number;
  /** Poll interval while waiting for a transient state to settle. Default 250 ms. */
  pollIntervalMs?: number;
  /** Hostname reported by hostInfo (default: os.hostname(), or the SSH host). */
  hostname?: string;
}

interface Snapshot {
  at: number;
  /** The generation this snapshot satisfies (see `gen`). */
  gen: number;
  vms: ListEntry[];
  running: Set<string>;
}

/** The details cache; `version` changes on every write, so a summary built from it can be reused. */
class DetailsCache extends Map<string, CachedDetails> {
  version = 0;
  override set(key: string, value: CachedDetails): this {
    this.version++;
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had) this.version++;
    return had;
  }
  override clear(): void {
    this.version++;
    super.clear();
  }
}

interface CachedDetails {
  info: VmInfo;
  at: number;
  /** Whether the VM was in `list runningvms` when the details were read (undefined = unknown). */
  listedRunning?: boolean;
}

/** Counts of VBoxManage invocations by first argv word(s): for tests and the benchmark. */
export interface HostStats {
  runs: number;
  byCommand: Record<string, number>;
  lockRetries: number;
  /** Most VBoxManage processes seen at once (all kinds). */
  maxConcurrent: number;
  /** Most at once under the `maxProcs` bound (reads, quick commands). */
  maxConcurrentReads?: number;
  /** Most at once under the `maxChangeProcs` bound (startvm, controlvm). */
  maxConcurrentChanges?: number;
}

/** Long state-changing commands: bounded separately from reads (see maxChangeProcs). */
const CHANGE_COMMANDS: ReadonlySet<string> = new Set(['startvm', 'controlvm']);

const TRANSIENT: ReadonlySet<VBoxMachineState> = new Set<VBoxMachineState>([
  'starting', 'stopping', 'saving', 'restoring', 'teleportingin', 'settingup', 'snapshotting',
  'onlinesnapshotting', 'restoringsnapshot', 'deletingsnapshot', 'deletingsnapshotlive', 'deletingsnapshotlivepaused',
]);

const BOOT_DEVICES = new Set(['none', 'floppy', 'dvd', 'disk', 'net']);
const NIC_TYPES: Record<NicAttachment, string> = {
  none: 'none', null: 'null', nat: 'nat', bridged: 'bridged', intnet: 'intnet', hostonly: 'hostonly',
  generic: 'generic', natnetwork: 'natnetwork', cloudnetwork: 'cloud', hostonlynetwork: 'hostonlynet',
};
const NIC_TARGET_OPT: Partial<Record<NicAttachment, string>> = {
  bridged: '--bridgeadapter', hostonly: '--hostonlyadapter', intnet: '--intnet', natnetwork: '--nat-network',
  generic: '--nicgenericdrv', hostonlynetwork: '--host-only-net', cloudnetwork: '--cloud-network',
};
const FIRMWARES = new Set(['bios', 'efi', 'efi32', 'efi64', 'efidual']);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reject strings a command line cannot carry. */
function checkText(what: string, s: unknown, allowEmpty = true): string {
  if (typeof s !== 'string') throw new VBoxError('invalid-argument', `${what} must be a string`);
  if (!allowEmpty && s === '') throw new VBoxError('invalid-argument', `${what} must not be empty`);
  if (s.includes('\0')) throw new VBoxError('invalid-argument', `${what} must not contain NUL characters`);
  return s;
}

function checkInt(what: string, n: unknown, min: number, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new VBoxError('invalid-argument', `${what} must be an integer in [${min}, ${max}], got ${String(n)}`);
  }
  return n;
}

/** `08:00:27:aa:bb:cc`, `08-00-27-AA-BB-CC`, `080027aabbcc` → `080027AABBCC`. */
export function normalizeMac(mac: string): string {
  const hex = checkText('MAC address', mac).replace(/[:\-.]/g, '').toUpperCase();
  if (!/^[0-9A-F]{12}$/.test(hex)) throw new VBoxError('invalid-argument', `invalid MAC address ${JSON.stringify(mac)}`);
  if (parseInt(hex.slice(0, 2), 16) & 1) throw new VBoxError('invalid-argument', `MAC address ${mac} is multicast`);
  return hex;
}

/**
 * The modifyvm options for a change set, in a fixed order:
 * name, memory, cpus, firmware, boot1..4, description, autostart, then per NIC
 * (by slot) type, target, model, MAC, cable. `current` supplies the NIC
 * attachment when only a target is given.
 */
export function modifyVmArgs(changes: VmChanges, current?: VmInfo): string[] {
  if (changes === null || typeof changes !== 'object') throw new VBoxError('invalid-argument', 'changes must be an object');
  const a: string[] = [];
  if (changes.name !== undefined) {
    const name = checkText('name', changes.name, false);
    if (/^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/.test(name)) {
      throw new VBoxError('invalid-argument', 'a machine cannot have a UUID as its name');
    }
    a.push('--name', name);
  }
  if (changes.memoryMB !== undefined) a.push('--memory', String(checkInt('memoryMB', changes.memoryMB, 4, 16 * 1024 * 1024)));
  if (changes.cpus !== undefined) a.push('--cpus', String(checkInt('cpus', changes.cpus, 1, 1024)));
  if (changes.firmware !== undefined) {
    const fw = checkText('firmware', changes.firmware).toLowerCase();
    if (!FIRMWARES.has(fw)) throw new VBoxError('invalid-argument', `unknown firmware ${JSON.stringify(changes.firmware)}`);
    a.push('--firmware', fw);
  }
  if (changes.boot !== undefined) {
    if (!Array.isArray(changes.boot) || changes.boot.length > 4) throw new VBoxError('invalid-argument', 'boot must list at most 4 devices');
    for (let i = 0; i < 4; i++) {
      const dev = i < changes.boot.length ? checkText('boot device', changes.boot[i]).toLowerCase() : 'none';
      if (!BOOT_DEVICES.has(dev)) throw new VBoxError('invalid-argument', `invalid boot device ${JSON.stringify(changes.boot[i])}`);
      a.push(`--boot${i + 1}`, dev);
    }
  }
  if (changes.description !== undefined) a.push('--description', checkText('description', changes.description));
  if (changes.autostart !== undefined) {
    if (typeof changes.autostart !== 'boolean') throw new VBoxError('invalid-argument', 'autostart must be a boolean');
    a.push('--autostart-enabled', changes.autostart ? 'on' : 'off');
  }
  if (changes.nics !== undefined) {
    if (!Array.isArray(changes.nics)) throw new VBoxError('invalid-argument', 'nics must be an array');
    const seen = new Set<number>();
    const nics = [...changes.nics].sort((x, y) => (x?.slot ?? 0) - (y?.slot ?? 0));
    for (const nic of nics) {
      if (!nic || typeof nic !== 'object') throw new VBoxError('invalid-argument', 'each NIC change must be an object');
      const n = checkInt('NIC slot', nic.slot, 1, 36);
      if (seen.has(n)) throw new VBoxError('invalid-argument', `NIC slot ${n} given twice`);
      seen.add(n);
      let attachment = nic.attachment;
      if (attachment !== undefined) {
        if (!(attachment in NIC_TYPES)) throw new VBoxError('invalid-argument', `unknown NIC attachment ${JSON.stringify(attachment)}`);
        a.push(`--nic${n}`, NIC_TYPES[attachment]);
      } else {
        attachment = current?.nics.find((x) => x.slot === n)?.attachment;
      }
      if (nic.target !== undefined) {
        const opt = attachment ? NIC_TARGET_OPT[attachment] : undefined;
        if (!opt) throw new VBoxError('invalid-argument', `NIC ${n}: a target needs a bridged, hostonly, intnet, natnetwork or generic attachment`);
        a.push(`${opt}${n}`, checkText('NIC target', nic.target, false));
      }
      if (nic.model !== undefined) a.push(`--nictype${n}`, checkText('NIC model', nic.model, false));
      if (nic.mac !== undefined) a.push(`--macaddress${n}`, normalizeMac(nic.mac));
      if (nic.cableConnected !== undefined) {
        if (typeof nic.cableConnected !== 'boolean') throw new VBoxError('invalid-argument', 'cableConnected must be a boolean');
        a.push(`--cableconnected${n}`, nic.cableConnected ? 'on' : 'off');
      }
    }
  }
  return a;
}

export class VBoxManageHost implements VBoxHost, VBoxStorageHost {
  readonly runner: Runner;
  private readonly log: Logger;
  private readonly cacheTtlMs: number;
  private readonly detailsMaxAgeMs: number;
  private readonly timeoutMs: number;
  private readonly longTimeoutMs: number;
  private readonly startSettleMs: number;
  private readonly pollIntervalMs: number;
  private readonly retry: Required<LockRetryOptions>;
  private readonly procs: Semaphore;
  private readonly changeProcs: Semaphore;
  /** VBoxManage processes running now, and the most seen at once (both bounds together). */
  private inFlight = 0;
  private maxInFlight = 0;
  private readonly hostname?: string;

  private snap: Snapshot | null = null;
  /** Bumped by every change/invalidate: a snapshot from an older generation is stale. */
  private gen = 0;
  private refreshing: { gen: number; promise: Promise<Snapshot> } | null = null;
  /** `gen` right after our last change to a VM (or to all: `allChangedGen`); a snapshot older than that is stale for it. */
  private readonly vmChangedGen = new Map<string, number>();
  private allChangedGen = 0;
  private readonly details = new DetailsCache();
  /**
   * The last `listVms()` answer, reused (same array) while its snapshot and the
   * details it used are unchanged and unexpired: a lookup costs O(1), not O(VMs).
   */
  private listMemo: { snap: Snapshot; detailsVersion: number; validUntil: number; vms: VmSummary[] } | null = null;
  private readonly reading = new Map<string, Promise<VmInfo>>();
  private readonly vmLocks = new Map<string, Promise<void>>();
  private hostInfoCache: { at: number; info: HostInfo } | null = null;
  private sysPropsCache: { at: number; props: SystemProperties } | null = null;
  private warnedEmpty = false;
  private closed = false;
  private readonly counts: HostStats = { runs: 0, byCommand: {}, lockRetries: 0, maxConcurrent: 0 };

  constructor(opts: VBoxManageHostOptions) {
    this.runner = opts.runner;
    this.log = opts.logger ?? nullLogger();
    this.cacheTtlMs = opts.cacheTtlMs ?? 5000;
    this.detailsMaxAgeMs = opts.detailsMaxAgeMs ?? 30_000;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.longTimeoutMs = opts.longTimeoutMs ?? Math.max(300_000, this.timeoutMs);
    this.startSettleMs = opts.startSettleMs ?? 30_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 250;
    this.retry = {
      attempts: Math.max(1, opts.lockRetry?.attempts ?? 6),
      baseDelayMs: opts.lockRetry?.baseDelayMs ?? 200,
      maxDelayMs: opts.lockRetry?.maxDelayMs ?? 2000,
    };
    this.procs = new Semaphore(Math.max(1, opts.maxProcs ?? 4));
    this.changeProcs = new Semaphore(Math.max(1, opts.maxChangeProcs ?? 32));
    this.hostname = opts.hostname;
  }

  /** Invocation counters (a copy). */
  stats(): HostStats {
    return {
      ...this.counts,
      byCommand: { ...this.counts.byCommand },
      maxConcurrent: this.maxInFlight,
      maxConcurrentReads: this.procs.maxSeen,
      maxConcurrentChanges: this.changeProcs.maxSeen,
    };
  }

  // -------------------------------------------------------------------------
  // running VBoxManage

  /** One invocation under the process bound; returns the raw result. */
  private async runOnce(argv: string[], timeoutMs: number, urgent = false): Promise<RunResult> {
    if (this.closed) throw new VBoxError('unavailable', 'the VirtualBox backend is closed', undefined, argv);
    const sem = CHANGE_COMMANDS.has(argv[0]!) ? this.changeProcs : this.procs;
    await sem.acquire(urgent);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      this.counts.runs++;
      const key = argv[0] === 'list' || argv[0] === 'controlvm' ? `${argv[0]} ${argv[argv[0] === 'list' ? 1 : 2] ?? ''}`.trim() : argv[0];
      this.counts.byCommand[key] = (this.counts.byCommand[key] ?? 0) + 1;
      const t0 = Date.now();
      const r = await this.runner.run(argv, { timeoutMs });
      this.log.debug('VBoxManage', { argv, exitCode: r.exitCode, ms: Date.now() - t0 });
      return r;
    } finally {
      this.inFlight--;
      sem.release();
    }
  }

  /**
   * Run, classify, retry session-lock errors with back-off. Returns the result
   * on success (stdout may matter), throws the classified VBoxError otherwise.
   * `accept` can turn a failure into success (startvm's "successfully started").
   */
  private async exec(
    argv: string[],
    opts: { timeoutMs?: number; retryLocks?: boolean; accept?: (r: RunResult) => boolean; urgent?: boolean } = {},
  ): Promise<RunResult> {
    const attempts = opts.retryLocks === false ? 1 : this.retry.attempts;
    for (let attempt = 1; ; attempt++) {
      const r = await this.runOnce(argv, opts.timeoutMs ?? this.timeoutMs, opts.urgent);
      const err = classifyResult(r, argv);
      if (!err || opts.accept?.(r)) return r;
      if (err.kind === 'locked' && attempt < attempts) {
        this.counts.lockRetries++;
        const delay = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
        this.log.debug('VBoxManage session lock busy, retrying', { argv, attempt, delayMs: jittered, code: err.vboxCode });
        await sleep(jittered);
        continue;
      }
      throw err;
    }
  }

  // -------------------------------------------------------------------------
  // per-VM serialisation

  private async withVm<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.vmLocks.get(uuid) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.vmLocks.set(uuid, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.vmLocks.get(uuid) === tail) this.vmLocks.delete(uuid);
    }
  }

  // -------------------------------------------------------------------------
  // snapshot

  private snapshotFresh(s: Snapshot | null, needGen: number, now = Date.now()): s is Snapshot {
    return !!s && s.gen >= needGen && now - s.at <= this.cacheTtlMs;
  }

  /**
   * The shared snapshot; concurrent callers share one refresh (and its
   * failure). A refresh that started before a later change of ours does not
   * satisfy callers that arrive after that change: they wait for it, then
   * start (or join) a newer one.
   */
  private async snapshot(): Promise<Snapshot> {
    const needGen = this.gen;
    for (;;) {
      if (this.snapshotFresh(this.snap, needGen)) return this.snap;
      const inflight = this.refreshing;
      if (!inflight) return this.refresh();
      if (inflight.gen >= needGen) return inflight.promise; // join it, errors included
      await inflight.promise.catch(() => undefined); // too old for us: let it finish, then loop
    }
  }

  private refresh(): Promise<Snapshot> {
    const startGen = this.gen;
    const promise = (async () => {
      const at = Date.now();
      // both settle before the refresh does: never two refreshes' processes at once
      const [allR, runningR] = await Promise.allSettled([
        this.exec(['list', 'vms']),
        this.exec(['list', 'runningvms']),
      ]);
      if (allR.status === 'rejected') throw allR.reason;
      if (runningR.status === 'rejected') throw runningR.reason;
      const [all, running] = [allR.value, runningR.value];
      const vms = parseListVms(all.stdout, { strict: true });
      const run = new Set(parseListVms(running.stdout, { strict: true }).map((e) => e.uuid));
      const s: Snapshot = { at, gen: startGen, vms, running: run };
      this.applySnapshot(s);
      return s;
    })();
    const entry = { gen: startGen, promise };
    this.refreshing = entry;
    const clear = () => {
      if (this.refreshing === entry) this.refreshing = null;
    };
    promise.then(clear, clear);
    return promise;
  }

  private applySnapshot(s: Snapshot): void {
    const present = new Set(s.vms.map((v) => v.uuid));
    for (const [uuid, g] of this.vmChangedGen) if (g <= s.gen) this.vmChangedGen.delete(uuid);
    for (const [uuid, d] of this.details) {
      if (!present.has(uuid)) {
        this.details.delete(uuid);
        continue;
      }
      const nowRunning = s.running.has(uuid);
      // VM changed running-ness since its details were read, or the details
      // contradict the list: forget them
      if (d.listedRunning !== undefined && d.listedRunning !== nowRunning) this.details.delete(uuid);
      else if (LISTED_AS_RUNNING.has(d.info.state) !== nowRunning) this.details.delete(uuid);
    }
    if (!this.snap || s.at >= this.snap.at) this.snap = s;
    if (s.vms.length === 0 && !this.warnedEmpty) {
      this.warnedEmpty = true;
      const id = this.runner.describe?.();
      this.log.warn(
        'VirtualBox reports no registered VMs. VMs are registered per OS user and per VBOX_USER_HOME: ' +
          'run vboxvirt as the user who owns the VMs (not root/a service account), with the same VBOX_USER_HOME.',
        { user: id?.user, vboxUserHome: id?.home, where: id?.where },
      );
    } else if (s.vms.length > 0) {
      this.warnedEmpty = false;
    }
  }

  private cachedDetails(uuid: string, now = Date.now()): { info: VmInfo; expires: number } | undefined {
    const d = this.details.get(uuid);
    if (!d) return undefined;
    const expires = d.at + (TRANSIENT.has(d.info.state) ? this.cacheTtlMs : this.detailsMaxAgeMs);
    if (now > expires) {
      this.details.delete(uuid);
      return undefined;
    }
    return { info: d.info, expires };
  }

  private checkOpen(): void {
    if (this.closed) throw new VBoxError('unavailable', 'the VirtualBox backend is closed');
  }

  /** The memoised `listVms()` answer for snapshot S, if its details are unchanged and unexpired. */
  private memoFor(s: Snapshot, now: number): VmSummary[] | undefined {
    const memo = this.listMemo;
    return memo && memo.snap === s && memo.detailsVersion === this.details.version && now <= memo.validUntil ? memo.vms : undefined;
  }

  peekVms(): VmSummary[] | undefined {
    const s = this.snap;
    const now = Date.now(); // one clock read for both checks: this runs on every lookup and GetState
    if (this.closed || !this.snapshotFresh(s, this.gen, now)) return undefined;
    return this.memoFor(s, now);
  }

  async listVms(): Promise<VmSummary[]> {
    this.checkOpen();
    const s = await this.snapshot();
    const now = Date.now();
    const hit = this.memoFor(s, now);
    if (hit) return hit;
    let validUntil = Infinity;
    const vms = s.vms.map((e): VmSummary => {
      const listedRunning = s.running.has(e.uuid);
      if (!e.accessible) return { uuid: e.uuid, name: e.name, accessible: false, state: 'unknown', stateFromDetails: false };
      const d = this.cachedDetails(e.uuid, now);
      if (d) validUntil = Math.min(validUntil, d.expires);
      if (d && LISTED_AS_RUNNING.has(d.info.state) === listedRunning) {
        return { uuid: e.uuid, name: e.name, accessible: true, state: d.info.state, stateFromDetails: true };
      }
      return { uuid: e.uuid, name: e.name, accessible: true, state: listedRunning ? 'running' : 'poweroff', stateFromDetails: false };
    });
    // read the version after the map: cachedDetails may have dropped expired entries
    this.listMemo = { snap: s, detailsVersion: this.details.version, validUntil, vms };
    return vms;
  }

  // -------------------------------------------------------------------------
  // details

  /**
   * showvminfo without the per-VM lock (callers hold it). Deduplicates
   * concurrent reads. `urgent`: the read that finishes a change already made
   * (after startvm…) goes ahead of queued reads, so a change returns as soon
   * as its own command is done rather than behind other clients' reads.
   */
  private readVm(uuid: string, urgent = false): Promise<VmInfo> {
    const inflight = this.reading.get(uuid);
    if (inflight) return inflight;
    const p = (async () => {
      const genAtStart = this.gen;
      try {
        const r = await this.exec(['showvminfo', uuid, '--machinereadable'], { urgent });
        const info = parseShowVmInfo(r.stdout);
        if (info.uuid !== uuid) throw new VBoxError('failed', `showvminfo ${uuid} answered for ${info.uuid}`);
        const snap = this.snap;
        this.details.set(uuid, {
          info,
          at: Date.now(),
          listedRunning: snap && snap.gen >= genAtStart ? snap.running.has(uuid) : undefined,
        });
        return info;
      } catch (e) {
        if (e instanceof VBoxError && e.kind === 'not-found') {
          this.details.delete(uuid);
          this.gen++; // the lists are stale too
        }
        throw e;
      }
    })();
    this.reading.set(uuid, p);
    const clear = () => {
      if (this.reading.get(uuid) === p) this.reading.delete(uuid);
    };
    p.then(clear, clear);
    return p;
  }

  async getVm(uuidIn: string, opts: { fresh?: boolean } = {}): Promise<VmInfo> {
    this.checkOpen();
    const uuid = normalizeUuid(uuidIn);
    if (!opts.fresh) {
      const d = this.cachedDetails(uuid);
      if (d) return d.info;
      const inflight = this.reading.get(uuid);
      if (inflight) return inflight;
    }
    // showvminfo takes a write lock on a stopped VM (spec §3.5): serialise with changes
    return this.withVm(uuid, async () => {
      if (!opts.fresh) {
        const d = this.cachedDetails(uuid);
        if (d) return d.info;
      }
      return this.readVm(uuid);
    });
  }

  // -------------------------------------------------------------------------
  // changes

  /** The lists (and the details of UUID; of every VM when absent) are stale from now on. */
  private markStale(uuid?: string): void {
    this.gen++;
    if (uuid) {
      this.details.delete(uuid);
      this.vmChangedGen.set(uuid, this.gen);
    } else this.allChangedGen = this.gen;
  }

  /** Drop what a change makes stale. */
  private changed(uuid?: string): void {
    this.markStale(uuid);
    this.hostInfoCache = null;
  }

  /**
   * Run one change on one VM: serialised, re-read before when the cached
   * details are not fresh, re-read after, logged with who asked.
   */
  private async change<T>(
    op: string,
    uuidIn: string,
    ctx: OpContext,
    fn: (before: VmInfo) => Promise<T>,
    opts: { readsAfter?: boolean } = {},
  ): Promise<T> {
    this.checkOpen();
    const uuid = normalizeUuid(uuidIn);
    const who = ctx?.who ?? 'unknown';
    return this.withVm(uuid, async () => {
      const d = this.details.get(uuid);
      const before = d && Date.now() - d.at <= this.cacheTtlMs ? d.info : await this.readVm(uuid);
      let result: T;
      try {
        result = await fn(before);
      } catch (e) {
        this.changed(uuid);
        const err = e as VBoxError;
        // report what VirtualBox did anyway (an error may come after a partial change)
        const after = await this.readVm(uuid, true).then((i) => i.state as string, () => 'unknown');
        this.log.info(`${op} failed`, { who, op, uuid, name: before.name, before: before.state, after, error: err.message, kind: err.kind, code: err.vboxCode });
        throw e;
      }
      // readsAfter: fn called changed() after its command and re-read the VM
      // itself (startVm): its details are the state after, no second showvminfo
      let after: VmInfo | undefined = opts.readsAfter ? this.details.get(uuid)?.info : undefined;
      if (!after) {
        this.changed(uuid);
        try {
          after = await this.readVm(uuid, true);
        } catch (e) {
          if (!(e instanceof VBoxError && e.kind === 'not-found')) throw e;
        }
      }
      this.log.info(op, { who, op, uuid, name: after?.name ?? before.name, before: before.state, after: after?.state ?? 'gone' });
      return result;
    });
  }

  /** Poll showvminfo (holding the VM lock) while the state is transient. */
  private async settle(uuid: string, first: VmInfo, limitMs: number): Promise<VmInfo> {
    let info = first;
    const until = Date.now() + limitMs;
    while (TRANSIENT.has(info.state) && Date.now() < until) {
      await sleep(this.pollIntervalMs);
      this.details.delete(uuid);
      info = await this.readVm(uuid, true);
    }
    return info;
  }

  /**
   * What the list snapshot says of a VM without a showvminfo: undefined when
   * it cannot vouch (older than the TTL, older than our last change to the VM,
   * VM absent or inaccessible).
   */
  private listed(uuid: string): { name: string; running: boolean } | undefined {
    const s = this.snap;
    if (!s || Date.now() - s.at > this.cacheTtlMs) return undefined;
    if (s.gen < this.allChangedGen || s.gen < (this.vmChangedGen.get(uuid) ?? 0)) return undefined;
    const e = s.vms.find((v) => v.uuid === uuid);
    if (!e || !e.accessible) return undefined;
    return { name: e.name, running: s.running.has(uuid) };
  }

  async startVm(uuidIn: string, ctx: OpContext, opts: StartOptions = {}): Promise<void> {
    if (opts.listedStopped && !opts.paused) {
      this.checkOpen();
      const uuid = normalizeUuid(uuidIn);
      if (await this.withVm(uuid, () => this.startListed(uuid, ctx))) return;
    }
    await this.startFull(uuidIn, ctx, opts);
  }

  /**
   * startvm for a VM that a fresh list shows stopped: no showvminfo before
   * (it would also take the VM's write lock, spec §9.2) and none after:
   * `startvm` succeeds only once the VM process reports running (spec §4). A
   * burst of N starts costs N `startvm` instead of 3N processes.
   * false: nothing was run, the caller takes the full path.
   */
  private async startListed(uuid: string, ctx: OpContext): Promise<boolean> {
    const cached = this.details.get(uuid)?.info.state;
    if (cached !== undefined && cached !== 'poweroff' && cached !== 'aborted') return false; // saved, transient…: full path
    const listed = this.listed(uuid);
    if (!listed || listed.running) return false;
    const who = ctx?.who ?? 'unknown';
    const before = 'stopped (list)';
    try {
      await this.exec(['startvm', uuid, '--type', 'headless'], {
        timeoutMs: this.longTimeoutMs,
        accept: (r) => /has been successfully started/.test(r.stdout),
        retryLocks: false, // locked: find out why first (below), rather than back off for seconds
      });
    } catch (e) {
      this.changed(uuid);
      const now = await this.readVm(uuid, true).catch(() => undefined);
      const err = e as VBoxError;
      if (err instanceof VBoxError && err.kind === 'locked') {
        // started meanwhile (outside vboxvirt, after the list was read): say so;
        // otherwise a passing lock (someone's showvminfo): the full path retries
        if (now && LISTED_AS_RUNNING.has(now.state)) {
          this.log.info('start failed', { who, op: 'start', uuid, name: listed.name, before, after: now.state, error: err.message, kind: err.kind, code: err.vboxCode });
          throw new VBoxError('invalid-state', 'domain is already running', err.vboxCode);
        }
        return false;
      }
      this.log.info('start failed', { who, op: 'start', uuid, name: listed.name, before, after: now?.state ?? 'unknown', error: err.message, kind: err.kind, code: err.vboxCode });
      throw e;
    }
    // startvm prints "successfully started" only once the VM process reports running
    // (spec §4): that is VirtualBox's own word. The lists are stale for this VM now;
    // the next reader refreshes them (shared), and a VM that died at once then reads
    // shut off, as VirtualBox says.
    this.changed(uuid);
    const after = 'running (startvm)';
    this.log.info('start', { who, op: 'start', uuid, name: listed.name, before, after });
    return true;
  }

  private async startFull(uuidIn: string, ctx: OpContext, opts: StartOptions): Promise<void> {
    await this.change('start', uuidIn, ctx, async (first) => {
      const uuid = first.uuid;
      // a VM still stopping/saving/starting: let it settle before deciding
      const before = TRANSIENT.has(first.state) ? await this.settle(uuid, first, this.startSettleMs) : first;
      if (before.state === 'gurumeditation' || TRANSIENT.has(before.state)) {
        throw new VBoxError('invalid-state', `VM ${before.name} is ${before.state}; it cannot be started now`);
      }
      if (before.state === 'running' || before.state === 'paused' || LISTED_AS_RUNNING.has(before.state)) {
        throw new VBoxError('invalid-state', `VM ${before.name} is already ${before.state}`);
      }
      if (!before.raw.VMState && before.raw.accessible === 'off') throw new VBoxError('invalid-state', `VM ${uuid} is inaccessible`);
      try {
        await this.exec(['startvm', uuid, '--type', 'headless'], {
          timeoutMs: this.longTimeoutMs,
          accept: (r) => /has been successfully started/.test(r.stdout),
        });
      } catch (e) {
        if (e instanceof VBoxError && e.kind === 'locked') {
          // someone else may have started it meanwhile
          this.details.delete(uuid);
          const now = await this.readVm(uuid, true);
          if (LISTED_AS_RUNNING.has(now.state)) throw new VBoxError('invalid-state', `VM ${now.name} is already ${now.state}`, e.vboxCode);
        }
        throw e;
      }
      this.changed(uuid); // the lists are stale too; the read below is the one "after" read
      let info = await this.settle(uuid, await this.readVm(uuid, true), this.startSettleMs);
      if (info.state !== 'running' && info.state !== 'paused') {
        throw new VBoxError('failed', `startvm returned but VirtualBox reports the VM ${info.state}`);
      }
      if (opts.paused && info.state === 'running') {
        await this.exec(['controlvm', uuid, 'pause']);
        this.details.delete(uuid);
        info = await this.readVm(uuid, true);
      }
    }, { readsAfter: true });
  }

  private controlvm(op: string, sub: string, long = false) {
    return (uuid: string, ctx: OpContext) =>
      this.change(op, uuid, ctx, async (before) => {
        await this.exec(['controlvm', before.uuid, sub], long ? { timeoutMs: this.longTimeoutMs } : {});
      });
  }

  powerOff(uuid: string, ctx: OpContext): Promise<void> {
    return this.controlvm('poweroff', 'poweroff', true)(uuid, ctx);
  }
  acpiPowerButton(uuid: string, ctx: OpContext): Promise<void> {
    return this.controlvm('acpi-power-button', 'acpipowerbutton')(uuid, ctx);
  }
  reset(uuid: string, ctx: OpContext): Promise<void> {
    return this.controlvm('reset', 'reset')(uuid, ctx);
  }
  pause(uuid: string, ctx: OpContext): Promise<void> {
    return this.controlvm('pause', 'pause')(uuid, ctx);
  }
  resume(uuid: string, ctx: OpContext): Promise<void> {
    return this.controlvm('resume', 'resume')(uuid, ctx);
  }
  saveState(uuid: string, ctx: OpContext): Promise<void> {
    return this.controlvm('save-state', 'savestate', true)(uuid, ctx);
  }

  async discardState(uuid: string, ctx: OpContext): Promise<void> {
    await this.change('discard-state', uuid, ctx, async (before) => {
      await this.exec(['discardstate', before.uuid]);
    });
  }

  async modifyVm(uuid: string, changes: VmChanges, ctx: OpContext): Promise<void> {
    modifyVmArgs(changes); // validate before touching anything
    await this.change('modify', uuid, ctx, async (before) => {
      const args = modifyVmArgs(changes, before);
      if (args.length === 0) return;
      await this.exec(['modifyvm', before.uuid, ...args]);
    });
  }

  async createVm(spec: CreateVmSpec, ctx: OpContext): Promise<string> {
    this.checkOpen();
    if (!spec || typeof spec !== 'object') throw new VBoxError('invalid-argument', 'createVm needs a spec');
    const name = checkText('name', spec.name, false);
    const argv = ['createvm', '--name', name];
    if (spec.osType !== undefined) argv.push('--ostype', checkText('osType', spec.osType, false));
    if (spec.uuid !== undefined) argv.push('--uuid', normalizeUuid(spec.uuid));
    argv.push('--register');
    const extra = spec.changes ? modifyVmArgs(spec.changes) : [];
    const who = ctx?.who ?? 'unknown';
    const r = await this.exec(argv);
    this.changed();
    const uuid = parseCreateVm(r.stdout);
    if (extra.length) {
      try {
        await this.withVm(uuid, () => this.exec(['modifyvm', uuid, ...modifyVmArgs(spec.changes!)]));
      } catch (e) {
        // all-or-nothing: remove the half-made VM
        await this.exec(['unregistervm', uuid, '--delete'], { timeoutMs: this.longTimeoutMs }).catch((e2) =>
          this.log.warn('could not remove a half-created VM', { uuid, error: (e2 as Error).message }),
        );
        this.changed(uuid);
        this.log.info('create failed', { who, op: 'create', uuid, name, error: (e as Error).message });
        throw e;
      }
      this.changed(uuid);
    }
    this.log.info('create', { who, op: 'create', uuid, name });
    return uuid;
  }

  async unregisterVm(uuid: string, ctx: OpContext, opts: { deleteFiles?: boolean } = {}): Promise<void> {
    await this.change(opts.deleteFiles ? 'unregister-delete' : 'unregister', uuid, ctx, async (before) => {
      const argv = ['unregistervm', before.uuid];
      if (opts.deleteFiles) argv.push('--delete');
      await this.exec(argv, { timeoutMs: this.longTimeoutMs });
      this.details.delete(before.uuid);
    });
  }

  // -------------------------------------------------------------------------

  /**
   * `--version` plus `list hostinfo` (CPU count/speed/model, memory). Fields
   * hostinfo does not give (hostname, arch) come from the runner when VirtualBox
   * runs on another machine (SSH: `uname -nm` there, falling back to the SSH
   * host name), else from this machine's `os` module, as does anything
   * hostinfo fails to give. Cached for 60 s.
   */
  async hostInfo(): Promise<HostInfo> {
    this.checkOpen();
    if (this.hostInfoCache && Date.now() - this.hostInfoCache.at < 60_000) return this.hostInfoCache.info;
    const v = await this.exec(['--version'], { retryLocks: false });
    const version = parseVersion(v.stdout);
    let facts: ReturnType<typeof parseHostInfo> = {};
    try {
      facts = parseHostInfo((await this.exec(['list', 'hostinfo'], { retryLocks: false })).stdout);
    } catch (e) {
      this.log.debug('list hostinfo failed; using local facts', { error: (e as Error).message });
    }
    const cpus = os.cpus();
    // A remote VirtualBox host (SSH) names itself; else this machine's facts.
    const remote = this.runner.hostFacts ? await this.runner.hostFacts() : {};
    const arch = remote.arch ?? kernelArch(process.arch);
    const info: HostInfo = {
      vboxVersion: version.full,
      hostname: remote.hostname ?? this.hostname ?? os.hostname(),
      arch,
      cpuCount: facts.cpuCount && facts.cpuCount > 0 ? facts.cpuCount : cpus.length || 1,
      cpuMhz: facts.cpuMhz && facts.cpuMhz > 0 ? facts.cpuMhz : cpus[0]?.speed ?? 0,
      cpuModel: facts.cpuModel ?? cpus[0]?.model,
      memoryKiB: facts.memoryKiB && facts.memoryKiB > 0 ? facts.memoryKiB : Math.floor(os.totalmem() / 1024),
    };
    this.hostInfoCache = { at: Date.now(), info };
    return info;
  }

  // -------------------------------------------------------------------------
  // storage and networks

  /** `list hdds` (not cached: media change outside VM operations). */
  async listHdds(): Promise<MediumInfo[]> {
    this.checkOpen();
    return parseMediumList((await this.exec(['list', 'hdds'])).stdout);
  }

  /** `showmediuminfo <path|uuid>`; a missing file or unknown UUID → not-found. */
  async showMediumInfo(pathOrUuid: string): Promise<MediumInfo> {
    this.checkOpen();
    const ref = checkText('medium', pathOrUuid, false);
    return parseMediumInfo((await this.exec(['showmediuminfo', ref])).stdout);
  }

  /** `createmedium disk --filename P --size MB --format F [--variant V]`; returns the UUID. */
  async createMedium(spec: CreateMediumSpec, ctx: OpContext): Promise<string> {
    this.checkOpen();
    if (!spec || typeof spec !== 'object') throw new VBoxError('invalid-argument', 'createMedium needs a spec');
    const file = checkText('medium path', spec.path, false);
    const size = checkInt('sizeMB', spec.sizeMB, 1, 2 ** 31);
    const format = checkText('format', spec.format ?? 'VDI', false).toUpperCase();
    if (!/^(VDI|VMDK|VHD|RAW|PARALLELS|QED|QCOW|DMG|VHDX)$/.test(format)) throw new VBoxError('invalid-argument', `unknown medium format ${JSON.stringify(spec.format)}`);
    const argv = ['createmedium', 'disk', '--filename', file, '--size', String(size), '--format', format];
    if (spec.variant !== undefined) {
      const v = checkText('variant', spec.variant, false);
      if (!/^(Standard|Fixed|Split2G|Stream|ESX)(,(Standard|Fixed|Split2G|Stream|ESX))*$/i.test(v)) throw new VBoxError('invalid-argument', `unknown medium variant ${JSON.stringify(v)}`);
      argv.push('--variant', v);
    }
    const r = await this.exec(argv, { timeoutMs: this.longTimeoutMs });
    const uuid = parseCreateMedium(r.stdout);
    this.log.info('create-medium', { who: ctx?.who ?? 'unknown', op: 'create-medium', uuid, path: file, sizeMB: size, format });
    return uuid;
  }

  /** `closemedium disk|dvd|floppy <path|uuid> [--delete]`; in use → invalid-state. */
  async closeMedium(pathOrUuid: string, ctx: OpContext, opts: { delete?: boolean; kind?: 'disk' | 'dvd' | 'floppy' } = {}): Promise<void> {
    this.checkOpen();
    const ref = checkText('medium', pathOrUuid, false);
    const kind = opts.kind ?? 'disk';
    if (!['disk', 'dvd', 'floppy'].includes(kind)) throw new VBoxError('invalid-argument', `unknown medium kind ${JSON.stringify(kind)}`);
    const argv = ['closemedium', kind, ref];
    if (opts.delete) argv.push('--delete');
    await this.exec(argv, { timeoutMs: this.longTimeoutMs });
    this.log.info('close-medium', { who: ctx?.who ?? 'unknown', op: opts.delete ? 'delete-medium' : 'close-medium', medium: ref });
  }

  /** `storagectl UUID --name N [--add bus] [--controller chipset] [--portcount n] [--bootable on|off] | --remove`. */
  async storageCtl(uuid: string, spec: StorageCtlSpec, ctx: OpContext): Promise<void> {
    if (!spec || typeof spec !== 'object') throw new VBoxError('invalid-argument', 'storageCtl needs a spec');
    const args = ['--name', checkText('controller name', spec.name, false)];
    if (spec.remove) args.push('--remove');
    else {
      if (spec.add !== undefined) {
        const bus = checkText('bus', spec.add, false).toLowerCase();
        if (!['ide', 'sata', 'scsi', 'floppy', 'sas', 'usb', 'pcie', 'virtio', 'virtio-scsi'].includes(bus)) throw new VBoxError('invalid-argument', `unknown storage bus ${JSON.stringify(spec.add)}`);
        args.push('--add', bus);
      }
      if (spec.controller !== undefined) args.push('--controller', checkText('controller type', spec.controller, false));
      if (spec.portCount !== undefined) args.push('--portcount', String(checkInt('portCount', spec.portCount, 1, 255)));
      if (spec.bootable !== undefined) args.push('--bootable', spec.bootable ? 'on' : 'off');
    }
    await this.change('storagectl', uuid, ctx, async (before) => {
      await this.exec(['storagectl', before.uuid, ...args]);
    });
  }

  /** `storageattach UUID --storagectl C --port P --device D [--type T] --medium M [options]`. */
  async storageAttach(uuid: string, spec: StorageAttachSpec, ctx: OpContext): Promise<void> {
    if (!spec || typeof spec !== 'object') throw new VBoxError('invalid-argument', 'storageAttach needs a spec');
    const args = [
      '--storagectl', checkText('controller', spec.controller, false),
      '--port', String(checkInt('port', spec.port, 0, 255)),
      '--device', String(checkInt('device', spec.device, 0, 1)),
    ];
    if (spec.type !== undefined) {
      const t = checkText('type', spec.type, false).toLowerCase();
      if (!['hdd', 'dvddrive', 'fdd'].includes(t)) throw new VBoxError('invalid-argument', `unknown attachment type ${JSON.stringify(spec.type)}`);
      args.push('--type', t);
    }
    args.push('--medium', checkText('medium', spec.medium, false));
    if (spec.mtype !== undefined) {
      const mt = checkText('mtype', spec.mtype, false).toLowerCase();
      if (!['normal', 'writethrough', 'immutable', 'shareable', 'readonly', 'multiattach'].includes(mt)) throw new VBoxError('invalid-argument', `unknown medium type ${JSON.stringify(spec.mtype)}`);
      args.push('--mtype', mt);
    }
    if (spec.nonRotational !== undefined) args.push('--nonrotational', spec.nonRotational ? 'on' : 'off');
    if (spec.discard !== undefined) args.push('--discard', spec.discard ? 'on' : 'off');
    if (spec.hotPluggable !== undefined) args.push('--hotpluggable', spec.hotPluggable ? 'on' : 'off');
    await this.change('storageattach', uuid, ctx, async (before) => {
      await this.exec(['storageattach', before.uuid, ...args]);
    });
  }

  async listHostOnlyIfs(): Promise<HostIfInfo[]> {
    this.checkOpen();
    return parseHostIfs((await this.exec(['list', 'hostonlyifs'])).stdout);
  }

  async listBridgedIfs(): Promise<HostIfInfo[]> {
    this.checkOpen();
    return parseHostIfs((await this.exec(['list', 'bridgedifs'])).stdout);
  }

  async listNatNets(): Promise<NatNetworkInfo[]> {
    this.checkOpen();
    return parseNatNets((await this.exec(['list', '--long', 'natnets'])).stdout);
  }

  async listDhcpServers(): Promise<DhcpServerInfo[]> {
    this.checkOpen();
    return parseDhcpServers((await this.exec(['list', 'dhcpservers'])).stdout);
  }

  /** `list systemproperties` (cached 60 s): `defaultMachineFolder` and every other label. */
  async systemProperties(): Promise<SystemProperties> {
    this.checkOpen();
    if (this.sysPropsCache && Date.now() - this.sysPropsCache.at < 60_000) return { ...this.sysPropsCache.props };
    const props = parseSystemProperties((await this.exec(['list', 'systemproperties'])).stdout);
    this.sysPropsCache = { at: Date.now(), props };
    return { ...props };
  }

  invalidate(uuid?: string): void {
    if (uuid === undefined) {
      this.markStale();
      this.details.clear();
      this.hostInfoCache = null;
      this.sysPropsCache = null;
      return;
    }
    let u: string;
    try {
      u = normalizeUuid(uuid);
    } catch {
      return;
    }
    this.markStale(u);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runner.close();
  }
}
