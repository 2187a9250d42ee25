/**
 * What the storage/network/define handlers need from the VirtualBox backend
 * beyond the core VBoxHost contract. The backend (src/vbox) is adding these
 * methods; until a method exists on the host object the handler that needs it
 * answers NO_SUPPORT with a clear message instead of guessing.
 *
 * `storageOpsOf(host)` picks the methods the host object actually has.
 */
import type { OpContext, VBoxHost } from '../../vbox/types.js';
import { LibvirtError } from '../../rpc/errors.js';

export interface MediumInfo {
  uuid?: string;
  path: string;
  /** VDI, VMDK, VHD, RAW… */
  format?: string;
  /** Virtual size in bytes. */
  capacityBytes?: number;
  /** Bytes used on the host. */
  sizeOnDiskBytes?: number;
  /** VM UUIDs using the medium. */
  inUseBy?: string[];
}

export interface HostOnlyIfInfo {
  /** `vboxnet0` (Linux/macOS), `VirtualBox Host-Only Ethernet Adapter` (Windows). */
  name: string;
  ipAddress?: string;
  networkMask?: string;
  dhcp?: boolean;
  mac?: string;
  status?: string;
  /** `HostInterfaceNetworking-vboxnet0` */
  vboxNetworkName?: string;
}

export interface NatNetworkInfo {
  name: string;
  /** CIDR, e.g. `10.0.2.0/24`. */
  network?: string;
  dhcp?: boolean;
  enabled?: boolean;
  gateway?: string;
}

export interface DhcpServerInfo {
  networkName: string;
  ip?: string;
  networkMask?: string;
  lowerIp?: string;
  upperIp?: string;
  enabled?: boolean;
}

export interface StorageCtlSpec {
  name: string;
  /** Omitted to change an existing controller (e.g. its port count). */
  add?: string;
  controller?: string;
  portCount?: number;
  bootable?: boolean;
}

export interface StorageAttachSpec {
  controller: string;
  port: number;
  device: number;
  /** hdd | dvddrive | fdd (omitted when detaching with medium `none`) */
  type?: string;
  /** File path, medium UUID, `emptydrive` or `none` (detach). */
  medium: string;
}

/** The backend additions the handlers use (all optional until they land). */
export interface StorageHostOps {
  listHdds(): Promise<MediumInfo[]>;
  showMediumInfo(pathOrUuid: string): Promise<MediumInfo>;
  createMedium(spec: { path: string; sizeMB: number; format?: string; variant?: string }, ctx: OpContext): Promise<unknown>;
  closeMedium(pathOrUuid: string, ctx: OpContext, opts?: { delete?: boolean }): Promise<void>;
  storageCtl(uuid: string, spec: StorageCtlSpec, ctx: OpContext): Promise<void>;
  storageAttach(uuid: string, spec: StorageAttachSpec, ctx: OpContext): Promise<void>;
  listHostOnlyIfs(): Promise<HostOnlyIfInfo[]>;
  listNatNets(): Promise<NatNetworkInfo[]>;
  listBridgedIfs(): Promise<Array<string | { name: string }>>;
  listDhcpServers(): Promise<DhcpServerInfo[]>;
  systemProperties(): Promise<Record<string, string> | { defaultMachineFolder?: string }>;
}

export type StorageOps = Partial<StorageHostOps>;

const METHODS: Array<keyof StorageHostOps> = [
  'listHdds', 'showMediumInfo', 'createMedium', 'closeMedium', 'storageCtl', 'storageAttach',
  'listHostOnlyIfs', 'listNatNets', 'listBridgedIfs', 'listDhcpServers', 'systemProperties',
];

/** The storage methods `host` implements, bound to it. */
export function storageOpsOf(host: VBoxHost): StorageOps {
  const out: Record<string, unknown> = {};
  const h = host as unknown as Record<string, unknown>;
  for (const m of METHODS) {
    const f = h[m];
    if (typeof f === 'function') out[m] = (f as (...a: unknown[]) => unknown).bind(host);
  }
  return out as StorageOps;
}

/** The method, or a NO_SUPPORT error naming what the backend lacks. */
export function need<K extends keyof StorageHostOps>(ops: StorageOps, name: K, what: string): StorageHostOps[K] {
  const f = ops[name];
  if (!f) throw LibvirtError.noSupport(`${what} needs VBoxHost.${name}, which this VirtualBox backend does not provide yet`);
  return f as StorageHostOps[K];
}

/** The default machine folder from `list systemproperties` (key `Default machine folder`). */
export async function defaultMachineFolder(ops: StorageOps): Promise<string | undefined> {
  if (!ops.systemProperties) return undefined;
  const p = (await ops.systemProperties()) as Record<string, unknown>;
  const v = p.defaultMachineFolder ?? p['Default machine folder'];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
