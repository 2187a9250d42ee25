/**
 * The standard simulated host used by the integration files, and helpers to put
 * its VMs into a given state through the simulator (never through the daemon).
 *
 * VMs: `test` (2048 MiB, 2 vCPUs, NIC 08:00:27:AA:BB:01 bridged to en0, boot
 * net,disk) and `off1` (1024 MiB, 1 vCPU, NIC 08:00:27:AA:BB:02); `withUnsafe`
 * adds VMs whose names are not safe virsh words.
 */
import { createSimHost, type SimHost } from './simhost.js';
import { sleep } from './proc.js';

export interface StdHost {
  host: SimHost;
  uuids: Record<string, string>;
}

/** VirtualBox names that virsh cannot address as they are (docs/driver.md "Names and aliases"). */
export const UNSAFE_NAMES = ['My VM', '12345', "it's", 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'];

export async function createStdHost(opts: { withUnsafe?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<StdHost> {
  const host = await createSimHost(opts.env ?? {});
  const uuids: Record<string, string> = {};
  uuids.test = await host.createVm('test', { memoryMb: 2048, cpus: 2, macs: ['080027AABB01'], boot: ['net', 'disk', 'none', 'none'] });
  uuids.off1 = await host.createVm('off1', { memoryMb: 1024, cpus: 1, macs: ['080027AABB02'], boot: ['disk', 'none', 'none', 'none'] });
  if (opts.withUnsafe) {
    for (const n of UNSAFE_NAMES) uuids[n] = await host.createVm(n, { memoryMb: 512, cpus: 1 });
  }
  return { host, uuids };
}

/**
 * The alias rule of docs/driver.md, re-implemented here from the text so the
 * test does not reuse the product's code: runs of characters other than
 * ASCII letters, digits, `.` and `_` become `-`, leading/trailing `-`/`.` are
 * trimmed, `vm` if empty, then `-` + the first 8 hex digits of the UUID.
 */
export function expectedAlias(name: string, uuid: string): string {
  let stem = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9._]+/g, '-');
  stem = stem.replace(/^[-.]+/, '').replace(/[-.]+$/, '').slice(0, 48).replace(/[-.]+$/, '') || 'vm';
  return `${stem}-${uuid.replace(/-/g, '').slice(0, 8).toLowerCase()}`;
}

/**
 * Drive a VM into `want` through the simulator: 'running' | 'poweroff' | 'paused' | 'saved'.
 * Resolves true when something had to be changed (a daemon with a VM-list cache
 * then needs its `--cache-ttl` to pass before it sees the change).
 */
export async function ensureState(host: SimHost, name: string, want: 'running' | 'poweroff' | 'paused' | 'saved'): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    const s = await host.state(name);
    if (s === want) return i > 0;
    if (s === 'running' || s === 'paused') {
      if (want === 'poweroff') await host.vbox(['controlvm', name, 'poweroff']);
      else if (want === 'paused') await host.vbox(['controlvm', name, 'pause']);
      else if (want === 'running') await host.vbox(['controlvm', name, 'resume']);
      else await host.vbox(['controlvm', name, 'savestate']);
    } else if (s === 'saved' || s === 'poweroff' || s === 'aborted') {
      await host.vbox(['startvm', name, '--type', 'headless']);
    } else {
      await sleep(300); // transitional (stopping, starting, saving…): let it settle
    }
  }
  throw new Error(`could not bring ${name} to ${want} (now ${await host.state(name)})`);
}

/**
 * The daemon's VM-list cache window used by the suites (`--cache-ttl`): state
 * changed behind the daemon's back (through the simulator) is visible to it
 * once this has elapsed — see docs/vbox-backend.md "The host snapshot".
 */
export const CACHE_TTL_MS = 300;

/** ensureState, then wait out the daemon's cache window if the state changed. */
export async function setState(host: SimHost, name: string, want: 'running' | 'poweroff' | 'paused' | 'saved'): Promise<void> {
  if (await ensureState(host, name, want)) await sleep(CACHE_TTL_MS + 100);
}
