/** A counting semaphore (FIFO): bounds VBoxManage processes and SSH channels. */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** Highest number of holders seen at once. */
  maxSeen = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
  }

  async acquire(): Promise<void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((r) => this.waiters.push(r)); // the releaser hands its slot over
    this.maxSeen = Math.max(this.maxSeen, this.active);
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }

  get inUse(): number {
    return this.active;
  }
}
