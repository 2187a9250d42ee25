/**
 * Helpers for the XML tests: real `virt-xml-validate`, real libvirt parsing of
 * our domain XML through virsh's test driver (virsh -c test:///file), and
 * synthetic VmInfo builders.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../helpers/proc.js';
import type { Daemon } from '../../src/daemon.js';
import { TcpListener } from '../../src/transport/tcp.js';
import type { VmInfo, NicInfo, StorageAttachmentInfo, StorageControllerInfo } from '../../src/vbox/types.js';

let tmpRoot: string | undefined;
let seq = 0;
export function tmpDir(): string {
  tmpRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), 'vboxvirt-xml-'));
  return tmpRoot;
}
export function cleanupTmp(): void {
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = undefined;
}

export interface Validation { ok: boolean; output: string }

/** Run the real virt-xml-validate on `xml` as `type` (domain, capability, storagepool, storagevol, network, domaincaps). */
export async function validate(xml: string, type: string, schemaDir?: string): Promise<Validation> {
  const file = path.join(tmpDir(), `doc-${++seq}.xml`);
  fs.writeFileSync(file, xml);
  if (schemaDir) {
    // xmllint directly against a schema file (used for a patched copy of a stock schema)
    const r = await run('xmllint', ['--noout', '--nonet', '--relaxng', path.join(schemaDir, `${type}.rng`), file]);
    return { ok: r.rc === 0, output: r.stdout + r.stderr };
  }
  const r = await run('virt-xml-validate', [file, type]);
  return { ok: r.rc === 0, output: r.stdout + r.stderr };
}

export async function expectValid(xml: string, type: string): Promise<void> {
  const v = await validate(xml, type);
  if (!v.ok) throw new Error(`virt-xml-validate ${type} failed:\n${v.output}\n--- xml ---\n${xml}`);
}

/**
 * Load our domain XML into libvirt's test driver (type swapped to 'test', id
 * dropped, wrapped in <node>) and run virsh against it: libvirt's own parser
 * reads our XML and virsh renders domiflist/domblklist from it client-side,
 * exactly as it does against vboxvirt.
 */
export async function virshOnXml(domainXmls: string[], args: string[]): Promise<{ stdout: string; stderr: string; rc: number }> {
  const node = ['<node>', ...domainXmls.map((x) => x.replace(/^<domain type='vbox'( id='\d+')?>/, "<domain type='test'>"))].join('\n') + '</node>\n';
  const file = path.join(tmpDir(), `node-${++seq}.xml`);
  fs.writeFileSync(file, node);
  const r = await run('virsh', ['-q', '-c', `test://${file}`, ...args], { env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } });
  return { stdout: r.stdout, stderr: r.stderr, rc: r.rc };
}

/** virsh output rows (header and dashes skipped, as MAAS's _get_column_values does) split on whitespace. */
export function rows(out: string, skipHeader = true): string[][] {
  const lines = out.trim().split('\n').filter((l) => l.trim() !== '');
  return (skipHeader ? lines.slice(2) : lines).map((l) => l.trim().split(/\s+/));
}

export function nic(slot: number, attachment: NicInfo['attachment'], extra: Partial<NicInfo> = {}): NicInfo {
  return {
    slot,
    attachment,
    mac: `080027${(0xa00000 + slot).toString(16).toUpperCase()}`,
    model: '82540EM',
    cableConnected: true,
    ...extra,
  };
}

export function ctl(index: number, name: string, type: string, portCount = 2): StorageControllerInfo {
  return { index, name, type, instance: 0, portCount, bootable: true };
}

export function att(controller: string, port: number, device: number, medium: string, kind: StorageAttachmentInfo['kind'] = 'disk'): StorageAttachmentInfo {
  return { controller, port, device, medium, kind };
}

/** A synthetic VM: poweroff, BIOS, PIIX3, one SATA disk, one NAT NIC, boot dvd,disk. */
export function makeVm(over: Partial<VmInfo> = {}): VmInfo {
  return {
    uuid: '11111111-2222-4333-8444-555555555555',
    name: 'vm1',
    state: 'poweroff',
    osType: 'Ubuntu (64-bit)',
    memoryMB: 1024,
    cpus: 1,
    firmware: 'BIOS',
    chipset: 'piix3',
    boot: ['dvd', 'disk', 'none', 'none'],
    description: '',
    groups: ['/'],
    autostart: false,
    nics: [nic(1, 'nat'), nic(2, 'none'), nic(3, 'none'), nic(4, 'none')],
    storageControllers: [ctl(0, 'SATA', 'IntelAhci', 2)],
    storage: [att('SATA', 0, 0, '/vms/vm1/vm1.vdi')],
    raw: { acpi: 'on', ioapic: 'on', pae: 'off', rtcuseutc: 'on', vram: '16', monitorcount: '1', graphicscontroller: 'vmsvga' },
    ...over,
  };
}

/** DAEMON served in-process over TCP on 127.0.0.1 (a port picked for it): the URI, and one stop for listener and daemon. */
export async function serveOnTcp(daemon: Daemon): Promise<{ uri: string; stop(): Promise<void> }> {
  const listener = await TcpListener.listen(daemon, { host: '127.0.0.1', port: 0 });
  return {
    uri: `qemu+tcp://127.0.0.1:${listener.port}/system`,
    stop: async () => {
      await listener.close();
      await daemon.close();
    },
  };
}
