/**
 * The driver's doorway to the XML module (src/driver/xml/, owned by the XML
 * engineer): domain XML and host capabilities.
 */
import { createHash } from 'node:crypto';
import type { HostInfo, VmInfo } from '../vbox/types.js';
import { domainXml, type DomainXmlOptions } from './xml/domain.js';
import { capabilitiesXml } from './xml/capabilities.js';

export function renderDomainXml(vm: VmInfo, opts: DomainXmlOptions): string {
  return domainXml(vm, opts);
}

/** A stable host UUID derived from the host name (VirtualBox does not expose one through VBoxManage). */
export function hostUuid(hostname: string): string {
  const h = createHash('sha256').update(`vboxvirt-host:${hostname}`).digest('hex');
  // RFC 4122 version 5-like layout, so validators accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function renderCapabilities(host: HostInfo): string {
  return capabilitiesXml(host, { hostUuid: hostUuid(host.hostname) });
}
