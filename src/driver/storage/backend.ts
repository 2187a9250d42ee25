/**
 * What the storage/network/define handlers need from the VirtualBox backend
 * beyond the core VBoxHost contract. The backend (src/vbox) is adding these
 * methods; until a method exists on the host object the handler that needs it
 * answers NO_SUPPORT with a clear message instead of guessing.
 *
 * `storageOpsOf(host)` picks the methods the host object actually has.
 */
import type {
  DhcpServerInfo, HostOnlyIfInfo, MediumInfo, NatNetworkInfo, StorageAttachSpec, StorageCtlSpec, VBoxHost, VBoxStorageHost,
} from '../../vbox/types.js';

// The storage/network shapes are the backend's own (src/vbox/types.ts); re-exported for the handlers.
export type { DhcpServerInfo, HostOnlyIfInfo, MediumInfo, NatNetworkInfo, StorageAttachSpec, StorageCtlSpec };
import { LibvirtError } from '../../rpc/errors.js';

/** The backend's storage/network methods the handlers use (optional on VBoxHost). */
export type StorageHostOps = VBoxStorageHost;

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
