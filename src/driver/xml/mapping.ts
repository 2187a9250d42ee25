/**
 * The VirtualBox ⇄ libvirt vocabulary shared by the XML writer (domain.ts) and
 * the XML reader (parse.ts). Every mapping here is documented in docs/xml.md;
 * change both together.
 */
import type { NicAttachment, StorageAttachmentInfo, StorageControllerInfo, VmInfo } from '../../vbox/types.js';

// ---------------------------------------------------------------------------
// Architecture and machine type

/** Kernel-style guest architecture from the VM's platform and OS type. */
export function guestArch(vm: Pick<VmInfo, 'platformArchitecture' | 'osType' | 'chipset'>): string {
  const plat = (vm.platformArchitecture ?? '').toLowerCase();
  const os = vm.osType ?? '';
  const isArm = plat === 'arm' || /\bARM\b/i.test(os) || /arm64|aarch64/i.test(os) || vm.chipset === 'armv8virtual';
  if (isArm) return /32-bit/i.test(os) ? 'armv7l' : 'aarch64';
  // VirtualBox OS type descriptions say "(64-bit)"; raw IDs (unknown to this
  // VirtualBox) end in _64 (`Ubuntu_64`).
  if (/64-bit|_64\b|x64|amd64/i.test(os)) return 'x86_64';
  return 'i686';
}

/** libvirt machine type name for a VirtualBox chipset. */
export function machineOf(chipset: string): string | undefined {
  switch ((chipset ?? '').toLowerCase()) {
    case 'piix3': return 'pc';
    case 'ich9': return 'q35';
    case 'armv8virtual': return 'virt';
    default: return undefined;
  }
}

export function chipsetOfMachine(machine: string): string | undefined {
  const m = machine.toLowerCase();
  if (m === 'pc' || m.startsWith('pc-i440fx') || m === 'piix3') return 'piix3';
  if (m === 'q35' || m.startsWith('pc-q35') || m === 'ich9') return 'ich9';
  if (m === 'virt' || m.startsWith('virt-')) return 'armv8virtual';
  return undefined;
}

// ---------------------------------------------------------------------------
// Boot devices

export const VBOX_TO_LIBVIRT_BOOT: Record<string, string> = {
  net: 'network',
  disk: 'hd',
  dvd: 'cdrom',
  floppy: 'fd',
};

export const LIBVIRT_TO_VBOX_BOOT: Record<string, string> = {
  network: 'net',
  hd: 'disk',
  cdrom: 'dvd',
  fd: 'floppy',
};

// ---------------------------------------------------------------------------
// NIC models

/** VirtualBox nictype → libvirt `<model type>` (single tokens, unique both ways). */
export const NIC_MODEL_TO_LIBVIRT: Record<string, string> = {
  '82540EM': 'e1000',
  '82545EM': 'e1000-82545em',
  '82543GC': 'e1000-82543gc',
  Am79C970A: 'pcnet',
  Am79C973: 'am79c973',
  Am79C960: 'am79c960',
  virtio: 'virtio',
  'virtio_1.0': 'virtio-non-transitional',
};

/** libvirt model names accepted on input (ours plus libvirt's vbox driver's) → nictype. */
export const LIBVIRT_TO_NIC_MODEL: Record<string, string> = {
  e1000: '82540EM',
  '82540em': '82540EM',
  'e1000-82545em': '82545EM',
  '82545em': '82545EM',
  'e1000-82543gc': '82543GC',
  '82543gc': '82543GC',
  pcnet: 'Am79C970A',
  am79c970a: 'Am79C970A',
  am79c973: 'Am79C973',
  am79c960: 'Am79C960',
  virtio: 'virtio',
  'virtio-transitional': 'virtio',
  'virtio-non-transitional': 'virtio_1.0',
};

export function nicModelToLibvirt(model: string): string | undefined {
  if (!model || model === 'unknown') return undefined;
  return NIC_MODEL_TO_LIBVIRT[model] ?? tokenize(model.toLowerCase());
}

// ---------------------------------------------------------------------------
// Host interface names as single tokens

/**
 * VirtualBox host interface names can contain spaces (`en0: Wi-Fi (AirPort)` on
 * macOS, `Intel(R) Ethernet Connection I217-V` or `VirtualBox Host-Only Ethernet
 * Adapter #2` on Windows). virsh prints them in whitespace-split columns that MAAS
 * parses, so they must be single tokens:
 *   - `<bsdname>: <description>` (macOS) → `<bsdname>` (`en0`);
 *   - anything else → runs of characters outside `[A-Za-z0-9._:-]` become `_`
 *     (leading/trailing `_` trimmed): `VirtualBox_Host-Only_Ethernet_Adapter_2`.
 * The reverse (`resolveHostInterface`) matches a token against the real names.
 */
