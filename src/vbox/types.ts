/**
 * The contract between the libvirt driver layer (src/driver) and the VirtualBox
 * backends (src/vbox). The driver speaks only this interface; it never runs
 * VBoxManage or reads simulator files itself.
 *
 * One implementation, `VBoxManageHost` (src/vbox/host.ts), turns each method into
 * VBoxManage invocations through a `Runner`:
 *   - `InProcessSimRunner`  runs the simulator's command line in this process (`--backend sim`)
 *   - `LocalRunner`         spawns VBoxManage (or `vboxsim`) with execa (`--backend vboxmanage`)
 *   - `SshRunner`           runs VBoxManage on another host over ssh2 (`--vbox-host ssh://…`)
 * so every backend goes through the same parsers, error mapping, locking and caching.
 */

/** VirtualBox machine states as `showvminfo --machinereadable` prints `VMState`. */
export type VBoxMachineState =
  | 'poweroff' | 'saved' | 'teleported' | 'aborted' | 'aborted-saved'
  | 'running' | 'paused' | 'gurumeditation' | 'teleporting' | 'livesnapshotting'
  | 'starting' | 'stopping' | 'saving' | 'restoring' | 'teleportingpausedvm'
  | 'teleportingin' | 'deletingsnapshotlive' | 'deletingsnapshotlivepaused'
  | 'onlinesnapshotting' | 'restoringsnapshot' | 'deletingsnapshot' | 'settingup'
  | 'snapshotting' | 'unknown';

/** One registered machine as seen in the host snapshot (`list vms` + `list runningvms`). */
export interface VmSummary {
  /** Lowercase 8-4-4-4-12 UUID, the VM's stable identity. */
  uuid: string;
  /** The VirtualBox name, raw (may contain spaces, quotes, Unicode…). */
  name: string;
  /** false for `"<inaccessible>"` entries. */
  accessible: boolean;
  /**
   * Best known state. From list membership (in `list runningvms` → running or paused)
   * refined by the cached details when they are consistent with it; see
   * docs/vbox-backend.md for exactly how precise this is without a showvminfo.
   */
  state: VBoxMachineState;
  /** true when `state` came from a showvminfo read consistent with the latest lists. */
  stateFromDetails: boolean;
}

export type NicAttachment =
  | 'none' | 'null' | 'nat' | 'bridged' | 'intnet' | 'hostonly' | 'generic'
  | 'natnetwork' | 'cloudnetwork' | 'hostonlynetwork';

export interface NicInfo {
  /** VirtualBox slot, 1-based (1..8 PIIX3, 1..36 ICH9). */
  slot: number;
  /** `nicN`: the attachment type; `none` = adapter disabled. */
  attachment: NicAttachment;
  /** Attachment target: bridge adapter, host-only adapter, internal net, NAT network name… */
  target?: string;
  /** 12 uppercase hex digits, as VirtualBox stores it (`080027AABBCC`). */
  mac: string;
  /** `nictypeN`: Am79C970A, 82540EM, virtio, … */
  model: string;
  cableConnected: boolean;
}

export interface StorageControllerInfo {
  index: number;
  name: string;
  /** `storagecontrollertypeN`: IntelAhci, PIIX4, LsiLogic, NVMe, VirtioSCSI, I82078 (floppy)… */
  type: string;
  instance: number;
  portCount: number;
  bootable: boolean;
}

export interface StorageAttachmentInfo {
  controller: string;
  port: number;
  device: number;
  /** Medium path, or `emptydrive` (DVD without a medium). */
  medium: string;
  imageUuid?: string;
  /** Derived from the controller and the medium: `disk`, `dvd` or `floppy`. */
  kind: 'disk' | 'dvd' | 'floppy';
}

/** Everything the driver needs about one VM: parsed `showvminfo --machinereadable`. */
export interface VmInfo {
  uuid: string;
  name: string;
  state: VBoxMachineState;
  stateChangeTime?: string;
  /** Present for saved / aborted-saved (a managed-save image in libvirt terms). */
  stateFile?: string;
  /** `ostype` description as printed (`Ubuntu (64-bit)`). */
  osType: string;
  memoryMB: number;
  cpus: number;
  /** BIOS, EFI, EFI32, EFI64, EFIDUAL */
  firmware: string;
  chipset: string;
  /** 7.1+ `platformArchitecture` (`x86`/`ARM`); absent before. */
  platformArchitecture?: string;
  /** boot1..boot4: none, floppy, dvd, disk, net, … */
  boot: string[];
  description: string;
  groups: string[];
  autostart: boolean;
  cfgFile?: string;
  nics: NicInfo[];
  storageControllers: StorageControllerInfo[];
  storage: StorageAttachmentInfo[];
  /** Every key=value as parsed, for anything not modelled above. */
  raw: Record<string, string>;
}

