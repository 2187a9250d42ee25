/**
 * LibvirtError: a libvirt error as it travels in `remote_error`, built the
 * way libvirtd builds them (virReportErrorHelper): `str1` is the message
 * template of the error code (`internal error: %s`), `str2` the detail,
 * `message` the two combined, `level` 2, `int1`/`int2` -1, dom/net NULL.
 * Matches ../shared/captures byte for byte (see test/rpc/errors.test.ts).
 */
import {
  ErrorCode, ErrorDomain, ErrorLevel, errorCodeName, errorDomainName, type RemoteError,
} from '../../protocol/index.js';

export interface LibvirtErrorInit {
  code: number;
  domain: number;
  message: string | null;
  level?: number;
  str1?: string | null;
  str2?: string | null;
  str3?: string | null;
  int1?: number;
  int2?: number;
}

/**
 * virErrorMsg(): the template used for `str1`, with and without detail.
 * Only codes whose libvirt wording we reproduce; others use `%s`.
 */
const TEMPLATES: Record<number, [plain: string, withInfo: string]> = {
  [ErrorCode.INTERNAL_ERROR]: ['internal error', 'internal error: %s'],
  [ErrorCode.NO_SUPPORT]: [
    'this function is not supported by the connection driver',
    'this function is not supported by the connection driver: %s',
  ],
  [ErrorCode.NO_CONNECT]: ['no connection driver available', 'no connection driver available for %s'],
  [ErrorCode.INVALID_ARG]: ['invalid argument', 'invalid argument: %s'],
  [ErrorCode.OPERATION_FAILED]: ['operation failed', 'operation failed: %s'],
  [ErrorCode.XML_ERROR]: ['XML description is invalid or not well formed', 'XML error: %s'],
  [ErrorCode.OPERATION_DENIED]: ['operation forbidden', 'operation forbidden: %s'],
  [ErrorCode.XML_DETAIL]: ['XML detail', '%s'],
  [ErrorCode.SYSTEM_ERROR]: ['system call error', '%s'],
  [ErrorCode.RPC]: ['RPC error', '%s'],
  [ErrorCode.NO_DOMAIN]: ['Domain not found', 'Domain not found: %s'],
  [ErrorCode.NO_NETWORK]: ['Network not found', 'Network not found: %s'],
  [ErrorCode.NO_STORAGE_POOL]: ['Storage pool not found', 'Storage pool not found: %s'],
  [ErrorCode.NO_STORAGE_VOL]: ['Storage volume not found', 'Storage volume not found: %s'],
  [ErrorCode.NO_DOMAIN_SNAPSHOT]: ['Domain snapshot not found', 'Domain snapshot not found: %s'],
  [ErrorCode.OPERATION_INVALID]: ['Requested operation is not valid', 'Requested operation is not valid: %s'],
  [ErrorCode.CONFIG_UNSUPPORTED]: ['unsupported configuration', 'unsupported configuration: %s'],
  [ErrorCode.OPERATION_TIMEOUT]: ['Timed out during operation', 'Timed out during operation: %s'],
  [ErrorCode.ARGUMENT_UNSUPPORTED]: ['argument unsupported', 'argument unsupported: %s'],
  [ErrorCode.OPERATION_UNSUPPORTED]: ['Operation not supported', 'Operation not supported: %s'],
  [ErrorCode.RESOURCE_BUSY]: ['resource busy', 'resource busy: %s'],
  [ErrorCode.ACCESS_DENIED]: ['access denied', 'access denied: %s'],
  [ErrorCode.DEVICE_MISSING]: ['device not found', 'device not found: %s'],
};

export class LibvirtError extends Error {
  readonly code: number;
  readonly domain: number;
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;
  /** The wire `message` (may be NULL on the wire: then `message` is '' and this is null). */
  readonly wireMessage: string | null;

  constructor(init: LibvirtErrorInit) {
    super(init.message ?? '');
    this.name = 'LibvirtError';
    this.code = init.code;
    this.domain = init.domain;
    this.level = init.level ?? ErrorLevel.ERROR;
    this.wireMessage = init.message;
    this.str1 = init.str1 === undefined ? init.message : init.str1;
    this.str2 = init.str2 ?? null;
    this.str3 = init.str3 ?? null;
    this.int1 = init.int1 ?? -1;
    this.int2 = init.int2 ?? -1;
  }

  /** `NO_DOMAIN`, `RPC`, … */
  get codeName(): string {
    return errorCodeName(this.code);
  }
  get domainName(): string {
    return errorDomainName(this.domain);
  }

  /**
   * The way libvirt reports nearly every error: the code's template with the
   * detail in it (`Requested operation is not valid: domain is not running`).
   */
  static report(code: number, domain: number, detail?: string | null): LibvirtError {
    const t = TEMPLATES[code];
    if (detail === undefined || detail === null) {
      const plain = t ? t[0] : errorCodeName(code);
      return new LibvirtError({ code, domain, message: plain, str1: plain, str2: null });
    }
    const tpl = t ? t[1] : '%s';
    return new LibvirtError({ code, domain, message: tpl.replace('%s', detail), str1: tpl, str2: detail });
  }

  /** The wire struct (dom/net always NULL, as libvirtd sends it). */
  toRemoteError(): RemoteError {
    return {
      code: this.code,
      domain: this.domain,
      message: this.wireMessage,
      level: this.level,
      dom: null,
      str1: this.str1,
      str2: this.str2,
      str3: this.str3,
      int1: this.int1,
      int2: this.int2,
      net: null,
    };
  }

  static fromRemoteError(e: RemoteError): LibvirtError {
    return new LibvirtError({
      code: e.code, domain: e.domain, message: e.message, level: e.level, str1: e.str1,
      str2: e.str2, str3: e.str3, int1: e.int1, int2: e.int2,
    });
  }

