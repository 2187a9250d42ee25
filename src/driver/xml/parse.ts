/**
 * Domain XML in: any libvirt domain XML (ours, MAAS's compose template,
 * hand-written) → a neutral `DomainDef`, then either
 *   - `changesForExisting(vm, def, ctx)`: the `VmChanges` that make an existing
 *     VM match the XML (only what differs), refusing what VirtualBox/VmChanges
 *     cannot express; or
 *   - `planNewVm(def, ctx)`: a `CreateVmSpec` plus storage controllers and
 *     attachments for a new VM.
 * Fixed point: domainXml(vm) → parseDomainXml → changesForExisting(vm) = {}.
 * What is honoured, ignored or refused is listed in docs/xml.md.
 */
import { samePath } from './paths.js';
import type { CreateVmSpec, NicAttachment, NicInfo, VmChanges, VmInfo } from '../../vbox/types.js';
import { attr, child, children, parseXmlRoot, rawTextOf, scaledToBytes, textOf, type El } from './dom.js';
import { configUnsupported, noNetwork, xmlError, xmlSyntaxError, type XmlKind } from './errors.js';
import {
  LIBVIRT_TO_NIC_MODEL,
  LIBVIRT_TO_VBOX_BOOT,
  NIC_MODEL_TO_LIBVIRT,
  chipsetOfMachine,
  guestArch,
  hostIfToken,
  macToVbox,
  placeDisks,
  resolveHostInterface,
  suffixToIndex,
} from './mapping.js';

export interface DiskAddress {
  controller: number;
  bus: number;
  target: number;
  unit: number;
}

export interface DomainDisk {
  device: 'disk' | 'cdrom' | 'floppy';
  /** Source file; undefined for an empty CD/floppy drive. */
  file?: string;
  target: string;
  /** libvirt bus (explicit, or inferred from the target prefix). */
  bus: 'ide' | 'sata' | 'scsi' | 'virtio' | 'fdc' | 'usb';
  readonly: boolean;
  address?: DiskAddress;
  bootOrder?: number;
  serial?: string;
}

export interface DomainInterface {
  type: 'user' | 'bridge' | 'direct' | 'network' | 'internal' | 'ethernet' | 'null';
  /** 12 uppercase hex digits (VirtualBox form), when the XML gives one. */
  mac?: string;
  /** `<source network|bridge|dev|name>` value. */
  source?: string;
  /** VirtualBox nictype, when the XML names a model. */
  model?: string;
  linkDown: boolean;
  bootOrder?: number;
}

export interface DomainDef {
  virtType: string;
  name: string;
  uuid?: string;
  description: string;
  memoryMB: number;
  cpus: number;
  arch?: string;
  machine?: string;
  firmware: 'BIOS' | 'EFI';
  /** VirtualBox boot devices in order; undefined when the XML gives no boot order at all. */
  boot?: string[];
  features: { acpi: boolean; apic: boolean; pae: boolean };
  disks: DomainDisk[];
  interfaces: DomainInterface[];
  /** Elements accepted but without VirtualBox meaning (for logs / docs). */
  ignored: string[];
}

const K: XmlKind = 'domain';
const VIRT_TYPES = ['vbox', 'kvm', 'qemu'];

/** Top-level elements accepted and ignored (no VirtualBox meaning or harmless). */
const IGNORED_TOP = new Set([
  'title', 'metadata', 'on_poweroff', 'on_reboot', 'on_crash', 'on_lockfailure', 'pm', 'cpu',
  'seclabel', 'resource', 'clock', 'genid', 'sysinfo', 'vcpus', 'iothreads', 'cputune', 'memtune',
  'blkiotune', 'numatune', 'keywrap', 'idmap', 'throttlegroups',
]);
/** Devices accepted and ignored: emulator plumbing with no VirtualBox counterpart. */
const IGNORED_DEVICES = new Set([
  'emulator', 'controller', 'serial', 'console', 'channel', 'graphics', 'video', 'sound', 'audio',
  'input', 'memballoon', 'rng', 'watchdog', 'panic', 'parallel', 'hub',
]);
/** Devices refused: they ask for something VirtualBox (through this bridge) cannot give. */
const REFUSED_DEVICES = new Set([
  'hostdev', 'filesystem', 'smartcard', 'redirdev', 'redirfilter', 'shmem', 'memory', 'tpm',
  'vsock', 'iommu', 'lease', 'nvram', 'crypto',
]);

