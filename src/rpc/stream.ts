/**
 * serveStream: wire a byte stream (TCP/TLS socket, SSH channel, child stdio…)
 * to an RpcConnection with flow control in both directions:
 *  - the pipeline is full (maxInFlight calls running, more waiting) → stop
 *    reading the stream until the connection drains;
 *  - the peer does not read our replies (stream.write() returns false) →
 *    stop reading its calls until the stream drains.
 * So a client can never make the daemon buffer without bound. The stream is
 * ended when the connection closes (CONNECT_CLOSE, framing error, keepalive
 * timeout) and the connection is closed when the stream ends or fails.
 */
import type { Duplex } from 'node:stream';
import { RpcConnection, type RpcConnectionOptions } from './connection.js';

export type ServeStreamOptions = Omit<RpcConnectionOptions, 'write' | 'onDrain'>;

export function serveStream(stream: Duplex, opts: ServeStreamOptions): RpcConnection {
  let writeBlocked = false;
  let connPaused = false;
  const update = () => {
    if (conn.closed) return;
    if (writeBlocked || connPaused) stream.pause();
    else stream.resume();
  };
  const conn: RpcConnection = new RpcConnection({
    ...opts,
    write: (buf) => {
      if (stream.destroyed || stream.writableEnded) return;
      if (!stream.write(buf) && !writeBlocked) {
        writeBlocked = true;
        update();
      }
    },
    onDrain: () => {
      connPaused = false;
      update();
    },
    onClose: (reason, error) => {
      stream.off('data', onData);
      if (!stream.destroyed && !stream.writableEnded) stream.end();
      // do not wait for a peer that never closes its side
      const t = setTimeout(() => stream.destroy(), 2000);
      t.unref?.();
      stream.once('close', () => clearTimeout(t));
      opts.onClose?.(reason, error);
    },
  });
  const onData = (d: Buffer) => {
    if (!conn.feed(d) && !conn.closed) {
      connPaused = true;
      update();
    }
  };
  stream.on('data', onData);
  stream.on('drain', () => {
    writeBlocked = false;
    update();
  });
  stream.on('end', () => conn.end());
  stream.on('close', () => conn.close('eof'));
  stream.on('error', (e: Error) => {
    opts.log?.debug(`stream error: ${e.message}`);
    conn.close('eof', e);
  });
  return conn;
}
