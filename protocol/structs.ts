/**
 * XDR layouts of every libvirt struct vboxvirt speaks (from libvirt's
 * src/remote/remote_protocol.x and src/rpc/virnetprotocol.x, libvirt 9.0).
 * Each descriptor has a type of the same name: `DomainGetStateRet` is both
 * the descriptor (a value) and the TypeScript shape of the decoded value.
 */
import {
  type Infer, xarray, xcharFixed, xcharVar, xfopaque, xint, xoptional, xstring, xstruct, xuhyper,
  xuint, xvoid,
} from './xdr.js';
import {
  REMOTE_AUTH_TYPE_LIST_MAX, REMOTE_DOMAIN_LIST_MAX, REMOTE_DOMAIN_MESSAGES_MAX,
  REMOTE_NETWORK_LIST_MAX, REMOTE_SECURITY_DOI_MAX, REMOTE_SECURITY_LABEL_MAX,
  REMOTE_SECURITY_MODEL_MAX, REMOTE_STORAGE_POOL_LIST_MAX, REMOTE_STORAGE_VOL_LIST_MAX,
  REMOTE_STRING_MAX, VIR_UUID_BUFLEN,
} from './constants.js';

// ---- basic typedefs -------------------------------------------------------
/** remote_nonnull_string */
export const NonnullString = xstring(REMOTE_STRING_MAX);
/** remote_string (= remote_nonnull_string *) */
export const OptString = xoptional(NonnullString);
/** remote_uuid (opaque[16]) */
export const Uuid = xfopaque(VIR_UUID_BUFLEN);
export const Void = xvoid;
export type Void = void;

// ---- objects --------------------------------------------------------------
/** remote_nonnull_domain: id = -1 when the domain is not running. */
export const NonnullDomain = xstruct('remote_nonnull_domain', { name: NonnullString, uuid: Uuid, id: xint });
export type NonnullDomain = Infer<typeof NonnullDomain>;
export const NonnullNetwork = xstruct('remote_nonnull_network', { name: NonnullString, uuid: Uuid });
export type NonnullNetwork = Infer<typeof NonnullNetwork>;
export const NonnullStoragePool = xstruct('remote_nonnull_storage_pool', { name: NonnullString, uuid: Uuid });
export type NonnullStoragePool = Infer<typeof NonnullStoragePool>;
export const NonnullStorageVol = xstruct('remote_nonnull_storage_vol', {
  pool: NonnullString, name: NonnullString, key: NonnullString,
});
export type NonnullStorageVol = Infer<typeof NonnullStorageVol>;

/** remote_error: the body of every REPLY with status ERROR. */
export const RemoteError = xstruct('remote_error', {
  code: xint,
  domain: xint,
  message: OptString,
  level: xint,
  dom: xoptional(NonnullDomain),
  str1: OptString,
  str2: OptString,
  str3: OptString,
  int1: xint,
  int2: xint,
  net: xoptional(NonnullNetwork),
});
export type RemoteError = Infer<typeof RemoteError>;

// ---- small helpers for the many one-field structs ------------------------
const dom = (name: string) => xstruct(name, { dom: NonnullDomain });
const domFlags = (name: string) => xstruct(name, { dom: NonnullDomain, flags: xuint });
const net = (name: string) => xstruct(name, { net: NonnullNetwork });
const pool = (name: string) => xstruct(name, { pool: NonnullStoragePool });
const poolFlags = (name: string) => xstruct(name, { pool: NonnullStoragePool, flags: xuint });
const vol = (name: string) => xstruct(name, { vol: NonnullStorageVol });
const retDom = (name: string) => xstruct(name, { dom: NonnullDomain });
const retInt = <K extends string>(name: string, field: K) => xstruct(name, { [field]: xint } as { [P in K]: typeof xint });
const retStr = <K extends string>(name: string, field: K) =>
  xstruct(name, { [field]: NonnullString } as { [P in K]: typeof NonnullString });
const needFlags = (name: string) => xstruct(name, { need_results: xint, flags: xuint });