function positiveInt(value: string | undefined, what: string): number {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) throw xmlError(K, `invalid value '${value ?? ''}' for ${what}`);
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n) || n <= 0) throw xmlError(K, `invalid value '${value}' for ${what}`);
  return n;
}

function optInt(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw xmlError(K, `invalid value '${value}' for ${what}`);
  return n;
}

/** Parse a `<domain>` document. Throws DriverError (35 for malformed XML, 27 for bad values, 67 for unsupported). */
export function parseDomainXml(xml: string): DomainDef {
  const root = parseXmlRoot(K, xml, 'domain');
  const virtType = attr(root, 'type');
  if (!virtType) throw xmlError(K, "missing domain type attribute");
  if (!VIRT_TYPES.includes(virtType)) {
    throw configUnsupported(`domain type '${virtType}' (this VirtualBox host defines 'vbox' domains; 'kvm' and 'qemu' are accepted as aliases)`);
  }
  const ignored: string[] = [];
  const name = textOf(child(root, 'name'));
  if (!name) throw xmlError(K, 'missing domain name');
  if (/[\r\n/]/.test(name)) throw xmlError(K, `name '${name}' cannot contain '/' or a newline`);
  const uuidText = textOf(child(root, 'uuid'));
  let uuid: string | undefined;
  if (uuidText !== undefined) {
    const hex = uuidText.replace(/-/g, '').toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(hex)) throw xmlError(K, `malformed uuid element`);
    uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  const description = rawTextOf(child(root, 'description')) ?? '';

  // Memory: VirtualBox has one size; libvirt's balloon target must equal it.
  const memEl = child(root, 'memory');
  const curEl = child(root, 'currentMemory');
  if (!memEl && !curEl) throw xmlError(K, 'missing memory element');
  const memBytes = memEl ? scaledToBytes(K, textOf(memEl), attr(memEl, 'unit'), 'KiB', 'memory') : undefined;
  const curBytes = curEl ? scaledToBytes(K, textOf(curEl), attr(curEl, 'unit'), 'KiB', 'currentMemory') : undefined;
  if (memBytes !== undefined && curBytes !== undefined && Math.ceil(memBytes / 1048576) !== Math.ceil(curBytes / 1048576)) {
    throw configUnsupported(`currentMemory (${curBytes / 1024} KiB) different from memory (${memBytes / 1024} KiB): VirtualBox has no balloon target in a VM's configuration`);
  }
  const memoryMB = Math.ceil((memBytes ?? curBytes!) / 1048576);
  if (memoryMB < 1) throw xmlError(K, 'memory size must be at least 1 MiB');
  if (child(root, 'maxMemory')) throw configUnsupported('maxMemory (memory hotplug) is not supported by VirtualBox');
  if (child(root, 'memoryBacking')) throw configUnsupported('memoryBacking is not supported by VirtualBox');

  const vcpuEl = child(root, 'vcpu');
  const cpus = vcpuEl ? positiveInt(textOf(vcpuEl), 'vcpu') : 1;
  const current = attr(vcpuEl, 'current');
  if (current !== undefined && positiveInt(current, 'vcpu current') !== cpus) {
    throw configUnsupported(`vcpu current (${current}) different from the maximum (${cpus}): VirtualBox CPU hotplug is not supported`);
  }

  // <os>
  const os = child(root, 'os');
  if (!os) throw xmlError(K, 'missing os element');
  const typeEl = child(os, 'type');
  const osType = textOf(typeEl);
  if (osType !== undefined && osType !== 'hvm') throw configUnsupported(`os type '${osType}' (VirtualBox runs hvm guests only)`);
  const arch = attr(typeEl, 'arch');
  const machine = attr(typeEl, 'machine');
  for (const unsupported of ['kernel', 'initrd', 'cmdline', 'dtb', 'init']) {
    if (child(os, unsupported)) throw configUnsupported(`direct kernel boot (<os><${unsupported}>) is not supported by VirtualBox`);
  }
  const fwAttr = attr(os, 'firmware');
  if (fwAttr !== undefined && fwAttr !== 'efi' && fwAttr !== 'bios') throw configUnsupported(`firmware '${fwAttr}'`);
  const loader = child(os, 'loader');
  const firmware: 'BIOS' | 'EFI' = fwAttr === 'efi' || (fwAttr === undefined && loader !== undefined && attr(loader, 'type') !== 'rom') ? 'EFI' : 'BIOS';
  const bootEls = children(os, 'boot');
  let boot: string[] | undefined;
  if (bootEls.length) {
    boot = bootEls.map((b) => {
      const dev = attr(b, 'dev') ?? '';
      const v = LIBVIRT_TO_VBOX_BOOT[dev];
      if (!v) throw xmlError(K, `unknown boot device '${dev}'`);
      return v;
    });
    if (boot.length > 4) throw configUnsupported(`${boot.length} boot devices (VirtualBox has 4 boot slots)`);
  }

  const feat = child(root, 'features');
  const features = {
    acpi: !!(feat && child(feat, 'acpi')),
    apic: !!(feat && child(feat, 'apic')),
    pae: !!(feat && child(feat, 'pae')),
  };

  for (const el of children(root)) {
    const n = el.tagName;
    if (['name', 'uuid', 'description', 'memory', 'currentMemory', 'vcpu', 'os', 'features', 'devices'].includes(n)) continue;
    if (IGNORED_TOP.has(n)) { ignored.push(n); continue; }
    if (n === 'maxMemory' || n === 'memoryBacking') continue; // refused above
    throw configUnsupported(`<${n}> is not supported by this VirtualBox host`);
  }

  const disks: DomainDisk[] = [];
  const interfaces: DomainInterface[] = [];
  const devices = child(root, 'devices');
  if (devices) {
    for (const el of children(devices)) {
      const n = el.tagName;
      if (n === 'disk') disks.push(parseDisk(el, K));
      else if (n === 'interface') interfaces.push(parseInterface(el, K));
      else if (IGNORED_DEVICES.has(n)) ignored.push(`devices/${n}`);
      else if (REFUSED_DEVICES.has(n)) throw configUnsupported(`<${n}> devices are not supported by this VirtualBox host`);
      else throw configUnsupported(`<${n}> devices are not supported by this VirtualBox host`);
    }
  }
  checkTargetsUnique(disks, K);

  // Per-device boot order (<boot order='N'/> inside disks/interfaces).
  const perDevice = [
    ...disks.filter((d) => d.bootOrder !== undefined).map((d) => ({ order: d.bootOrder!, dev: ({ disk: 'disk', cdrom: 'dvd', floppy: 'floppy' } as const)[d.device] })),
    ...interfaces.filter((i) => i.bootOrder !== undefined).map((i) => ({ order: i.bootOrder!, dev: 'net' })),
  ];
  if (perDevice.length) {
    if (boot) throw xmlError(K, 'per-device boot elements cannot be used together with os/boot elements');
    const seen = new Set<number>();
    for (const p of perDevice) {
      if (seen.has(p.order)) throw xmlError(K, `boot order '${p.order}' used for more than one device`);
      seen.add(p.order);
    }
    const kinds: string[] = [];
    for (const p of perDevice.sort((a, b) => a.order - b.order)) if (!kinds.includes(p.dev)) kinds.push(p.dev);
    boot = kinds;
  }

  return { virtType, name, uuid, description, memoryMB, cpus, arch, machine, firmware, boot, features, disks, interfaces, ignored };
}

