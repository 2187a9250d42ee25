/**
 * Domain XML out: a VirtualBox VM (parsed showvminfo) as libvirt domain XML.
 *
 * Truthful to the VM's configuration, validated against libvirt's own schema
 * (virt-xml-validate … domain) in test/xml, and shaped for the consumers that
 * parse it: virsh's client-side domblklist/domiflist and MAAS (arch from
 * /domain/os/type/@arch, MACs in colon notation, single-token source names,
 * no XML declaration). The mapping is documented in docs/xml.md.
 */
import { presentPath } from './paths.js';
import type { VmChanges, VmInfo } from '../../vbox/types.js';
import { overlayPending } from '../storage/pending.js';
import { XmlWriter } from './writer.js';
import {
  VBOX_TO_LIBVIRT_BOOT,
  busOfController,
  guestArch,
  interfaceShape,
  machineOf,
  macToLibvirt,
  nicModelToLibvirt,
  placeDisks,
} from './mapping.js';

export interface DomainXmlOptions {
  /** The libvirt name (possibly an alias of the VirtualBox name). */
  name: string;
  /** Present for running domains: `<domain type='vbox' id='N'>`. */
  id?: number;
  /** VIR_DOMAIN_XML_INACTIVE: the persistent configuration (never an id). */
  inactive?: boolean;
  /** VIR_DOMAIN_XML_SECURE: nothing secret is emitted today; accepted for completeness. */
  securityInfo?: boolean;
  /**
   * Changes kept pending by define (VM running or saved; see docs/xml.md). With
   * `inactive` they are shown applied — the configuration the VM gets at its next
   * power-off — as libvirt's inactive XML shows the next boot's definition.
   */
  pending?: VmChanges;
}

const on = (v: string | undefined): boolean => v === 'on' || v === 'true';

