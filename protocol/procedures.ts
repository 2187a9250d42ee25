/**
 * The procedure table of the REMOTE program (0x20008086 v1): number, name,
 * argument and return layouts, and whether the call changes anything
 * (`writes`: refused on read-only connections). `Proc.X` gives the number;
 * `ProcArgs<P>` / `ProcRet<P>` give the TypeScript shapes.
 */
import type { Infer, XdrType } from './xdr.js';
import * as S from './structs.js';

export const Proc = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  CONNECT_GET_TYPE: 3,
  CONNECT_GET_VERSION: 4,
  CONNECT_GET_MAX_VCPUS: 5,
  NODE_GET_INFO: 6,
  CONNECT_GET_CAPABILITIES: 7,
  DOMAIN_ATTACH_DEVICE: 8,
  DOMAIN_CREATE: 9,
  DOMAIN_DEFINE_XML: 11,
  DOMAIN_DESTROY: 12,
  DOMAIN_GET_XML_DESC: 14,
  DOMAIN_GET_AUTOSTART: 15,
  DOMAIN_GET_INFO: 16,
  DOMAIN_GET_MAX_MEMORY: 17,
  DOMAIN_GET_OS_TYPE: 19,
  CONNECT_LIST_DEFINED_DOMAINS: 21,
  DOMAIN_LOOKUP_BY_ID: 22,
  DOMAIN_LOOKUP_BY_NAME: 23,
  DOMAIN_LOOKUP_BY_UUID: 24,
  CONNECT_NUM_OF_DEFINED_DOMAINS: 25,
  DOMAIN_REBOOT: 27,
  DOMAIN_RESUME: 28,
  DOMAIN_SET_AUTOSTART: 29,
  DOMAIN_SHUTDOWN: 33,
  DOMAIN_SUSPEND: 34,
  DOMAIN_UNDEFINE: 35,
  CONNECT_LIST_DOMAINS: 37,
  NETWORK_GET_XML_DESC: 43,
  NETWORK_GET_AUTOSTART: 44,
  NETWORK_GET_BRIDGE_NAME: 45,
  NETWORK_LOOKUP_BY_NAME: 46,
  NETWORK_LOOKUP_BY_UUID: 47,
  CONNECT_NUM_OF_DOMAINS: 51,
  CONNECT_GET_HOSTNAME: 59,
  CONNECT_SUPPORTS_FEATURE: 60,
  AUTH_LIST: 66,
  STORAGE_POOL_DEFINE_XML: 77,
  STORAGE_POOL_CREATE: 78,
  STORAGE_POOL_BUILD: 79,
  STORAGE_POOL_REFRESH: 83,
  STORAGE_POOL_LOOKUP_BY_NAME: 84,
  STORAGE_POOL_LOOKUP_BY_UUID: 85,
  STORAGE_POOL_LOOKUP_BY_VOLUME: 86,
  STORAGE_POOL_GET_INFO: 87,
  STORAGE_POOL_GET_XML_DESC: 88,
  STORAGE_POOL_GET_AUTOSTART: 89,
  STORAGE_POOL_SET_AUTOSTART: 90,
  STORAGE_POOL_NUM_OF_VOLUMES: 91,
  STORAGE_POOL_LIST_VOLUMES: 92,
  STORAGE_VOL_CREATE_XML: 93,
  STORAGE_VOL_DELETE: 94,
  STORAGE_VOL_LOOKUP_BY_NAME: 95,
  STORAGE_VOL_LOOKUP_BY_KEY: 96,
  STORAGE_VOL_LOOKUP_BY_PATH: 97,
  STORAGE_VOL_GET_INFO: 98,
  STORAGE_VOL_GET_XML_DESC: 99,
  STORAGE_VOL_GET_PATH: 100,
  NODE_GET_FREE_MEMORY: 102,
  CONNECT_GET_URI: 110,
  DOMAIN_GET_SECURITY_LABEL: 121,
  NODE_GET_SECURITY_MODEL: 122,
  DOMAIN_IS_ACTIVE: 150,
  DOMAIN_IS_PERSISTENT: 151,
  NETWORK_IS_ACTIVE: 152,
  NETWORK_IS_PERSISTENT: 153,
  STORAGE_POOL_IS_ACTIVE: 154,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_ATTACH_DEVICE_FLAGS: 160,
  DOMAIN_DETACH_DEVICE_FLAGS: 161,
  DOMAIN_UPDATE_DEVICE_FLAGS: 174,
  DOMAIN_MANAGED_SAVE: 182,
  DOMAIN_HAS_MANAGED_SAVE_IMAGE: 183,
  DOMAIN_MANAGED_SAVE_REMOVE: 184,
  DOMAIN_SNAPSHOT_NUM: 187,
  DOMAIN_GET_BLOCK_INFO: 194,
  DOMAIN_CREATE_WITH_FLAGS: 196,
  DOMAIN_SET_VCPUS_FLAGS: 199,
  DOMAIN_GET_VCPUS_FLAGS: 200,
  DOMAIN_IS_UPDATED: 202,
  CONNECT_GET_SYSINFO: 203,
  DOMAIN_SET_MEMORY_FLAGS: 204,
  DOMAIN_GET_STATE: 212,
  DOMAIN_UNDEFINE_FLAGS: 231,
  DOMAIN_DESTROY_FLAGS: 234,
  DOMAIN_RESET: 245,
  DOMAIN_SHUTDOWN_FLAGS: 258,
  CONNECT_LIST_ALL_DOMAINS: 273,
  CONNECT_LIST_ALL_STORAGE_POOLS: 281,
  STORAGE_POOL_LIST_ALL_VOLUMES: 282,
  CONNECT_LIST_ALL_NETWORKS: 283,
  CONNECT_GET_DOMAIN_CAPABILITIES: 342,
  DOMAIN_DEFINE_XML_FLAGS: 350,
  CONNECT_REGISTER_CLOSE_CALLBACK: 360,
  CONNECT_UNREGISTER_CLOSE_CALLBACK: 361,
  DOMAIN_GET_MESSAGES: 426,
} as const;
export type ProcName = keyof typeof Proc;
export type ProcNumber = (typeof Proc)[ProcName];

