/**
 * Errors the driver sends, shaped like libvirtd's (code, domain, message): see
 * spec/libvirt-protocol.md §4.3. virsh prints `message` verbatim, so every
 * message carries libvirt's own prefix (`Domain not found: `, `Requested
 * operation is not valid: `, `internal error: `…).
 */
import { VBoxError } from '../vbox/types.js';

/** virErrorNumber values the driver uses. */
export const ErrorCode = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  NO_CONNECT: 5,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  OPERATION_DENIED: 29,
  SYSTEM_ERROR: 38,
  NO_DOMAIN: 42,
  OPERATION_INVALID: 55,
  OPERATION_TIMEOUT: 68,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_UNSUPPORTED: 84,
} as const;

/** virErrorDomain values the driver uses. */
export const ErrorDomain = {
  NONE: 0,
  RPC: 7,
  DOMAIN: 20,
  VBOX: 25,
} as const;

export const ErrorLevel = { NONE: 0, WARNING: 1, ERROR: 2 } as const;

/**
 * A libvirt error raised by the driver. Structurally it carries everything a
 * `remote_error` needs; the handler layer hands it to the RPC engine.
 */
export class DriverError extends Error {
  constructor(
    readonly code: number,
    readonly domain: number,
    message: string,
    readonly level: number = ErrorLevel.ERROR,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

export function noDomain(detail: string): DriverError {
  return new DriverError(ErrorCode.NO_DOMAIN, ErrorDomain.VBOX, `Domain not found: ${detail}`);
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
  return new DriverError(ErrorCode.OPERATION_INVALID, ErrorDomain.VBOX, `Requested operation is not valid: ${what}`);
}

export function internalError(what: string): DriverError {
  return new DriverError(ErrorCode.INTERNAL_ERROR, ErrorDomain.VBOX, `internal error: ${what}`);
}

export function invalidArg(what: string): DriverError {
  return new DriverError(ErrorCode.INVALID_ARG, ErrorDomain.VBOX, `invalid argument: ${what}`);
}

/** libvirt's message for flags a call does not support: `unsupported flags (0x4) in function vboxDomainCreateWithFlags`. */
export function unsupportedFlags(flags: number, fn: string): DriverError {
  return new DriverError(
    ErrorCode.INVALID_ARG,
    ErrorDomain.VBOX,
    `unsupported flags (0x${(flags >>> 0).toString(16)}) in function ${fn}`,
  );
}

export function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~allowed;
  if (extra !== 0) throw unsupportedFlags(extra, fn);
}

export function noConnect(name: string): DriverError {
  return new DriverError(ErrorCode.NO_CONNECT, ErrorDomain.NONE, `no connection driver available for ${name}`);
}

export function operationDenied(what: string): DriverError {
  return new DriverError(ErrorCode.OPERATION_DENIED, ErrorDomain.VBOX, `operation forbidden: ${what}`);
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
  if (err instanceof DriverError) return err;
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
        return new DriverError(ErrorCode.OPERATION_TIMEOUT, ErrorDomain.VBOX, `Timed out during operation: ${msg}`);
      default:
        return internalError(msg);
    }
  }
  const msg = err instanceof Error ? err.message : String(err);
  return internalError(msg);
}
