/**
 * Errors the driver sends, shaped like libvirtd's (code, domain, message): see
 * spec/libvirt-protocol.md §4.3. virsh prints `message` verbatim, so every
 * message carries libvirt's own prefix (`Domain not found: `, `Requested
 * operation is not valid: `, `internal error: `…).
 */
import { VBoxError } from '../vbox/types.js';
import { LibvirtError } from '../rpc/errors.js';
import { ErrorCode as Code, ErrorDomain as Domain } from '../../protocol/index.js';

type DriverError = LibvirtError;

/** virErrorNumber values the driver uses (numbers from protocol/constants.ts). */
export const ErrorCode = {
  INTERNAL_ERROR: Code.INTERNAL_ERROR,
  NO_SUPPORT: Code.NO_SUPPORT,
  NO_CONNECT: Code.NO_CONNECT,
  INVALID_ARG: Code.INVALID_ARG,
  OPERATION_FAILED: Code.OPERATION_FAILED,
  OPERATION_DENIED: Code.OPERATION_DENIED,
  SYSTEM_ERROR: Code.SYSTEM_ERROR,
  NO_DOMAIN: Code.NO_DOMAIN,
  OPERATION_INVALID: Code.OPERATION_INVALID,
  OPERATION_TIMEOUT: Code.OPERATION_TIMEOUT,
  ARGUMENT_UNSUPPORTED: Code.ARGUMENT_UNSUPPORTED,
  OPERATION_UNSUPPORTED: Code.OPERATION_UNSUPPORTED,
} as const;

/** virErrorDomain values the driver uses (numbers from protocol/constants.ts). */
export const ErrorDomain = {
  NONE: Domain.NONE,
  RPC: Domain.RPC,
  DOMAIN: Domain.DOMAIN,
  VBOX: Domain.VBOX,
} as const;

export { ErrorLevel } from '../../protocol/index.js';

/**
 * The driver raises the RPC engine's LibvirtError (src/rpc/errors.ts), built
 * like libvirtd builds them (str1 = template, str2 = detail).
 */
export { LibvirtError as DriverError } from '../rpc/errors.js';

export function noDomain(detail: string): DriverError {
  return LibvirtError.noDomain(detail, ErrorDomain.VBOX);
}

export function noDomainByName(name: string): DriverError {
  return noDomain(`no domain with matching name '${name}'`);
}

export function noDomainByUuid(uuid: string, name?: string): DriverError {
  return noDomain(`no domain with matching uuid '${uuid}'${name !== undefined ? ` (${name})` : ''}`);
}

export function noDomainById(id: number): DriverError {
  return noDomain(`no domain with matching id ${id}`);
}

export function operationInvalid(what: string): DriverError {
  return LibvirtError.operationInvalid(what, ErrorDomain.VBOX);
}

export function internalError(what: string): DriverError {
  return LibvirtError.internalError(what, ErrorDomain.VBOX);
}

export function invalidArg(what: string): DriverError {
  return LibvirtError.invalidArg(what, ErrorDomain.VBOX);
}

/** libvirt's message for flags a call does not support: `unsupported flags (0x4) in function vboxDomainCreateWithFlags`. */
export function unsupportedFlags(flags: number, fn: string): DriverError {
  return LibvirtError.unsupportedFlags(flags, fn, ErrorDomain.VBOX);
}

export function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~allowed;
  if (extra !== 0) throw unsupportedFlags(extra, fn);
}

export function noConnect(name: string): DriverError {
  return LibvirtError.noConnect(name);
}

/** `operation forbidden: read only access prevents virDomainDestroy` */
export function readOnly(api: string): DriverError {
  return LibvirtError.readOnly(api, ErrorDomain.VBOX);
}

export function timeoutError(what: string): DriverError {
  return LibvirtError.timeout(what, ErrorDomain.VBOX);
}

/**
 * Translate a VirtualBox failure into what virsh users expect from libvirtd.
 *  - not-found     → 42 `Domain not found: no domain with matching uuid '…' (name)`
 *  - not-running   → 55 `Requested operation is not valid: domain is not running`
 *  - invalid-state → 55 `Requested operation is not valid: <VirtualBox message>`
 *  - invalid-argument → 8 `invalid argument: <VirtualBox message>`
 *  - timeout       → 68 `Timed out during operation: <VirtualBox message>`
 *  - locked, unavailable, failed → 1 `internal error: <VirtualBox message>`
 */
export function fromVBoxError(err: unknown, vm?: { uuid: string; name: string }): DriverError {
  if (err instanceof LibvirtError) return err;
  if (err instanceof VBoxError) {
    const msg = err.message.trim() || 'VirtualBox operation failed';
    switch (err.kind) {
      case 'not-found':
        return vm ? noDomainByUuid(vm.uuid, vm.name) : noDomain(msg);
      case 'not-running':
        return operationInvalid('domain is not running');
      case 'invalid-state':
        return operationInvalid(msg);
      case 'invalid-argument':
        return invalidArg(msg);
      case 'timeout':
        return timeoutError(msg);
      default:
        return internalError(msg);
    }
  }
  const msg = err instanceof Error ? err.message : String(err);
  return internalError(msg);
}