export interface ProcDef<A = unknown, R = unknown> {
  readonly num: number;
  readonly name: string;
  readonly args: XdrType<A>;
  readonly ret: XdrType<R>;
  /** Changes state: refused on a read-only connection. */
  readonly writes: boolean;
  /** Handled by the RPC engine itself (connection state), not by the driver. */
  readonly connection: boolean;
  /** May be called before CONNECT_OPEN. */
  readonly beforeOpen: boolean;
}

interface Opts { writes?: boolean; connection?: boolean; beforeOpen?: boolean }

function def<A, R>(num: number, args: XdrType<A>, ret: XdrType<R>, opts: Opts = {}): ProcDef<A, R> {
  const name = (Object.keys(Proc) as ProcName[]).find((k) => Proc[k] === num);
  if (!name) throw new Error(`procedure ${num} has no name`);
  return {
    num,
    name,
    args,
    ret,
    writes: opts.writes ?? false,
    connection: opts.connection ?? false,
    beforeOpen: opts.beforeOpen ?? false,
  };
}
const W = { writes: true } as const;
const C = { connection: true } as const;

/** Every procedure vboxvirt knows, by number. */
export const PROCEDURES = {
  // connection level (the RPC engine answers these)
  [Proc.AUTH_LIST]: def(Proc.AUTH_LIST, S.Void, S.AuthListRet, { connection: true, beforeOpen: true }),
  [Proc.CONNECT_SUPPORTS_FEATURE]: def(Proc.CONNECT_SUPPORTS_FEATURE, S.ConnectSupportsFeatureArgs, S.ConnectSupportsFeatureRet, { connection: true, beforeOpen: true }),
  [Proc.CONNECT_OPEN]: def(Proc.CONNECT_OPEN, S.ConnectOpenArgs, S.Void, { connection: true, beforeOpen: true }),
  // libvirtd closes on CONNECT_CLOSE whether or not the connection was opened
  [Proc.CONNECT_CLOSE]: def(Proc.CONNECT_CLOSE, S.Void, S.Void, { connection: true, beforeOpen: true }),
  [Proc.CONNECT_REGISTER_CLOSE_CALLBACK]: def(Proc.CONNECT_REGISTER_CLOSE_CALLBACK, S.Void, S.Void, C),
  [Proc.CONNECT_UNREGISTER_CLOSE_CALLBACK]: def(Proc.CONNECT_UNREGISTER_CLOSE_CALLBACK, S.Void, S.Void, C),

  // host
  [Proc.CONNECT_GET_TYPE]: def(Proc.CONNECT_GET_TYPE, S.Void, S.ConnectGetTypeRet),
  [Proc.CONNECT_GET_VERSION]: def(Proc.CONNECT_GET_VERSION, S.Void, S.ConnectGetVersionRet),
  [Proc.CONNECT_GET_LIB_VERSION]: def(Proc.CONNECT_GET_LIB_VERSION, S.Void, S.ConnectGetLibVersionRet),
  [Proc.CONNECT_GET_HOSTNAME]: def(Proc.CONNECT_GET_HOSTNAME, S.Void, S.ConnectGetHostnameRet),
  [Proc.CONNECT_GET_URI]: def(Proc.CONNECT_GET_URI, S.Void, S.ConnectGetUriRet),
  [Proc.CONNECT_GET_CAPABILITIES]: def(Proc.CONNECT_GET_CAPABILITIES, S.Void, S.ConnectGetCapabilitiesRet),
  [Proc.CONNECT_GET_DOMAIN_CAPABILITIES]: def(Proc.CONNECT_GET_DOMAIN_CAPABILITIES, S.ConnectGetDomainCapabilitiesArgs, S.ConnectGetDomainCapabilitiesRet),
  [Proc.CONNECT_GET_MAX_VCPUS]: def(Proc.CONNECT_GET_MAX_VCPUS, S.ConnectGetMaxVcpusArgs, S.ConnectGetMaxVcpusRet),
  [Proc.CONNECT_GET_SYSINFO]: def(Proc.CONNECT_GET_SYSINFO, S.ConnectGetSysinfoArgs, S.ConnectGetSysinfoRet),
  [Proc.NODE_GET_INFO]: def(Proc.NODE_GET_INFO, S.Void, S.NodeGetInfoRet),
  [Proc.NODE_GET_FREE_MEMORY]: def(Proc.NODE_GET_FREE_MEMORY, S.Void, S.NodeGetFreeMemoryRet),
  [Proc.NODE_GET_SECURITY_MODEL]: def(Proc.NODE_GET_SECURITY_MODEL, S.Void, S.NodeGetSecurityModelRet),

  // domain listing
  [Proc.CONNECT_LIST_ALL_DOMAINS]: def(Proc.CONNECT_LIST_ALL_DOMAINS, S.ConnectListAllDomainsArgs, S.ConnectListAllDomainsRet),
  [Proc.CONNECT_NUM_OF_DOMAINS]: def(Proc.CONNECT_NUM_OF_DOMAINS, S.Void, S.ConnectNumOfDomainsRet),
  [Proc.CONNECT_LIST_DOMAINS]: def(Proc.CONNECT_LIST_DOMAINS, S.ConnectListDomainsArgs, S.ConnectListDomainsRet),
  [Proc.CONNECT_NUM_OF_DEFINED_DOMAINS]: def(Proc.CONNECT_NUM_OF_DEFINED_DOMAINS, S.Void, S.ConnectNumOfDefinedDomainsRet),
  [Proc.CONNECT_LIST_DEFINED_DOMAINS]: def(Proc.CONNECT_LIST_DEFINED_DOMAINS, S.ConnectListDefinedDomainsArgs, S.ConnectListDefinedDomainsRet),

  // domain lookup
  [Proc.DOMAIN_LOOKUP_BY_NAME]: def(Proc.DOMAIN_LOOKUP_BY_NAME, S.DomainLookupByNameArgs, S.DomainLookupByNameRet),
  [Proc.DOMAIN_LOOKUP_BY_ID]: def(Proc.DOMAIN_LOOKUP_BY_ID, S.DomainLookupByIdArgs, S.DomainLookupByIdRet),
  [Proc.DOMAIN_LOOKUP_BY_UUID]: def(Proc.DOMAIN_LOOKUP_BY_UUID, S.DomainLookupByUuidArgs, S.DomainLookupByUuidRet),

  // domain queries
  [Proc.DOMAIN_GET_STATE]: def(Proc.DOMAIN_GET_STATE, S.DomainGetStateArgs, S.DomainGetStateRet),
  [Proc.DOMAIN_GET_INFO]: def(Proc.DOMAIN_GET_INFO, S.DomainGetInfoArgs, S.DomainGetInfoRet),
  [Proc.DOMAIN_GET_OS_TYPE]: def(Proc.DOMAIN_GET_OS_TYPE, S.DomainGetOsTypeArgs, S.DomainGetOsTypeRet),
  [Proc.DOMAIN_IS_PERSISTENT]: def(Proc.DOMAIN_IS_PERSISTENT, S.DomainIsPersistentArgs, S.DomainIsPersistentRet),
  [Proc.DOMAIN_IS_ACTIVE]: def(Proc.DOMAIN_IS_ACTIVE, S.DomainIsActiveArgs, S.DomainIsActiveRet),
  [Proc.DOMAIN_IS_UPDATED]: def(Proc.DOMAIN_IS_UPDATED, S.DomainIsUpdatedArgs, S.DomainIsUpdatedRet),
  [Proc.DOMAIN_GET_AUTOSTART]: def(Proc.DOMAIN_GET_AUTOSTART, S.DomainGetAutostartArgs, S.DomainGetAutostartRet),
  [Proc.DOMAIN_HAS_MANAGED_SAVE_IMAGE]: def(Proc.DOMAIN_HAS_MANAGED_SAVE_IMAGE, S.DomainHasManagedSaveImageArgs, S.DomainHasManagedSaveImageRet),
  [Proc.DOMAIN_GET_SECURITY_LABEL]: def(Proc.DOMAIN_GET_SECURITY_LABEL, S.DomainGetSecurityLabelArgs, S.DomainGetSecurityLabelRet),
  [Proc.DOMAIN_GET_MESSAGES]: def(Proc.DOMAIN_GET_MESSAGES, S.DomainGetMessagesArgs, S.DomainGetMessagesRet),
  [Proc.DOMAIN_SNAPSHOT_NUM]: def(Proc.DOMAIN_SNAPSHOT_NUM, S.DomainSnapshotNumArgs, S.DomainSnapshotNumRet),
  [Proc.DOMAIN_GET_XML_DESC]: def(Proc.DOMAIN_GET_XML_DESC, S.DomainGetXmlDescArgs, S.DomainGetXmlDescRet),
  [Proc.DOMAIN_GET_MAX_MEMORY]: def(Proc.DOMAIN_GET_MAX_MEMORY, S.DomainGetMaxMemoryArgs, S.DomainGetMaxMemoryRet),
  [Proc.DOMAIN_GET_VCPUS_FLAGS]: def(Proc.DOMAIN_GET_VCPUS_FLAGS, S.DomainGetVcpusFlagsArgs, S.DomainGetVcpusFlagsRet),
  [Proc.DOMAIN_GET_BLOCK_INFO]: def(Proc.DOMAIN_GET_BLOCK_INFO, S.DomainGetBlockInfoArgs, S.DomainGetBlockInfoRet),

  // domain changes
  [Proc.DOMAIN_CREATE]: def(Proc.DOMAIN_CREATE, S.DomainCreateArgs, S.Void, W),
  [Proc.DOMAIN_CREATE_WITH_FLAGS]: def(Proc.DOMAIN_CREATE_WITH_FLAGS, S.DomainCreateWithFlagsArgs, S.DomainCreateWithFlagsRet, W),
  [Proc.DOMAIN_DESTROY]: def(Proc.DOMAIN_DESTROY, S.DomainDestroyArgs, S.Void, W),
  [Proc.DOMAIN_DESTROY_FLAGS]: def(Proc.DOMAIN_DESTROY_FLAGS, S.DomainDestroyFlagsArgs, S.Void, W),
  [Proc.DOMAIN_SHUTDOWN]: def(Proc.DOMAIN_SHUTDOWN, S.DomainShutdownArgs, S.Void, W),
  [Proc.DOMAIN_SHUTDOWN_FLAGS]: def(Proc.DOMAIN_SHUTDOWN_FLAGS, S.DomainShutdownFlagsArgs, S.Void, W),
  [Proc.DOMAIN_REBOOT]: def(Proc.DOMAIN_REBOOT, S.DomainRebootArgs, S.Void, W),
  [Proc.DOMAIN_RESET]: def(Proc.DOMAIN_RESET, S.DomainResetArgs, S.Void, W),
  [Proc.DOMAIN_SUSPEND]: def(Proc.DOMAIN_SUSPEND, S.DomainSuspendArgs, S.Void, W),
  [Proc.DOMAIN_RESUME]: def(Proc.DOMAIN_RESUME, S.DomainResumeArgs, S.Void, W),
  [Proc.DOMAIN_SET_AUTOSTART]: def(Proc.DOMAIN_SET_AUTOSTART, S.DomainSetAutostartArgs, S.Void, W),
  [Proc.DOMAIN_MANAGED_SAVE]: def(Proc.DOMAIN_MANAGED_SAVE, S.DomainManagedSaveArgs, S.Void, W),
  [Proc.DOMAIN_MANAGED_SAVE_REMOVE]: def(Proc.DOMAIN_MANAGED_SAVE_REMOVE, S.DomainManagedSaveRemoveArgs, S.Void, W),
  [Proc.DOMAIN_SET_MEMORY_FLAGS]: def(Proc.DOMAIN_SET_MEMORY_FLAGS, S.DomainSetMemoryFlagsArgs, S.Void, W),
  [Proc.DOMAIN_SET_VCPUS_FLAGS]: def(Proc.DOMAIN_SET_VCPUS_FLAGS, S.DomainSetVcpusFlagsArgs, S.Void, W),
  [Proc.DOMAIN_DEFINE_XML]: def(Proc.DOMAIN_DEFINE_XML, S.DomainDefineXmlArgs, S.DomainDefineXmlRet, W),
  [Proc.DOMAIN_DEFINE_XML_FLAGS]: def(Proc.DOMAIN_DEFINE_XML_FLAGS, S.DomainDefineXmlFlagsArgs, S.DomainDefineXmlFlagsRet, W),
  [Proc.DOMAIN_UNDEFINE]: def(Proc.DOMAIN_UNDEFINE, S.DomainUndefineArgs, S.Void, W),
  [Proc.DOMAIN_UNDEFINE_FLAGS]: def(Proc.DOMAIN_UNDEFINE_FLAGS, S.DomainUndefineFlagsArgs, S.Void, W),
  [Proc.DOMAIN_ATTACH_DEVICE]: def(Proc.DOMAIN_ATTACH_DEVICE, S.DomainAttachDeviceArgs, S.Void, W),
  [Proc.DOMAIN_ATTACH_DEVICE_FLAGS]: def(Proc.DOMAIN_ATTACH_DEVICE_FLAGS, S.DomainAttachDeviceFlagsArgs, S.Void, W),
  [Proc.DOMAIN_DETACH_DEVICE_FLAGS]: def(Proc.DOMAIN_DETACH_DEVICE_FLAGS, S.DomainDetachDeviceFlagsArgs, S.Void, W),
  [Proc.DOMAIN_UPDATE_DEVICE_FLAGS]: def(Proc.DOMAIN_UPDATE_DEVICE_FLAGS, S.DomainUpdateDeviceFlagsArgs, S.Void, W),

  // networks
  [Proc.CONNECT_LIST_ALL_NETWORKS]: def(Proc.CONNECT_LIST_ALL_NETWORKS, S.ConnectListAllNetworksArgs, S.ConnectListAllNetworksRet),
  [Proc.NETWORK_GET_XML_DESC]: def(Proc.NETWORK_GET_XML_DESC, S.NetworkGetXmlDescArgs, S.NetworkGetXmlDescRet),
  [Proc.NETWORK_GET_AUTOSTART]: def(Proc.NETWORK_GET_AUTOSTART, S.NetworkGetAutostartArgs, S.NetworkGetAutostartRet),
  [Proc.NETWORK_GET_BRIDGE_NAME]: def(Proc.NETWORK_GET_BRIDGE_NAME, S.NetworkGetBridgeNameArgs, S.NetworkGetBridgeNameRet),
  [Proc.NETWORK_LOOKUP_BY_NAME]: def(Proc.NETWORK_LOOKUP_BY_NAME, S.NetworkLookupByNameArgs, S.NetworkLookupByNameRet),
  [Proc.NETWORK_LOOKUP_BY_UUID]: def(Proc.NETWORK_LOOKUP_BY_UUID, S.NetworkLookupByUuidArgs, S.NetworkLookupByUuidRet),
  [Proc.NETWORK_IS_ACTIVE]: def(Proc.NETWORK_IS_ACTIVE, S.NetworkIsActiveArgs, S.NetworkIsActiveRet),
  [Proc.NETWORK_IS_PERSISTENT]: def(Proc.NETWORK_IS_PERSISTENT, S.NetworkIsPersistentArgs, S.NetworkIsPersistentRet),

  // storage pools
  [Proc.CONNECT_LIST_ALL_STORAGE_POOLS]: def(Proc.CONNECT_LIST_ALL_STORAGE_POOLS, S.ConnectListAllStoragePoolsArgs, S.ConnectListAllStoragePoolsRet),
  [Proc.STORAGE_POOL_LOOKUP_BY_NAME]: def(Proc.STORAGE_POOL_LOOKUP_BY_NAME, S.StoragePoolLookupByNameArgs, S.StoragePoolLookupByNameRet),
  [Proc.STORAGE_POOL_LOOKUP_BY_UUID]: def(Proc.STORAGE_POOL_LOOKUP_BY_UUID, S.StoragePoolLookupByUuidArgs, S.StoragePoolLookupByUuidRet),
  [Proc.STORAGE_POOL_LOOKUP_BY_VOLUME]: def(Proc.STORAGE_POOL_LOOKUP_BY_VOLUME, S.StoragePoolLookupByVolumeArgs, S.StoragePoolLookupByVolumeRet),
  [Proc.STORAGE_POOL_GET_INFO]: def(Proc.STORAGE_POOL_GET_INFO, S.StoragePoolGetInfoArgs, S.StoragePoolGetInfoRet),
  [Proc.STORAGE_POOL_GET_XML_DESC]: def(Proc.STORAGE_POOL_GET_XML_DESC, S.StoragePoolGetXmlDescArgs, S.StoragePoolGetXmlDescRet),
  [Proc.STORAGE_POOL_GET_AUTOSTART]: def(Proc.STORAGE_POOL_GET_AUTOSTART, S.StoragePoolGetAutostartArgs, S.StoragePoolGetAutostartRet),
  [Proc.STORAGE_POOL_SET_AUTOSTART]: def(Proc.STORAGE_POOL_SET_AUTOSTART, S.StoragePoolSetAutostartArgs, S.Void, W),
  [Proc.STORAGE_POOL_IS_ACTIVE]: def(Proc.STORAGE_POOL_IS_ACTIVE, S.StoragePoolIsActiveArgs, S.StoragePoolIsActiveRet),
  [Proc.STORAGE_POOL_DEFINE_XML]: def(Proc.STORAGE_POOL_DEFINE_XML, S.StoragePoolDefineXmlArgs, S.StoragePoolDefineXmlRet, W),
  [Proc.STORAGE_POOL_CREATE]: def(Proc.STORAGE_POOL_CREATE, S.StoragePoolCreateArgs, S.Void, W),
  [Proc.STORAGE_POOL_BUILD]: def(Proc.STORAGE_POOL_BUILD, S.StoragePoolBuildArgs, S.Void, W),
  [Proc.STORAGE_POOL_REFRESH]: def(Proc.STORAGE_POOL_REFRESH, S.StoragePoolRefreshArgs, S.Void, W),
  [Proc.STORAGE_POOL_NUM_OF_VOLUMES]: def(Proc.STORAGE_POOL_NUM_OF_VOLUMES, S.StoragePoolNumOfVolumesArgs, S.StoragePoolNumOfVolumesRet),
  [Proc.STORAGE_POOL_LIST_VOLUMES]: def(Proc.STORAGE_POOL_LIST_VOLUMES, S.StoragePoolListVolumesArgs, S.StoragePoolListVolumesRet),
  [Proc.STORAGE_POOL_LIST_ALL_VOLUMES]: def(Proc.STORAGE_POOL_LIST_ALL_VOLUMES, S.StoragePoolListAllVolumesArgs, S.StoragePoolListAllVolumesRet),

  // storage volumes
  [Proc.STORAGE_VOL_CREATE_XML]: def(Proc.STORAGE_VOL_CREATE_XML, S.StorageVolCreateXmlArgs, S.StorageVolCreateXmlRet, W),
  [Proc.STORAGE_VOL_DELETE]: def(Proc.STORAGE_VOL_DELETE, S.StorageVolDeleteArgs, S.Void, W),
  [Proc.STORAGE_VOL_LOOKUP_BY_NAME]: def(Proc.STORAGE_VOL_LOOKUP_BY_NAME, S.StorageVolLookupByNameArgs, S.StorageVolLookupByNameRet),
  [Proc.STORAGE_VOL_LOOKUP_BY_KEY]: def(Proc.STORAGE_VOL_LOOKUP_BY_KEY, S.StorageVolLookupByKeyArgs, S.StorageVolLookupByKeyRet),
  [Proc.STORAGE_VOL_LOOKUP_BY_PATH]: def(Proc.STORAGE_VOL_LOOKUP_BY_PATH, S.StorageVolLookupByPathArgs, S.StorageVolLookupByPathRet),
  [Proc.STORAGE_VOL_GET_INFO]: def(Proc.STORAGE_VOL_GET_INFO, S.StorageVolGetInfoArgs, S.StorageVolGetInfoRet),
  [Proc.STORAGE_VOL_GET_XML_DESC]: def(Proc.STORAGE_VOL_GET_XML_DESC, S.StorageVolGetXmlDescArgs, S.StorageVolGetXmlDescRet),
  [Proc.STORAGE_VOL_GET_PATH]: def(Proc.STORAGE_VOL_GET_PATH, S.StorageVolGetPathArgs, S.StorageVolGetPathRet),
} as const;

export type ProcTable = typeof PROCEDURES;
/** A procedure number vboxvirt has a layout for. */
export type KnownProc = keyof ProcTable & number;
/** The decoded argument shape of procedure P (`void` for none). */
export type ProcArgs<P extends KnownProc> = ProcTable[P] extends ProcDef<infer A, unknown> ? A : never;
/** The return shape of procedure P (`void` for none). */
export type ProcRet<P extends KnownProc> = ProcTable[P] extends ProcDef<unknown, infer R> ? R : never;

/** Look a procedure up by number (undefined if vboxvirt has no layout for it). */
export function procDef(num: number): ProcDef | undefined {
  return (PROCEDURES as Record<number, ProcDef>)[num];
}

/** The procedure's name (`DOMAIN_LOOKUP_BY_NAME`) or `PROC_<n>`. */
export function procName(num: number): string {
  return procDef(num)?.name ?? `PROC_${num}`;
}

/** Keepalive program layouts: both messages have empty bodies. */
export const KEEPALIVE_PROCEDURES = {
  1: { num: 1, name: 'PING', args: S.Void, ret: S.Void },
  2: { num: 2, name: 'PONG', args: S.Void, ret: S.Void },
} as const;

export type { Infer };
