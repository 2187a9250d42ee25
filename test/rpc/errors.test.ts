/**
 * LibvirtError constructors produce exactly the remote_error bytes libvirtd
 * 9.0 sent (compared against the captured error replies).
 */
import { describe, expect, test } from '@jest/globals';
import { ErrorCode, ErrorDomain, RemoteError } from '../../protocol/index.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { decode, encode } from '../../src/rpc/xdr.js';
import { capturePath, loadCapture, packetBytes, packets } from './captures.js';

/** The payload of the first error reply in a capture. */
function capturedError(name: string): Buffer {
  const p = packets(loadCapture(capturePath(name))).find((x) => x.dir === 'S>C' && x.status === 1);
  if (!p) throw new Error(`no error reply in ${name}`);
  return packetBytes(p).subarray(28);
}

function bytesOf(e: LibvirtError): string {
  return encode(RemoteError, e.toRemoteError()).toString('hex');
}

describe('LibvirtError matches libvirtd byte for byte', () => {
  test.each<[string, () => LibvirtError]>([
    ['err-domstate-nosuchvm', () => LibvirtError.noDomain(undefined, ErrorDomain.TEST)],
    ['err-destroy-not-running', () => LibvirtError.operationInvalid('domain is not running')],
    ['err-shutdown-not-running', () => LibvirtError.internalError("domain 'test' not running", ErrorDomain.TEST)],
    ['err-resume-not-paused', () => LibvirtError.internalError("domain 'test' not paused", ErrorDomain.TEST)],
    ['err-define-invalid-xml', () => LibvirtError.xmlDetail('(domain_definition):1: Document is empty\n(null)\n^')],
    ['start-paused', () => LibvirtError.unsupportedFlags(1, 'testDomainCreateWithFlags', ErrorDomain.TEST)],
    ['qemu-system-list-all', () => LibvirtError.noConnect('qemu:///system')],
    ['plain-tcp-no-path', () => LibvirtError.invalidArg('testOpen: supply a path or use test:///default', ErrorDomain.TEST)],
    ['raw-unknown-proc', () => LibvirtError.unknownProcedure(9999)],
    ['raw-garbage-args', () => LibvirtError.decodeFailed()],
    ['raw-wrong-program', () => LibvirtError.unknownProgram(0x12345678, 1)],
    ['raw-wrong-version', () => LibvirtError.unknownProgram(0x20008086, 2)],
    ['raw-call-before-open', () => LibvirtError.internalError('hypervisor connection not open', ErrorDomain.RPC)],
    ['raw-duplicate-open', () => LibvirtError.internalError('connection already open', ErrorDomain.RPC)],
  ])('%s', (capture, make) => {
    expect(bytesOf(make())).toBe(capturedError(capture).toString('hex'));
  });

  test('decoding a captured error gives a typed LibvirtError with stable names', () => {
    const e = LibvirtError.fromRemoteError(decode(RemoteError, capturedError('err-destroy-not-running')));
    expect(e).toBeInstanceOf(LibvirtError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(e.codeName).toBe('OPERATION_INVALID');
    expect(e.domainName).toBe('DOMAIN');
    expect(e.message).toBe('Requested operation is not valid: domain is not running');
    expect(bytesOf(e)).toBe(capturedError('err-destroy-not-running').toString('hex'));
  });

  test('read-only refusal reads like libvirt (virsh prints this text for --readonly destroy)', () => {
    const stderr = (loadCapture(capturePath('readonly-destroy')).find((l) => l.kind === 'virsh') as unknown as { stderr: string }).stderr;
    const e = LibvirtError.readOnly('virDomainDestroy');
    expect(e.code).toBe(ErrorCode.OPERATION_DENIED);
    expect(e.domain).toBe(ErrorDomain.DOMAIN);
    expect(stderr).toContain(`error: ${e.message}`);
    expect(e.str1).toBe('operation forbidden: %s');
    expect(e.str2).toBe('read only access prevents virDomainDestroy');
  });

  test('a NULL message survives the round trip', () => {
    const e = new LibvirtError({ code: 1, domain: 7, message: null });
    const back = LibvirtError.fromRemoteError(decode(RemoteError, encode(RemoteError, e.toRemoteError())));
    expect(back.wireMessage).toBeNull();
    expect(back.message).toBe('');
  });

  test('codes without a known template carry the detail verbatim', () => {
    const e = LibvirtError.report(ErrorCode.AUTH_FAILED, ErrorDomain.AUTH, 'nope');
    expect(e.message).toBe('nope');
    expect(e.str1).toBe('%s');
  });
});