export function hostIfToken(name: string | undefined): string {
  if (!name) return 'none';
  const mac = /^([A-Za-z0-9._-]+): /.exec(name);
  if (mac) return mac[1]!;
  return tokenize(name);
}

export function tokenize(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._:-]+/g, '_').replace(/^_+|_+$/g, '');
  return t.length ? t : 'none';
}

/** Find the VirtualBox name a token stands for; undefined when none matches. */
export function resolveHostInterface(token: string, candidates: readonly string[]): string | undefined {
  const exact = candidates.find((c) => c === token);
  if (exact !== undefined) return exact;
  return candidates.find((c) => hostIfToken(c) === token);
}

// ---------------------------------------------------------------------------
// NIC attachment ⇄ <interface type>

export interface InterfaceShape {
  type: 'user' | 'bridge' | 'network' | 'internal' | 'ethernet' | 'null';
  /** `<source>` attribute name and value. */
  source?: { attr: 'bridge' | 'network' | 'name'; value: string };
}

export function interfaceShape(attachment: NicAttachment, target: string | undefined): InterfaceShape | undefined {
  switch (attachment) {
    case 'none': return undefined; // disabled adapter: not a device
    case 'nat': return { type: 'user' };
    case 'bridged': return { type: 'bridge', source: { attr: 'bridge', value: hostIfToken(target) } };
    case 'hostonly':
    case 'hostonlynetwork':
    case 'natnetwork':
      return { type: 'network', source: { attr: 'network', value: hostIfToken(target) } };
    case 'intnet': return { type: 'internal', source: { attr: 'name', value: hostIfToken(target) } };
    case 'null': return { type: 'null' };
    case 'generic':
    case 'cloudnetwork':
    default:
      return { type: 'ethernet' };
  }
}

// ---------------------------------------------------------------------------
// Storage controllers, buses and target names

export type Namespace = 'hd' | 'sd' | 'vd' | 'fd';

export interface BusInfo {
  /** libvirt `<target bus>`. */
  bus: 'ide' | 'sata' | 'scsi' | 'virtio' | 'fdc' | 'usb';
  namespace: Namespace;
  /** libvirt `<controller type>` (undefined: no libvirt controller element). */
  controllerType?: 'ide' | 'sata' | 'scsi' | 'fdc' | 'usb';
  controllerModel?: string;
  /** Target-name slots reserved per controller in its namespace. */
  slotsPerController: number;
}

/** VirtualBox storage controller type → libvirt bus. Unknown types → sata/sd. */
export function busOfController(type: string): BusInfo {
  switch (type) {
    case 'PIIX3': return { bus: 'ide', namespace: 'hd', controllerType: 'ide', controllerModel: 'piix3', slotsPerController: 4 };
    case 'PIIX4': return { bus: 'ide', namespace: 'hd', controllerType: 'ide', controllerModel: 'piix4', slotsPerController: 4 };
    case 'ICH6': return { bus: 'ide', namespace: 'hd', controllerType: 'ide', controllerModel: 'ich6', slotsPerController: 4 };
    case 'IntelAhci': return { bus: 'sata', namespace: 'sd', controllerType: 'sata', slotsPerController: 32 };
    case 'LsiLogic': return { bus: 'scsi', namespace: 'sd', controllerType: 'scsi', controllerModel: 'lsilogic', slotsPerController: 32 };
    case 'BusLogic': return { bus: 'scsi', namespace: 'sd', controllerType: 'scsi', controllerModel: 'buslogic', slotsPerController: 32 };
    case 'LsiLogicSas': return { bus: 'scsi', namespace: 'sd', controllerType: 'scsi', controllerModel: 'lsisas1068', slotsPerController: 32 };
    case 'VirtioSCSI': return { bus: 'virtio', namespace: 'vd', slotsPerController: 32 };
    case 'NVMe': return { bus: 'sata', namespace: 'sd', slotsPerController: 32 };
    case 'USB': return { bus: 'usb', namespace: 'sd', controllerType: 'usb', slotsPerController: 32 };
    case 'I82078': return { bus: 'fdc', namespace: 'fd', controllerType: 'fdc', slotsPerController: 2 };
    default: return { bus: 'sata', namespace: 'sd', slotsPerController: 32 };
  }
}