// ---- connection -----------------------------------------------------------
export const AuthListRet = xstruct('remote_auth_list_ret', { types: xarray(xint, REMOTE_AUTH_TYPE_LIST_MAX) });
export type AuthListRet = Infer<typeof AuthListRet>;
export const ConnectOpenArgs = xstruct('remote_connect_open_args', { name: OptString, flags: xuint });
export type ConnectOpenArgs = Infer<typeof ConnectOpenArgs>;
export const ConnectSupportsFeatureArgs = xstruct('remote_connect_supports_feature_args', { feature: xint });
export type ConnectSupportsFeatureArgs = Infer<typeof ConnectSupportsFeatureArgs>;
export const ConnectSupportsFeatureRet = retInt('remote_connect_supports_feature_ret', 'supported');
export type ConnectSupportsFeatureRet = Infer<typeof ConnectSupportsFeatureRet>;
export const ConnectGetTypeRet = retStr('remote_connect_get_type_ret', 'type');
export type ConnectGetTypeRet = Infer<typeof ConnectGetTypeRet>;
export const ConnectGetVersionRet = xstruct('remote_connect_get_version_ret', { hv_ver: xuhyper });
export type ConnectGetVersionRet = Infer<typeof ConnectGetVersionRet>;
export const ConnectGetLibVersionRet = xstruct('remote_connect_get_lib_version_ret', { lib_ver: xuhyper });
export type ConnectGetLibVersionRet = Infer<typeof ConnectGetLibVersionRet>;
export const ConnectGetHostnameRet = retStr('remote_connect_get_hostname_ret', 'hostname');
export type ConnectGetHostnameRet = Infer<typeof ConnectGetHostnameRet>;
export const ConnectGetUriRet = retStr('remote_connect_get_uri_ret', 'uri');
export type ConnectGetUriRet = Infer<typeof ConnectGetUriRet>;
export const ConnectGetCapabilitiesRet = retStr('remote_connect_get_capabilities_ret', 'capabilities');
export type ConnectGetCapabilitiesRet = Infer<typeof ConnectGetCapabilitiesRet>;
export const ConnectGetDomainCapabilitiesArgs = xstruct('remote_connect_get_domain_capabilities_args', {
  emulatorbin: OptString, arch: OptString, machine: OptString, virttype: OptString, flags: xuint,
});
export type ConnectGetDomainCapabilitiesArgs = Infer<typeof ConnectGetDomainCapabilitiesArgs>;
export const ConnectGetDomainCapabilitiesRet = retStr('remote_connect_get_domain_capabilities_ret', 'capabilities');
export type ConnectGetDomainCapabilitiesRet = Infer<typeof ConnectGetDomainCapabilitiesRet>;
export const ConnectGetMaxVcpusArgs = xstruct('remote_connect_get_max_vcpus_args', { type: OptString });
export type ConnectGetMaxVcpusArgs = Infer<typeof ConnectGetMaxVcpusArgs>;
export const ConnectGetMaxVcpusRet = retInt('remote_connect_get_max_vcpus_ret', 'max_vcpus');
export type ConnectGetMaxVcpusRet = Infer<typeof ConnectGetMaxVcpusRet>;
export const ConnectGetSysinfoArgs = xstruct('remote_connect_get_sysinfo_args', { flags: xuint });
export type ConnectGetSysinfoArgs = Infer<typeof ConnectGetSysinfoArgs>;
export const ConnectGetSysinfoRet = retStr('remote_connect_get_sysinfo_ret', 'sysinfo');
export type ConnectGetSysinfoRet = Infer<typeof ConnectGetSysinfoRet>;
export const NodeGetInfoRet = xstruct('remote_node_get_info_ret', {
  model: xcharFixed(32), memory: xuhyper, cpus: xint, mhz: xint, nodes: xint, sockets: xint, cores: xint,
  threads: xint,
});
export type NodeGetInfoRet = Infer<typeof NodeGetInfoRet>;
export const NodeGetFreeMemoryRet = xstruct('remote_node_get_free_memory_ret', { freeMem: xuhyper });
export type NodeGetFreeMemoryRet = Infer<typeof NodeGetFreeMemoryRet>;
export const NodeGetSecurityModelRet = xstruct('remote_node_get_security_model_ret', {
  model: xcharVar(REMOTE_SECURITY_MODEL_MAX), doi: xcharVar(REMOTE_SECURITY_DOI_MAX),
});
export type NodeGetSecurityModelRet = Infer<typeof NodeGetSecurityModelRet>;