const BUS_VALUES = ['ide', 'sata', 'scsi', 'virtio', 'fdc', 'usb'] as const;

function inferBus(target: string, kind: XmlKind): DomainDisk['bus'] {
  if (target.startsWith('hd')) return 'ide';
  if (target.startsWith('sd')) return 'sata';
  if (target.startsWith('vd')) return 'virtio';
  if (target.startsWith('fd')) return 'fdc';
  throw xmlError(kind, `cannot infer the bus of disk target '${target}'`);
}

export function parseDisk(el: El, kind: XmlKind): DomainDisk {
  const type = attr(el, 'type') ?? 'file';
  const device = (attr(el, 'device') ?? 'disk') as string;
  if (device !== 'disk' && device !== 'cdrom' && device !== 'floppy') {
    throw configUnsupported(`disk device '${device}' (VirtualBox attaches disks, CD/DVD drives and floppies)`, kind);
  }
  const source = child(el, 'source');
  let file: string | undefined;
  if (type === 'file') {
    file = attr(source, 'file');
    if (file !== undefined && file === '') file = undefined;
  } else if (!(source === undefined && device !== 'disk')) {
    throw configUnsupported(`disk type '${type}' (only file-backed media can be attached to VirtualBox VMs)`, kind);
  }
  if (device === 'disk' && file === undefined) throw configUnsupported('a hard disk without a source file', kind);
  const targetEl = child(el, 'target');
  const target = attr(targetEl, 'dev');
  if (!target) throw xmlError(kind, 'missing disk target dev');
  if (!/^(hd|sd|vd|fd)[a-z]+$/.test(target)) throw configUnsupported(`disk target '${target}' (use hdX, sdX, vdX or fdX)`, kind);
  const busAttr = attr(targetEl, 'bus');
  let bus: DomainDisk['bus'];
  if (busAttr !== undefined) {
    if (!(BUS_VALUES as readonly string[]).includes(busAttr)) throw configUnsupported(`disk bus '${busAttr}'`, kind);
    bus = busAttr as DomainDisk['bus'];
  } else {
    bus = inferBus(target, kind);
  }
  if (device === 'floppy' && bus !== 'fdc') throw configUnsupported(`floppy on bus '${bus}' (VirtualBox floppies use the fdc bus)`, kind);
  if (bus === 'fdc' && device !== 'floppy') throw configUnsupported(`${device} on the fdc bus`, kind);
  const addrEl = child(el, 'address');
  let address: DiskAddress | undefined;
  if (addrEl && attr(addrEl, 'type') === 'drive') {
    address = {
      controller: optInt(attr(addrEl, 'controller'), 'address controller') ?? 0,
      bus: optInt(attr(addrEl, 'bus'), 'address bus') ?? 0,
      target: optInt(attr(addrEl, 'target'), 'address target') ?? 0,
      unit: optInt(attr(addrEl, 'unit'), 'address unit') ?? 0,
    };
  }
  const bootEl = child(el, 'boot');
  const bootOrder = bootEl ? positiveIntK(attr(bootEl, 'order'), 'disk boot order', kind) : undefined;
  return {
    device,
    file,
    target,
    bus,
    readonly: !!child(el, 'readonly') || device === 'cdrom',
    address,
    bootOrder,
    serial: textOf(child(el, 'serial')),
  };
}

