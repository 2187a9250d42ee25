/**
 * Safe virsh words for VirtualBox names.
 *
 * virsh (and MAAS, which types `domstate <name>` into virsh without quoting and
 * splits virsh's output on whitespace) can only address a domain whose name is
 * one plain word. A VirtualBox name that is not such a word is presented under
 * an alias; the exact rule is in docs/driver.md ("Names and aliases").
 */

const SAFE_CHARS = /^[A-Za-z0-9._-]+$/;
const ALL_DIGITS = /^[0-9]+$/;
/** What virsh's UUID lookup (virUUIDParse) would accept: 32 hex digits, dashes anywhere. */
function looksLikeUuid(s: string): boolean {
  const hex = s.replace(/-/g, '');
  return /^[0-9a-fA-F]{32}$/.test(hex) && s.length >= 32 && s.length <= 36 + 4;
}

/** The longest alias stem we keep before the `-xxxxxxxx` UUID suffix. */
export const ALIAS_STEM_MAX = 48;

/**
 * true when `name` can be typed to virsh as-is and printed back as one
 * whitespace-free token: only ASCII letters, digits, `.`, `_`, `-`; not empty;
 * no leading `-` (an option to virsh); not all digits (virsh tries it as an id
 * first); not UUID-shaped (virsh tries it as a UUID first); at most 200 chars.
 */
export function isSafeName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 200 &&
    SAFE_CHARS.test(name) &&
    !name.startsWith('-') &&
    !ALL_DIGITS.test(name) &&
    !looksLikeUuid(name)
  );
}

/**
 * The alias of an unsafe name: accents dropped (NFKD), every run of other
 * characters replaced by one `-`, leading/trailing `-` and `.` trimmed, cut to
 * 48 characters, `vm` if nothing is left; then `-` and the first 8 hex digits
 * of the UUID. `My VM` (UUID 1a2b3c4d-…) → `My-VM-1a2b3c4d`.
 */
export function aliasFor(name: string, uuid: string): string {
  let stem = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  stem = stem.replace(/[^A-Za-z0-9._]+/g, '-');
  stem = stem.replace(/^[-.]+/, '').replace(/[-.]+$/, '');
  if (stem.length > ALIAS_STEM_MAX) stem = stem.slice(0, ALIAS_STEM_MAX).replace(/[-.]+$/, '');
  if (stem === '') stem = 'vm';
  return `${stem}-${uuid.replace(/-/g, '').slice(0, 8).toLowerCase()}`;
}

/**
 * The names under which a list of VMs is presented. Safe, unique names are
 * presented as they are; unsafe names get their alias; when several VMs share
 * one safe name, the first in VirtualBox's registration order keeps it and the
 * others get their alias, so every presented name is unique.
 */
export function presentNames(vms: ReadonlyArray<{ uuid: string; name: string }>): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const vm of vms) {
    if (isSafeName(vm.name) && !taken.has(vm.name)) {
      out.set(vm.uuid, vm.name);
      taken.add(vm.name);
    }
  }
  for (const vm of vms) {
    if (out.has(vm.uuid)) continue;
    let alias = aliasFor(vm.name, vm.uuid);
    // Practically impossible (would need a VM literally named like another's alias), but stay unique.
    for (let n = 2; taken.has(alias); n++) alias = `${aliasFor(vm.name, vm.uuid)}-${n}`;
    out.set(vm.uuid, alias);
    taken.add(alias);
  }
  return out;
}

/** Normalise a textual UUID (any case, with or without dashes/braces) to lowercase 8-4-4-4-12, or undefined. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function normalizeUuid(text: string): string | undefined {
  // fast path: every UUID off the wire (uuidFromBytes) is already canonical
  if (text.length === 36 && CANONICAL_UUID.test(text)) return text;
  const hex = text.trim().replace(/^\{|\}$/g, '').replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Wire bytes of recently encoded UUIDs (the encoder only reads them); bounded. */
const uuidBytes = new Map<string, Buffer>();

export function uuidToBytes(uuid: string): Buffer {
  const hit = uuidBytes.get(uuid);
  if (hit) return hit;
  const n = normalizeUuid(uuid);
  if (!n) throw new TypeError(`not a UUID: ${uuid}`);
  const b = Buffer.from(n.replace(/-/g, ''), 'hex');
  if (uuidBytes.size >= 4096) uuidBytes.clear();
  uuidBytes.set(uuid, b);
  return b;
}

export function uuidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new TypeError(`a UUID is 16 bytes, got ${bytes.length}`);
  const hex = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
