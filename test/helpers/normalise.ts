/**
 * Normalisation used when comparing what virsh printed against our daemon with
 * what it printed against libvirtd (captures or a live reference daemon).
 * Only host-dependent values are rewritten; every rule is listed here and in
 * docs/testing.md.
 */

/** Connection URIs differ per run (port) and per daemon (test+tcp…/default vs qemu+tcp…/system). */
export function normaliseUri(s: string): string {
  return s.replace(/\b[a-z]+\+(?:tcp|tls|ssh):\/\/[^\s'"]*/g, '<URI>');
}

/** UUIDs, versions (x.y.z) and numeric ids in the Id column. */
export function normaliseHostValues(s: string): string {
  return normaliseUri(s)
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<UUID>')
    .replace(/\b\d+\.\d+\.\d+\b/g, '<VER>');
}

/**
 * `virsh version` with the hypervisor type and versions replaced: the shape
 * (lines, order, labels) must be identical.
 */
export function normaliseVersion(s: string): string {
  return s
    .replace(/^(Using API: )\S+ /m, '$1<TYPE> ')
    .replace(/^(Running hypervisor: )\S+ /m, '$1<TYPE> ')
    .replace(/\b\d+\.\d+\.\d+\b/g, '<VER>');
}
