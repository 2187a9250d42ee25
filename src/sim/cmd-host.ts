/** Host-level listings: `list hostinfo`, `list systemproperties`, `list ostypes` (VBoxManageList.cpp 7.0.18 layout). */
import * as os from 'node:os';
import type { Ctx } from './context.js';
import { vboxTime, OS_TYPES } from './machine.js';

function hostInfo(ctx: Ctx): string {
  const h = ctx.settings.host;
  let o = 'Host Information:\n\n';
  o += `Host time: ${vboxTime(ctx.now())}\n`;
  o += `Processor online count: ${h.cpus}\n`;
  o += `Processor count: ${h.cpus}\n`;
  o += `Processor online core count: ${Math.max(1, h.cpus >> 1)}\n`;
  o += `Processor core count: ${Math.max(1, h.cpus >> 1)}\n`;
  for (const f of ['HW virtualization', 'long mode', 'nested paging', 'unrestricted guest', 'nested HW virtualization', 'virt. vmsave/vmload']) {
    o += `Processor supports ${f}: ${f === 'virt. vmsave/vmload' ? 'no' : 'yes'}\n`;
  }
  for (let i = 0; i < h.cpus; i++) {
    o += `Processor#${i} speed: ${h.mhz} MHz\n`;
    o += `Processor#${i} description: ${h.cpuModel}\n`;
  }
  o += `Memory size: ${h.memoryMB} MByte\n`;
  o += `Memory available: ${Math.floor(h.memoryMB * 0.75)} MByte\n`;
  o += 'Operating system: Linux\n';
  o += `Operating system version: ${os.release()}\n`;
  return o;
}

function systemProperties(ctx: Ctx): string {
  const rows: Array<[string, string]> = [
    ['API version:', '7_0'],
    ['Minimum guest RAM size:', '4 Megabytes'],
    ['Maximum guest RAM size:', '2097152 Megabytes'],
    ['Minimum video RAM size:', '0 Megabytes'],
    ['Maximum video RAM size:', '256 Megabytes'],
    ['Maximum guest monitor count:', '64'],
    ['Minimum guest CPU count:', '1'],
    ['Maximum guest CPU count:', '64'],
    ['Virtual disk limit (info):', '2199022206976 Bytes'],
    ['Maximum Serial Port count:', '4'],
    ['Maximum Parallel Port count:', '2'],
    ['Maximum Boot Position:', '4'],
  ];
  let o = rows.map(([k, v]) => `${k.padEnd(32)} ${v}\n`).join('');
  o += 'Maximum PIIX3 Network Adapter count:   8\n';
  o += 'Maximum ICH9 Network Adapter count:   36\n';
  const rows2: Array<[string, string]> = [
    ['Maximum PIIX3 IDE Controllers:', '1'],
    ['Maximum ICH9 IDE Controllers:', '1'],
    ['Maximum IDE Port count:', '2'],
    ['Maximum Devices per IDE Port:', '2'],
    ['Maximum PIIX3 SATA Controllers:', '1'],
    ['Maximum ICH9 SATA Controllers:', '8'],
    ['Maximum SATA Port count:', '30'],
    ['Maximum Devices per SATA Port:', '1'],
    ['Maximum PIIX3 SCSI Controllers:', '1'],
    ['Maximum ICH9 SCSI Controllers:', '8'],
    ['Maximum SCSI Port count:', '16'],
    ['Maximum Devices per SCSI Port:', '1'],
    ['Maximum SAS PIIX3 Controllers:', '1'],
    ['Maximum SAS ICH9 Controllers:', '8'],
    ['Maximum SAS Port count:', '255'],
    ['Maximum Devices per SAS Port:', '1'],
    ['Maximum NVMe PIIX3 Controllers:', '1'],
    ['Maximum NVMe ICH9 Controllers:', '8'],
    ['Maximum NVMe Port count:', '255'],
    ['Maximum Devices per NVMe Port:', '1'],
  ];
  o += rows2.map(([k, v]) => `${k.padEnd(32)} ${v}\n`).join('');
  o += 'Maximum virtio-scsi PIIX3 Controllers:  1\n';
  o += 'Maximum virtio-scsi ICH9 Controllers:   8\n';
  o += 'Maximum virtio-scsi Port count:         256\n';
  o += 'Maximum Devices per virtio-scsi Port:   1\n';
  o += 'Maximum PIIX3 Floppy Controllers:1\n';
  const rows3: Array<[string, string]> = [
    ['Maximum ICH9 Floppy Controllers:', '1'],
    ['Maximum Floppy Port count:', '1'],
    ['Maximum Devices per Floppy Port:', '2'],
    ['Free disk space warning at:', '2147483648 Bytes'],
    ['Free disk space warning at:', '95 %'],
    ['Free disk space error at:', '524288000 Bytes'],
    ['Free disk space error at:', '99 %'],
    ['Default machine folder:', ctx.settings.machineFolder],
    ['Raw-mode Supported:', 'no'],
    ['Exclusive HW virtualization use:', 'on'],
    ['Default hard disk format:', 'VDI'],
    ['VRDE auth library:', 'VBoxAuth'],
    ['Webservice auth. library:', 'VBoxAuth'],
    ['Remote desktop ExtPack:', ''],
    ['VM encryption ExtPack:', ''],
    ['Log history count:', '3'],
    ['Default frontend:', ''],
    ['Default audio driver:', 'ALSA'],
    ['Autostart database path:', ''],
    ['Default Guest Additions ISO:', '/usr/share/virtualbox/VBoxGuestAdditions.iso'],
    ['Logging Level:', 'all'],
    ['Proxy Mode:', 'System'],
    ['Proxy URL:', ''],
    ['User language:', 'C'],
  ];
  o += rows3.map(([k, v]) => `${k.padEnd(32)} ${v}`.replace(/ +$/, '') + '\n').join('');
  return o;
}

function osTypes(): string {
  return Object.entries(OS_TYPES)
    .map(([id, [desc, is64]]) => {
      const family = id.startsWith('Windows') ? ['Windows', 'Microsoft Windows'] : id.startsWith('Other') ? ['Other', 'Other'] : id.startsWith('FreeBSD') ? ['BSD', 'BSD'] : ['Linux', 'Linux'];
      return `ID:          ${id}\nDescription: ${desc}\nFamily ID:   ${family[0]}\nFamily Desc: ${family[1]}\n64 bit:      ${is64 ? 'true' : 'false'}\n\n`;
    })
    .join('');
}

/** `list hostinfo|systemproperties|ostypes`; false when `sub` is none of them. */
export function listHost(ctx: Ctx, sub: string): boolean {
  switch (sub) {
    case 'hostinfo':
      ctx.out(hostInfo(ctx));
      return true;
    case 'systemproperties':
      ctx.out(systemProperties(ctx));
      return true;
    case 'ostypes':
      ctx.out(osTypes());
      return true;
    default:
      return false;
  }
}
