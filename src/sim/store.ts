/**
 * File-based state of the simulated VirtualBox host, shared safely by many
 * processes (vboxsim children and in-process daemons) at once.
 *
 * Layout under $VBOX_USER_HOME:
 *   vboxsim-registry.json        registered machines (order = registration order), media, host networks
 *   <machine folder>/<name>/<name>.vbox   one JSON file per VM (the simulator's "settings file")
 *   vboxsim-state/session/<uuid>.lock     VirtualBox session locks (owner pid + token)
 *   vboxsim-state/mutex/*.mtx             short internal mutexes for read-modify-write
 *   vboxsim-state/faults.json             shared fault counters
 *
 * Every write is write-temp + rename, so a reader never sees half a file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { newMachine, findOsType, setState, sanitiseMachineFilename, type Machine } from './machine.js';

export interface RegistryMachine {
  uuid: string;
  cfg: string;
}

export interface Medium {
  uuid: string;
  path: string;
  kind: 'hdd' | 'dvd' | 'floppy';
  format: string;
  /** Logical size in MB. */
  sizeMB: number;
  variant: string;
  /** Parent UUID for differencing images. */
  parent?: string;
}

export interface HostOnlyIf {
  name: string;
  ip: string;
  mask: string;
  mac: string;
  guid: string;
  dhcp: boolean;
}

export interface NatNet {
  name: string;
  network: string;
  enabled: boolean;
  dhcp: boolean;
  ipv6: boolean;
}

export interface DhcpServer {
  networkName: string;
  ip: string;
  mask: string;
  lower: string;
  upper: string;
  enabled: boolean;
}

export interface Registry {
  machines: RegistryMachine[];
  media: Medium[];
  hostonlyifs: HostOnlyIf[];
  natnets: NatNet[];
  dhcpservers: DhcpServer[];
}

export interface SeedMachine {
  name: string;
  uuid?: string;
  ostype?: string;
  memoryMB?: number;
  cpus?: number;
  /** Up to four of none, floppy, dvd, disk, net (missing → none). */
  boot?: string[];
  description?: string;
  /** Slots 1..n: attachment none|null|nat|bridged|intnet|hostonly|generic|natnetwork. */
  nics?: Array<{ attachment: string; target?: string; mac?: string; type?: string }>;
  state?: string;
  /** Machine folder (default `$VBOX_USER_HOME/VirtualBox VMs`). */
  folder?: string;
}

export function emptyRegistry(): Registry {
  return { machines: [], media: [], hostonlyifs: [], natnets: [], dhcpservers: [] };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Tokens of the locks/mutexes held by this process (to recognise our own stale entries). */
const heldTokens = new Set<string>();

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LockOwner {
  pid: number;
  token: string;
  kind: string;
  since: number;
  command?: string;
}

function readOwner(file: string): LockOwner | undefined | 'missing' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return 'missing';
  }
  try {
    return JSON.parse(text) as LockOwner;
  } catch {
    return undefined; // being written
  }
}

function ownerIsStale(file: string, o: LockOwner | undefined): boolean {
  if (o === undefined) {
    // Unparseable: created but not yet written, or garbage. Stale after a while.
    try {
      return Date.now() - fs.statSync(file).mtimeMs > 5000;
    } catch {
      return true;
    }
  }
  if (o.pid === process.pid) return !heldTokens.has(o.token);
  return !pidAlive(o.pid);
}