  // ---- common constructors -------------------------------------------------
  /** 1 INTERNAL_ERROR: `internal error: <detail>`. */
  static internalError(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.INTERNAL_ERROR, domain, detail);
  }
  /** 39 RPC (domain RPC): message verbatim, `str1` = `%s`. */
  static rpc(message: string): LibvirtError {
    return LibvirtError.report(ErrorCode.RPC, ErrorDomain.RPC, message);
  }
  /** libvirtd's answer to a procedure it does not know. */
  static unknownProcedure(proc: number): LibvirtError {
    return LibvirtError.rpc(`unknown procedure: ${proc}`);
  }
  /** libvirtd's answer to a wrong program or version. */
  static unknownProgram(prog: number, vers: number): LibvirtError {
    return LibvirtError.rpc(`Cannot find program ${prog >>> 0} version ${vers >>> 0}`);
  }
  /** libvirtd's answer to arguments that do not decode. */
  static decodeFailed(): LibvirtError {
    return LibvirtError.rpc('Unable to decode message payload');
  }
  /** 42 NO_DOMAIN. Without detail: `Domain not found` (what the TEST driver sends). */
  static noDomain(detail?: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.NO_DOMAIN, domain, detail);
  }
  static noNetwork(detail?: string, domain: number = ErrorDomain.NETWORK): LibvirtError {
    return LibvirtError.report(ErrorCode.NO_NETWORK, domain, detail);
  }
  static noStoragePool(detail?: string, domain: number = ErrorDomain.STORAGE): LibvirtError {
    return LibvirtError.report(ErrorCode.NO_STORAGE_POOL, domain, detail);
  }
  static noStorageVol(detail?: string, domain: number = ErrorDomain.STORAGE): LibvirtError {
    return LibvirtError.report(ErrorCode.NO_STORAGE_VOL, domain, detail);
  }
  /** 55 OPERATION_INVALID: `Requested operation is not valid: <detail>`. */
  static operationInvalid(detail: string, domain: number = ErrorDomain.DOMAIN): LibvirtError {
    return LibvirtError.report(ErrorCode.OPERATION_INVALID, domain, detail);
  }
  static operationFailed(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.OPERATION_FAILED, domain, detail);
  }
  /** 3 NO_SUPPORT: `this function is not supported by the connection driver: <detail>`. */
  static noSupport(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.NO_SUPPORT, domain, detail);
  }
  /** 84 OPERATION_UNSUPPORTED. */
  static operationUnsupported(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.OPERATION_UNSUPPORTED, domain, detail);
  }
  /** 8 INVALID_ARG: `invalid argument: <detail>`. */
  static invalidArg(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.INVALID_ARG, domain, detail);
  }
  /**
   * virCheckFlags(): `unsupported flags (0x1) in function testDomainCreateWithFlags`,
   * code 8, str1 = function, str2 = "flags", int1 = int2 = 0 (as captured).
   */
  static unsupportedFlags(flags: number, fn: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return new LibvirtError({
      code: ErrorCode.INVALID_ARG, domain,
      message: `unsupported flags (0x${(flags >>> 0).toString(16)}) in function ${fn}`,
      str1: fn, str2: 'flags', int1: 0, int2: 0,
    });
  }
  /** 29 OPERATION_DENIED: `operation forbidden: <detail>`. */
  static operationDenied(detail: string, domain: number = ErrorDomain.DOMAIN): LibvirtError {
    return LibvirtError.report(ErrorCode.OPERATION_DENIED, domain, detail);
  }
  /**
   * What libvirt reports for a write API on a read-only connection
   * (virCheckReadOnlyGoto): `operation forbidden: read only access prevents virDomainDestroy`.
   */
  static readOnly(api: string, domain: number = ErrorDomain.DOMAIN): LibvirtError {
    return LibvirtError.operationDenied(`read only access prevents ${api}`, domain);
  }
  /** 88 ACCESS_DENIED: `access denied: <detail>`. */
  static accessDenied(detail: string, domain: number = ErrorDomain.ACCESS): LibvirtError {
    return LibvirtError.report(ErrorCode.ACCESS_DENIED, domain, detail);
  }
  /** 35 XML_DETAIL: message verbatim (`(domain_definition):1: Document is empty…`). */
  static xmlDetail(message: string, domain: number = ErrorDomain.DOMAIN): LibvirtError {
    return LibvirtError.report(ErrorCode.XML_DETAIL, domain, message);
  }
  /** 27 XML_ERROR: `XML error: <detail>`. */
  static xmlError(detail: string, domain: number = ErrorDomain.DOMAIN): LibvirtError {
    return LibvirtError.report(ErrorCode.XML_ERROR, domain, detail);
  }
  /** 67 CONFIG_UNSUPPORTED: `unsupported configuration: <detail>`. */
  static configUnsupported(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.CONFIG_UNSUPPORTED, domain, detail);
  }
  /** 5 NO_CONNECT, domain NONE: `no connection driver available for <uri>`. */
  static noConnect(uri: string): LibvirtError {
    return LibvirtError.report(ErrorCode.NO_CONNECT, ErrorDomain.NONE, uri);
  }
  /** 68 OPERATION_TIMEOUT. */
  static timeout(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.OPERATION_TIMEOUT, domain, detail);
  }
  /** 87 RESOURCE_BUSY. */
  static resourceBusy(detail: string, domain: number = ErrorDomain.VBOX): LibvirtError {
    return LibvirtError.report(ErrorCode.RESOURCE_BUSY, domain, detail);
  }
}

export function isLibvirtError(e: unknown): e is LibvirtError {
  return e instanceof LibvirtError;
}
