/**
 * Volumes of a dir pool: the regular files in the pool folder. Sizes come from
 * the image headers (images.ts). Creation: `vdi`/`vmdk`/`vpc` through
 * VirtualBox (`createmedium`, backend method), `raw` as a sparse file the
 * daemon creates itself (VirtualBox attaches raw `.img` images). A name without
 * an extension gets the format's extension (`v1` → `v1.img`, `v1.vdi`); lookups
 * by the bare name find it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { XmlWriter } from '../xml/writer.js';
import { attr, child, parseXmlRoot, scaledToBytes, textOf } from '../xml/dom.js';
import { configUnsupported, noStorageVol, report, xmlError } from '../xml/errors.js';
import { imageInfo, type ImageInfo } from './images.js';
import type { PoolDef } from './pools.js';

export interface VolRef {
  pool: string;
  name: string;
  /** The key is the absolute path, as in libvirt's dir backend. */
  key: string;
}

export const FORMAT_EXT: Record<string, string> = { raw: '.img', vdi: '.vdi', vmdk: '.vmdk', vpc: '.vhd', vhd: '.vhd', iso: '.iso' };
/** createmedium --format for each libvirt volume format VirtualBox creates. */
export const VBOX_FORMAT: Record<string, string> = { vdi: 'VDI', vmdk: 'VMDK', vpc: 'VHD', vhd: 'VHD' };

export async function listVolumes(pool: PoolDef): Promise<VolRef[]> {
  const entries = await fs.readdir(pool.path, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    throw report(38, 18, `cannot open directory '${pool.path}': ${e.message}`);
  });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort()
    .map((name) => ({ pool: pool.name, name, key: path.join(pool.path, name) }));
}

/** Exact name first, then `<name>.<ext>` when exactly one file matches. */
export async function findVolume(pool: PoolDef, name: string): Promise<VolRef> {
  if (name.includes('/') || name === '' || name === '.' || name === '..') {
    throw noStorageVol(`no storage vol with matching name '${name}'`);
  }
  const vols = await listVolumes(pool);
  const exact = vols.find((v) => v.name === name);
  if (exact) return exact;
  const stem = vols.filter((v) => v.name.slice(0, v.name.length - path.extname(v.name).length) === name);
  if (stem.length === 1) return stem[0]!;
  throw noStorageVol(`no storage vol with matching name '${name}'`);
}

export async function volumeInfo(v: VolRef): Promise<ImageInfo> {
  return imageInfo(v.key).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw noStorageVol(`no storage vol with matching path '${v.key}'`);
    throw report(38, 18, `cannot read '${v.key}': ${e.message}`);
  });
}

export async function volumeXml(v: VolRef): Promise<string> {
  const info = await volumeInfo(v);
  const st = await fs.stat(v.key);
  const w = new XmlWriter();
  w.open('volume', { type: 'file' });
  w.text('name', v.name);
  w.text('key', v.key);
  w.open('source').close();
  w.text('capacity', info.capacity, { unit: 'bytes' });
  w.text('allocation', info.allocation, { unit: 'bytes' });
  w.text('physical', info.physical, { unit: 'bytes' });
  w.open('target');
  w.text('path', v.key);
  w.empty('format', { type: info.format });
  w.open('permissions');
  w.text('mode', '0' + (st.mode & 0o777).toString(8));
  w.text('owner', st.uid);
  w.text('group', st.gid);
  w.close();
  w.open('timestamps');
  w.text('atime', (st.atimeMs / 1000).toFixed(9));
  w.text('mtime', (st.mtimeMs / 1000).toFixed(9));
  w.text('ctime', (st.ctimeMs / 1000).toFixed(9));
  w.close();
  w.close();
  w.close();
  return w.toString();
}

export interface VolumeSpec {
  name: string;
  capacity: number;
  allocation: number;
  format: string;
}

const VOL_NAME_RE = /^[A-Za-z0-9._-][A-Za-z0-9._+-]{0,254}$/;

export function parseVolumeXml(xml: string): VolumeSpec {
  const root = parseXmlRoot('volume', xml, 'volume');
  const name = textOf(child(root, 'name'));
  if (!name) throw xmlError('volume', 'missing volume name element');
  if (!VOL_NAME_RE.test(name) || name === '.' || name === '..') {
    throw xmlError('volume', `volume name '${name}' must be a plain file name (letters, digits, '.', '_', '+', '-')`);
  }
  const capEl = child(root, 'capacity');
  if (!capEl) throw xmlError('volume', 'missing capacity element');
  const capacity = scaledToBytes('volume', textOf(capEl), attr(capEl, 'unit'), 'bytes', 'capacity');
  const allocEl = child(root, 'allocation');
  const allocation = allocEl ? scaledToBytes('volume', textOf(allocEl), attr(allocEl, 'unit'), 'bytes', 'allocation') : capacity;
  const target = child(root, 'target');
  const fmtEl = target ? child(target, 'format') : undefined;
  const format = (attr(fmtEl, 'type') ?? 'raw').toLowerCase();
  if (!(format in FORMAT_EXT) || format === 'iso') {
    throw configUnsupported(`volume format '${format}' (VirtualBox disk formats: raw, vdi, vmdk, vpc)`, 'volume');
  }
  if (child(root, 'backingStore')) throw configUnsupported('backing stores (use VirtualBox differencing media instead)', 'volume');
  if (capacity <= 0) throw xmlError('volume', 'capacity must be greater than 0');
  return { name, capacity, allocation, format };
}

/** The file name a new volume gets. */
export function volumeFileName(spec: VolumeSpec): string {
  return path.extname(spec.name) ? spec.name : spec.name + FORMAT_EXT[spec.format]!;
}

/** Create a sparse raw image (fully allocated when allocation ≥ capacity is asked). */
export async function createRawFile(file: string, spec: VolumeSpec): Promise<void> {
  const fh = await fs.open(file, 'wx', 0o644).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') throw report(90, 18, `storage volume name '${path.basename(file)}' already in use.`);
    throw report(38, 18, `cannot create volume '${file}': ${e.message}`);
  });
  try {
    await fh.truncate(spec.capacity);
    if (spec.allocation >= spec.capacity && spec.capacity > 0) {
      // libvirt preallocates when allocation == capacity
      const chunk = Buffer.alloc(Math.min(spec.capacity, 1 << 20));
      for (let off = 0; off < spec.capacity; off += chunk.length) {
        await fh.write(chunk, 0, Math.min(chunk.length, spec.capacity - off), off);
      }
    }
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.unlink(file).catch(() => undefined);
    throw report(38, 18, `cannot create volume '${file}': ${(e as Error).message}`);
  }
  await fh.close();
}