/** Create `file` exclusively with our owner record; break it if its owner is dead. */
function tryCreateLock(file: string, kind: string, command?: string): LockOwner | undefined {
  const owner: LockOwner = { pid: process.pid, token: crypto.randomBytes(8).toString('hex'), kind, since: Date.now(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, JSON.stringify(owner));
      } finally {
        fs.closeSync(fd);
      }
      heldTokens.add(owner.token);
      return owner;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        mkdirp(path.dirname(file));
        continue;
      }
      if (code !== 'EEXIST') throw e;
      const cur = readOwner(file);
      if (cur === 'missing') continue;
      if (!ownerIsStale(file, cur)) return undefined;
      // Break the stale lock: rename it away first so two breakers don't both win.
      const grave = `${file}.stale.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
      try {
        fs.renameSync(file, grave);
        fs.rmSync(grave, { force: true });
      } catch {
        /* someone else broke it */
      }
    }
  }
  return undefined;
}

function releaseLock(file: string, owner: LockOwner): void {
  heldTokens.delete(owner.token);
  const cur = readOwner(file);
  if (cur !== 'missing' && cur && cur.token === owner.token) {
    try {
      fs.rmSync(file, { force: true });
    } catch {
      /* ignore */
    }
  }
}

/**
 * mkdir -p without fs.mkdirSync's `recursive` (which spins forever on some
 * pseudo file systems, e.g. below /proc, in Node 20).
 */
export function mkdirp(dir: string): void {
  try {
    fs.mkdirSync(dir);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (fs.statSync(dir).isDirectory()) return;
      throw e;
    }
    if (code !== 'ENOENT') throw e;
  }
  const parent = path.dirname(dir);
  if (parent === dir) throw new Error(`cannot create ${dir}`);
  mkdirp(parent);
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

export function atomicWrite(file: string, data: string): void {
  mkdirp(path.dirname(file));
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** Access to one simulated host's state folder. Cheap to construct; holds no open files. */
export class SimStore {
  readonly home: string;
  constructor(home: string) {
    this.home = path.resolve(home);
  }

  get registryFile(): string {
    return path.join(this.home, 'vboxsim-registry.json');
  }
  private stateDir(...p: string[]): string {
    return path.join(this.home, 'vboxsim-state', ...p);
  }

  readRegistry(): Registry {
    try {
      const r = JSON.parse(fs.readFileSync(this.registryFile, 'utf8')) as Partial<Registry>;
      return { ...emptyRegistry(), ...r };
    } catch {
      return emptyRegistry();
    }
  }

  writeRegistry(r: Registry): void {
    atomicWrite(this.registryFile, JSON.stringify(r, null, 1) + '\n');
  }

  /** Run `fn` holding the internal mutex `name` (waits; never fails because of contention). */
  async withMutex<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const file = this.stateDir('mutex', `${name}.mtx`);
    let owner: LockOwner | undefined;
    let wait = 1;
    for (;;) {
      owner = tryCreateLock(file, 'mutex');
      if (owner) break;
      await sleep(wait);
      wait = Math.min(wait * 2, 20);
    }
    try {
      return await fn();
    } finally {
      releaseLock(file, owner);
    }
  }

  /** Read-modify-write the registry under its mutex. */
  async updateRegistry<T>(fn: (r: Registry) => T | Promise<T>): Promise<T> {
    return this.withMutex('registry', async () => {
      const r = this.readRegistry();
      const out = await fn(r);
      this.writeRegistry(r);
      return out;
    });
  }

  readMachine(cfg: string): Machine | undefined {
    try {
      return JSON.parse(fs.readFileSync(cfg, 'utf8')) as Machine;
    } catch {
      return undefined;
    }
  }

  writeMachine(m: Machine): void {
    atomicWrite(m.cfgFile, JSON.stringify(m, null, 1) + '\n');
  }

  /** Read-modify-write one VM's file under its mutex. `fn` may return false to skip writing. */
  async updateMachine<T>(uuid: string, cfg: string, fn: (m: Machine) => T): Promise<T> {
    return this.withMutex(`vm-${uuid}`, () => {
      const m = this.readMachine(cfg);
      if (!m) throw new Error(`vboxsim: settings file of ${uuid} disappeared`);
      const out = fn(m);
      this.writeMachine(m);
      return out;
    });
  }

  /** All registered machines with their settings (inaccessible ones as `undefined`). */
  listMachines(): Array<{ entry: RegistryMachine; machine: Machine | undefined }> {
    return this.readRegistry().machines.map((entry) => ({ entry, machine: this.readMachine(entry.cfg) }));
  }

  sessionLockFile(uuid: string): string {
    return this.stateDir('session', `${uuid}.lock`);
  }

  /** Try to take the VirtualBox session lock of a VM; undefined if somebody holds it. */
  tryLockSession(uuid: string, kind: 'write' | 'launch' | 'shared', command: string): LockOwner | undefined {
    return tryCreateLock(this.sessionLockFile(uuid), kind, command);
  }

  unlockSession(uuid: string, owner: LockOwner): void {
    releaseLock(this.sessionLockFile(uuid), owner);
  }

  /** The live holder of a VM's session lock, if any (stale ones are reported as free). */
  sessionHolder(uuid: string): LockOwner | undefined {
    const file = this.sessionLockFile(uuid);
    const o = readOwner(file);
    if (o === 'missing') return undefined;
    if (ownerIsStale(file, o)) return undefined;
    return o ?? { pid: 0, token: '', kind: 'unknown', since: 0 };
  }

  /** Decrement a shared fault counter; true if the fault still applies to this invocation. */
  async takeFault(id: string, count: number | undefined): Promise<boolean> {
    if (count === undefined) return true;
    return this.withMutex('faults', () => {
      const file = this.stateDir('faults.json');
      let used: Record<string, number> = {};
      try {
        used = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>;
      } catch {
        used = {};
      }
      const n = used[id] ?? 0;
      if (n >= count) return false;
      used[id] = n + 1;
      atomicWrite(file, JSON.stringify(used));
      return true;
    });
  }

  /**
   * Seed a registered VM directly (no VBoxManage run): for tests and benchmarks
   * that need many VMs fast. Same defaults as `createvm --register`; `nics`
   * replace slots 1..n; `state` may be poweroff, running, paused, saved or aborted.
   */
  async seedMachine(opts: SeedMachine): Promise<Machine> {
    const uuid = opts.uuid ?? crypto.randomUUID();
    const ostype = findOsType(opts.ostype ?? 'Other') ?? 'Other';
    const folder = opts.folder ?? path.join(this.home, 'VirtualBox VMs');
    const safe = sanitiseMachineFilename(opts.name);
    const cfg = path.join(folder, safe, `${safe}.vbox`);
    const now = Date.now();
    const m = newMachine({ uuid, name: opts.name, ostype, cfgFile: cfg, groups: [], defaults: false, now });
    if (opts.memoryMB !== undefined) m.memory = opts.memoryMB;
    if (opts.cpus !== undefined) m.cpus = opts.cpus;
    if (opts.description !== undefined) m.description = opts.description;
    if (opts.boot) m.boot = [0, 1, 2, 3].map((i) => opts.boot![i] ?? 'none');
    (opts.nics ?? []).forEach((n, i) => {
      const nic = m.nics[i]!;
      nic.enabled = n.attachment !== 'none';
      nic.attachment = n.attachment === 'none' ? nic.attachment : n.attachment;
      if (n.mac) nic.mac = n.mac.replace(/[:-]/g, '').toUpperCase();
      if (n.type) nic.type = n.type;
      if (n.target !== undefined) {
        if (n.attachment === 'bridged') nic.bridge = n.target;
        else if (n.attachment === 'hostonly') nic.hostonly = n.target;
        else if (n.attachment === 'intnet') nic.intnet = n.target;
        else if (n.attachment === 'natnetwork') nic.natnet = n.target;
        else if (n.attachment === 'generic') nic.generic = n.target;
      }
    });
    const state = opts.state ?? 'poweroff';
    setState(m, state, now);
    if (state === 'running' || state === 'paused') m.sessionName = 'headless';
    if (state === 'saved') m.stateFile = path.join(folder, safe, 'Snapshots', `${new Date(now).toISOString().replace(/:/g, '-')}.sav`);
    await this.updateRegistry((r) => {
      if (r.machines.some((x) => x.uuid === uuid)) throw new Error(`vboxsim: a machine with UUID ${uuid} is already registered`);
      if (fs.existsSync(cfg)) throw new Error(`vboxsim: settings file ${cfg} already exists`);
      this.writeMachine(m);
      r.machines.push({ uuid, cfg });
    });
    return m;
  }

  /** Force a VM's state (tests): poweroff, running, paused, saved, aborted, gurumeditation… */
  async setMachineState(uuid: string, state: string): Promise<void> {
    const e = this.readRegistry().machines.find((x) => x.uuid === uuid);
    if (!e) throw new Error(`vboxsim: no machine ${uuid}`);
    await this.updateMachine(uuid, e.cfg, (m) => {
      setState(m, state, Date.now());
      m.runningAt = undefined;
      m.acpiStopAt = undefined;
      m.poweroffAt = undefined;
      m.sessionName = state === 'running' || state === 'paused' ? 'headless' : undefined;
      if (state !== 'saved' && state !== 'aborted-saved') m.stateFile = undefined;
    });
  }

  /** Forget the fault counters (e.g. when a test rewrites vboxsim.json). */
  resetFaultCounters(): void {
    fs.rmSync(this.stateDir('faults.json'), { force: true });
  }
}