/** 0 → a, 25 → z, 26 → aa (libvirt's virDiskNameToIndex in reverse). */
export function indexToSuffix(i: number): string {
  let n = i;
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}

/** `a` → 0, `aa` → 26; -1 when not letters. */
export function suffixToIndex(s: string): number {
  if (!/^[a-z]+$/.test(s)) return -1;
  let n = 0;
  for (const ch of s) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

export interface DiskPlacement {
  attachment: StorageAttachmentInfo;
  controller?: StorageControllerInfo;
  bus: BusInfo;
  /** Ordinal of this controller among the VM's controllers of the same libvirt controller kind. */
  controllerOrdinal: number;
  target: string;
}

/**
 * Stable target names: each namespace (hd, sd, vd, fd) is shared by the
 * controllers that use it, in VirtualBox controller order; the k-th controller
 * of a namespace owns slots [k*S, (k+1)*S) (S = 4 for IDE, 2 for floppy, 32
 * otherwise) and a medium gets slot base + (IDE: 2*port+device, floppy: device,
 * others: port). A medium's name therefore only depends on its controller's
 * position and its port/device — not on which other media are attached.
 * (A collision — port ≥ 32 on a SAS controller followed by another sd controller —
 * gets the next free name; documented.)
 */
export function placeDisks(vm: Pick<VmInfo, 'storage' | 'storageControllers'>): DiskPlacement[] {
  const controllers = [...vm.storageControllers].sort((a, b) => a.index - b.index);
  const nsOrdinal = new Map<string, number>(); // controller name → ordinal in its namespace
  const kindOrdinal = new Map<string, number>(); // controller name → ordinal in its libvirt controller type
  const nsCount: Record<string, number> = {};
  const kindCount: Record<string, number> = {};
  for (const c of controllers) {
    const b = busOfController(c.type);
    nsOrdinal.set(c.name, nsCount[b.namespace] ?? 0);
    nsCount[b.namespace] = (nsCount[b.namespace] ?? 0) + 1;
    const kind = b.controllerType ?? `x-${b.bus}`;
    kindOrdinal.set(c.name, kindCount[kind] ?? 0);
    kindCount[kind] = (kindCount[kind] ?? 0) + 1;
  }
  const used = new Set<string>();
  const out: DiskPlacement[] = [];
  const media = vm.storage.filter((s) => s.medium !== 'none' && s.medium !== '');
  const withSlots = media.map((a) => {
    const controller = controllers.find((c) => c.name === a.controller);
    const bus = busOfController(controller?.type ?? '');
    const ord = nsOrdinal.get(a.controller) ?? 0;
    let local: number;
    if (bus.namespace === 'hd') local = 2 * a.port + a.device;
    else if (bus.namespace === 'fd') local = a.device + a.port;
    else local = a.port;
    return { a, controller, bus, slot: ord * bus.slotsPerController + local };
  });
  // Natural slots first, so a collision never steals a slot from its owner.
  const pending: typeof withSlots = [];
  const names = new Map<StorageAttachmentInfo, string>();
  for (const w of withSlots) {
    const name = w.bus.namespace + indexToSuffix(w.slot);
    if (used.has(name)) pending.push(w);
    else { used.add(name); names.set(w.a, name); }
  }
  for (const w of pending) {
    let i = w.slot;
    let name: string;
    do name = w.bus.namespace + indexToSuffix(++i); while (used.has(name));
    used.add(name);
    names.set(w.a, name);
  }
  for (const w of withSlots) {
    out.push({
      attachment: w.a,
      controller: w.controller,
      bus: w.bus,
      controllerOrdinal: kindOrdinal.get(w.a.controller) ?? 0,
      target: names.get(w.a)!,
    });
  }
  return out;
}

/** 12 hex digits (any case, optional separators) → `08:00:27:aa:bb:cc`. */
export function macToLibvirt(mac: string): string {
  const hex = mac.replace(/[^0-9A-Fa-f]/g, '').toLowerCase();
  if (hex.length !== 12) return mac.toLowerCase();
  return hex.match(/../g)!.join(':');
}

/** `08:00:27:aa:bb:cc` → `080027AABBCC`; undefined when not a MAC. */
export function macToVbox(mac: string): string | undefined {
  const m = /^([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})$/.exec(mac.trim());
  if (!m) return undefined;
  return m.slice(1).join('').toUpperCase();
}
