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
  /** No kernel driver (wrapper warning mode): the VM process exits before powering up; state unchanged. */
  noDriver = false;
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
    let entry: RegistryMachine | undefined;
    let machine: Machine | undefined;
    if (u) {
      entry = reg.machines.find((x) => x.uuid === u);
      machine = entry && this.store.readMachine(entry.cfg);
    }
    if (!machine) {
      // name lookup: registration order, first match wins (reads files one by one)
      for (const e of reg.machines) {
        const m = this.store.readMachine(e.cfg);
        if (m?.name === arg) {
          entry = e;
          machine = m;
          break;
        }
      }
    }
    if (!machine && arg.includes('/')) {
      const p = path.resolve(arg);
      entry = reg.machines.find((x) => x.cfg === p);
      machine = entry && this.store.readMachine(entry.cfg);
    }
    if (!entry || !machine) return undefined;
    settle(machine, this.now());
    return { entry, machine };
  }

  /** A registered machine whose settings file cannot be read (VirtualBox: inaccessible). */
  inaccessible(arg: string): RegistryMachine | undefined {
    const u = parseUuid(arg);
    if (!u) return undefined;
    const e = this.store.readRegistry().machines.find((x) => x.uuid === u);
    return e && !this.store.readMachine(e.cfg) ? e : undefined;
  }
}