function positiveIntK(value: string | undefined, what: string, kind: XmlKind): number {
  if (value === undefined || !/^\s*\d+\s*$/.test(value) || Number(value) <= 0) throw xmlError(kind, `invalid value '${value ?? ''}' for ${what}`);
  return Number(value);
}

const IF_TYPES = ['user', 'bridge', 'direct', 'network', 'internal', 'ethernet', 'null'] as const;

export function parseInterface(el: El, kind: XmlKind): DomainInterface {
  const type = attr(el, 'type') ?? '';
  if (!(IF_TYPES as readonly string[]).includes(type)) {
    throw configUnsupported(`interface type '${type}' (VirtualBox adapters are user (NAT), bridge, direct, network, internal or null)`, kind);
  }
  const macText = attr(child(el, 'mac'), 'address');
  let mac: string | undefined;
  if (macText !== undefined) {
    mac = macToVbox(macText);
    if (!mac) throw xmlError(kind, `unable to parse mac address '${macText}'`);
    if (parseInt(mac.slice(0, 2), 16) & 1) throw xmlError(kind, `expected unicast mac address, found multicast '${macText}'`);
  }
  const source = child(el, 'source');
  let src: string | undefined;
  switch (type) {
    case 'bridge': src = attr(source, 'bridge'); break;
    case 'direct': src = attr(source, 'dev'); break;
    case 'network': src = attr(source, 'network'); break;
    case 'internal': src = attr(source, 'name'); break;
    default: src = undefined;
  }
  if ((type === 'bridge' || type === 'direct' || type === 'network' || type === 'internal') && !src) {
    throw xmlError(kind, `interface type '${type}' needs a <source> name`);
  }
  const modelText = attr(child(el, 'model'), 'type');
  let model: string | undefined;
  if (modelText !== undefined) {
    model = LIBVIRT_TO_NIC_MODEL[modelText.toLowerCase()];
    if (!model) {
      throw configUnsupported(
        `interface model '${modelText}' (VirtualBox models: ${Object.values(NIC_MODEL_TO_LIBVIRT).join(', ')})`,
        kind,
      );
    }
  }
  const link = attr(child(el, 'link'), 'state');
  if (link !== undefined && link !== 'up' && link !== 'down') throw xmlError(kind, `invalid link state '${link}'`);
  const bootEl = child(el, 'boot');
  const bootOrder = bootEl ? positiveIntK(attr(bootEl, 'order'), 'interface boot order', kind) : undefined;
  return { type: type as DomainInterface['type'], mac, source: src, model, linkDown: link === 'down', bootOrder };
}

function checkTargetsUnique(disks: DomainDisk[], kind: XmlKind): void {
  const seen = new Set<string>();
  for (const d of disks) {
    if (seen.has(d.target)) throw xmlError(kind, `target '${d.target}' duplicated for disk sources`);
    seen.add(d.target);
  }
}

