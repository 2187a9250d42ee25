/**
 * The one table that turns a VirtualBox machine state into a libvirt
 * (state, reason) pair, whether the domain is "active" (has an id, is listed
 * by `virsh list`), and which CONNECT_LIST_ALL_DOMAINS state bucket it falls
 * in. docs/states.md is the human version of this table; keep them in sync.
 */
import type { VBoxMachineState } from '../vbox/types.js';

/** virDomainState */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;
export type DomainStateCode = (typeof DomainState)[keyof typeof DomainState];

/** Reasons, per state (virDomainRunningReason, virDomainPausedReason, …). */
export const RunningReason = { UNKNOWN: 0, BOOTED: 1, MIGRATED: 2, RESTORED: 3, FROM_SNAPSHOT: 4, UNPAUSED: 5 } as const;
export const PausedReason = { UNKNOWN: 0, USER: 1, MIGRATION: 2, SAVE: 3, SNAPSHOT: 9, CRASHED: 10, STARTING_UP: 11 } as const;
export const ShutdownReason = { UNKNOWN: 0, USER: 1 } as const;
export const ShutoffReason = { UNKNOWN: 0, SHUTDOWN: 1, DESTROYED: 2, CRASHED: 3, MIGRATED: 4, SAVED: 5, FAILED: 6, FROM_SNAPSHOT: 7 } as const;

/** What the driver last did to a VM, used to refine the reason of the resulting state. */
export type LastAction = 'start' | 'restore' | 'resume' | 'destroy' | 'shutdown' | 'suspend' | 'save';

export interface MappedState {
  state: DomainStateCode;
  reason: number;
  /** libvirt "active": has a positive id, listed by `virsh list`, IS_ACTIVE = 1. */
  active: boolean;
  /** A managed-save image exists (VirtualBox saved state file). */
  managedSave: boolean;
}

interface Row {
  state: DomainStateCode;
  reason: number;
  active: boolean;
  managedSave?: boolean;
}

/**
 * The table. Every VBoxMachineState appears exactly once (the compiler checks
 * the Record is complete).
 */
export const STATE_TABLE: Readonly<Record<VBoxMachineState, Row>> = {
  // powered off
  poweroff:                   { state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN, active: false },
  saved:                      { state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED, active: false, managedSave: true },
  'aborted-saved':            { state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED, active: false, managedSave: true },
  aborted:                    { state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED, active: false },
  teleported:                 { state: DomainState.SHUTOFF, reason: ShutoffReason.MIGRATED, active: false },
  // offline operations on a stopped VM: still stopped for libvirt
  snapshotting:               { state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN, active: false },
  restoringsnapshot:          { state: DomainState.SHUTOFF, reason: ShutoffReason.FROM_SNAPSHOT, active: false },
  deletingsnapshot:           { state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN, active: false },
  settingup:                  { state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN, active: false },
  // running, and transitions that end running
  running:                    { state: DomainState.RUNNING, reason: RunningReason.BOOTED, active: true },
  starting:                   { state: DomainState.RUNNING, reason: RunningReason.BOOTED, active: true },
  restoring:                  { state: DomainState.RUNNING, reason: RunningReason.RESTORED, active: true },
  teleporting:                { state: DomainState.RUNNING, reason: RunningReason.MIGRATED, active: true },
  teleportingin:              { state: DomainState.RUNNING, reason: RunningReason.MIGRATED, active: true },
  livesnapshotting:           { state: DomainState.RUNNING, reason: RunningReason.UNKNOWN, active: true },
  onlinesnapshotting:         { state: DomainState.RUNNING, reason: RunningReason.UNKNOWN, active: true },
  deletingsnapshotlive:       { state: DomainState.RUNNING, reason: RunningReason.UNKNOWN, active: true },
  // paused
  paused:                     { state: DomainState.PAUSED, reason: PausedReason.USER, active: true },
  saving:                     { state: DomainState.PAUSED, reason: PausedReason.SAVE, active: true },
  teleportingpausedvm:        { state: DomainState.PAUSED, reason: PausedReason.MIGRATION, active: true },
  deletingsnapshotlivepaused: { state: DomainState.PAUSED, reason: PausedReason.UNKNOWN, active: true },
  gurumeditation:             { state: DomainState.PAUSED, reason: PausedReason.CRASHED, active: true },
  // going down
  stopping:                   { state: DomainState.SHUTDOWN, reason: ShutdownReason.USER, active: true },
  // VirtualBox could not say
  unknown:                    { state: DomainState.NOSTATE, reason: 0, active: false },
};

/** One frozen answer per (VirtualBox state, last action): GetState asks on every call. */
const mapped = new Map<string, Map<LastAction | undefined, Readonly<MappedState>>>();

/**
 * Map a VirtualBox state. `last` (what this daemon last did to the VM, if
 * anything, since the VM entered this state) refines the reason the way libvirt
 * would report it: a VM we destroyed is "shut off (destroyed)", one we shut
 * down is "shut off (shutdown)", one we resumed is "running (unpaused)".
 */
export function mapState(vbox: VBoxMachineState | string, last?: LastAction): Readonly<MappedState> {
  let byLast = mapped.get(vbox);
  const hit = byLast?.get(last);
  if (hit) return hit;
  const m = Object.freeze(computeState(vbox, last));
  // bounded: the table's states (plus any unknown word VirtualBox printed) × 8 actions
  if (!byLast) {
    if (mapped.size >= 256) mapped.clear();
    mapped.set(vbox, (byLast = new Map()));
  }
  byLast.set(last, m);
  return m;
}

function computeState(vbox: VBoxMachineState | string, last?: LastAction): MappedState {
  const row: Row = (STATE_TABLE as Record<string, Row>)[vbox] ?? STATE_TABLE.unknown;
  let reason = row.reason;
  if (vbox === 'poweroff') {
    if (last === 'destroy') reason = ShutoffReason.DESTROYED;
    else if (last === 'shutdown') reason = ShutoffReason.SHUTDOWN;
  } else if (vbox === 'running') {
    if (last === 'resume') reason = RunningReason.UNPAUSED;
    else if (last === 'restore') reason = RunningReason.RESTORED;
  }
  return { state: row.state, reason, active: row.active, managedSave: row.managedSave ?? false };
}

const pairs = new WeakMap<Readonly<MappedState>, Readonly<{ state: number; reason: number }>>();

/** GetState's reply for a mapped state: one frozen object per mapped state, made once. */
export function stateAndReason(m: Readonly<MappedState>): Readonly<{ state: number; reason: number }> {
  let p = pairs.get(m);
  if (!p) pairs.set(m, (p = Object.freeze({ state: m.state, reason: m.reason })));
  return p;
}

export function isActiveState(vbox: VBoxMachineState | string): boolean {
  return mapState(vbox).active;
}

/** virsh's words for a state number (tools/virsh-domain-monitor.c), for logs and docs. */
export const STATE_WORDS = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'] as const;

export function stateWord(state: number): string {
  return STATE_WORDS[state] ?? 'no state';
}