export interface HostInfo {
  /** `VBoxManage --version`, e.g. `7.0.18r162988`. */
  vboxVersion: string;
  hostname: string;
  /** Kernel-style architecture name: `x86_64`, `aarch64`. */
  arch: string;
  cpuCount: number;
  cpuMhz: number;
  cpuModel?: string;
  memoryKiB: number;
}

/** Who asked for an operation: logged with every change (audit). */
export interface OpContext {
  who: string;
}

/** A partial change to a VM, applied by one `modifyvm` (all-or-nothing, as VirtualBox does). */
export interface VmChanges {
  name?: string;
  memoryMB?: number;
  cpus?: number;
  /** Up to four entries: none, floppy, dvd, disk, net. Missing positions become `none`. */
  boot?: string[];
  description?: string;
  autostart?: boolean;
  firmware?: string;
  nics?: Array<{
    slot: number;
    attachment?: NicAttachment;
    target?: string;
    mac?: string;
    model?: string;
    cableConnected?: boolean;
  }>;
}

export interface CreateVmSpec {
  name: string;
  uuid?: string;
  osType?: string;
  changes?: VmChanges;
}

/**
 * What went wrong in VirtualBox, classified from the exit code and the
 * `Details: code …` symbol (never from the localised message text).
 */
export type VBoxErrorKind =
  | 'not-found'        // VBOX_E_OBJECT_NOT_FOUND on FindMachine
  | 'not-running'      // "is not currently running"
  | 'invalid-state'    // VBOX_E_INVALID_VM_STATE
  | 'locked'           // VBOX_E_INVALID_OBJECT_STATE lock collisions (after retries)
  | 'invalid-argument' // E_INVALIDARG / NS_ERROR_INVALID_ARG / syntax errors
  | 'timeout'          // the invocation exceeded its time limit and was killed
  | 'unavailable'      // VBoxManage missing, VBoxSVC unreachable, SSH down
  | 'failed';          // anything else

export class VBoxError extends Error {
  constructor(
    readonly kind: VBoxErrorKind,
    message: string,
    /** The `Details: code` symbol, when VirtualBox printed one. */
    readonly vboxCode?: string,
    /** The argv that failed (for logs; never shown to clients). */
    readonly argv?: readonly string[],
  ) {
    super(message);
    this.name = 'VBoxError';
  }
}

export interface VBoxHost {
  /** All registered VMs, from a snapshot no older than the configured max age. */
  listVms(): Promise<VmSummary[]>;
  /** Full details of one VM (cached; `fresh` forces a re-read). Throws VBoxError('not-found'). */
  getVm(uuid: string, opts?: { fresh?: boolean }): Promise<VmInfo>;

  /** `startvm --type headless`; resolves once VirtualBox reports the VM running (or paused when asked). */
  startVm(uuid: string, ctx: OpContext, opts?: { paused?: boolean }): Promise<void>;
  /** Hard power-off (`controlvm poweroff`). */
  powerOff(uuid: string, ctx: OpContext): Promise<void>;
  /** Press the ACPI power button; returns at once. */
  acpiPowerButton(uuid: string, ctx: OpContext): Promise<void>;
  reset(uuid: string, ctx: OpContext): Promise<void>;
  pause(uuid: string, ctx: OpContext): Promise<void>;
  resume(uuid: string, ctx: OpContext): Promise<void>;
  /** `controlvm savestate` (libvirt managed save). */
  saveState(uuid: string, ctx: OpContext): Promise<void>;
  /** `discardstate` (remove the managed-save image). */
  discardState(uuid: string, ctx: OpContext): Promise<void>;
  /** One `modifyvm` with every change, all-or-nothing. */
  modifyVm(uuid: string, changes: VmChanges, ctx: OpContext): Promise<void>;
  /** `createvm --register` then `modifyvm`; returns the new UUID. */
  createVm(spec: CreateVmSpec, ctx: OpContext): Promise<string>;
  /** `unregistervm [--delete]`. */
  unregisterVm(uuid: string, ctx: OpContext, opts?: { deleteFiles?: boolean }): Promise<void>;

  hostInfo(): Promise<HostInfo>;
  /** Forget cached state (one VM, or everything). */
  invalidate(uuid?: string): void;
  /** Stop background work, close SSH connections, kill children. */
  close(): Promise<void>;
}
