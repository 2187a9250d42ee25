/**
 * A throw-away simulated VirtualBox host: a temp VBOX_USER_HOME seeded through
 * real `node bin/vboxsim.js …` spawns (the VBoxManage look-alike), plus an
 * executable VBoxManage wrapper for `--backend vboxmanage`.
 *
 *   const host = await createSimHost();
 *   await host.createVm('vm1', { memoryMb: 2048, cpus: 2, macs: ['080027AABB01'], boot: ['net', 'disk'] });
 *   await host.vbox(['startvm', 'vm1', '--type', 'headless']);
 *   await host.cleanup();
 */
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './proc.js';
import { VBOXSIM_BIN } from './paths.js';

export interface VmSpec {
  ostype?: string;
  memoryMb?: number;
  cpus?: number;
  /** One bridged NIC (adapter en0) per MAC, 12 hex digits. */
  macs?: string[];
  /** Boot order, e.g. ['net', 'disk']. */
  boot?: string[];
  /** Start it headless after creating it. */
  start?: boolean;
}

export interface SimHost {
  /** The VBOX_USER_HOME directory (pass to `--sim-home`). */
  home: string;
  /** Executable that runs `node bin/vboxsim.js "$@"` with this home (pass to `--vboxmanage`). */
  wrapper: string;
  /** Extra environment given to every vboxsim spawn (simulator controls, see docs/vboxsim.md). */
  env: NodeJS.ProcessEnv;
  /** Run the simulator once; throws unless it exits 0 (use `vboxRaw` to see failures). */
  vbox(args: readonly string[]): Promise<string>;
  vboxRaw(args: readonly string[]): Promise<RunResult>;
  createVm(name: string, spec?: VmSpec): Promise<string>;
  /** `showvminfo N --machinereadable` parsed into key → value (quotes removed). */
  info(name: string): Promise<Record<string, string>>;
  /** VMState of a VM, straight from the simulator. */
  state(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createSimHost(env: NodeJS.ProcessEnv = {}): Promise<SimHost> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vbsim-'));
  const home = path.join(dir, 'home');
  const wrapper = path.join(dir, 'VBoxManage');
  // Only paths we created go into the script; all VM names travel as argv.
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  await writeFile(wrapper,
    `#!/bin/sh\nVBOX_USER_HOME=${q(home)}\nexport VBOX_USER_HOME\nexec ${q(process.execPath)} ${q(VBOXSIM_BIN)} "$@"\n`);
  await chmod(wrapper, 0o755);
  const fullEnv = () => ({ ...process.env, ...env, VBOX_USER_HOME: home });
  const vboxRaw = (args: readonly string[]) => run(process.execPath, [VBOXSIM_BIN, ...args], { env: fullEnv(), timeoutMs: 30_000 });
  const vbox = async (args: readonly string[]) => {
    const r = await vboxRaw(args);
    if (r.rc !== 0) throw new Error(`vboxsim ${args.join(' ')} failed rc=${r.rc}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const info = async (name: string) => {
    const out = await vbox(['showvminfo', name, '--machinereadable']);
    const m: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const i = line.indexOf('=');
      if (i <= 0) continue;
      const k = line.slice(0, i).replace(/^"|"$/g, '');
      m[k] = line.slice(i + 1).replace(/^"|"$/g, '');
    }
    return m;
  };
  return {
    home, wrapper, env, vbox, vboxRaw, info,
    async state(name) { return (await info(name)).VMState; },
    async createVm(name, spec = {}) {
      const out = await vbox(['createvm', '--name', name, '--ostype', spec.ostype ?? 'Ubuntu_64', '--register']);
      const mod: string[] = ['modifyvm', name, '--memory', String(spec.memoryMb ?? 2048), '--cpus', String(spec.cpus ?? 2)];
      (spec.macs ?? []).forEach((mac, i) => {
        const n = i + 1;
        mod.push(`--nic${n}`, 'bridged', `--bridgeadapter${n}`, 'en0', `--macaddress${n}`, mac);
      });
      (spec.boot ?? []).forEach((dev, i) => mod.push(`--boot${i + 1}`, dev));
      await vbox(mod);
      if (spec.start) await vbox(['startvm', name, '--type', 'headless']);
      const uuid = /UUID: ([0-9a-f-]{36})/i.exec(out)?.[1];
      return uuid ?? (await info(name)).UUID;
    },
    async cleanup() { await rm(dir, { recursive: true, force: true }); },
  };
}
