/** Per-invocation context shared by the command handlers. */
import * as path from 'node:path';
import { SimStore, type RegistryMachine } from './store.js';
import { delayFor, type SimSettings } from './settings.js';
import { parseUuid, type CallSite, notFound } from './errors.js';
import { settle, type Machine } from './machine.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Ctx {
  stdout = '';
  stderr = '';
  private delayed = false;
  /** `vm-dies-on-start` fault active for this invocation. */
  vmDiesOnStart = false;
  /** Set by a command that wants its delay applied at a specific point (e.g. after locking). */
  constructor(
    readonly env: Record<string, string | undefined>,
    readonly store: SimStore,
    readonly settings: SimSettings,
    readonly command: string,
    readonly sub: string | undefined,
  ) {}

  out(s: string): void {
    this.stdout += s;
  }
  err(s: string): void {
    this.stderr += s;
  }

  /** Apply the configured delay of this command once (commands call it while holding their lock). */
  async commandDelay(): Promise<void> {
    if (this.delayed) return;
    this.delayed = true;
    const ms = delayFor(this.settings, this.command, this.sub);
    if (ms > 0) await sleep(ms);
  }

  now(): number {
    return Date.now();
  }

  /**
   * FindMachine: UUID (braces optional, any case), exact case-sensitive name
   * (first registered wins), or the settings-file path. Throws the recorded
   * not-found error at `site`. Returns the settled machine (pending lazy
   * transitions applied in memory, not written).
   */
  find(arg: string, site: CallSite): { entry: RegistryMachine; machine: Machine } {
    const f = this.tryFind(arg);
    if (!f) throw notFound(arg, site);
    return f;
  }

  tryFind(arg: string): { entry: RegistryMachine; machine: Machine } | undefined {
    const reg = this.store.readRegistry();
    const u = parseUuid(arg);
    const all = reg.machines.map((entry) => ({ entry, machine: this.store.readMachine(entry.cfg) }));
    let hit = u ? all.find((x) => x.entry.uuid === u) : undefined;
    if (!hit) hit = all.find((x) => x.machine?.name === arg);
    if (!hit && arg.includes('/')) {
      const p = path.resolve(arg);
      hit = all.find((x) => x.entry.cfg === p);
    }
    if (!hit || !hit.machine) return undefined;
    settle(hit.machine, this.now());
    return { entry: hit.entry, machine: hit.machine };
  }
}
