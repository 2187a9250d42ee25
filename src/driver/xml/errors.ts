/**
 * libvirt-shaped errors for XML, storage and network handling, built on the RPC
 * engine's LibvirtError (src/rpc/errors.ts) like the rest of the driver.
 */
import { LibvirtError } from '../../rpc/errors.js';

type DriverError = LibvirtError;

export const XmlErrorCode = {
  INTERNAL_ERROR: 1,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  XML_DETAIL: 35,
  NETWORK_EXIST: 37,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_UNSUPPORTED: 84,
  STORAGE_VOL_EXIST: 90,
} as const;

/** virErrorDomain numbers for the objects we describe in XML. */
export const XmlErrorDomain = {
  STORAGE: 18,
  NETWORK: 19,
  DOMAIN: 20,
  VBOX: 25,
} as const;

/** Which libxml2 "document name" libvirt uses in syntax errors, per object kind. */
export type XmlKind = 'domain' | 'pool' | 'volume' | 'network' | 'device';
const DOC_NAME: Record<XmlKind, string> = {
  domain: '(domain_definition)',
  pool: '(storage_pool_definition)',
  volume: '(storage_volume_definition)',
  network: '(network_definition)',
  device: '(device_definition)',
};
const KIND_DOMAIN: Record<XmlKind, number> = {
  domain: XmlErrorDomain.DOMAIN,
  pool: XmlErrorDomain.STORAGE,
  volume: XmlErrorDomain.STORAGE,
  network: XmlErrorDomain.NETWORK,
  device: XmlErrorDomain.DOMAIN,
};

/** Malformed XML: code 35 XML_DETAIL with libxml2's three-line shape (spec §4.3). */
export function xmlSyntaxError(kind: XmlKind, line: number, message: string, context = '(null)'): DriverError {
  return LibvirtError.xmlDetail(`${DOC_NAME[kind]}:${line}: ${message}\n${context}\n^`, KIND_DOMAIN[kind]);
}

/** Well-formed XML with a wrong value: code 27 `XML error: …`. */
export function xmlError(kind: XmlKind, message: string): DriverError {
  return LibvirtError.xmlError(message, KIND_DOMAIN[kind]);
}

/** Something VirtualBox cannot do: code 67 `unsupported configuration: …`. */
export function configUnsupported(message: string, kind: XmlKind = 'domain'): DriverError {
  return LibvirtError.configUnsupported(message, KIND_DOMAIN[kind]);
}

export function operationFailed(message: string, domain: number = XmlErrorDomain.VBOX): DriverError {
  return LibvirtError.operationFailed(message, domain);
}

export function noStoragePool(message: string): DriverError {
  return LibvirtError.noStoragePool(message, XmlErrorDomain.STORAGE);
}

export function noStorageVol(message: string): DriverError {
  return LibvirtError.noStorageVol(message, XmlErrorDomain.STORAGE);
}

export function noNetwork(message: string): DriverError {
  return LibvirtError.noNetwork(message, XmlErrorDomain.NETWORK);
}

export function storageOperationInvalid(message: string): DriverError {
  return LibvirtError.operationInvalid(message, XmlErrorDomain.STORAGE);
}

/** Any other libvirt error code with its template (`LibvirtError.report`). */
export function report(code: number, domain: number, detail: string): DriverError {
  return LibvirtError.report(code, domain, detail);
}
