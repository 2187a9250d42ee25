/**
 * VirtualBox host-only interfaces and NAT networks as libvirt networks, plus
 * operator aliases (`maas` → `vboxnet0`: MAAS compose looks for a network
 * named `maas` or `default`). Names are single tokens (hostIfToken), UUIDs are
 * derived from the name. Read-only: networks are managed in VirtualBox.
 */
import { createHash } from 'node:crypto';
import type { NicAttachment } from '../../vbox/types.js';
import { XmlWriter } from '../xml/writer.js';
import { hostIfToken } from '../xml/mapping.js';
import { noNetwork } from '../xml/errors.js';
import type { DhcpServerInfo, HostOnlyIfInfo, NatNetworkInfo, StorageOps } from './backend.js';

export interface NetDef {
  /** libvirt name (single token). */
  name: string;
  uuid: string;
  kind: 'hostonly' | 'natnetwork';
  /** The VirtualBox name (adapter or NAT network). */
  vboxName: string;
  /** Present for aliases: the network this one stands for. */
  aliasOf?: string;
  bridge?: string;
  mac?: string;
  ip?: string;
  netmask?: string;
  /** CIDR prefix (NAT networks). */
  prefix?: number;
  dhcp?: { start?: string; end?: string };
}

export function netUuid(name: string): string {
  const h = createHash('sha256').update(`vboxvirt-network:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function fromHostOnly(h: HostOnlyIfInfo, dhcps: DhcpServerInfo[]): NetDef {
  const name = hostIfToken(h.name);
  const srv = dhcps.find((d) => d.networkName === (h.vboxNetworkName ?? `HostInterfaceNetworking-${h.name}`));
  const dhcpOn = srv ? srv.enabled !== false : h.dhcp === true;
  return {
    name,
    uuid: netUuid(name),
    kind: 'hostonly',
    vboxName: h.name,
    bridge: name,
    mac: h.mac ? h.mac.toLowerCase().replace(/[^0-9a-f]/g, '').match(/../g)?.join(':') : undefined,
    ip: h.ipAddress || undefined,
    netmask: h.networkMask || undefined,
    dhcp: dhcpOn ? { start: srv?.lowerIp, end: srv?.upperIp } : undefined,
  };
}

function fromNatNet(n: NatNetworkInfo): NetDef {
  const name = hostIfToken(n.name);
  let ip: string | undefined;
  let prefix: number | undefined;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(n.network ?? '');
  if (m) {
    prefix = Number(m[5]);
    // VirtualBox's NAT network gateway is the first host address (x.x.x.1 for a /24).
    ip = n.gateway ?? `${m[1]}.${m[2]}.${m[3]}.${Number(m[4]) + 1}`;
  }
  return { name, uuid: netUuid(name), kind: 'natnetwork', vboxName: n.name, ip, prefix, dhcp: n.dhcp ? {} : undefined };
}

/** All networks: host-only interfaces, NAT networks, then aliases (skipping names already taken). */
export async function listNetworks(ops: StorageOps, aliases: Record<string, string> = {}): Promise<NetDef[]> {
  const [hostOnly, natNets, dhcps] = await Promise.all([
    ops.listHostOnlyIfs ? ops.listHostOnlyIfs() : Promise.resolve([] as HostOnlyIfInfo[]),
    ops.listNatNets ? ops.listNatNets() : Promise.resolve([] as NatNetworkInfo[]),
    ops.listDhcpServers ? ops.listDhcpServers().catch(() => [] as DhcpServerInfo[]) : Promise.resolve([] as DhcpServerInfo[]),
  ]);
  const out: NetDef[] = [];
  const seen = new Set<string>();
  for (const n of [...hostOnly.map((h) => fromHostOnly(h, dhcps)), ...natNets.map(fromNatNet)]) {
    if (seen.has(n.name)) continue; // first one wins (host-only before NAT network)
    seen.add(n.name);
    out.push(n);
  }
  for (const [alias, target] of Object.entries(aliases)) {
    if (seen.has(alias)) continue;
    const t = out.find((n) => n.name === target || n.vboxName === target);
    if (!t) continue; // alias to a network that does not exist (any more)
    seen.add(alias);
    out.push({ ...t, name: alias, uuid: netUuid(alias), aliasOf: t.name });
  }
  return out;
}

export function findNetwork(nets: NetDef[], name: string): NetDef {
  const n = nets.find((x) => x.name === name);
  if (!n) throw noNetwork(`no network with matching name '${name}'`);
  return n;
}

export function networkTarget(n: NetDef): { attachment: NicAttachment; target: string } {
  return { attachment: n.kind, target: n.vboxName };
}

function maskFromPrefix(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/** Network XML (libvirt network.rng). */
export function networkXml(n: NetDef): string {
  const w = new XmlWriter();
  w.open('network');
  w.text('name', n.name);
  w.text('uuid', n.uuid);
  if (n.kind === 'natnetwork') w.empty('forward', { mode: 'nat' });
  if (n.bridge) w.empty('bridge', { name: n.bridge, stp: 'off', delay: 0 });
  if (n.mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(n.mac)) w.empty('mac', { address: n.mac });
  if (n.ip) {
    const netmask = n.netmask ?? (n.prefix !== undefined ? maskFromPrefix(n.prefix) : undefined);
    if (n.dhcp) {
      w.open('ip', { address: n.ip, netmask });
      w.open('dhcp');
      if (n.dhcp.start && n.dhcp.end) w.empty('range', { start: n.dhcp.start, end: n.dhcp.end });
      w.close();
      w.close();
    } else {
      w.empty('ip', { address: n.ip, netmask });
    }
  }
  w.close();
  return w.toString();
}
