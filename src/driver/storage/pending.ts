/**
 * Pending configuration: a DOMAIN_DEFINE_XML that VirtualBox cannot apply now
 * (the VM is running, so `modifyvm` cannot lock it) is kept here and applied at
 * the next power-off (`applyPending`, called by the define/undefine handlers on
 * every visit and by the driver after destroy/shutdown). Kept in memory and, with
 * a state directory, in `<stateDir>/pending.json` so a restart does not lose it.
 * The inactive XML (VIR_DOMAIN_XML_INACTIVE) shows it: `overlayPending(vm, c)`.
 */
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';
import type { OpContext, VBoxHost, VmChanges, VmInfo } from '../../vbox/types.js';

/** Merge b over a (per-NIC slot merge). */
export function mergeChanges(a: VmChanges, b: VmChanges): VmChanges {
  const out: VmChanges = { ...a, ...b };
  if (a.nics || b.nics) {
    const bySlot = new Map<number, NonNullable<VmChanges['nics']>[number]>();
    for (const n of a.nics ?? []) bySlot.set(n.slot, { ...n });
    for (const n of b.nics ?? []) bySlot.set(n.slot, { ...(bySlot.get(n.slot) ?? {}), ...n });
    out.nics = [...bySlot.values()].sort((x, y) => x.slot - y.slot);
  }
  return out;
}

/** The VM as it will be once `c` is applied (what modifyvm would make of it). */
export function overlayPending(vm: VmInfo, c: VmChanges | undefined): VmInfo {
  if (!c) return vm;
  const out: VmInfo = structuredClone(vm);
  // (a pending rename is not shown: the libvirt name is the driver's, passed to domainXml)
  if (c.memoryMB !== undefined) out.memoryMB = c.memoryMB;
  if (c.cpus !== undefined) out.cpus = c.cpus;
  if (c.boot) out.boot = [...c.boot, 'none', 'none', 'none', 'none'].slice(0, 4);
  if (c.description !== undefined) out.description = c.description;
  if (c.firmware !== undefined) out.firmware = c.firmware;
  if (c.autostart !== undefined) out.autostart = c.autostart;
  for (const n of c.nics ?? []) {
    let cur = out.nics.find((x) => x.slot === n.slot);
    if (!cur) {
      cur = { slot: n.slot, attachment: 'none', mac: n.mac ?? '000000000000', model: n.model ?? '82540EM', cableConnected: true };
      out.nics.push(cur);
    }
    if (n.attachment !== undefined) cur.attachment = n.attachment;
    if (n.target !== undefined) cur.target = n.target;
    if (n.mac !== undefined) cur.mac = n.mac;
    if (n.model !== undefined) cur.model = n.model;
    if (n.cableConnected !== undefined) cur.cableConnected = n.cableConnected;
  }
  out.nics.sort((x, y) => x.slot - y.slot);
  return out;
}

const RUNNING_LIKE = new Set(['running', 'paused', 'starting', 'stopping', 'saving', 'restoring', 'livesnapshotting',
  'onlinesnapshotting', 'teleporting', 'teleportingpausedvm', 'teleportingin', 'deletingsnapshotlive',
  'deletingsnapshotlivepaused', 'gurumeditation', 'settingup', 'snapshotting', 'restoringsnapshot', 'deletingsnapshot']);

/** true while the VM has a running session (VirtualBox cannot unregister it). */
export function isRunningLike(vm: Pick<VmInfo, 'state'>): boolean {
  return RUNNING_LIKE.has(vm.state);
}

/** true when VirtualBox will accept modifyvm: no session, and no saved state (a saved VM is not mutable). */
export function canModify(vm: Pick<VmInfo, 'state'>): boolean {
  return !RUNNING_LIKE.has(vm.state) && vm.state !== 'saved' && vm.state !== 'aborted-saved';
}

export class PendingStore {
  private readonly map = new Map<string, VmChanges>();
  private readonly file?: string;

  constructor(stateDir?: string) {
    if (stateDir) {
      this.file = path.join(stateDir, 'pending.json');
      try {
        if (fsSync.existsSync(this.file)) {
          const saved = JSON.parse(fsSync.readFileSync(this.file, 'utf8')) as Record<string, VmChanges>;
          for (const [k, v] of Object.entries(saved)) this.map.set(k, v);
        }
      } catch {
        /* unreadable state: start without pending changes */
      }
    }
  }

  get(uuid: string): VmChanges | undefined {
    return this.map.get(uuid);
  }

  uuids(): string[] {
    return [...this.map.keys()];
  }

  async add(uuid: string, c: VmChanges): Promise<VmChanges> {
    const merged = mergeChanges(this.map.get(uuid) ?? {}, c);
    this.map.set(uuid, merged);
    await this.save();
    return merged;
  }

  async clear(uuid: string): Promise<void> {
    if (this.map.delete(uuid)) await this.save();
  }

  private async save(): Promise<void> {
    if (!this.file) return;
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(Object.fromEntries(this.map), null, 2));
    await fs.rename(tmp, this.file);
  }

  /**
   * Apply the VM's pending changes if it is powered off now. Returns true when
   * something was applied. A VM that no longer exists loses its pending entry.
   */
  async applyIfStopped(host: VBoxHost, uuid: string, ctx: OpContext): Promise<boolean> {
    const c = this.map.get(uuid);
    if (!c) return false;
    let vm: VmInfo;
    try {
      vm = await host.getVm(uuid, { fresh: true });
    } catch (e) {
      if ((e as { kind?: string }).kind === 'not-found') await this.clear(uuid);
      return false;
    }
    if (!canModify(vm)) return false;
    await host.modifyVm(uuid, c, ctx);
    await this.clear(uuid);
    host.invalidate(uuid);
    return true;
  }
}
