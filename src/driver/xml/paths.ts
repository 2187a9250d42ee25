/**
 * Presented paths. MAAS (and other virsh scrapers) split virsh output on
 * whitespace and join virsh arguments with spaces, so every path vboxvirt
 * shows a client must be one word. A pool folder whose real path has
 * whitespace (VirtualBox's "VirtualBox VMs" machine folder) is presented
 * through a space-free alias directory (a symlink owned by vboxvirt, see
 * storage/pools.ts); this table maps real folders to their aliases, process-wide.
 *
 * Incoming paths are accepted in either form. They are passed to VirtualBox as
 * the client wrote them (an alias path works for VirtualBox: the symlink
 * resolves), and compared with VirtualBox's paths through `samePath`.
 */
import path from 'node:path';

/** real folder → alias folder */
const aliases = new Map<string, string>();

/** Anything MAAS would split a path on. */
export const NEEDS_ALIAS_RE = /\s/;

export function registerPathAlias(real: string, alias: string): void {
  aliases.set(path.resolve(real), path.resolve(alias));
}

export function unregisterPathAlias(real: string): void {
  aliases.delete(path.resolve(real));
}

/** The path a client is shown: under an aliased folder, the alias form; otherwise unchanged. */
export function presentPath(p: string): string {
  if (!path.isAbsolute(p)) return p;
  let best: [string, string] | undefined;
  for (const [real, alias] of aliases) {
    if ((p === real || p.startsWith(real + path.sep)) && (!best || real.length > best[0].length)) best = [real, alias];
  }
  return best ? best[1] + p.slice(best[0].length) : p;
}

/** The real path of a presented one (alias prefix replaced by the real folder). */
export function realPath(p: string): string {
  if (!path.isAbsolute(p)) return p;
  const r = path.resolve(p);
  for (const [real, alias] of aliases) {
    if (r === alias || r.startsWith(alias + path.sep)) return real + r.slice(alias.length);
  }
  return r;
}

/** Whether two paths name the same file, either in alias or real form. */
export function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  if (!path.isAbsolute(a) || !path.isAbsolute(b)) return false;
  return realPath(a) === realPath(b);
}
