/**
 * The VirtualBox backend: factories and public exports (docs/vbox-backend.md).
 *
 *   createSimHost({ home })            the in-process simulator (`--backend sim`, demo, benchmark B)
 *   createVBoxManageHost({ … })        a local VBoxManage, or one on another host over SSH
 */
import type { Logger } from '../log.js';
import { VBoxManageHost, type LockRetryOptions, type VBoxManageHostOptions } from './host.js';
import os from 'node:os';
import path from 'node:path';
import { InProcessSimRunner, LocalRunner, type Runner } from './runner.js';
import { parseSshUrl, SshRunner } from './sshrunner.js';

export * from './types.js';
export * from './parse.js';
export * from './runner.js';
export * from './quote.js';
export { SshRunner, parseSshUrl, checkKnownHosts, knownHostsName, isReadOnly, type SshRunnerOptions, type HostKeyVerdict } from './sshrunner.js';
export { Semaphore } from './semaphore.js';
export { VBoxManageHost, modifyVmArgs, normalizeMac } from './host.js';
export type { HostStats, LockRetryOptions, VBoxManageHostOptions } from './host.js';

export interface CommonHostOptions {
  cacheTtlMs?: number;
  detailsMaxAgeMs?: number;
  timeoutMs?: number;
  maxProcs?: number;
  maxChangeProcs?: number;
  lockRetry?: LockRetryOptions;
  logger?: Logger;
}

export interface SimHostOptions extends CommonHostOptions {
  /** The simulator's state directory (its VBOX_USER_HOME). */
  home: string;
  /** Extra simulator environment (fault injection, profile…; see docs/vboxsim.md). */
  env?: Record<string, string>;
}

function hostOptions(runner: Runner, o: CommonHostOptions, extra: Partial<VBoxManageHostOptions> = {}): VBoxManageHostOptions {
  return {
    runner,
    cacheTtlMs: o.cacheTtlMs,
    detailsMaxAgeMs: o.detailsMaxAgeMs,
    timeoutMs: o.timeoutMs,
    maxProcs: o.maxProcs,
    maxChangeProcs: o.maxChangeProcs,
    lockRetry: o.lockRetry,
    logger: o.logger,
    ...extra,
  };
}

/** A VBoxHost over the simulator running in this process. */
export function createSimHost(opts: SimHostOptions): VBoxManageHost {
  const runner = new InProcessSimRunner({ home: opts.home, env: opts.env, timeoutMs: opts.timeoutMs });
  return new VBoxManageHost(hostOptions(runner, opts));
}

export interface VBoxManageHostFactoryOptions extends CommonHostOptions {
  /** Local VBoxManage path (default: discovered); a `.js` file runs with Node (bin/vboxsim.js). */
  vboxmanage?: string;
  /** VBOX_USER_HOME for a local VBoxManage (default: inherited). */
  vboxUserHome?: string;
  /** `ssh://user@host[:port]`: run VBoxManage on that host instead. */
  vboxHost?: string;
  /** SSH private key file (default: the ssh-agent at SSH_AUTH_SOCK). */
  sshKey?: string;
  /** known_hosts file to check the host key against (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Trust and record an unknown host key (trust on first use). */
  acceptNewHostKey?: boolean;
  /** VBoxManage path on the remote host. */
  remoteVBoxManage?: string;
  /** Remote shell dialect (default posix). */
  remoteShell?: 'posix' | 'cmd';
  /** VBOX_USER_HOME on the remote host (POSIX shells only). */
  remoteVBoxUserHome?: string;
  /** Concurrent SSH channels on the one connection (default 8). */
  maxChannels?: number;
}

/** A VBoxHost over a real VBoxManage (local, or remote over SSH when vboxHost is set). */
export function createVBoxManageHost(opts: VBoxManageHostFactoryOptions = {}): VBoxManageHost {
  if (opts.vboxHost) {
    const { user, host, port } = parseSshUrl(opts.vboxHost);
    const runner = new SshRunner({
      host,
      port,
      user,
      privateKeyPath: opts.sshKey,
      knownHostsFile: opts.knownHosts ?? path.join(os.homedir(), '.ssh', 'known_hosts'),
      acceptNewHostKey: opts.acceptNewHostKey,
      remoteVBoxManage: opts.remoteVBoxManage,
      remoteShell: opts.remoteShell,
      remoteVBoxUserHome: opts.remoteVBoxUserHome,
      timeoutMs: opts.timeoutMs,
      maxChannels: opts.maxChannels,
    });
    return new VBoxManageHost(hostOptions(runner, opts, { hostname: host }));
  }
  const runner = new LocalRunner({ vboxmanage: opts.vboxmanage, vboxUserHome: opts.vboxUserHome, timeoutMs: opts.timeoutMs });
  return new VBoxManageHost(hostOptions(runner, opts));
}
