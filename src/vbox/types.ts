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

export interface StartOptions {
  /** Leave the VM paused once it has started (`controlvm pause`). */
  paused?: boolean;
  /**
   * The caller only needs the VM stopped: when a fresh list snapshot already
   * shows it stopped (and nothing of ours changed it since), run `startvm`
   * without a `showvminfo` before, and confirm it through the shared list
   * refresh after. Otherwise (or when the list cannot vouch) the full path.
   */
  listedStopped?: boolean;
}

export interface VBoxHost {
  /** All registered VMs, from a snapshot no older than the configured max age. */
  listVms(): Promise<VmSummary[]>;
  /**
   * The array the next `listVms()` would resolve to, when that is known without
   * waiting (a fresh snapshot, nothing changed since): lets hot read paths skip
   * the promise round. undefined: call `listVms()`.
   */
  peekVms?(): VmSummary[] | undefined;
  /** Full details of one VM (cached; `fresh` forces a re-read). Throws VBoxError('not-found'). */
  getVm(uuid: string, opts?: { fresh?: boolean }): Promise<VmInfo>;

  /** `startvm --type headless`; resolves once VirtualBox reports the VM running (or paused when asked). */
  startVm(uuid: string, ctx: OpContext, opts?: StartOptions): Promise<void>;
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

// ---------------------------------------------------------------------------
// Storage and networks (added for the storage/network driver; all optional on
// VBoxHost so other implementations need not provide them).

/** One medium (`list hdds` entry / `showmediuminfo`). */
export interface MediumInfo {
  uuid: string;
  /** `Location:` — the image file. */
  path: string;
  /** `Storage format:` VDI, VMDK, VHD, RAW… */
  format?: string;
  /** `Capacity:` in bytes (VirtualBox prints MBytes). */
  capacityBytes?: number;
  /** `Size on disk:` in bytes (only from showmediuminfo / list -l). */
  sizeOnDiskBytes?: number;
  /** UUIDs of the VMs using the medium (`In use by VMs:`). */
  inUseBy?: string[];
  /** Names of those VMs, same order. */
  inUseByNames?: string[];
  /** `State:` created, inaccessible, locked-read, … */
  state?: string;
  /** `Parent UUID:` for differencing images; undefined for base images. */
  parentUuid?: string;
  /** `Type:` as printed, e.g. `normal (base)`. */
  type?: string;
  /** `Format variant:` e.g. `dynamic default`. */
  variant?: string;
  /** `Access Error:` for inaccessible media. */
  accessError?: string;
}

export interface CreateMediumSpec {
  /** The image file to create. */
  path: string;
  sizeMB: number;
  /** VDI (default), VMDK, VHD. */
  format?: string;
  /** Standard (dynamic, default) or Fixed. */
  variant?: string;
}

export interface StorageCtlSpec {
  /** Controller name (`SATA`, `IDE`…). */
  name: string;
  /** Bus: ide, sata, scsi, floppy, sas, usb, pcie (NVMe), virtio. Omit to change an existing controller. */
  add?: string;
  /** Chipset: PIIX3, PIIX4, ICH6, IntelAhci, LsiLogic, BusLogic, LSILogicSAS, I82078, USB, NVMe, VirtIO. */
  controller?: string;
  portCount?: number;
  bootable?: boolean;
  /** Remove the controller instead. */
  remove?: boolean;
}

export interface StorageAttachSpec {
  controller: string;
  port: number;
  device: number;
  /** hdd | dvddrive | fdd (may be omitted when detaching with medium `none`). */
  type?: string;
  /** File path, medium UUID, `emptydrive`, `additions` or `none` (detach). */
  medium: string;
  /** normal | writethrough | immutable | shareable | readonly | multiattach */
  mtype?: string;
  nonRotational?: boolean;
  discard?: boolean;
  hotPluggable?: boolean;
}

/** A host network interface (`list hostonlyifs` / `list bridgedifs`). */
export interface HostIfInfo {
  /** `vboxnet0`, `eth0`, `VirtualBox Host-Only Ethernet Adapter`… */
  name: string;
  guid?: string;
  dhcp?: boolean;
  ipAddress?: string;
  networkMask?: string;
  ipv6Address?: string;
  ipv6PrefixLength?: number;
  /** `HardwareAddress:` as printed (`0a:00:27:00:00:00`). */
  mac?: string;
  status?: string;
  /** `HostInterfaceNetworking-vboxnet0` */
  vboxNetworkName?: string;
}

export type HostOnlyIfInfo = HostIfInfo;

export interface NatNetworkInfo {
  name: string;
  /** CIDR, e.g. `10.0.2.0/24`. */
  network?: string;
  gateway?: string;
  dhcp?: boolean;
  ipv6?: boolean;
  /** Only printed by `list --long natnets` (7.x) / always by 6.1. */
  enabled?: boolean;
}

export interface DhcpServerInfo {
  /** `HostInterfaceNetworking-vboxnet0` or a NAT network / internal network name. */
  networkName: string;
  ip?: string;
  networkMask?: string;
  lowerIp?: string;
  upperIp?: string;
  enabled?: boolean;
}

/** `list systemproperties`: every `Label: value` (first occurrence) plus the ones we use by name. */
export type SystemProperties = Record<string, string> & { defaultMachineFolder?: string; defaultHardDiskFormat?: string };

/** What VBoxManageHost adds for storage and networks. */
export interface VBoxStorageHost {
  listHdds(): Promise<MediumInfo[]>;
  showMediumInfo(pathOrUuid: string): Promise<MediumInfo>;
  /** `createmedium disk`; returns the new medium's UUID. */
  createMedium(spec: CreateMediumSpec, ctx: OpContext): Promise<string>;
  closeMedium(pathOrUuid: string, ctx: OpContext, opts?: { delete?: boolean; kind?: 'disk' | 'dvd' | 'floppy' }): Promise<void>;
  storageCtl(uuid: string, spec: StorageCtlSpec, ctx: OpContext): Promise<void>;
  storageAttach(uuid: string, spec: StorageAttachSpec, ctx: OpContext): Promise<void>;
  listHostOnlyIfs(): Promise<HostIfInfo[]>;
  listBridgedIfs(): Promise<HostIfInfo[]>;
  listNatNets(): Promise<NatNetworkInfo[]>;
  listDhcpServers(): Promise<DhcpServerInfo[]>;
  systemProperties(): Promise<SystemProperties>;
}

// The storage/network methods, optional on every VBoxHost (VBoxManageHost has them all).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface VBoxHost extends Partial<VBoxStorageHost> {}