/** libvirt domain XML for one VirtualBox VM. */
export function domainXml(vmIn: VmInfo, opts: DomainXmlOptions): string {
  const vm = opts.inactive && opts.pending ? overlayPending(vmIn, opts.pending) : vmIn;
  const raw = vm.raw ?? {};
  const w = new XmlWriter();
  const id = !opts.inactive && opts.id !== undefined && opts.id > 0 ? opts.id : undefined;
  w.open('domain', { type: 'vbox', id });
  w.text('name', opts.name);
  w.text('uuid', vm.uuid.toLowerCase());
  if (opts.name !== vm.name) {
    // The alias hides the real VirtualBox name: keep it visible (single line).
    const title = vm.name.replace(/[\r\n]+/g, ' ');
    if (title.length) w.text('title', title);
  }
  if (vm.description) w.text('description', vm.description);
  const kib = Math.max(0, Math.round(vm.memoryMB)) * 1024;
  w.text('memory', kib, { unit: 'KiB' });
  w.text('currentMemory', kib, { unit: 'KiB' });
  w.text('vcpu', Math.max(1, vm.cpus || 1), { placement: 'static' });

  // <os>
  const fw = (vm.firmware ?? 'BIOS').toUpperCase();
  const efi = fw.startsWith('EFI');
  w.open('os', { firmware: efi ? 'efi' : undefined });
  w.text('type', 'hvm', { arch: guestArch(vm), machine: machineOf(vm.chipset) });
  if (efi && raw.SecureBoot !== undefined) {
    w.open('firmware');
    w.empty('feature', { enabled: on(raw.SecureBoot) ? 'yes' : 'no', name: 'secure-boot' });
    w.close();
  }
  const bootSeen = new Set<string>();
  for (const b of vm.boot ?? []) {
    const dev = VBOX_TO_LIBVIRT_BOOT[b];
    // none/usb/sharedfolder skipped without leaving gaps; a device repeated in a later slot adds nothing
    if (dev && !bootSeen.has(dev)) { bootSeen.add(dev); w.empty('boot', { dev }); }
  }
  const bootmenu = raw.bootmenu;
  if (bootmenu !== undefined) w.empty('bootmenu', { enable: bootmenu === 'disabled' ? 'no' : 'yes' });
  w.close();

  // <features>
  const feats: string[] = [];
  if (on(raw.pae)) feats.push('pae');
  if (on(raw.acpi)) feats.push('acpi');
  if (on(raw.ioapic)) feats.push('apic');
  if (feats.length) {
    w.open('features');
    for (const f of feats) w.empty(f);
    w.close();
  }
  w.empty('clock', { offset: on(raw.rtcuseutc) ? 'utc' : 'localtime' });
  w.text('on_poweroff', 'destroy');
  w.text('on_reboot', 'restart');
  w.text('on_crash', 'destroy');

  w.open('devices');
  // Disks, DVDs, floppies.
  const placed = placeDisks(vm);
  const device = { disk: 'disk', dvd: 'cdrom', floppy: 'floppy' } as const;
  for (const p of placed) {
    const a = p.attachment;
    w.open('disk', { type: 'file', device: device[a.kind] ?? 'disk' });
    if (a.medium !== 'emptydrive') w.empty('source', { file: presentPath(a.medium) });
    w.empty('target', { dev: p.target, bus: p.bus.bus });
    if (a.kind === 'dvd') w.empty('readonly');
    const addr = p.bus.controllerType && driveAddress(p.bus.bus, p.controllerOrdinal, a.port, a.device);
    if (addr) w.empty('address', addr);
    w.close();
  }
  // Storage controllers that libvirt can name.
  const ctlSeen: Record<string, number> = {};
  for (const c of [...vm.storageControllers].sort((x, y) => x.index - y.index)) {
    const bus = busOfController(c.type);
    if (!bus.controllerType || bus.controllerType === 'usb') continue;
    const idx = ctlSeen[bus.controllerType] ?? 0;
    ctlSeen[bus.controllerType] = idx + 1;
    w.empty('controller', { type: bus.controllerType, index: idx, model: bus.controllerModel });
  }
  // Network adapters (enabled ones only).
  for (const nic of [...vm.nics].sort((x, y) => x.slot - y.slot)) {
    const shape = interfaceShape(nic.attachment, nic.target);
    if (!shape) continue;
    w.open('interface', { type: shape.type });
    w.empty('mac', { address: macToLibvirt(nic.mac) });
    if (shape.source) w.empty('source', { [shape.source.attr]: shape.source.value });
    const model = nicModelToLibvirt(nic.model);
    if (model) w.empty('model', { type: model });
    if (!nic.cableConnected) w.empty('link', { state: 'down' });
    w.close();
  }
  // Remote display (VRDE) as rdp graphics.
  if (on(raw.vrde)) {
    const port = /^\d+$/.test(raw.vrdeports ?? '') ? raw.vrdeports : undefined;
    w.empty('graphics', {
      type: 'rdp',
      port: port ?? undefined,
      autoport: port ? 'no' : 'yes',
      multiUser: on(raw.vrdemulticon) ? 'yes' : undefined,
    });
  }
  const audioModel = { ac97: 'ac97', sb16: 'sb16', hda: 'ich6' }[(raw.audio_controller ?? '').toLowerCase()];
  if (audioModel && raw.audio !== undefined && raw.audio !== 'none') w.empty('sound', { model: audioModel });
  // Video.
  const vramMB = Number(raw.vram);
  if (Number.isFinite(vramMB) && raw.vram !== undefined) {
    w.open('video');
    const heads = Number(raw.monitorcount);
    w.empty('model', {
      type: raw.graphicscontroller === 'null' ? 'none' : 'vbox',
      vram: raw.graphicscontroller === 'null' ? undefined : vramMB * 1024,
      heads: raw.graphicscontroller === 'null' ? undefined : Number.isInteger(heads) && heads > 0 ? heads : 1,
      primary: raw.graphicscontroller === 'null' ? undefined : 'yes',
    });
    w.close();
  }
  w.close(); // devices
  w.close(); // domain
  return w.toString();
}


/** libvirt `<address type='drive'>` for a VirtualBox port/device (see docs/xml.md). */
function driveAddress(
  bus: string,
  controller: number,
  port: number,
  device: number,
): Record<string, string | number> | undefined {
  switch (bus) {
    case 'ide': return { type: 'drive', controller, bus: port, target: 0, unit: device };
    case 'sata': return { type: 'drive', controller, bus: 0, target: 0, unit: port };
    case 'scsi': return { type: 'drive', controller, bus: 0, target: port, unit: device };
    case 'fdc': return { type: 'drive', controller, bus: 0, target: 0, unit: device + port };
    default: return undefined;
  }
}
