/**
 * Slows down password/key guessing: every failed attempt from an address
 * delays that address's next rejection (doubling, capped), and the count
 * decays after a quiet period. Also counts connections that have not
 * authenticated yet so a listener can refuse floods.
 */
export interface ThrottleOptions {
  /** Delay after the first failure, ms (default 500). */
  baseDelayMs?: number;
  /** Upper bound of the delay, ms (default 8000). */
  maxDelayMs?: number;
  /** Failures are forgotten after this long without one, ms (default 10 min). */
  forgetAfterMs?: number;
  /** Most addresses remembered (oldest dropped first; default 10000). */
  maxEntries?: number;
}

export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  private readonly base: number;
  private readonly max: number;
  private readonly forget: number;
  private readonly maxEntries: number;

  constructor(opts: ThrottleOptions = {}) {
    this.base = opts.baseDelayMs ?? 500;
    this.max = opts.maxDelayMs ?? 8000;
    this.forget = opts.forgetAfterMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  /** Record a failure from `key` (an address without port); returns the delay to apply before answering. */
  fail(key: string, now = Date.now()): number {
    const e = this.failures.get(key);
    const count = e && now - e.last < this.forget ? e.count + 1 : 1;
    this.failures.delete(key);
    this.failures.set(key, { count, last: now });
    while (this.failures.size > this.maxEntries) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
    return this.delayFor(count);
  }

  /** How many recent failures `key` has. */
  count(key: string, now = Date.now()): number {
    const e = this.failures.get(key);
    return e && now - e.last < this.forget ? e.count : 0;
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  delayFor(count: number): number {
    if (count <= 0) return 0;
    return Math.min(this.max, this.base * 2 ** Math.min(20, count - 1));
  }
}

/** Strip the port from `1.2.3.4:55` / `[::1]:55`. */
export function hostOf(address: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(address);
  if (m) return m[1]!;
  const i = address.lastIndexOf(':');
  return i > 0 && address.indexOf(':') === i ? address.slice(0, i) : address;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
