/**
 * libvirt-shaped errors for XML, storage and network handling, built on the RPC
 * engine's LibvirtError (src/rpc/errors.ts) like the rest of the driver.
 */
import { LibvirtError } from '../../rpc/errors.js';
import { ErrorCode as Code, ErrorDomain as Domain } from '../../../protocol/index.js';

type DriverError = LibvirtError;

/** virErrorNumber values for XML, storage and network errors (from protocol/constants.ts). */
export const XmlErrorCode = {
  INTERNAL_ERROR: Code.INTERNAL_ERROR,
  INVALID_ARG: Code.INVALID_ARG,
  OPERATION_FAILED: Code.OPERATION_FAILED,
  XML_ERROR: Code.XML_ERROR,
  DOM_EXIST: Code.DOM_EXIST,
  XML_DETAIL: Code.XML_DETAIL,
  NETWORK_EXIST: Code.NETWORK_EXIST,
  NO_DOMAIN: Code.NO_DOMAIN,
  NO_NETWORK: Code.NO_NETWORK,
  NO_STORAGE_POOL: Code.NO_STORAGE_POOL,
  NO_STORAGE_VOL: Code.NO_STORAGE_VOL,
  OPERATION_INVALID: Code.OPERATION_INVALID,
  CONFIG_UNSUPPORTED: Code.CONFIG_UNSUPPORTED,
  OPERATION_UNSUPPORTED: Code.OPERATION_UNSUPPORTED,
  STORAGE_VOL_EXIST: Code.STORAGE_VOL_EXIST,
} as const;

/** virErrorDomain numbers for the objects we describe in XML (from protocol/constants.ts). */
export const XmlErrorDomain = {
  STORAGE: Domain.STORAGE,
  NETWORK: Domain.NETWORK,
  DOMAIN: Domain.DOMAIN,
  VBOX: Domain.VBOX,
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
