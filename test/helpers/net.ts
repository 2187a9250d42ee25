/** Loopback port helpers for tests (127.0.0.1 only). */
import net from 'node:net';
import { waitFor } from './proc.js';

/**
 * A currently free TCP port on 127.0.0.1, for programs that cannot listen on
 * port 0 and report it (libvirtd, sshd): bind port 0, read it, close.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export function waitForListening(port: number, timeoutMs = 15_000): Promise<boolean> {
  return waitFor(`127.0.0.1:${port} to accept connections`, () => new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  }), timeoutMs, 100);
}
