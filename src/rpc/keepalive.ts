/**
 * Server-side keepalive, as libvirtd does it (keepalive_interval 5,
 * keepalive_count 5): once the client has probed feature 10, PING it after
 * `interval` seconds without receiving anything, again every `interval`
 * seconds, and give up after `count` unanswered PINGs (libvirtd closed an
 * idle client at ~30 s: captures/raw-keepalive-probe-then-idle). Anything
 * received from the client counts as an answer. No I/O of its own.
 */
export interface KeepaliveOptions {
  /** Seconds of silence before a PING (libvirtd default 5). <= 0 disables PINGs. */
  interval: number;
  /** Unanswered PINGs before the connection is closed (libvirtd default 5). */
  count: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = { interval: 5, count: 5 };

export class Keepalive {
  private timer: NodeJS.Timeout | null = null;
  private lastSeen = Date.now();
  private unanswered = 0;
  private running = false;
  private readonly intervalMs: number;

  constructor(
    private readonly opts: KeepaliveOptions,
    private readonly sendPing: () => void,
    private readonly onDead: () => void,
  ) {
    this.intervalMs = opts.interval * 1000;
  }

  get active(): boolean {
    return this.running;
  }

  /** PINGs sent since the client last said anything. */
  get pending(): number {
    return this.unanswered;
  }

  start(): void {
    if (this.running || this.intervalMs <= 0) return;
    this.running = true;
    this.lastSeen = Date.now();
    this.arm(this.intervalMs);
  }

  /** The client sent something (a call, a PING, a PONG). Cheap: no timer churn. */
  touch(): void {
    this.lastSeen = Date.now();
    this.unanswered = 0;
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = null;
    if (!this.running) return;
    const idle = Date.now() - this.lastSeen;
    if (this.unanswered === 0 && idle < this.intervalMs) {
      this.arm(this.intervalMs - idle);
      return;
    }
    if (this.unanswered >= this.opts.count) {
      this.stop();
      this.onDead();
      return;
    }
    this.unanswered++;
    this.sendPing();
    this.arm(this.intervalMs);
  }
}
