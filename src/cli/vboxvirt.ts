/**
 * `vboxvirt` command line (commander 14).
 *
 *   vboxvirt serve [--backend sim|vboxmanage] [--sim-home DIR] [--vboxmanage PATH]
 *                  [--vbox-host ssh://user@host[:port]] [--listen-tcp HOST:PORT]...
 *                  [--allow CIDR]... [--log-level L] [--cache-ttl MS]
 *   vboxvirt demo  [--home DIR] [--listen-tcp HOST:PORT]...
 *
 * When every listener is ready, one line per listener goes to stdout:
 * `listening tcp 127.0.0.1:40123` (the real port when 0 was asked). Logs go to
 * stderr. SIGINT/SIGTERM shut down cleanly (exit 0). SIGUSR2 reports status
 * (connections, VBoxManage runs, memory after a full collection): a log line and
 * `status {json}` on stdout (not with --stdio).
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, type Logger } from '../log.js';
import { Daemon } from '../daemon.js';
import { createSimHost, createVBoxManageHost } from '../vbox/index.js';
import type { VBoxHost } from '../vbox/types.js';
import type { Listener } from '../transport/types.js';
import { DEFAULT_LISTEN_TCP, listeningLine, startListeners, type ListenOptions } from './listeners.js';
import { addSecureOptions, loadSecurity, startSecureListeners, wantsSecureListener, type SecureOptions } from './listeners-secure.js';
import { addPasswdCommand } from './passwd.js';
import { statusReport } from '../status.js';

export interface ServeOptions extends SecureOptions {
  backend: 'sim' | 'vboxmanage';
  simHome?: string;
  vboxmanage?: string;
  vboxHost?: string;
  /** SSH backend (--vbox-host): private key, known_hosts, TOFU, remote VBoxManage path/shell/home. */
  vboxSshKey?: string;
  vboxKnownHosts?: string;
  acceptNewHostKey?: boolean;
  remoteVboxmanage?: string;
  remoteShell?: 'posix' | 'cmd';
  remoteVboxUserHome?: string;
  listenTcp: string[];
  allow: string[];
  logLevel: string;
  cacheTtl?: number;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer (milliseconds)');
  return n;
}

const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];

/** A usage/config error: printed as `vboxvirt: <message>`, exit 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export function buildHost(o: ServeOptions, logger: Logger): VBoxHost {
  if (o.backend === 'sim') {
    const home = o.simHome ?? process.env.VBOX_USER_HOME;
    if (!home) throw new CliError('--backend sim needs --sim-home DIR (or VBOX_USER_HOME)');
    return createSimHost({ home: path.resolve(home), cacheTtlMs: o.cacheTtl, logger });
  }
  return createVBoxManageHost({
    vboxmanage: o.vboxmanage,
    vboxHost: o.vboxHost,
    sshKey: o.vboxSshKey ? path.resolve(o.vboxSshKey) : undefined,
    knownHosts: o.vboxKnownHosts ? path.resolve(o.vboxKnownHosts) : undefined,
    acceptNewHostKey: o.acceptNewHostKey,
    remoteVBoxManage: o.remoteVboxmanage,
    remoteShell: o.remoteShell,
    remoteVBoxUserHome: o.remoteVboxUserHome,
    cacheTtlMs: o.cacheTtl,
    logger,
  });
}

/**
 * Where the storage handlers keep pools.json / pending.json: --state-dir, else
 * `<sim home>/vboxvirt` for the simulator, else memory only.
 */
export function stateDirFor(o: ServeOptions): string | undefined {
  if (o.stateDir) return path.resolve(o.stateDir);
  if (o.backend === 'sim') {
    const home = o.simHome ?? process.env.VBOX_USER_HOME;
    if (home) return path.join(path.resolve(home), 'vboxvirt');
  }
  return undefined;
}

export interface Running {
  daemon: Daemon;
  listeners: Listener[];
  /** Close listeners, connections, background work and the backend; idempotent. */
  stop(): Promise<void>;
}

/**
 * Start a daemon and its listeners; prints the `listening …` lines through
 * `out` (not with --stdio: stdout is then the connection itself).
 */
export async function serve(o: ServeOptions, logger: Logger, out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<Running> {
  const { policy, audit } = loadSecurity(o);
  const host = buildHost(o, logger);
  const daemon = new Daemon({ host, logger, storage: { stateDir: stateDirFor(o) }, driver: { policy, audit } });
  let stopping: Promise<void> | undefined;
  const listeners: Listener[] = [];
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled([...listeners.map((l) => l.close()), daemon.close()]);
      await audit.close();
    })());
  try {
    const tcp = o.listenTcp.length ? o.listenTcp : wantsSecureListener(o) ? [] : [DEFAULT_LISTEN_TCP];
    const lo: ListenOptions = { listenTcp: tcp, allow: o.allow, logger };
    listeners.push(...(await startListeners(daemon, lo)));
    const onStdioEnd =
      o.onStdioEnd ??
      ((e?: Error) => {
        if (e) logger.error(`stdio connection failed: ${e.message}`);
        void stop().then(() => process.exit(e ? 1 : 0));
      });
    listeners.push(...(await startSecureListeners(daemon, { ...o, onStdioEnd }, logger)));
  } catch (err) {
    await stop();
    throw err;
  }
  if (!o.stdio) for (const l of listeners) out(listeningLine(l));
  return { daemon, listeners, stop };
}