/** Parse the XML of one device (attach-device / attach-disk / attach-interface). */
export function parseDeviceXml(xml: string): { kind: 'disk'; disk: DomainDisk } | { kind: 'interface'; iface: DomainInterface } {
  const root = parseXmlRoot('device', xml, ['disk', 'interface', ...REFUSED_DEVICES, ...IGNORED_DEVICES]);
  if (root.tagName === 'disk') return { kind: 'disk', disk: parseDisk(root, 'device') };
  if (root.tagName === 'interface') return { kind: 'interface', iface: parseInterface(root, 'device') };
  throw configUnsupported(`attaching <${root.tagName}> devices is not supported by this VirtualBox host`, 'device');
}

// ---------------------------------------------------------------------------
// Existing VM → VmChanges

export interface NetworkTarget {
  attachment: NicAttachment;
  target: string;
}

export interface DefineContext {
  /** The libvirt name the VM is presented under now (alias or real name). */
  currentName?: string;
  /** libvirt network name → VirtualBox attachment (host-only adapter, NAT network…). */
  resolveNetwork?: (name: string) => NetworkTarget | undefined;
  /** Host interfaces VirtualBox can bridge to (`list bridgedifs` names). */
  bridgedIfs?: readonly string[];
  /** Generates a MAC (12 hex digits) for a new adapter without one. */
  newMac?: () => string;
}

const VBOX_BOOT_KNOWN: Record<string, true> = { net: true, disk: true, dvd: true, floppy: true };
const pad4 = (b: readonly string[]): string[] => [...b, 'none', 'none', 'none', 'none'].slice(0, 4);

export function maxNicsFor(chipset: string | undefined): number {
  return chipset === 'ich9' ? 36 : 8;
}

/** A random MAC with VirtualBox's OUI 08:00:27. */
export function randomVboxMac(): string {
  const b = new Uint8Array(3);
  globalThis.crypto.getRandomValues(b);
  return ('080027' + [...b].map((x) => x.toString(16).padStart(2, '0')).join('')).toUpperCase();
}

/** The adapter settings an <interface> asks for (attachment and target). */
export function nicTargetFor(iface: DomainInterface, existing: NicInfo | undefined, ctx: DefineContext, kind: XmlKind = K): NetworkTarget | { attachment: NicAttachment; target?: undefined } {
  const token = iface.source ?? '';
  const keep = (kinds: NicAttachment[]) =>
    existing && kinds.includes(existing.attachment) && hostIfToken(existing.target) === token && existing.target !== undefined;
  switch (iface.type) {
    case 'user':
      return { attachment: 'nat' };
    case 'null':
      return { attachment: 'null' };
    case 'bridge':
    case 'direct': {
      if (keep(['bridged'])) return { attachment: 'bridged', target: existing!.target! };
      const real = resolveHostInterface(token, ctx.bridgedIfs ?? []);
      if (real === undefined && ctx.bridgedIfs && ctx.bridgedIfs.length) {
        throw configUnsupported(`host interface '${token}' cannot be bridged (VirtualBox bridges to: ${ctx.bridgedIfs.map(hostIfToken).join(', ')})`, kind);
      }
      return { attachment: 'bridged', target: real ?? token };
    }
    case 'network': {
      if (keep(['hostonly', 'hostonlynetwork', 'natnetwork'])) return { attachment: existing!.attachment, target: existing!.target! };
      const net = ctx.resolveNetwork?.(token);
      if (!net) throw noNetwork(`no network with matching name '${token}'`);
      return net;
    }
    case 'internal':
      if (keep(['intnet'])) return { attachment: 'intnet', target: existing!.target! };
      return { attachment: 'intnet', target: token };
    case 'ethernet':
      if (existing && (existing.attachment === 'generic' || existing.attachment === 'cloudnetwork')) {
        return { attachment: existing.attachment, target: existing.target ?? '' };
      }
      throw configUnsupported("interface type 'ethernet' (only kept for existing VirtualBox generic-driver adapters)", kind);
  }
}

function featuresOf(vm: VmInfo) {
  const on = (v: string | undefined) => v === 'on' || v === 'true';
  return { acpi: on(vm.raw?.acpi), apic: on(vm.raw?.ioapic), pae: on(vm.raw?.pae) };
}

/**
 * The changes that make `vm` match `def`; {} when it already does. Throws
 * CONFIG_UNSUPPORTED for differences that define cannot apply (disks, arch,
 * machine type, features): those go through attach/detach or VirtualBox.
 */
