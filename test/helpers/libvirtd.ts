/**
 * A private reference libvirtd (libvirt's built-in TEST driver only) for
 * side-by-side comparisons and for validating the harness itself.
 *
 * Same approach as ../shared/tools/run_libvirtd.sh, but per test: its own temp
 * directory (config, unix sockets, pid file), TCP on 127.0.0.1 at a port the
 * test picks, no auth, LIBVIRT_DRIVER_DIR pointing at an empty folder so no
 * connection-driver module is loaded (only test:///default works; qemu:///system
 * answers "no connection driver available"), run in the foreground as our
 * child and killed by `stop()`.
 *
 * Note: the TEST driver resets test:///default when its last client
 * disconnects; hold a connection (e.g. a RawClient after CONNECT_OPEN) to keep
 * state between virsh invocations.
 */
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForListening } from './net.js';
import { startProcess, type LongProcess } from './proc.js';

export interface RefLibvirtd {
  port: number;
  /** `test+tcp://127.0.0.1:PORT/default` */
  uri: string;
  dir: string;
  proc: LongProcess;
  stop(): Promise<void>;
}

export async function startLibvirtd(): Promise<RefLibvirtd> {
  // Short path: unix socket paths inside must stay under ~100 characters.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvd-'));
  await mkdir(path.join(dir, 'sock'));
  await mkdir(path.join(dir, 'nodrivers'));
  const port = await freePort();
  const conf = [
    'listen_tls = 0',
    'listen_tcp = 1',
    'auth_tcp = "none"',
    `tcp_port = "${port}"`,
    'listen_addr = "127.0.0.1"',
    `unix_sock_dir = "${path.join(dir, 'sock')}"`,
    'unix_sock_rw_perms = "0700"',
    'unix_sock_ro_perms = "0700"',
    'auth_unix_ro = "none"',
    'auth_unix_rw = "none"',
    'log_level = 3',
    'log_outputs = "3:stderr"',
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'libvirtd.conf'), conf);
  const proc = startProcess('libvirtd', ['--listen', '-f', path.join(dir, 'libvirtd.conf'), '-p', path.join(dir, 'libvirtd.pid')], {
    env: { ...process.env, LIBVIRT_DRIVER_DIR: path.join(dir, 'nodrivers') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    await proc.stop('SIGTERM', 5000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForListening(port),
      proc.exited.then((e) => { throw new Error(`libvirtd exited early (${e.code}/${e.signal}): ${proc.stderr()}`); }),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, uri: `test+tcp://127.0.0.1:${port}/default`, dir, proc, stop };
}
