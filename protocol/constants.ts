/**
 * Numbers of libvirt's remote protocol (libvirt 9.0): programs, message
 * types and statuses, limits, error codes/domains/levels, domain states and
 * reasons, list/flag bits, feature numbers. Sources:
 * ../shared/spec/libvirt-protocol.md and
 * ../shared/tools/constants_python_libvirt_9.0.txt (python3-libvirt 9.0).
 */

export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROTOCOL_VERSION = 1;
export const QEMU_PROGRAM = 0x20008087;
export const LXC_PROGRAM = 0x00068000;

export const KeepaliveProc = { PING: 1, PONG: 2 } as const;

/** virNetMessageType */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

/** virNetMessageStatus */
export const MessageStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;
export type MessageStatusValue = (typeof MessageStatus)[keyof typeof MessageStatus];

/** Limits (virnetprotocol.x / remote_protocol.x, libvirt 9.0). */
export const VIR_NET_MESSAGE_MAX = 16777216;
export const VIR_NET_MESSAGE_HEADER_MAX = 24;
export const VIR_NET_MESSAGE_LEN_MAX = 4;
export const VIR_NET_MESSAGE_PAYLOAD_MAX = 16777192;
export const VIR_NET_MESSAGE_INITIAL = 65536;
/** Smallest legal packet: the length word plus the header. */
export const VIR_NET_MESSAGE_MIN = VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX;

export const REMOTE_STRING_MAX = 4194304;
export const REMOTE_DOMAIN_LIST_MAX = 16384;
export const REMOTE_NETWORK_LIST_MAX = 16384;
export const REMOTE_STORAGE_POOL_LIST_MAX = 4096;
export const REMOTE_STORAGE_VOL_LIST_MAX = 16384;
export const REMOTE_AUTH_TYPE_LIST_MAX = 20;
export const REMOTE_DOMAIN_MESSAGES_MAX = 2048;
export const VIR_UUID_BUFLEN = 16;
/** VIR_SECURITY_MODEL_BUFLEN / LABEL / DOI (each includes the NUL). */
export const REMOTE_SECURITY_MODEL_MAX = 257;
export const REMOTE_SECURITY_LABEL_MAX = 4097;
export const REMOTE_SECURITY_DOI_MAX = 257;

/** remote_auth_type */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** virDrvFeature numbers probed with CONNECT_SUPPORTS_FEATURE. */
export const Feature = {
  MIGRATION_V1: 1,
  REMOTE: 2,
  MIGRATION_V2: 3,
  MIGRATION_P2P: 4,
  MIGRATION_DIRECT: 5,
  MIGRATION_V3: 6,
  MIGRATE_CHANGE_PROTECTION: 7,
  FD_PASSING: 8,
  TYPED_PARAM_STRING: 9,
  PROGRAM_KEEPALIVE: 10,
  XML_MIGRATABLE: 11,
  MIGRATION_OFFLINE: 12,
  MIGRATION_PARAMS: 13,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
} as const;

/** virConnectFlags */
export const VIR_CONNECT_RO = 1;