export function changesForExisting(vm: VmInfo, def: DomainDef, ctx: DefineContext = {}): VmChanges {
  const changes: VmChanges = {};
  const currentName = ctx.currentName ?? vm.name;
  if (def.name !== currentName && def.name !== vm.name) changes.name = def.name;
  if (def.memoryMB !== vm.memoryMB) changes.memoryMB = def.memoryMB;
  if (def.cpus !== vm.cpus) changes.cpus = def.cpus;
  if (def.description !== (vm.description ?? '')) changes.description = def.description;
  if (def.boot !== undefined) {
    // Compare the effective order (libvirt cannot express empty slots).
    const want = pad4(def.boot);
    const eff = (b: readonly string[]) => [...new Set(b.filter((x) => x !== 'none'))].join(',');
    if (eff(want) !== eff((vm.boot ?? []).filter((x) => x in VBOX_BOOT_KNOWN))) changes.boot = want;
  }
  const vmEfi = (vm.firmware ?? 'BIOS').toUpperCase().startsWith('EFI');
  if ((def.firmware === 'EFI') !== vmEfi) changes.firmware = def.firmware === 'EFI' ? 'EFI' : 'BIOS';

  if (def.arch !== undefined && def.arch !== guestArch(vm)) {
    throw configUnsupported(`changing the architecture of '${currentName}' from ${guestArch(vm)} to ${def.arch}`);
  }
  if (def.machine !== undefined) {
    const chipset = chipsetOfMachine(def.machine);
    if (chipset !== (vm.chipset ?? '').toLowerCase()) {
      throw configUnsupported(`machine type '${def.machine}' for '${currentName}' (its VirtualBox chipset is ${vm.chipset})`);
    }
  }
  const f = featuresOf(vm);
  for (const k of ['acpi', 'apic', 'pae'] as const) {
    if (f[k] !== def.features[k]) {
      throw configUnsupported(`changing feature <${k}/> of '${currentName}' with define (VirtualBox setting ${k === 'apic' ? 'ioapic' : k})`);
    }
  }

  // Disks must match what the VM has (attach/detach them instead).
  const have = new Map(placeDisks(vm).map((p) => [p.target, p]));
  const kindOf = { disk: 'disk', dvd: 'cdrom', floppy: 'floppy' } as const;
  for (const d of def.disks) {
    const p = have.get(d.target);
    if (!p) throw configUnsupported(`adding disk '${d.target}' with define; use attach-disk (or attach-device)`);
    const file = p.attachment.medium === 'emptydrive' ? undefined : p.attachment.medium;
    if (kindOf[p.attachment.kind] !== d.device || (file === undefined || d.file === undefined ? file !== d.file : !samePath(file, d.file))) {
      throw configUnsupported(`changing disk '${d.target}' with define; use attach-disk/detach-disk (or change-media)`);
    }
    have.delete(d.target);
  }
  if (have.size) throw configUnsupported(`removing disk '${[...have.keys()][0]}' with define; use detach-disk`);

  const nicChanges = nicChangesFor(vm, def.interfaces, ctx);
  if (nicChanges.length) changes.nics = nicChanges;
  return changes;
}

function nicChangesFor(vm: VmInfo, ifaces: DomainInterface[], ctx: DefineContext): NonNullable<VmChanges['nics']> {
  const nics = [...vm.nics].sort((a, b) => a.slot - b.slot);
  const enabled = nics.filter((n) => n.attachment !== 'none');
  const used = new Set<number>();
  const pairs: Array<{ iface: DomainInterface; nic?: NicInfo; slot: number }> = [];
  const pending: DomainInterface[] = [];
  // 1. by MAC
  for (const i of ifaces) {
    const n = i.mac ? enabled.find((e) => !used.has(e.slot) && e.mac.toUpperCase() === i.mac) : undefined;
    if (n) { used.add(n.slot); pairs.push({ iface: i, nic: n, slot: n.slot }); } else pending.push(i);
  }
  // 2. remaining enabled adapters in slot order, then disabled ones, then new slots
  const max = maxNicsFor(vm.chipset);
  for (const i of pending) {
    const n = enabled.find((e) => !used.has(e.slot) && !ifaces.some((x) => x.mac && x.mac === e.mac.toUpperCase()))
      ?? nics.find((e) => !used.has(e.slot) && e.attachment === 'none');
    let slot: number;
    if (n) slot = n.slot;
    else {
      slot = 1;
      while (used.has(slot) || nics.some((e) => e.slot === slot)) slot++;
      if (slot > max) throw configUnsupported(`${ifaces.length} network interfaces (this VM's chipset ${vm.chipset} has ${max} adapter slots)`);
    }
    used.add(slot);
    pairs.push({ iface: i, nic: n, slot });
  }
  const out: NonNullable<VmChanges['nics']> = [];
  for (const { iface, nic, slot } of pairs) {
    const existing = nic && nic.attachment !== 'none' ? nic : undefined;
    const t = nicTargetFor(iface, existing, ctx);
    const mac = iface.mac ?? existing?.mac?.toUpperCase() ?? nic?.mac?.toUpperCase() ?? (ctx.newMac ?? randomVboxMac)();
    const model = iface.model ?? existing?.model ?? '82540EM';
    const cable = !iface.linkDown;
    const c: NonNullable<VmChanges['nics']>[number] = { slot };
    if (!existing || existing.attachment !== t.attachment) c.attachment = t.attachment;
    if (t.target !== undefined && (!existing || existing.target !== t.target || c.attachment)) c.target = t.target;
    if (!nic || nic.mac.toUpperCase() !== mac) c.mac = mac;
    if (!nic || nic.model !== model) c.model = model;
    if (!nic || nic.cableConnected !== cable || !existing) c.cableConnected = cable;
    if (Object.keys(c).length > 1) out.push(c);
  }
  for (const n of enabled) {
    if (!used.has(n.slot)) out.push({ slot: n.slot, attachment: 'none' });
  }
  return out.sort((a, b) => a.slot - b.slot);
}

