/**
 * Storage pools: `dir` pools over host folders. One built-in pool, `default`,
 * is VirtualBox's default machine folder; operators add more with options, and
 * clients with STORAGE_POOL_DEFINE_XML (MAAS: `pool-define-as maas dir … PATH`).
 * Client-defined pools are persisted in `<stateDir>/pools.json` when a state
 * directory is configured (otherwise they live until the daemon stops).
 * Capacity/available come from statfs on the pool path; allocation is
 * capacity − free, as libvirt's dir backend reports it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';
import { StoragePoolState } from '../../../protocol/index.js';
import { LibvirtError } from '../../rpc/errors.js';
import { XmlWriter } from '../xml/writer.js';
import { attr, child, parseXmlRoot, textOf } from '../xml/dom.js';
import { configUnsupported, noStoragePool, storageOperationInvalid, xmlError } from '../xml/errors.js';
import { NEEDS_ALIAS_RE, presentPath, realPath, registerPathAlias, unregisterPathAlias } from '../xml/paths.js';
import { defaultStateDir } from '../../auth/state.js';

export interface PoolDef {
  name: string;
  uuid: string;
  type: 'dir';
  /** The path clients see: one word (the alias folder when realPath has whitespace). */
  path: string;
  /** The folder on the host (what pools.json keeps). */
  realPath: string;
  autostart: boolean;
  active: boolean;
  /** Built-in pools (default machine folder, operator pools) cannot be undefined. */
  builtin: boolean;
}

export interface PoolStats {
  capacity: number;
  allocation: number;
  available: number;
}