// ---- domain listing -------------------------------------------------------
export const ConnectListAllDomainsArgs = needFlags('remote_connect_list_all_domains_args');
export type ConnectListAllDomainsArgs = Infer<typeof ConnectListAllDomainsArgs>;
export const ConnectListAllDomainsRet = xstruct('remote_connect_list_all_domains_ret', {
  domains: xarray(NonnullDomain, REMOTE_DOMAIN_LIST_MAX), ret: xuint,
});
export type ConnectListAllDomainsRet = Infer<typeof ConnectListAllDomainsRet>;
export const ConnectNumOfDomainsRet = retInt('remote_connect_num_of_domains_ret', 'num');
export type ConnectNumOfDomainsRet = Infer<typeof ConnectNumOfDomainsRet>;
export const ConnectListDomainsArgs = xstruct('remote_connect_list_domains_args', { maxids: xint });
export type ConnectListDomainsArgs = Infer<typeof ConnectListDomainsArgs>;
export const ConnectListDomainsRet = xstruct('remote_connect_list_domains_ret', {
  ids: xarray(xint, REMOTE_DOMAIN_LIST_MAX),
});
export type ConnectListDomainsRet = Infer<typeof ConnectListDomainsRet>;
export const ConnectNumOfDefinedDomainsRet = retInt('remote_connect_num_of_defined_domains_ret', 'num');
export type ConnectNumOfDefinedDomainsRet = Infer<typeof ConnectNumOfDefinedDomainsRet>;
export const ConnectListDefinedDomainsArgs = xstruct('remote_connect_list_defined_domains_args', { maxnames: xint });
export type ConnectListDefinedDomainsArgs = Infer<typeof ConnectListDefinedDomainsArgs>;
export const ConnectListDefinedDomainsRet = xstruct('remote_connect_list_defined_domains_ret', {
  names: xarray(NonnullString, REMOTE_DOMAIN_LIST_MAX),
});
export type ConnectListDefinedDomainsRet = Infer<typeof ConnectListDefinedDomainsRet>;

// ---- domain lookup --------------------------------------------------------
export const DomainLookupByNameArgs = xstruct('remote_domain_lookup_by_name_args', { name: NonnullString });
export type DomainLookupByNameArgs = Infer<typeof DomainLookupByNameArgs>;
export const DomainLookupByNameRet = retDom('remote_domain_lookup_by_name_ret');
export type DomainLookupByNameRet = Infer<typeof DomainLookupByNameRet>;
export const DomainLookupByIdArgs = xstruct('remote_domain_lookup_by_id_args', { id: xint });
export type DomainLookupByIdArgs = Infer<typeof DomainLookupByIdArgs>;
export const DomainLookupByIdRet = retDom('remote_domain_lookup_by_id_ret');
export type DomainLookupByIdRet = Infer<typeof DomainLookupByIdRet>;
export const DomainLookupByUuidArgs = xstruct('remote_domain_lookup_by_uuid_args', { uuid: Uuid });
export type DomainLookupByUuidArgs = Infer<typeof DomainLookupByUuidArgs>;
export const DomainLookupByUuidRet = retDom('remote_domain_lookup_by_uuid_ret');
export type DomainLookupByUuidRet = Infer<typeof DomainLookupByUuidRet>;