// ---------------------------------------------------------------------------
// New VM plan

export interface PlannedController {
  /** VirtualBox controller name (`SATA`, `IDE`, `SCSI`, `Floppy`, `VirtIO`, `USB`; `SATA-2` for a second one). */
  name: string;
  /** `storagectl --add` value. */
  add: 'ide' | 'sata' | 'scsi' | 'floppy' | 'sas' | 'usb' | 'virtio' | 'pcie';
  /** `storagectl --controller` value. */
  controller: string;
  portCount: number;
  bootable: boolean;
}

export interface PlannedAttachment {
  controller: string;
  port: number;
  device: number;
  /** `storageattach --type`. */
  type: 'hdd' | 'dvddrive' | 'fdd';
  /** File path, or `emptydrive`. */
  medium: string;
}

export interface NewVmPlan {
  spec: CreateVmSpec;
  /** VirtualBox chipset from the machine type (undefined = VirtualBox default). */
  chipset?: string;
  controllers: PlannedController[];
  attachments: PlannedAttachment[];
}

/** createvm --ostype for a guest architecture (the generic Linux types; MAAS deploys Linux). */
export function osTypeForArch(arch: string | undefined): string {
  switch (arch ?? 'x86_64') {
    case 'x86_64': return 'Linux_64';
    case 'i686': case 'i386': return 'Linux';
    case 'aarch64': return 'Linux_arm64';
    default: throw configUnsupported(`architecture '${arch}' (VirtualBox guests are x86_64, i686 or aarch64)`);
  }
}

export interface BusPlan { base: string; add: PlannedController['add']; controller: string; maxPorts: number; devices: number }

export function busPlan(bus: DomainDisk['bus'], scsiModel?: string): BusPlan {
  switch (bus) {
    case 'ide': return { base: 'IDE', add: 'ide', controller: 'PIIX4', maxPorts: 2, devices: 2 };
    case 'sata': return { base: 'SATA', add: 'sata', controller: 'IntelAhci', maxPorts: 30, devices: 1 };
    case 'scsi':
      if (scsiModel === 'lsisas1068') return { base: 'SAS', add: 'sas', controller: 'LSILogicSAS', maxPorts: 255, devices: 1 };
      if (scsiModel === 'buslogic') return { base: 'SCSI', add: 'scsi', controller: 'BusLogic', maxPorts: 16, devices: 1 };
      return { base: 'SCSI', add: 'scsi', controller: 'LsiLogic', maxPorts: 16, devices: 1 };
    case 'virtio': return { base: 'VirtIO', add: 'virtio', controller: 'VirtIO', maxPorts: 30, devices: 1 };
    case 'fdc': return { base: 'Floppy', add: 'floppy', controller: 'I82078', maxPorts: 1, devices: 2 };
    case 'usb': return { base: 'USB', add: 'usb', controller: 'USB', maxPorts: 8, devices: 1 };
  }
}