function installSignals(running: Running, logger: Logger, stdoutFree = true): void {
  // status on demand: a log line, and (when stdout is not the --stdio connection) one
  // `status {json}` line on stdout, memory measured after settled collections (status.ts)
  let reporting = false;
  process.on('SIGUSR2', () => {
    // one report at a time: a second signal during the collections is answered by this one
    if (reporting) return;
    reporting = true;
    void statusReport(running.daemon, { collect: true })
      .then((r) => {
        logger.info('status', { ...r });
        if (stdoutFree) process.stdout.write(`status ${JSON.stringify(r)}\n`);
      })
      .catch((e: Error) => logger.error(`status report failed: ${e.message}`))
      .finally(() => {
        reporting = false;
      });
  });
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count > 1) {
      logger.warn(`${sig} again: exiting now`);
      process.exit(1);
    }
    logger.info(`${sig}: shutting down`);
    running.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function buildProgram(): Command {
  const program = new Command('vboxvirt')
    .description('libvirt remote-protocol server for VirtualBox: virsh, MAAS and libvirt bindings drive VirtualBox VMs')
    .showHelpAfterError()
    .exitOverride();

  const serveCmd = program
    .command('serve')
    .description('serve the libvirt RPC protocol for a VirtualBox host')
    .addOption(new Option('--backend <kind>', 'VirtualBox backend').choices(['sim', 'vboxmanage']).default('vboxmanage'))
    .option('--sim-home <dir>', 'simulator state directory for --backend sim (default $VBOX_USER_HOME)')
    .option('--vboxmanage <path>', 'VBoxManage executable (default: found on PATH)')
    .option('--vbox-host <url>', 'run VBoxManage on another host: ssh://user@host[:port]')
    .option('--vbox-ssh-key <file>', 'private key for --vbox-host (default: the ssh-agent at SSH_AUTH_SOCK)')
    .option('--vbox-known-hosts <file>', 'known_hosts file for --vbox-host (default ~/.ssh/known_hosts)')
    .option('--accept-new-host-key', 'trust and record an unknown --vbox-host key (trust on first use); a changed key is always refused')
    .option('--remote-vboxmanage <path>', 'VBoxManage path on the --vbox-host machine (default VBoxManage)')
    .addOption(new Option('--remote-shell <kind>', "the --vbox-host account's shell").choices(['posix', 'cmd']))
    .option('--remote-vbox-user-home <dir>', 'VBOX_USER_HOME on the --vbox-host machine (POSIX shells)')
    .option('--listen-tcp <host:port>', `plain TCP listener, repeatable (default ${DEFAULT_LISTEN_TCP})`, collect, [])
    .option('--allow <cidr>', 'client network allowed on a non-loopback TCP listener, repeatable', collect, [])
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--cache-ttl <ms>', 'max age of the VirtualBox VM list snapshot', nonNegativeInt)
    .action(async (opts: ServeOptions) => {
      const logger = createLogger({ level: opts.logLevel });
      const running = await serve(opts, logger);
      installSignals(running, logger, !opts.stdio);
    });
  // --state-dir, --listen-ssh/--listen-unix/--listen-tls/--stdio, --policy, --audit-log (src/cli/listeners-secure.ts)
  addSecureOptions(serveCmd);

  program
    .command('demo')
    .description('create a simulated VirtualBox host with a few VMs (if absent) and serve it')
    .option('--home <dir>', 'simulator state directory', './.vboxvirt-demo')
    .option('--listen-tcp <host:port>', `plain TCP listener, repeatable (default ${DEFAULT_LISTEN_TCP})`, collect, [])
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .action(async (opts: { home: string; listenTcp: string[]; logLevel: string }) => {
      const logger = createLogger({ level: opts.logLevel });
      const home = path.resolve(opts.home);
      const { seedDemo } = await import('./demo.js'); // only `vboxvirt demo` needs it
      const created = await seedDemo(home, logger);
      const running = await serve(
        { backend: 'sim', simHome: home, listenTcp: opts.listenTcp, allow: [], logLevel: opts.logLevel },
        logger,
      );
      installSignals(running, logger);
      const tcp = running.listeners.find((l) => l.kind === 'tcp');
      process.stderr.write(
        `\n${created ? 'Created' : 'Using'} the demo VirtualBox host in ${home}.\n` +
          (tcp ? `Try:\n  virsh -c qemu+tcp://${tcp.address}/system list --all\n` +
            `  virsh -c qemu+tcp://${tcp.address}/system start old-test\n` +
            `  virsh -c qemu+tcp://${tcp.address}/system dominfo web-01\n` : '') +
          `Stop with Ctrl-C.\n\n`,
      );
    });
  // vboxvirt passwd USER: salted scrypt hashes for the built-in SSH server (src/cli/passwd.ts)
  addPasswdCommand(program);
  return program;
}

/** Entry point (bin/vboxvirt.js). */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander already printed the message / help.
      process.exit(e.exitCode ?? 2);
    }
    process.stderr.write(`vboxvirt: ${e.message ?? String(err)}\n`);
    process.exit(err instanceof CliError ? 2 : 1);
  }
}