// ---- domain queries -------------------------------------------------------
export const DomainGetStateArgs = domFlags('remote_domain_get_state_args');
export type DomainGetStateArgs = Infer<typeof DomainGetStateArgs>;
export const DomainGetStateRet = xstruct('remote_domain_get_state_ret', { state: xint, reason: xint });
export type DomainGetStateRet = Infer<typeof DomainGetStateRet>;
export const DomainGetInfoArgs = dom('remote_domain_get_info_args');
export type DomainGetInfoArgs = Infer<typeof DomainGetInfoArgs>;
/** state is an `unsigned char`, nrVirtCpu an `unsigned short`: 4 bytes each. */
export const DomainGetInfoRet = xstruct('remote_domain_get_info_ret', {
  state: xuint, maxMem: xuhyper, memory: xuhyper, nrVirtCpu: xuint, cpuTime: xuhyper,
});
export type DomainGetInfoRet = Infer<typeof DomainGetInfoRet>;
export const DomainGetOsTypeArgs = dom('remote_domain_get_os_type_args');
export type DomainGetOsTypeArgs = Infer<typeof DomainGetOsTypeArgs>;
export const DomainGetOsTypeRet = retStr('remote_domain_get_os_type_ret', 'type');
export type DomainGetOsTypeRet = Infer<typeof DomainGetOsTypeRet>;
export const DomainIsPersistentArgs = dom('remote_domain_is_persistent_args');
export type DomainIsPersistentArgs = Infer<typeof DomainIsPersistentArgs>;
export const DomainIsPersistentRet = retInt('remote_domain_is_persistent_ret', 'persistent');
export type DomainIsPersistentRet = Infer<typeof DomainIsPersistentRet>;
export const DomainIsActiveArgs = dom('remote_domain_is_active_args');
export type DomainIsActiveArgs = Infer<typeof DomainIsActiveArgs>;
export const DomainIsActiveRet = retInt('remote_domain_is_active_ret', 'active');
export type DomainIsActiveRet = Infer<typeof DomainIsActiveRet>;
export const DomainIsUpdatedArgs = dom('remote_domain_is_updated_args');
export type DomainIsUpdatedArgs = Infer<typeof DomainIsUpdatedArgs>;
export const DomainIsUpdatedRet = retInt('remote_domain_is_updated_ret', 'updated');
export type DomainIsUpdatedRet = Infer<typeof DomainIsUpdatedRet>;
export const DomainGetAutostartArgs = dom('remote_domain_get_autostart_args');
export type DomainGetAutostartArgs = Infer<typeof DomainGetAutostartArgs>;
export const DomainGetAutostartRet = retInt('remote_domain_get_autostart_ret', 'autostart');
export type DomainGetAutostartRet = Infer<typeof DomainGetAutostartRet>;
export const DomainSetAutostartArgs = xstruct('remote_domain_set_autostart_args', { dom: NonnullDomain, autostart: xint });
export type DomainSetAutostartArgs = Infer<typeof DomainSetAutostartArgs>;
export const DomainHasManagedSaveImageArgs = domFlags('remote_domain_has_managed_save_image_args');
export type DomainHasManagedSaveImageArgs = Infer<typeof DomainHasManagedSaveImageArgs>;
export const DomainHasManagedSaveImageRet = retInt('remote_domain_has_managed_save_image_ret', 'result');
export type DomainHasManagedSaveImageRet = Infer<typeof DomainHasManagedSaveImageRet>;
export const DomainManagedSaveArgs = domFlags('remote_domain_managed_save_args');
export type DomainManagedSaveArgs = Infer<typeof DomainManagedSaveArgs>;
export const DomainManagedSaveRemoveArgs = domFlags('remote_domain_managed_save_remove_args');
export type DomainManagedSaveRemoveArgs = Infer<typeof DomainManagedSaveRemoveArgs>;
export const DomainGetSecurityLabelArgs = dom('remote_domain_get_security_label_args');
export type DomainGetSecurityLabelArgs = Infer<typeof DomainGetSecurityLabelArgs>;
export const DomainGetSecurityLabelRet = xstruct('remote_domain_get_security_label_ret', {
  label: xcharVar(REMOTE_SECURITY_LABEL_MAX), enforcing: xint,
});
export type DomainGetSecurityLabelRet = Infer<typeof DomainGetSecurityLabelRet>;
export const DomainGetMessagesArgs = domFlags('remote_domain_get_messages_args');
export type DomainGetMessagesArgs = Infer<typeof DomainGetMessagesArgs>;
export const DomainGetMessagesRet = xstruct('remote_domain_get_messages_ret', {
  msgs: xarray(NonnullString, REMOTE_DOMAIN_MESSAGES_MAX),
});
export type DomainGetMessagesRet = Infer<typeof DomainGetMessagesRet>;
export const DomainSnapshotNumArgs = domFlags('remote_domain_snapshot_num_args');
export type DomainSnapshotNumArgs = Infer<typeof DomainSnapshotNumArgs>;
export const DomainSnapshotNumRet = retInt('remote_domain_snapshot_num_ret', 'num');
export type DomainSnapshotNumRet = Infer<typeof DomainSnapshotNumRet>;
export const DomainGetXmlDescArgs = domFlags('remote_domain_get_xml_desc_args');
export type DomainGetXmlDescArgs = Infer<typeof DomainGetXmlDescArgs>;
export const DomainGetXmlDescRet = retStr('remote_domain_get_xml_desc_ret', 'xml');
export type DomainGetXmlDescRet = Infer<typeof DomainGetXmlDescRet>;
export const DomainGetMaxMemoryArgs = dom('remote_domain_get_max_memory_args');
export type DomainGetMaxMemoryArgs = Infer<typeof DomainGetMaxMemoryArgs>;
export const DomainGetMaxMemoryRet = xstruct('remote_domain_get_max_memory_ret', { memory: xuhyper });
export type DomainGetMaxMemoryRet = Infer<typeof DomainGetMaxMemoryRet>;
export const DomainSetMemoryFlagsArgs = xstruct('remote_domain_set_memory_flags_args', {
  dom: NonnullDomain, memory: xuhyper, flags: xuint,
});
export type DomainSetMemoryFlagsArgs = Infer<typeof DomainSetMemoryFlagsArgs>;
export const DomainGetVcpusFlagsArgs = domFlags('remote_domain_get_vcpus_flags_args');
export type DomainGetVcpusFlagsArgs = Infer<typeof DomainGetVcpusFlagsArgs>;
export const DomainGetVcpusFlagsRet = retInt('remote_domain_get_vcpus_flags_ret', 'num');
export type DomainGetVcpusFlagsRet = Infer<typeof DomainGetVcpusFlagsRet>;
export const DomainSetVcpusFlagsArgs = xstruct('remote_domain_set_vcpus_flags_args', {
  dom: NonnullDomain, nvcpus: xuint, flags: xuint,
});
export type DomainSetVcpusFlagsArgs = Infer<typeof DomainSetVcpusFlagsArgs>;
export const DomainGetBlockInfoArgs = xstruct('remote_domain_get_block_info_args', {
  dom: NonnullDomain, path: NonnullString, flags: xuint,
});
export type DomainGetBlockInfoArgs = Infer<typeof DomainGetBlockInfoArgs>;
export const DomainGetBlockInfoRet = xstruct('remote_domain_get_block_info_ret', {
  allocation: xuhyper, capacity: xuhyper, physical: xuhyper,
});
export type DomainGetBlockInfoRet = Infer<typeof DomainGetBlockInfoRet>;

