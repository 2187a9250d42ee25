/**
 * `vboxvirt demo`: a simulated VirtualBox host with a few VMs, created through
 * the same VBoxHost interface the daemon uses (so through the simulator's
 * VBoxManage command line).
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { createSimHost } from '../vbox/index.js';
import type { VmChanges } from '../vbox/types.js';

export interface DemoVm {
  name: string;
  osType: string;
  state: 'running' | 'poweroff' | 'saved' | 'paused';
  changes: VmChanges;
}

const nic = (n: number): VmChanges['nics'] => [
  { slot: 1, attachment: 'bridged', target: 'en0', mac: `080027DE00${n.toString(16).padStart(2, '0').toUpperCase()}`, model: '82540EM' },
];

export const DEMO_VMS: readonly DemoVm[] = [
  { name: 'web-01', osType: 'Ubuntu_64', state: 'running', changes: { memoryMB: 2048, cpus: 2, boot: ['net', 'disk'], nics: nic(1) } },
  { name: 'db-01', osType: 'Ubuntu_64', state: 'running', changes: { memoryMB: 4096, cpus: 4, boot: ['disk'], nics: nic(2) } },
  { name: 'build-agent', osType: 'Debian_64', state: 'saved', changes: { memoryMB: 1024, cpus: 1, nics: nic(3) } },
  { name: 'old-test', osType: 'Ubuntu_64', state: 'poweroff', changes: { memoryMB: 1024, cpus: 1, boot: ['net', 'disk'], nics: nic(4) } },
  { name: 'My Test VM', osType: 'Windows10_64', state: 'poweroff', changes: { memoryMB: 4096, cpus: 2, nics: nic(5) } },
];

/** Create the demo VMs unless the host already has VMs. Returns true if it created them. */
export async function seedDemo(home: string, logger: Logger): Promise<boolean> {
  await mkdir(home, { recursive: true });
  const host = createSimHost({ home, logger });
  const ctx = { who: 'vboxvirt demo' };
  try {
    if ((await host.listVms()).length > 0) return false;
    for (const vm of DEMO_VMS) {
      const uuid = await host.createVm({ name: vm.name, osType: vm.osType, changes: vm.changes }, ctx);
      if (vm.state !== 'poweroff') {
        await host.startVm(uuid, ctx, { paused: vm.state === 'paused' });
        if (vm.state === 'saved') await host.saveState(uuid, ctx);
      }
    }
    return true;
  } finally {
    await host.close();
  }
}
