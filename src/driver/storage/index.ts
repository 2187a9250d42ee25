/** Storage pools, volumes, networks and domain definition handlers (see handlers.ts). */
export { storageHandlers, StorageService } from './handlers.js';
export type { StorageDeps, DomainLookups, DomainRefLike } from './handlers.js';
export type { StorageHostOps, MediumInfo, HostOnlyIfInfo, NatNetworkInfo, DhcpServerInfo, StorageCtlSpec, StorageAttachSpec } from './backend.js';
export { PendingStore, overlayPending, mergeChanges, canModify, isRunningLike } from './pending.js';
export { imageInfo } from './images.js';