// ---- domain lifecycle -----------------------------------------------------
export const DomainCreateArgs = dom('remote_domain_create_args');
export type DomainCreateArgs = Infer<typeof DomainCreateArgs>;
export const DomainCreateWithFlagsArgs = domFlags('remote_domain_create_with_flags_args');
export type DomainCreateWithFlagsArgs = Infer<typeof DomainCreateWithFlagsArgs>;
export const DomainCreateWithFlagsRet = retDom('remote_domain_create_with_flags_ret');
export type DomainCreateWithFlagsRet = Infer<typeof DomainCreateWithFlagsRet>;
export const DomainDestroyArgs = dom('remote_domain_destroy_args');
export type DomainDestroyArgs = Infer<typeof DomainDestroyArgs>;
export const DomainDestroyFlagsArgs = domFlags('remote_domain_destroy_flags_args');
export type DomainDestroyFlagsArgs = Infer<typeof DomainDestroyFlagsArgs>;
export const DomainShutdownArgs = dom('remote_domain_shutdown_args');
export type DomainShutdownArgs = Infer<typeof DomainShutdownArgs>;
export const DomainShutdownFlagsArgs = domFlags('remote_domain_shutdown_flags_args');
export type DomainShutdownFlagsArgs = Infer<typeof DomainShutdownFlagsArgs>;
export const DomainRebootArgs = domFlags('remote_domain_reboot_args');
export type DomainRebootArgs = Infer<typeof DomainRebootArgs>;
export const DomainResetArgs = domFlags('remote_domain_reset_args');
export type DomainResetArgs = Infer<typeof DomainResetArgs>;
export const DomainSuspendArgs = dom('remote_domain_suspend_args');
export type DomainSuspendArgs = Infer<typeof DomainSuspendArgs>;
export const DomainResumeArgs = dom('remote_domain_resume_args');
export type DomainResumeArgs = Infer<typeof DomainResumeArgs>;
export const DomainDefineXmlArgs = xstruct('remote_domain_define_xml_args', { xml: NonnullString });
export type DomainDefineXmlArgs = Infer<typeof DomainDefineXmlArgs>;
export const DomainDefineXmlRet = retDom('remote_domain_define_xml_ret');
export type DomainDefineXmlRet = Infer<typeof DomainDefineXmlRet>;
export const DomainDefineXmlFlagsArgs = xstruct('remote_domain_define_xml_flags_args', { xml: NonnullString, flags: xuint });
export type DomainDefineXmlFlagsArgs = Infer<typeof DomainDefineXmlFlagsArgs>;
export const DomainDefineXmlFlagsRet = retDom('remote_domain_define_xml_flags_ret');
export type DomainDefineXmlFlagsRet = Infer<typeof DomainDefineXmlFlagsRet>;
export const DomainUndefineArgs = dom('remote_domain_undefine_args');
export type DomainUndefineArgs = Infer<typeof DomainUndefineArgs>;
export const DomainUndefineFlagsArgs = domFlags('remote_domain_undefine_flags_args');
export type DomainUndefineFlagsArgs = Infer<typeof DomainUndefineFlagsArgs>;
export const DomainAttachDeviceArgs = xstruct('remote_domain_attach_device_args', { dom: NonnullDomain, xml: NonnullString });
export type DomainAttachDeviceArgs = Infer<typeof DomainAttachDeviceArgs>;
const domXmlFlags = (name: string) => xstruct(name, { dom: NonnullDomain, xml: NonnullString, flags: xuint });
export const DomainAttachDeviceFlagsArgs = domXmlFlags('remote_domain_attach_device_flags_args');
export type DomainAttachDeviceFlagsArgs = Infer<typeof DomainAttachDeviceFlagsArgs>;
export const DomainDetachDeviceFlagsArgs = domXmlFlags('remote_domain_detach_device_flags_args');
export type DomainDetachDeviceFlagsArgs = Infer<typeof DomainDetachDeviceFlagsArgs>;
export const DomainUpdateDeviceFlagsArgs = domXmlFlags('remote_domain_update_device_flags_args');
export type DomainUpdateDeviceFlagsArgs = Infer<typeof DomainUpdateDeviceFlagsArgs>;

