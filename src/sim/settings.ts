/**
 * Simulator controls: environment variables overlaid by `$VBOX_USER_HOME/vboxsim.json`
 * (re-read on every invocation, so a test can change them while a daemon runs).
 * Documented in docs/vboxsim.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type FaultMode =
  | 'hang'
  | 'crash'
  | 'lock'
  | 'garbage'
  | 'error-exit0'
  | 'vm-dies-on-start'
  | 'svc-down';

export const FAULT_MODES: readonly FaultMode[] = [
  'hang',
  'crash',
  'lock',
  'garbage',
  'error-exit0',
  'vm-dies-on-start',
  'svc-down',
];

export interface FaultSpec {
  mode: FaultMode;
  /** Command word (`startvm`, `showvminfo`, `list`…) or `*` / absent for every command. */
  command?: string;
  /** For `controlvm`: the subcommand (`poweroff`, `acpipowerbutton`…); optional. */
  subcommand?: string;
  /** VM name or UUID the fault is limited to (matched against the command's VM argument). */
  vm?: string;
  /** How many invocations it hits; absent = unlimited. Shared by all processes. */
  count?: number;
  /** Stable id for the shared counter; defaults to the JSON of the spec. */
  id?: string;
}

export interface SimSettings {
  /** Delay added to every command (ms). */
  delayMs: number;
  /** Per-command delay overrides (`list`, `showvminfo`, `startvm`, `controlvm`, `controlvm poweroff`…). */
  delays: Record<string, number>;
  /** How long startvm takes (state `starting` meanwhile). */
  startMs: number;
  /** How long the guest takes to react to the ACPI power button. */
  acpiDelayMs: number;
  /** The guest ignores the ACPI power button. */
  acpiIgnore: boolean;
  /** Length of the `stopping` phase after the guest reacted / poweroff. */
  stoppingMs: number;
  /** After a VM stopped, the session stays locked this long (VirtualBox's unlock window). */
  unlockMs: number;
  /** Write the invocation log. */
  log: boolean;
  /** Path of the invocation log. */
  logFile: string;
  /** Faults to inject. */
  faults: FaultSpec[];
  /** Host facts for `list hostinfo`. */
  host: {
    cpus: number;
    mhz: number;
    memoryMB: number;
    cpuModel: string;
    /** Host interfaces `list bridgedifs` shows. */
    bridgedIfs: Array<{ name: string; guid: string; ip: string; mask: string; mac: string }>;
  };
  /** Folder for new VMs (`list systemproperties` → Default machine folder). */
  machineFolder: string;
  /** Emulate "no display" (gui/sdl/separate fail); default: true unless DISPLAY is set. */
  noDisplay: boolean;
  /** The host has an autostart database (VBOXAUTOSTART_DB); without it `--autostart-enabled` changes fail. */
  autostartDb: boolean;
  /** VBox.sh wrapper warnings printed on stdout before the output: `kernel-module`, `no-device`, `user-env`. */
  wrapperWarnings: string[];
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function bool(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  return /^(1|true|yes|on)$/i.test(v);
}

export function userHome(env: Record<string, string | undefined>): string {
  if (env.VBOX_USER_HOME) return path.resolve(env.VBOX_USER_HOME);
  const home = env.HOME ?? '/root';
  const xdg = env.XDG_CONFIG_HOME ?? path.join(home, '.config');
  return path.join(xdg, 'VirtualBox');
}

export function settingsFile(home: string): string {
  return path.join(home, 'vboxsim.json');
}

export class SettingsError extends Error {
  readonly code = 'VBOXSIM_BAD_SETTINGS';
}

/** Read the effective settings; a malformed vboxsim.json raises SettingsError. */
export function loadSettings(env: Record<string, string | undefined>, home = userHome(env)): SimSettings {
  const s: SimSettings = {
    delayMs: num(env.VBOXSIM_DELAY_MS) ?? 0,
    delays: {},
    startMs: num(env.VBOXSIM_START_MS) ?? 300,
    acpiDelayMs: num(env.VBOXSIM_ACPI_DELAY_MS) ?? 1500,
    acpiIgnore: bool(env.VBOXSIM_ACPI_IGNORE) ?? false,
    stoppingMs: num(env.VBOXSIM_STOPPING_MS) ?? 200,
    unlockMs: num(env.VBOXSIM_UNLOCK_MS) ?? 0,
    log: bool(env.VBOXSIM_LOG) ?? false,
    logFile: env.VBOXSIM_LOG_FILE || path.join(home, 'vboxsim-invocations.jsonl'),
    faults: [],
    host: {
      cpus: 8,
      mhz: 2400,
      memoryMB: 32768,
      cpuModel: 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz',
      bridgedIfs: [
        { name: 'eth0', guid: '30687465-0000-4000-8000-0242ac110002', ip: '192.168.1.10', mask: '255.255.255.0', mac: '02:42:ac:11:00:02' },
      ],
    },
    machineFolder: env.VBOXSIM_MACHINE_FOLDER || (env.VBOX_USER_HOME ? path.join(home, 'VirtualBox VMs') : path.join(env.HOME ?? '/root', 'VirtualBox VMs')),
    noDisplay: !env.DISPLAY && !env.WAYLAND_DISPLAY,
    autostartDb: bool(env.VBOXSIM_AUTOSTART_DB) ?? true,
    wrapperWarnings: (env.VBOXSIM_WRAPPER_WARNINGS ?? '').split(',').map((w) => w.trim()).filter(Boolean),
  };
  if (env.VBOXSIM_DELAYS) Object.assign(s.delays, parseJson(env.VBOXSIM_DELAYS, 'VBOXSIM_DELAYS'));
  if (env.VBOXSIM_FAULTS) s.faults.push(...asFaults(parseJson(env.VBOXSIM_FAULTS, 'VBOXSIM_FAULTS')));
  let text: string | undefined;
  try {
    text = fs.readFileSync(settingsFile(home), 'utf8');
  } catch {
    text = undefined;
  }
  if (text !== undefined && text.trim() !== '') {
    const j = parseJson(text, 'vboxsim.json') as Record<string, unknown>;
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new SettingsError('vboxsim.json: not an object');
    const n = (k: string) => (typeof j[k] === 'number' && (j[k] as number) >= 0 ? (j[k] as number) : undefined);
    s.delayMs = n('delayMs') ?? s.delayMs;
    s.startMs = n('startMs') ?? s.startMs;
    s.acpiDelayMs = n('acpiDelayMs') ?? s.acpiDelayMs;
    s.stoppingMs = n('stoppingMs') ?? s.stoppingMs;
    s.unlockMs = n('unlockMs') ?? s.unlockMs;
    if (typeof j.acpiIgnore === 'boolean') s.acpiIgnore = j.acpiIgnore;
    if (typeof j.log === 'boolean') s.log = j.log;
    if (typeof j.logFile === 'string') s.logFile = path.resolve(home, j.logFile);
    if (typeof j.machineFolder === 'string') s.machineFolder = path.resolve(home, j.machineFolder);
    if (typeof j.noDisplay === 'boolean') s.noDisplay = j.noDisplay;
    if (typeof j.autostartDb === 'boolean') s.autostartDb = j.autostartDb;
    if (Array.isArray(j.wrapperWarnings)) s.wrapperWarnings = j.wrapperWarnings.filter((w): w is string => typeof w === 'string');
    if (j.delays && typeof j.delays === 'object') {
      for (const [k, v] of Object.entries(j.delays as Record<string, unknown>)) {
        if (typeof v === 'number' && v >= 0) s.delays[k] = v;
      }
    }
    if (j.faults !== undefined) s.faults.push(...asFaults(j.faults));
    if (j.host && typeof j.host === 'object') Object.assign(s.host, j.host);
  }
  return s;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SettingsError(`${what}: invalid JSON (${(e as Error).message})`);
  }
}