export const POOL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A stable UUID for a pool from its name and path (RFC 4122 layout). */
export function poolUuid(name: string, p: string): string {
  const h = createHash('sha256').update(`vboxvirt-pool:${name}:${p}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** statfs of the pool path (bytes). */
export async function poolStats(p: string): Promise<PoolStats> {
  const s = await fs.statfs(p);
  const capacity = s.blocks * s.bsize;
  const available = s.bavail * s.bsize;
  const free = s.bfree * s.bsize;
  return { capacity, allocation: Math.max(0, capacity - free), available };
}

export interface PoolRegistryOptions {
  /** VirtualBox's default machine folder (pool `default`). */
  defaultFolder?: string;
  /** Operator-configured pools (built in, active, autostart). */
  pools?: Array<{ name: string; path: string }>;
  /** Where client-defined pools are persisted (`pools.json`). */
  stateDir?: string;
}

export class PoolRegistry {
  private readonly pools = new Map<string, PoolDef>();
  private readonly stateFile?: string;
  private readonly aliasRoot: string;

  constructor(opts: PoolRegistryOptions = {}) {
    this.aliasRoot = path.join(opts.stateDir ? path.resolve(opts.stateDir) : defaultStateDir(), 'pools');
    if (opts.defaultFolder) this.addBuiltin('default', opts.defaultFolder);
    for (const p of opts.pools ?? []) this.addBuiltin(p.name, p.path);
    if (opts.stateDir) {
      this.stateFile = path.join(opts.stateDir, 'pools.json');
      this.load();
    }
  }

  private addBuiltin(name: string, p: string): void {
    if (!POOL_NAME_RE.test(name)) throw new Error(`invalid pool name '${name}'`);
    const abs = path.resolve(p);
    const shown = this.presented(name, abs, true);
    this.pools.set(name, { name, uuid: poolUuid(name, abs), type: 'dir', path: shown, realPath: abs, autostart: true, active: true, builtin: true });
  }

  /**
   * The path a pool is shown under. A folder with whitespace gets an alias:
   * the symlink `<stateDir>/pools/<name>` → folder (re-pointed if it pointed
   * elsewhere). Built-in folders are created first (VirtualBox would create
   * its machine folder anyway) so the alias never dangles. If the alias
   * cannot be made (or its own path has whitespace) the real path is shown.
   */
  private presented(name: string, real: string, create: boolean): string {
    if (!NEEDS_ALIAS_RE.test(real)) return real;
    const alias = path.join(this.aliasRoot, name);
    if (NEEDS_ALIAS_RE.test(alias)) return real;
    try {
      if (create) fsSync.mkdirSync(real, { recursive: true });
      fsSync.mkdirSync(this.aliasRoot, { recursive: true, mode: 0o700 });
      let current: string | undefined;
      try { current = fsSync.readlinkSync(alias); } catch { current = undefined; }
      if (current !== real) {
        fsSync.rmSync(alias, { force: true });
        fsSync.symlinkSync(real, alias, 'dir');
      }
    } catch {
      return real;
    }
    registerPathAlias(real, alias);
    return alias;
  }

  private load(): void {
    if (!this.stateFile || !fsSync.existsSync(this.stateFile)) return;
    try {
      const saved = JSON.parse(fsSync.readFileSync(this.stateFile, 'utf8')) as PoolDef[];
      for (const p of saved) {
        if (!this.pools.has(p.name) && POOL_NAME_RE.test(p.name) && typeof p.path === 'string') {
          // a pool is active after a restart only if it is autostarted (libvirt semantics)
          const real = path.resolve(p.path);
          this.pools.set(p.name, { ...p, type: 'dir', path: this.presented(p.name, real, false), realPath: real, builtin: false, active: p.autostart === true });
        }
      }
    } catch {
      /* a damaged state file loses the client-defined pools, never the built-in ones */
    }
  }

  private async save(): Promise<void> {
    if (!this.stateFile) return;
    const defs = [...this.pools.values()].filter((p) => !p.builtin).map(({ realPath: real, ...p }) => ({ ...p, path: real }));
    await fs.mkdir(path.dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(defs, null, 2));
    await fs.rename(tmp, this.stateFile);
  }

  list(): PoolDef[] {
    return [...this.pools.values()];
  }

  byName(name: string): PoolDef {
    const p = this.pools.get(name);
    if (!p) throw noStoragePool(`no storage pool with matching name '${name}'`);
    return p;
  }

  byUuid(uuid: string): PoolDef {
    const p = [...this.pools.values()].find((x) => x.uuid === uuid);
    if (!p) throw noStoragePool(`no storage pool with matching uuid '${uuid}'`);
    return p;
  }

  /** The pool whose folder directly holds `file` (volumes are the files of a pool folder). */
  forFile(file: string): PoolDef | undefined {
    const dir = realPath(path.dirname(path.resolve(file)));
    return [...this.pools.values()].find((p) => p.realPath === dir);
  }

  async define(xml: string): Promise<PoolDef> {
    const parsed = parsePoolXml(xml);
    parsed.path = realPath(parsed.path); // a presented (alias) path names the real folder
    const existing = this.pools.get(parsed.name);
    if (existing) {
      if (existing.builtin || existing.realPath !== parsed.path || (parsed.uuid && parsed.uuid !== existing.uuid)) {
        throw LibvirtError.operationFailed(`pool '${parsed.name}' already exists with uuid ${existing.uuid}`, 18);
      }
      return existing; // re-defining the same pool is a no-op, as in libvirt
    }
    const clash = [...this.pools.values()].find((p) => p.realPath === parsed.path);
    if (clash) throw LibvirtError.operationFailed(`Storage source conflict with pool: '${clash.name}'`, 18);
    const def: PoolDef = {
      name: parsed.name,
      uuid: parsed.uuid ?? poolUuid(parsed.name, parsed.path),
      type: 'dir',
      path: this.presented(parsed.name, parsed.path, false),
      realPath: parsed.path,
      autostart: false,
      active: false,
      builtin: false,
    };
    this.pools.set(def.name, def);
    await this.save();
    return def;
  }

  /** STORAGE_POOL_BUILD: create the folder (mode 0755) if needed. */
  async build(p: PoolDef): Promise<void> {
    if (p.active) throw storageOperationInvalid(`storage pool '${p.name}' is already active`);
    await fs.mkdir(p.realPath, { recursive: true, mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
      throw LibvirtError.report(38, 18, `cannot create path '${presentPath(p.realPath)}': ${e.message}`);
    });
  }

  /** STORAGE_POOL_CREATE (pool-start): the folder must exist. */
  async start(p: PoolDef): Promise<void> {
    if (p.active) throw storageOperationInvalid(`storage pool '${p.name}' is already active`);
    const st = await fs.stat(p.path).catch(() => undefined);
    if (!st || !st.isDirectory()) {
      throw LibvirtError.report(38, 18, `cannot open directory '${p.path}': No such file or directory`);
    }
    p.active = true;
    await this.save();
  }

  async setAutostart(p: PoolDef, on: boolean): Promise<void> {
    if (p.builtin && !on) throw configUnsupported(`pool '${p.name}' is built in and always autostarted`, 'pool');
    p.autostart = on;
    await this.save();
  }

  async undefine(p: PoolDef): Promise<void> {
    if (p.builtin) throw storageOperationInvalid(`pool '${p.name}' is built in (configured in vboxvirt) and cannot be undefined`);
    if (p.active) throw storageOperationInvalid(`storage pool '${p.name}' is still active`);
    this.pools.delete(p.name);
    if (p.path !== p.realPath) {
      unregisterPathAlias(p.realPath);
      await fs.rm(p.path, { force: true }).catch(() => undefined);
    }
    await this.save();
  }

  async destroy(p: PoolDef): Promise<void> {
    if (p.builtin) throw storageOperationInvalid(`pool '${p.name}' is built in (configured in vboxvirt) and cannot be stopped`);
    if (!p.active) throw storageOperationInvalid(`storage pool '${p.name}' is not active`);
    p.active = false;
    await this.save();
  }

  requireActive(p: PoolDef): void {
    if (!p.active) throw storageOperationInvalid(`storage pool '${p.name}' is not active`);
  }
}

/** Pool XML (libvirt storagepool.rng, dir pools). Sizes in bytes, no XML declaration. */
export async function poolXml(p: PoolDef): Promise<string> {
  const stats = p.active ? await poolStats(p.path).catch(() => undefined) : undefined;
  const w = new XmlWriter();
  w.open('pool', { type: p.type });
  w.text('name', p.name);
  w.text('uuid', p.uuid);
  w.text('capacity', stats?.capacity ?? 0, { unit: 'bytes' });
  w.text('allocation', stats?.allocation ?? 0, { unit: 'bytes' });
  w.text('available', stats?.available ?? 0, { unit: 'bytes' });
  w.open('source').close();
  w.open('target');
  w.text('path', p.path);
  const st = await fs.stat(p.path).catch(() => undefined);
  if (st) {
    w.open('permissions');
    w.text('mode', '0' + (st.mode & 0o777).toString(8));
    w.text('owner', st.uid);
    w.text('group', st.gid);
    w.close();
  }
  w.close();
  w.close();
  return w.toString();
}

export interface ParsedPool {
  name: string;
  uuid?: string;
  path: string;
}

export function parsePoolXml(xml: string): ParsedPool {
  const root = parseXmlRoot('pool', xml, 'pool');
  const type = attr(root, 'type');
  if (!type) throw xmlError('pool', 'storage pool missing type attribute');
  if (type !== 'dir') {
    throw configUnsupported(`storage pool type '${type}' (VirtualBox media live in folders: only 'dir' pools are supported)`, 'pool');
  }
  const name = textOf(child(root, 'name'));
  if (!name) throw xmlError('pool', 'missing pool source name element');
  if (!POOL_NAME_RE.test(name)) throw xmlError('pool', `pool name '${name}' must be one word of letters, digits, '.', '_' or '-'`);
  const uuidText = textOf(child(root, 'uuid'));
  let uuid: string | undefined;
  if (uuidText) {
    const hex = uuidText.replace(/-/g, '').toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(hex)) throw xmlError('pool', 'malformed uuid element');
    uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  const target = child(root, 'target');
  const p = textOf(target ? child(target, 'path') : undefined);
  if (!p) throw xmlError('pool', 'missing storage pool target path');
  if (!path.isAbsolute(p)) throw xmlError('pool', `storage pool target path '${p}' must be absolute`);
  return { name, uuid, path: path.resolve(p) };
}

export const PoolState = StoragePoolState;