// ---- networks -------------------------------------------------------------
export const ConnectListAllNetworksArgs = needFlags('remote_connect_list_all_networks_args');
export type ConnectListAllNetworksArgs = Infer<typeof ConnectListAllNetworksArgs>;
export const ConnectListAllNetworksRet = xstruct('remote_connect_list_all_networks_ret', {
  nets: xarray(NonnullNetwork, REMOTE_NETWORK_LIST_MAX), ret: xuint,
});
export type ConnectListAllNetworksRet = Infer<typeof ConnectListAllNetworksRet>;
export const NetworkGetXmlDescArgs = xstruct('remote_network_get_xml_desc_args', { net: NonnullNetwork, flags: xuint });
export type NetworkGetXmlDescArgs = Infer<typeof NetworkGetXmlDescArgs>;
export const NetworkGetXmlDescRet = retStr('remote_network_get_xml_desc_ret', 'xml');
export type NetworkGetXmlDescRet = Infer<typeof NetworkGetXmlDescRet>;
export const NetworkGetAutostartArgs = net('remote_network_get_autostart_args');
export type NetworkGetAutostartArgs = Infer<typeof NetworkGetAutostartArgs>;
export const NetworkGetAutostartRet = retInt('remote_network_get_autostart_ret', 'autostart');
export type NetworkGetAutostartRet = Infer<typeof NetworkGetAutostartRet>;
export const NetworkGetBridgeNameArgs = net('remote_network_get_bridge_name_args');
export type NetworkGetBridgeNameArgs = Infer<typeof NetworkGetBridgeNameArgs>;
export const NetworkGetBridgeNameRet = retStr('remote_network_get_bridge_name_ret', 'name');
export type NetworkGetBridgeNameRet = Infer<typeof NetworkGetBridgeNameRet>;
export const NetworkLookupByNameArgs = xstruct('remote_network_lookup_by_name_args', { name: NonnullString });
export type NetworkLookupByNameArgs = Infer<typeof NetworkLookupByNameArgs>;
export const NetworkLookupByNameRet = xstruct('remote_network_lookup_by_name_ret', { net: NonnullNetwork });
export type NetworkLookupByNameRet = Infer<typeof NetworkLookupByNameRet>;
export const NetworkLookupByUuidArgs = xstruct('remote_network_lookup_by_uuid_args', { uuid: Uuid });
export type NetworkLookupByUuidArgs = Infer<typeof NetworkLookupByUuidArgs>;
export const NetworkLookupByUuidRet = xstruct('remote_network_lookup_by_uuid_ret', { net: NonnullNetwork });
export type NetworkLookupByUuidRet = Infer<typeof NetworkLookupByUuidRet>;
export const NetworkIsActiveArgs = net('remote_network_is_active_args');
export type NetworkIsActiveArgs = Infer<typeof NetworkIsActiveArgs>;
export const NetworkIsActiveRet = retInt('remote_network_is_active_ret', 'active');
export type NetworkIsActiveRet = Infer<typeof NetworkIsActiveRet>;
export const NetworkIsPersistentArgs = net('remote_network_is_persistent_args');
export type NetworkIsPersistentArgs = Infer<typeof NetworkIsPersistentArgs>;
export const NetworkIsPersistentRet = retInt('remote_network_is_persistent_ret', 'persistent');
export type NetworkIsPersistentRet = Infer<typeof NetworkIsPersistentRet>;

