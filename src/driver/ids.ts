/**
 * libvirt domain ids. A domain that is active gets a positive id the first
 * time the daemon sees it active and keeps it while it stays active; an
 * inactive domain has id -1. Ids count up from 1 and are never reused while
 * the daemon lives (like libvirtd's per-driver counter).
 */
export class IdTable {
  private readonly byUuid = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private next = 1;

  /** The id of an active domain, assigning the next one if it has none. */
  assign(uuid: string): number {
    let id = this.byUuid.get(uuid);
    if (id === undefined) {
      id = this.next++;
      this.byUuid.set(uuid, id);
      this.byId.set(id, uuid);
    }
    return id;
  }

  /** The domain became inactive: it loses its id (which is never handed out again). */
  release(uuid: string): void {
    const id = this.byUuid.get(uuid);
    if (id === undefined) return;
    this.byUuid.delete(uuid);
    this.byId.delete(id);
  }

  /** Drop every domain not in `uuids` (unregistered VMs). */
  retain(uuids: ReadonlySet<string>): void {
    for (const uuid of [...this.byUuid.keys()]) if (!uuids.has(uuid)) this.release(uuid);
  }

  idOf(uuid: string): number | undefined {
    return this.byUuid.get(uuid);
  }

  uuidOf(id: number): string | undefined {
    return this.byId.get(id);
  }

  /** The id the next domain to start will get. */
  get nextId(): number {
    return this.next;
  }
}