function asFaults(v: unknown): FaultSpec[] {
  if (!Array.isArray(v)) throw new SettingsError('faults: must be an array');
  return v.map((f, i) => {
    if (!f || typeof f !== 'object') throw new SettingsError(`faults[${i}]: not an object`);
    const o = f as Record<string, unknown>;
    if (!FAULT_MODES.includes(o.mode as FaultMode)) throw new SettingsError(`faults[${i}]: unknown mode ${String(o.mode)}`);
    return {
      mode: o.mode as FaultMode,
      command: typeof o.command === 'string' ? o.command : undefined,
      subcommand: typeof o.subcommand === 'string' ? o.subcommand : undefined,
      vm: typeof o.vm === 'string' ? o.vm : undefined,
      count: typeof o.count === 'number' ? o.count : undefined,
      id: typeof o.id === 'string' ? o.id : undefined,
    };
  });
}

/** The delay for a command: `delays["controlvm poweroff"]`, then `delays[cmd]`, then `delays.default`/delayMs. */
export function delayFor(s: SimSettings, command: string, sub?: string): number {
  if (sub && s.delays[`${command} ${sub}`] !== undefined) return s.delays[`${command} ${sub}`]!;
  if (s.delays[command] !== undefined) return s.delays[command]!;
  if (s.delays.default !== undefined) return s.delays.default;
  return s.delayMs;
}