// ---- storage pools --------------------------------------------------------
export const ConnectListAllStoragePoolsArgs = needFlags('remote_connect_list_all_storage_pools_args');
export type ConnectListAllStoragePoolsArgs = Infer<typeof ConnectListAllStoragePoolsArgs>;
export const ConnectListAllStoragePoolsRet = xstruct('remote_connect_list_all_storage_pools_ret', {
  pools: xarray(NonnullStoragePool, REMOTE_STORAGE_POOL_LIST_MAX), ret: xuint,
});
export type ConnectListAllStoragePoolsRet = Infer<typeof ConnectListAllStoragePoolsRet>;
export const StoragePoolLookupByNameArgs = xstruct('remote_storage_pool_lookup_by_name_args', { name: NonnullString });
export type StoragePoolLookupByNameArgs = Infer<typeof StoragePoolLookupByNameArgs>;
export const StoragePoolLookupByNameRet = pool('remote_storage_pool_lookup_by_name_ret');
export type StoragePoolLookupByNameRet = Infer<typeof StoragePoolLookupByNameRet>;
export const StoragePoolLookupByUuidArgs = xstruct('remote_storage_pool_lookup_by_uuid_args', { uuid: Uuid });
export type StoragePoolLookupByUuidArgs = Infer<typeof StoragePoolLookupByUuidArgs>;
export const StoragePoolLookupByUuidRet = pool('remote_storage_pool_lookup_by_uuid_ret');
export type StoragePoolLookupByUuidRet = Infer<typeof StoragePoolLookupByUuidRet>;
export const StoragePoolLookupByVolumeArgs = vol('remote_storage_pool_lookup_by_volume_args');
export type StoragePoolLookupByVolumeArgs = Infer<typeof StoragePoolLookupByVolumeArgs>;
export const StoragePoolLookupByVolumeRet = pool('remote_storage_pool_lookup_by_volume_ret');
export type StoragePoolLookupByVolumeRet = Infer<typeof StoragePoolLookupByVolumeRet>;
export const StoragePoolGetInfoArgs = pool('remote_storage_pool_get_info_args');
export type StoragePoolGetInfoArgs = Infer<typeof StoragePoolGetInfoArgs>;
/** state is an `unsigned char` (4 bytes). */
export const StoragePoolGetInfoRet = xstruct('remote_storage_pool_get_info_ret', {
  state: xuint, capacity: xuhyper, allocation: xuhyper, available: xuhyper,
});
export type StoragePoolGetInfoRet = Infer<typeof StoragePoolGetInfoRet>;
export const StoragePoolGetXmlDescArgs = poolFlags('remote_storage_pool_get_xml_desc_args');
export type StoragePoolGetXmlDescArgs = Infer<typeof StoragePoolGetXmlDescArgs>;
export const StoragePoolGetXmlDescRet = retStr('remote_storage_pool_get_xml_desc_ret', 'xml');
export type StoragePoolGetXmlDescRet = Infer<typeof StoragePoolGetXmlDescRet>;
export const StoragePoolGetAutostartArgs = pool('remote_storage_pool_get_autostart_args');
export type StoragePoolGetAutostartArgs = Infer<typeof StoragePoolGetAutostartArgs>;
export const StoragePoolGetAutostartRet = retInt('remote_storage_pool_get_autostart_ret', 'autostart');
export type StoragePoolGetAutostartRet = Infer<typeof StoragePoolGetAutostartRet>;
export const StoragePoolSetAutostartArgs = xstruct('remote_storage_pool_set_autostart_args', {
  pool: NonnullStoragePool, autostart: xint,
});
export type StoragePoolSetAutostartArgs = Infer<typeof StoragePoolSetAutostartArgs>;
export const StoragePoolIsActiveArgs = pool('remote_storage_pool_is_active_args');
export type StoragePoolIsActiveArgs = Infer<typeof StoragePoolIsActiveArgs>;
export const StoragePoolIsActiveRet = retInt('remote_storage_pool_is_active_ret', 'active');
export type StoragePoolIsActiveRet = Infer<typeof StoragePoolIsActiveRet>;
export const StoragePoolDefineXmlArgs = xstruct('remote_storage_pool_define_xml_args', { xml: NonnullString, flags: xuint });
export type StoragePoolDefineXmlArgs = Infer<typeof StoragePoolDefineXmlArgs>;
export const StoragePoolDefineXmlRet = pool('remote_storage_pool_define_xml_ret');
export type StoragePoolDefineXmlRet = Infer<typeof StoragePoolDefineXmlRet>;
export const StoragePoolCreateArgs = poolFlags('remote_storage_pool_create_args');
export type StoragePoolCreateArgs = Infer<typeof StoragePoolCreateArgs>;
export const StoragePoolBuildArgs = poolFlags('remote_storage_pool_build_args');
export type StoragePoolBuildArgs = Infer<typeof StoragePoolBuildArgs>;
export const StoragePoolRefreshArgs = poolFlags('remote_storage_pool_refresh_args');
export type StoragePoolRefreshArgs = Infer<typeof StoragePoolRefreshArgs>;
export const StoragePoolNumOfVolumesArgs = pool('remote_storage_pool_num_of_volumes_args');
export type StoragePoolNumOfVolumesArgs = Infer<typeof StoragePoolNumOfVolumesArgs>;
export const StoragePoolNumOfVolumesRet = retInt('remote_storage_pool_num_of_volumes_ret', 'num');
export type StoragePoolNumOfVolumesRet = Infer<typeof StoragePoolNumOfVolumesRet>;
export const StoragePoolListVolumesArgs = xstruct('remote_storage_pool_list_volumes_args', {
  pool: NonnullStoragePool, maxnames: xint,
});
export type StoragePoolListVolumesArgs = Infer<typeof StoragePoolListVolumesArgs>;
export const StoragePoolListVolumesRet = xstruct('remote_storage_pool_list_volumes_ret', {
  names: xarray(NonnullString, REMOTE_STORAGE_VOL_LIST_MAX),
});
export type StoragePoolListVolumesRet = Infer<typeof StoragePoolListVolumesRet>;
export const StoragePoolListAllVolumesArgs = xstruct('remote_storage_pool_list_all_volumes_args', {
  pool: NonnullStoragePool, need_results: xint, flags: xuint,
});
export type StoragePoolListAllVolumesArgs = Infer<typeof StoragePoolListAllVolumesArgs>;
export const StoragePoolListAllVolumesRet = xstruct('remote_storage_pool_list_all_volumes_ret', {
  vols: xarray(NonnullStorageVol, REMOTE_STORAGE_VOL_LIST_MAX), ret: xuint,
});
export type StoragePoolListAllVolumesRet = Infer<typeof StoragePoolListAllVolumesRet>;

