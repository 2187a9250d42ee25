/** A counting semaphore (FIFO): bounds VBoxManage processes and SSH channels. */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** How many of the first waiters are urgent ones. */
  private urgentWaiting = 0;
  /** Highest number of holders seen at once. */
  maxSeen = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
  }

  /** `urgent`: wait at the front of the queue (still FIFO among urgent waiters). */
  async acquire(urgent = false): Promise<void> {
    if (this.active < this.limit) this.active++;
    else if (!urgent) await new Promise<void>((r) => this.waiters.push(r)); // the releaser hands its slot over
    else await new Promise<void>((r) => this.waiters.splice(this.urgentWaiting++, 0, r));
    this.maxSeen = Math.max(this.maxSeen, this.active);
  }

  release(): void {
    if (this.urgentWaiting > 0) this.urgentWaiting--;
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }

  get inUse(): number {
    return this.active;
  }
}