/** virErrorNumber (python3-libvirt 9.0). */
export const ErrorCode = {
  OK: 0, INTERNAL_ERROR: 1, NO_MEMORY: 2, NO_SUPPORT: 3, UNKNOWN_HOST: 4, NO_CONNECT: 5,
  INVALID_CONN: 6, INVALID_DOMAIN: 7, INVALID_ARG: 8, OPERATION_FAILED: 9, GET_FAILED: 10,
  POST_FAILED: 11, HTTP_ERROR: 12, SEXPR_SERIAL: 13, NO_XEN: 14, XEN_CALL: 15, OS_TYPE: 16,
  NO_KERNEL: 17, NO_ROOT: 18, NO_SOURCE: 19, NO_TARGET: 20, NO_NAME: 21, NO_OS: 22,
  NO_DEVICE: 23, NO_XENSTORE: 24, DRIVER_FULL: 25, CALL_FAILED: 26, XML_ERROR: 27,
  DOM_EXIST: 28, OPERATION_DENIED: 29, OPEN_FAILED: 30, READ_FAILED: 31, PARSE_FAILED: 32,
  CONF_SYNTAX: 33, WRITE_FAILED: 34, XML_DETAIL: 35, INVALID_NETWORK: 36, NETWORK_EXIST: 37,
  SYSTEM_ERROR: 38, RPC: 39, GNUTLS_ERROR: 40, NO_DOMAIN: 42, NO_NETWORK: 43,
  INVALID_MAC: 44, AUTH_FAILED: 45, INVALID_STORAGE_POOL: 46, INVALID_STORAGE_VOL: 47,
  NO_STORAGE_POOL: 49, NO_STORAGE_VOL: 50, INVALID_NODE_DEVICE: 52, NO_NODE_DEVICE: 53,
  NO_SECURITY_MODEL: 54, OPERATION_INVALID: 55, NO_INTERFACE: 57, INVALID_INTERFACE: 58,
  MULTIPLE_INTERFACES: 59, INVALID_NWFILTER: 61, NO_NWFILTER: 62, BUILD_FIREWALL: 63,
  INVALID_SECRET: 65, NO_SECRET: 66, CONFIG_UNSUPPORTED: 67, OPERATION_TIMEOUT: 68,
  MIGRATE_PERSIST_FAILED: 69, HOOK_SCRIPT_FAILED: 70, INVALID_DOMAIN_SNAPSHOT: 71,
  NO_DOMAIN_SNAPSHOT: 72, INVALID_STREAM: 73, ARGUMENT_UNSUPPORTED: 74,
  STORAGE_PROBE_FAILED: 75, STORAGE_POOL_BUILT: 76, SNAPSHOT_REVERT_RISKY: 77,
  OPERATION_ABORTED: 78, AUTH_CANCELLED: 79, NO_DOMAIN_METADATA: 80, MIGRATE_UNSAFE: 81,
  OVERFLOW: 82, BLOCK_COPY_ACTIVE: 83, OPERATION_UNSUPPORTED: 84, SSH: 85,
  AGENT_UNRESPONSIVE: 86, RESOURCE_BUSY: 87, ACCESS_DENIED: 88, DBUS_SERVICE: 89,
  STORAGE_VOL_EXIST: 90, CPU_INCOMPATIBLE: 91, XML_INVALID_SCHEMA: 92, MIGRATE_FINISH_OK: 93,
  AUTH_UNAVAILABLE: 94, NO_SERVER: 95, NO_CLIENT: 96, AGENT_UNSYNCED: 97, LIBSSH: 98,
  DEVICE_MISSING: 99, INVALID_NWFILTER_BINDING: 100, NO_NWFILTER_BINDING: 101,
  INVALID_DOMAIN_CHECKPOINT: 102, NO_DOMAIN_CHECKPOINT: 103, NO_DOMAIN_BACKUP: 104,
  INVALID_NETWORK_PORT: 105, NETWORK_PORT_EXIST: 106, NO_NETWORK_PORT: 107, NO_HOSTNAME: 108,
  CHECKPOINT_INCONSISTENT: 109, MULTIPLE_DOMAINS: 110,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

/** virErrorDomain (python3-libvirt 9.0). */
export const ErrorDomain = {
  NONE: 0, XEN: 1, XEND: 2, XENSTORE: 3, SEXPR: 4, XML: 5, DOM: 6, RPC: 7, PROXY: 8, CONF: 9,
  QEMU: 10, NET: 11, TEST: 12, REMOTE: 13, OPENVZ: 14, XENXM: 15, STATS_LINUX: 16, LXC: 17,
  STORAGE: 18, NETWORK: 19, DOMAIN: 20, UML: 21, NODEDEV: 22, XEN_INOTIFY: 23, SECURITY: 24,
  VBOX: 25, INTERFACE: 26, ONE: 27, ESX: 28, PHYP: 29, SECRET: 30, CPU: 31, XENAPI: 32,
  NWFILTER: 33, HOOK: 34, DOMAIN_SNAPSHOT: 35, AUDIT: 36, SYSINFO: 37, STREAMS: 38,
  VMWARE: 39, EVENT: 40, LIBXL: 41, LOCKING: 42, HYPERV: 43, CAPABILITIES: 44, URI: 45,
  AUTH: 46, DBUS: 47, PARALLELS: 48, DEVICE: 49, SSH: 50, LOCKSPACE: 51, INITCTL: 52,
  IDENTITY: 53, CGROUP: 54, ACCESS: 55, SYSTEMD: 56, BHYVE: 57, CRYPTO: 58, FIREWALL: 59,
  POLKIT: 60, THREAD: 61, ADMIN: 62, LOGGING: 63, XENXL: 64, PERF: 65, LIBSSH: 66,
  RESCTRL: 67, FIREWALLD: 68, DOMAIN_CHECKPOINT: 69, TPM: 70, BPF: 71, CH: 72,
} as const;
export type ErrorDomainName = keyof typeof ErrorDomain;

/** virErrorLevel */
export const ErrorLevel = { NONE: 0, WARNING: 1, ERROR: 2 } as const;

/** virDomainState */
export const DomainState = {
  NOSTATE: 0, RUNNING: 1, BLOCKED: 2, PAUSED: 3, SHUTDOWN: 4, SHUTOFF: 5, CRASHED: 6,
  PMSUSPENDED: 7,
} as const;
export type DomainStateValue = (typeof DomainState)[keyof typeof DomainState];

export const DomainRunningReason = {
  UNKNOWN: 0, BOOTED: 1, MIGRATED: 2, RESTORED: 3, FROM_SNAPSHOT: 4, UNPAUSED: 5,
  MIGRATION_CANCELED: 6, SAVE_CANCELED: 7, WAKEUP: 8, CRASHED: 9, POSTCOPY: 10,
  POSTCOPY_FAILED: 11,
} as const;
export const DomainPausedReason = {
  UNKNOWN: 0, USER: 1, MIGRATION: 2, SAVE: 3, DUMP: 4, IOERROR: 5, WATCHDOG: 6,
  FROM_SNAPSHOT: 7, SHUTTING_DOWN: 8, SNAPSHOT: 9, CRASHED: 10, STARTING_UP: 11,
  POSTCOPY: 12, POSTCOPY_FAILED: 13,
} as const;
export const DomainShutoffReason = {
  UNKNOWN: 0, SHUTDOWN: 1, DESTROYED: 2, CRASHED: 3, MIGRATED: 4, SAVED: 5, FAILED: 6,
  FROM_SNAPSHOT: 7, DAEMON: 8,
} as const;
export const DomainShutdownReason = { UNKNOWN: 0, USER: 1 } as const;
export const DomainCrashedReason = { UNKNOWN: 0, PANICKED: 1 } as const;

/** virConnectListAllDomainsFlags */
export const ListDomainsFlags = {
  ACTIVE: 1, INACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8, RUNNING: 16, PAUSED: 32, SHUTOFF: 64,
  OTHER: 128, MANAGEDSAVE: 256, NO_MANAGEDSAVE: 512, AUTOSTART: 1024, NO_AUTOSTART: 2048,
  HAS_SNAPSHOT: 4096, NO_SNAPSHOT: 8192, HAS_CHECKPOINT: 16384, NO_CHECKPOINT: 32768,
} as const;
/** virConnectListAllNetworksFlags */
export const ListNetworksFlags = {
  INACTIVE: 1, ACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8, AUTOSTART: 16, NO_AUTOSTART: 32,
} as const;
/** virConnectListAllStoragePoolsFlags */
export const ListStoragePoolsFlags = {
  INACTIVE: 1, ACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8, AUTOSTART: 16, NO_AUTOSTART: 32,
  DIR: 64, FS: 128, NETFS: 256, LOGICAL: 512, DISK: 1024, ISCSI: 2048, SCSI: 4096,
  MPATH: 8192, RBD: 16384, SHEEPDOG: 32768, GLUSTER: 65536, ZFS: 131072, VSTORAGE: 262144,
  ISCSI_DIRECT: 524288,
} as const;
/** virStoragePoolState */
export const StoragePoolState = { INACTIVE: 0, BUILDING: 1, RUNNING: 2, DEGRADED: 3, INACCESSIBLE: 4 } as const;
/** virStorageVolType */
export const StorageVolType = { FILE: 0, BLOCK: 1, DIR: 2, NETWORK: 3, NETDIR: 4, PLOOP: 5 } as const;
/** virDomainXMLFlags */
export const DomainXMLFlags = { SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8 } as const;
/** virDomainUndefineFlagsValues */
export const DomainUndefineFlags = {
  MANAGED_SAVE: 1, SNAPSHOTS_METADATA: 2, NVRAM: 4, KEEP_NVRAM: 8, CHECKPOINTS_METADATA: 16,
  TPM: 32, KEEP_TPM: 64,
} as const;
/** virDomainCreateFlags */
export const DomainStartFlags = {
  PAUSED: 1, AUTODESTROY: 2, BYPASS_CACHE: 4, FORCE_BOOT: 8, VALIDATE: 16, RESET_NVRAM: 32,
} as const;
/** virDomainDestroyFlagsValues */
export const DomainDestroyFlags = { DEFAULT: 0, GRACEFUL: 1, REMOVE_LOGS: 2 } as const;
/** virDomainShutdownFlagValues / virDomainRebootFlagValues */
export const DomainShutdownFlags = {
  DEFAULT: 0, ACPI_POWER_BTN: 1, GUEST_AGENT: 2, INITCTL: 4, SIGNAL: 8, PARAVIRT: 16,
} as const;
/** virDomainModificationImpact (also VCPU/memory/device flags) */
export const DomainAffect = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;
/** virDomainVcpuFlags extra bits */
export const DomainVcpuFlags = { MAXIMUM: 4, GUEST: 8, HOTPLUGGABLE: 16 } as const;
/** virDomainMemoryModFlags extra bit */
export const DomainMemoryFlags = { MAXIMUM: 4 } as const;
/** virDomainDefineFlags */
export const DomainDefineFlags = { VALIDATE: 1 } as const;

/** Reverse lookups for logs and messages. */
export function errorCodeName(code: number): string {
  for (const [k, v] of Object.entries(ErrorCode)) if (v === code) return k;
  return `ERR_${code}`;
}
export function errorDomainName(domain: number): string {
  for (const [k, v] of Object.entries(ErrorDomain)) if (v === domain) return k;
  return `FROM_${domain}`;
}