// ---- storage volumes ------------------------------------------------------
export const StorageVolCreateXmlArgs = xstruct('remote_storage_vol_create_xml_args', {
  pool: NonnullStoragePool, xml: NonnullString, flags: xuint,
});
export type StorageVolCreateXmlArgs = Infer<typeof StorageVolCreateXmlArgs>;
export const StorageVolCreateXmlRet = xstruct('remote_storage_vol_create_xml_ret', { vol: NonnullStorageVol });
export type StorageVolCreateXmlRet = Infer<typeof StorageVolCreateXmlRet>;
export const StorageVolDeleteArgs = xstruct('remote_storage_vol_delete_args', { vol: NonnullStorageVol, flags: xuint });
export type StorageVolDeleteArgs = Infer<typeof StorageVolDeleteArgs>;
export const StorageVolLookupByNameArgs = xstruct('remote_storage_vol_lookup_by_name_args', {
  pool: NonnullStoragePool, name: NonnullString,
});
export type StorageVolLookupByNameArgs = Infer<typeof StorageVolLookupByNameArgs>;
export const StorageVolLookupByNameRet = xstruct('remote_storage_vol_lookup_by_name_ret', { vol: NonnullStorageVol });
export type StorageVolLookupByNameRet = Infer<typeof StorageVolLookupByNameRet>;
export const StorageVolLookupByKeyArgs = xstruct('remote_storage_vol_lookup_by_key_args', { key: NonnullString });
export type StorageVolLookupByKeyArgs = Infer<typeof StorageVolLookupByKeyArgs>;
export const StorageVolLookupByKeyRet = xstruct('remote_storage_vol_lookup_by_key_ret', { vol: NonnullStorageVol });
export type StorageVolLookupByKeyRet = Infer<typeof StorageVolLookupByKeyRet>;
export const StorageVolLookupByPathArgs = xstruct('remote_storage_vol_lookup_by_path_args', { path: NonnullString });
export type StorageVolLookupByPathArgs = Infer<typeof StorageVolLookupByPathArgs>;
export const StorageVolLookupByPathRet = xstruct('remote_storage_vol_lookup_by_path_ret', { vol: NonnullStorageVol });
export type StorageVolLookupByPathRet = Infer<typeof StorageVolLookupByPathRet>;
export const StorageVolGetInfoArgs = vol('remote_storage_vol_get_info_args');
export type StorageVolGetInfoArgs = Infer<typeof StorageVolGetInfoArgs>;
/** type is a `char` (4 bytes, virStorageVolType). */
export const StorageVolGetInfoRet = xstruct('remote_storage_vol_get_info_ret', {
  type: xint, capacity: xuhyper, allocation: xuhyper,
});
export type StorageVolGetInfoRet = Infer<typeof StorageVolGetInfoRet>;
export const StorageVolGetXmlDescArgs = xstruct('remote_storage_vol_get_xml_desc_args', { vol: NonnullStorageVol, flags: xuint });
export type StorageVolGetXmlDescArgs = Infer<typeof StorageVolGetXmlDescArgs>;
export const StorageVolGetXmlDescRet = retStr('remote_storage_vol_get_xml_desc_ret', 'xml');
export type StorageVolGetXmlDescRet = Infer<typeof StorageVolGetXmlDescRet>;
export const StorageVolGetPathArgs = vol('remote_storage_vol_get_path_args');
export type StorageVolGetPathArgs = Infer<typeof StorageVolGetPathArgs>;
export const StorageVolGetPathRet = retStr('remote_storage_vol_get_path_ret', 'name');
export type StorageVolGetPathRet = Infer<typeof StorageVolGetPathRet>;
