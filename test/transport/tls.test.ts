/**
 * TLS with libvirt's layout: real virsh over qemu+tls:// with certificates made
 * here by openssl; behind it the real daemon on the simulator.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { startTlsServer, resolveTlsFiles, dnAllowed, LIBVIRT_PKI, TlsConfigError, type TlsListener } from '../../src/transport/tls.js';
import { clientEnv } from '../helpers/virsh.js';
import { waitFor } from '../helpers/proc.js';
import { daemonSink, makePki, openssl, tmpDir, virshWith, type DaemonSink, refusalBaseline } from './fixtures.js';

let pki: string;
let sink: DaemonSink;
let srv: TlsListener;
const env = clientEnv();

beforeAll(async () => {
  sink = await daemonSink();
  pki = await tmpDir('vv-pki-');
  await makePki(pki);
  srv = await startTlsServer(sink, {
    port: 0,
    files: resolveTlsFiles({ tlsDir: path.join(pki, 'server') }),
    allowedDn: ['maas-*', 'O=partner,CN=*'],
  });
});

afterAll(async () => {
  await srv?.close();
  await sink?.close();
  await rm(pki, { recursive: true, force: true });
});

const uri = (dir: string) => `qemu+tls://127.0.0.1:${srv.port}/system?pkipath=${path.join(pki, dir)}`;

test('default file layout is libvirt\'s; --tls-dir maps to DIR/{cacert,servercert,serverkey}.pem', () => {
  expect(resolveTlsFiles({})).toEqual({ ca: '/etc/pki/CA/cacert.pem', cert: '/etc/pki/libvirt/servercert.pem', key: '/etc/pki/libvirt/private/serverkey.pem' });
  expect(resolveTlsFiles({})).toEqual(LIBVIRT_PKI);
  expect(resolveTlsFiles({ tlsDir: '/x', key: '/k.pem' })).toEqual({ ca: '/x/cacert.pem', cert: '/x/servercert.pem', key: '/k.pem' });
});

test('a key that does not match the certificate is a typed configuration error', async () => {
  const files = resolveTlsFiles({ tlsDir: path.join(pki, 'server'), key: path.join(pki, 'maas', 'clientkey.pem') });
  await expect(startTlsServer(sink, { port: 0, files })).rejects.toMatchObject({ name: 'TlsConfigError', code: 'ERR_TLS_CONFIG' });
});

test('a missing certificate file is a typed configuration error', async () => {
  await expect(startTlsServer(sink, { port: 0, files: resolveTlsFiles({ tlsDir: path.join(pki, 'nocert') }) })).rejects.toBeInstanceOf(TlsConfigError);
});

test('virsh with a client certificate from the CA and an allowed CN works; identity = CN + fingerprint', async () => {
  const before = sink.attached.length;
  const r = await virshWith(env, uri('maas'), ['list', '--all']);
  expect(r.stderr).toBe('');
  expect(r.rc).toBe(0);
  expect(r.stdout).toMatch(/\btest\s+running/);
  const fp = await openssl(['x509', '-in', path.join(pki, 'maas', 'clientcert.pem'), '-noout', '-fingerprint', '-sha256']);
  expect(sink.attached[before]).toMatchObject({
    transport: 'tls',
    user: 'maas-rack',
    authMethod: 'certificate',
    fingerprint: fp.stdout.trim().split('=')[1],
  });
});

test('several virsh commands in a row (the confirmation byte is read every time)', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await virshWith(env, uri('maas'), ['domstate', 'test']);
    expect(r.stdout.trim()).toBe('running');
  }
});

test('maxVersion TLSv1.2 (the documented fallback) works with virsh', async () => {
  const s12 = await startTlsServer(sink, { port: 0, files: resolveTlsFiles({ tlsDir: path.join(pki, 'server') }), maxVersion: 'TLSv1.2' });
  try {
    const r = await virshWith(env, `qemu+tls://127.0.0.1:${s12.port}/system?pkipath=${path.join(pki, 'maas')}`, ['domstate', 'test']);
    expect(r.stdout.trim()).toBe('running');
  } finally {
    await s12.close();
  }
});

describe('refusals (nothing reaches the daemon)', () => {
  const baseline = refusalBaseline(() => sink);
  test('plain bytes instead of a TLS handshake: closed, nothing attached, server keeps serving', async () => {
    const net = await import('node:net');
    const before = sink.attached.length;
    const s = net.connect({ host: '127.0.0.1', port: srv.port });
    s.on('error', () => {});
    s.resume();
    s.write(Buffer.from('\0\0\0\x1c\x20\0\x80\x86 this is plain RPC, not TLS'));
    await new Promise<void>((res) => s.once('close', () => res()));
    expect(sink.attached.length).toBe(before);
  });

  test('no client certificate', async () => {
    const before = sink.attached.length;
    const r = await virshWith(env, uri('nocert'), ['destroy', 'test']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/error: failed to connect to the hypervisor/);
    expect(r.stderr).toMatch(/TLS|certificate/i);
    expect(sink.attached.length).toBe(before);
  });

  test('a client certificate from another CA', async () => {
    const before = sink.attached.length;
    const failures = srv.stats().handshakeFailures;
    const r = await virshWith(env, uri('foreign'), ['destroy', 'test']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/error: failed to connect to the hypervisor\nerror: Unable to read TLS confirmation/);
    expect(sink.attached.length).toBe(before);
    await waitFor('the server to log the failed handshake', () => srv.stats().handshakeFailures > failures);
  });

  test('a certificate from the CA whose name is not on the allow-list', async () => {
    const before = sink.attached.length;
    const refused = srv.stats().refused;
    const r = await virshWith(env, uri('intruder'), ['destroy', 'test']);
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('server verification (of our certificate or IP address) failed');
    expect(sink.attached.length).toBe(before);
    expect(srv.stats().refused).toBe(refused + 1);
  });

  test('after all of them: the daemon accepted nothing, no VirtualBox change ran; a good client still works', async () => {
    await baseline.assertNothingReached();
    const r = await virshWith(env, uri('maas'), ['domstate', 'test']);
    expect(r.stdout.trim()).toBe('running');
  });
});

test('DN allow-list matching', () => {
  const rdns = ['C=GB', 'O=lab', 'CN=maas-rack'];
  expect(dnAllowed(rdns, undefined)).toBe(true);
  expect(dnAllowed(rdns, [])).toBe(true);
  expect(dnAllowed(rdns, ['maas-*'])).toBe(true);
  expect(dnAllowed(rdns, ['maas'])).toBe(false);
  expect(dnAllowed(rdns, ['C=GB,O=lab,CN=*'])).toBe(true);
  expect(dnAllowed(rdns, ['CN=maas-rack,O=lab,C=GB'])).toBe(true); // RFC 4514 (reversed) order
  expect(dnAllowed(rdns, ['C=GB,O=other,CN=*'])).toBe(false);
  expect(dnAllowed(rdns, ['O=lab'])).toBe(false); // a DN pattern must match the whole DN
  expect(dnAllowed(['O=x', 'CN=a.b'], ['a?b'])).toBe(true);
  expect(dnAllowed(['O=x', 'CN=a.b'], ['a.c'])).toBe(false); // dots are literal
});