/** VirtualBox controller/port/device for one disk (address first, else from the target name). */
export function diskSlot(d: DomainDisk, kind: XmlKind = K): { ordinal: number; port: number; device: number } {
  const plan = busPlan(d.bus);
  let ordinal: number, port: number, device: number;
  if (d.address) {
    ordinal = d.address.controller;
    switch (d.bus) {
      case 'ide': port = d.address.bus; device = d.address.unit; break;
      case 'sata': port = d.address.unit; device = 0; break;
      case 'scsi': port = d.address.target; device = 0; break;
      case 'fdc': port = 0; device = d.address.unit; break;
      default: port = d.address.unit; device = 0;
    }
  } else {
    const idx = suffixToIndex(d.target.slice(2));
    if (idx < 0) throw xmlError(kind, `invalid disk target '${d.target}'`);
    if (d.bus === 'ide') { ordinal = Math.floor(idx / 4); port = Math.floor((idx % 4) / 2); device = idx % 2; }
    else if (d.bus === 'fdc') { ordinal = Math.floor(idx / 2); port = 0; device = idx % 2; }
    else { ordinal = Math.floor(idx / 32); port = idx % 32; device = 0; }
  }
  if (port >= plan.maxPorts || device >= plan.devices) {
    throw configUnsupported(`disk '${d.target}' at port ${port} device ${device}: a VirtualBox ${plan.base} controller has ${plan.maxPorts} port(s) × ${plan.devices} device(s)`, kind);
  }
  if (d.bus === 'ide' && ordinal > 0) throw configUnsupported(`disk '${d.target}': VirtualBox VMs have one IDE controller (hda..hdd)`, kind);
  return { ordinal, port, device };
}

export function controllerName(base: string, ordinal: number): string {
  return ordinal === 0 ? base : `${base}-${ordinal + 1}`;
}

export function planNewVm(def: DomainDef, ctx: DefineContext = {}): NewVmPlan {
  let chipset: string | undefined;
  if (def.machine !== undefined) {
    chipset = chipsetOfMachine(def.machine);
    if (!chipset) throw configUnsupported(`machine type '${def.machine}' (VirtualBox machines: pc (PIIX3), q35 (ICH9), virt (ARMv8))`);
  }
  const osType = osTypeForArch(def.arch);
  const controllers = new Map<string, PlannedController>();
  const attachments: PlannedAttachment[] = [];
  const taken = new Set<string>();
  for (const d of def.disks) {
    const plan = busPlan(d.bus);
    const { ordinal, port, device } = diskSlot(d);
    const name = controllerName(plan.base, ordinal);
    const c = controllers.get(name) ?? { name, add: plan.add, controller: plan.controller, portCount: 1, bootable: true };
    c.portCount = Math.max(c.portCount, port + 1);
    controllers.set(name, c);
    const key = `${name}/${port}/${device}`;
    if (taken.has(key)) throw xmlError(K, `disks '${d.target}' and another disk share ${name} port ${port} device ${device}`);
    taken.add(key);
    attachments.push({
      controller: name,
      port,
      device,
      type: d.device === 'disk' ? 'hdd' : d.device === 'cdrom' ? 'dvddrive' : 'fdd',
      medium: d.file ?? 'emptydrive',
    });
  }
  if (chipset === undefined && def.arch === 'aarch64') chipset = 'armv8virtual';
  const maxNics = maxNicsFor(chipset);
  if (def.interfaces.length > maxNics) throw configUnsupported(`${def.interfaces.length} network interfaces (VirtualBox has ${maxNics} adapter slots for this chipset)`);
  const nics: NonNullable<VmChanges['nics']> = def.interfaces.map((iface, i) => {
    const t = nicTargetFor(iface, undefined, ctx);
    return {
      slot: i + 1,
      attachment: t.attachment,
      ...(t.target !== undefined ? { target: t.target } : {}),
      mac: iface.mac ?? (ctx.newMac ?? randomVboxMac)(),
      model: iface.model ?? '82540EM',
      cableConnected: !iface.linkDown,
    };
  });
  const changes: VmChanges = {
    memoryMB: def.memoryMB,
    cpus: def.cpus,
    boot: pad4(def.boot ?? ['disk']),
    firmware: def.firmware,
  };
  if (def.description) changes.description = def.description;
  // createvm gives adapter 1 a NAT attachment by default: a definition without interfaces has none.
  if (!nics.length) nics.push({ slot: 1, attachment: 'none' });
  changes.nics = nics;
  const spec: CreateVmSpec = { name: def.name, osType, changes };
  if (def.uuid) spec.uuid = def.uuid;
  return { spec, chipset, controllers: [...controllers.values()], attachments };
}

/** Shorthand used by tests and handlers: a syntax error is a DriverError with code 35. */
export { xmlSyntaxError };
