/**
 * Host capabilities (`virsh capabilities`, CONNECT_GET_CAPABILITIES) and domain
 * capabilities (`virsh domcapabilities`, CONNECT_GET_DOMAIN_CAPABILITIES) for a
 * VirtualBox host. Shapes follow libvirt's capability.rng / domaincaps.rng and
 * the test driver's real output (../shared/captures/capabilities.txt).
 */
import type { HostInfo } from '../../vbox/types.js';
import { XmlWriter } from './writer.js';

/** The most vCPUs VirtualBox gives one VM (VirtualBox's VBOX_MAX_CPUS is 64 for x86, 32 for ARM). */
export const VBOX_MAX_VCPUS = 64;

/** Guest architectures a VirtualBox host of this architecture runs. */
export function guestArchesFor(hostArch: string): Array<{ arch: string; wordsize: number; machines: string[] }> {
  if (hostArch === 'aarch64' || hostArch === 'arm64') {
    // VirtualBox 7.1 on ARM hosts runs ARMv8 guests only.
    return [{ arch: 'aarch64', wordsize: 64, machines: ['virt'] }];
  }
  return [
    { arch: 'x86_64', wordsize: 64, machines: ['pc', 'q35'] },
    { arch: 'i686', wordsize: 32, machines: ['pc', 'q35'] },
  ];
}

/** Kernel name for the host architecture (`arm64` → `aarch64`, `amd64` → `x86_64`). */
export function kernelArch(arch: string): string {
  const a = arch.toLowerCase();
  if (a === 'arm64') return 'aarch64';
  if (a === 'amd64' || a === 'x64') return 'x86_64';
  return a || 'x86_64';
}

export interface CapabilitiesOptions {
  /** Host UUID (`<host><uuid>`), when known. */
  hostUuid?: string;
  /** Path reported as each guest's `<emulator>` (default /usr/bin/VBoxHeadless). */
  emulator?: string;
}

export const DEFAULT_EMULATOR = '/usr/bin/VBoxHeadless';

export function capabilitiesXml(host: HostInfo, opts: CapabilitiesOptions = {}): string {
  const arch = kernelArch(host.arch);
  const w = new XmlWriter();
  w.open('capabilities');
  w.open('host');
  if (opts.hostUuid) w.text('uuid', opts.hostUuid.toLowerCase());
  w.open('cpu');
  w.text('arch', arch);
  if (host.cpuModel) w.text('model', host.cpuModel.replace(/\s+/g, ' ').trim());
  w.empty('topology', { sockets: 1, dies: 1, cores: Math.max(1, host.cpuCount), threads: 1 });
  w.close();
  w.empty('power_management');
  w.open('topology');
  w.open('cells', { num: 1 });
  w.open('cell', { id: 0 });
  w.text('memory', host.memoryKiB, { unit: 'KiB' });
  w.open('cpus', { num: Math.max(1, host.cpuCount) });
  for (let i = 0; i < Math.max(1, host.cpuCount); i++) {
    w.empty('cpu', { id: i, socket_id: 0, die_id: 0, core_id: i, siblings: i });
  }
  w.close().close().close().close();
  w.open('secmodel');
  w.text('model', 'none');
  w.text('doi', '0');
  w.close();
  w.close(); // host
  for (const g of guestArchesFor(arch)) {
    w.open('guest');
    w.text('os_type', 'hvm');
    w.open('arch', { name: g.arch });
    w.text('wordsize', g.wordsize);
    w.text('emulator', opts.emulator ?? DEFAULT_EMULATOR);
    for (const m of g.machines) w.text('machine', m);
    w.empty('domain', { type: 'vbox' });
    w.close();
    w.open('features');
    if (g.arch === 'i686') {
      w.empty('pae');
      w.empty('nonpae');
    }
    w.empty('acpi', { default: 'on', toggle: 'yes' });
    w.empty('apic', { default: 'on', toggle: 'yes' });
    w.close();
    w.close();
  }
  w.close();
  return w.toString();
}

export interface DomainCapabilitiesOptions {
  emulatorbin?: string | null;
  arch?: string | null;
  machine?: string | null;
  virttype?: string | null;
}

/** Thrown for a request this host cannot answer (the handler maps it to CONFIG_UNSUPPORTED). */
export class DomainCapabilitiesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DomainCapabilitiesError';
  }
}

/**
 * Domain capabilities. `virttype` `vbox` (default), and `kvm`/`qemu` as aliases
 * (MAAS compose asks `--virttype kvm` then `qemu` and only reads
 * /domainCapabilities/path); anything else is refused.
 */
export function domainCapabilitiesXml(host: HostInfo, opts: DomainCapabilitiesOptions = {}, emulator = DEFAULT_EMULATOR): string {
  const hostArch = kernelArch(host.arch);
  const guests = guestArchesFor(hostArch);
  const virttype = (opts.virttype ?? '') || 'vbox';
  if (!['vbox', 'kvm', 'qemu'].includes(virttype)) {
    throw new DomainCapabilitiesError(`virttype '${virttype}' is not supported by this VirtualBox host (use vbox)`);
  }
  const arch = opts.arch ? kernelArch(opts.arch) : guests[0]!.arch;
  const guest = guests.find((g) => g.arch === arch);
  if (!guest) throw new DomainCapabilitiesError(`architecture '${opts.arch}' is not supported by this VirtualBox host`);
  if (opts.emulatorbin && opts.emulatorbin !== emulator) {
    throw new DomainCapabilitiesError(`emulator '${opts.emulatorbin}' is not known to this host (it uses ${emulator})`);
  }
  const machine = opts.machine ?? guest.machines[0]!;
  if (!guest.machines.includes(machine)) {
    throw new DomainCapabilitiesError(`machine type '${machine}' is not supported for ${arch} (supported: ${guest.machines.join(', ')})`);
  }
  const enumEl = (w: XmlWriter, name: string, values: string[]) => {
    w.open('enum', { name });
    for (const v of values) w.text('value', v);
    w.close();
  };
  const w = new XmlWriter();
  w.open('domainCapabilities');
  w.text('path', emulator);
  w.text('domain', virttype);
  w.text('machine', machine);
  w.text('arch', arch);
  w.empty('vcpu', { max: arch === 'aarch64' ? 32 : VBOX_MAX_VCPUS });
  w.empty('iothreads', { supported: 'no' });
  w.open('os', { supported: 'yes' });
  enumEl(w, 'firmware', arch === 'aarch64' ? ['efi'] : ['bios', 'efi']);
  w.close();
  w.open('cpu');
  w.empty('mode', { name: 'host-passthrough', supported: 'no' });
  w.empty('mode', { name: 'maximum', supported: 'no' });
  w.empty('mode', { name: 'host-model', supported: 'no' });
  w.empty('mode', { name: 'custom', supported: 'no' });
  w.close();
  w.open('devices');
  w.open('disk', { supported: 'yes' });
  enumEl(w, 'diskDevice', ['disk', 'cdrom', 'floppy']);
  enumEl(w, 'bus', ['ide', 'fdc', 'scsi', 'virtio', 'usb', 'sata']);
  w.close();
  w.open('graphics', { supported: 'yes' });
  enumEl(w, 'type', ['rdp']);
  w.close();
  w.open('video', { supported: 'yes' });
  enumEl(w, 'modelType', ['vbox', 'none']);
  w.close();
  w.open('hostdev', { supported: 'no' });
  w.close();
  w.close();
  w.open('features');
  w.empty('vmcoreinfo', { supported: 'no' });
  w.empty('genid', { supported: 'no' });
  w.close();
  w.close();
  return w.toString();
}
