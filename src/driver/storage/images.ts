/**
 * Disk image facts read from the files themselves (no VirtualBox needed):
 * virtual size from the format header (VDI, VMDK sparse/descriptor, VHD,
 * QCOW2; raw/ISO = file size), allocation from the blocks the file occupies.
 * Used for pool volumes and DOMAIN_GET_BLOCK_INFO when the daemon runs on the
 * VirtualBox host (local backends).
 */
import fs from 'node:fs/promises';

export interface ImageInfo {
  /** libvirt volume format name: vdi, vmdk, vpc (VHD), qcow2, iso, raw. */
  format: string;
  /** Virtual size, bytes. */
  capacity: number;
  /** Bytes the file occupies on the host (st_blocks × 512). */
  allocation: number;
  /** File size, bytes. */
  physical: number;
}

const VDI_SIGNATURE = 0xbeda107f;

/** Read the first bytes of a file (and optionally its last 512). */
async function readHead(path: string, n: number): Promise<{ head: Buffer; size: number; blocks: number; tail?: Buffer }> {
  const fh = await fs.open(path, 'r');
  try {
    const st = await fh.stat();
    const head = Buffer.alloc(Math.min(n, st.size));
    if (head.length) await fh.read(head, 0, head.length, 0);
    let tail: Buffer | undefined;
    if (st.size >= 512) {
      tail = Buffer.alloc(512);
      await fh.read(tail, 0, 512, st.size - 512);
    }
    return { head, size: st.size, blocks: st.blocks, tail };
  } finally {
    await fh.close();
  }
}

function safeNumber(v: bigint): number | undefined {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/** Facts about one image file; throws the fs error (ENOENT…) when it cannot be read. */
export async function imageInfo(path: string): Promise<ImageInfo> {
  const { head, size, blocks, tail } = await readHead(path, 2048);
  const allocation = blocks > 0 ? blocks * 512 : size;
  const base = { allocation, physical: size };
  // VDI: pre-header (64-byte text + signature at 0x40), cbDisk (u64 LE) at 0x170.
  if (head.length >= 0x178 && head.readUInt32LE(0x40) === VDI_SIGNATURE) {
    const cap = safeNumber(head.readBigUInt64LE(0x170));
    if (cap !== undefined) return { format: 'vdi', capacity: cap, ...base };
  }
  // VMDK monolithic sparse: "KDMV", capacity in sectors (u64 LE) at 12.
  if (head.length >= 20 && head.toString('latin1', 0, 4) === 'KDMV') {
    const cap = safeNumber(head.readBigUInt64LE(12) * 512n);
    if (cap !== undefined) return { format: 'vmdk', capacity: cap, ...base };
  }
  // VMDK text descriptor: extent lines `RW <sectors> FLAT|SPARSE|VMFS "file"`.
  const text = head.toString('latin1');
  if (/^# Disk DescriptorFile/m.test(text)) {
    let sectors = 0n;
    for (const m of text.matchAll(/^(?:RW|RDONLY|NOACCESS)\s+(\d+)\s+/gm)) sectors += BigInt(m[1]!);
    const cap = safeNumber(sectors * 512n);
    if (cap !== undefined) return { format: 'vmdk', capacity: cap, ...base };
  }
  // QCOW2: "QFI\xfb", size (u64 BE) at 24.
  if (head.length >= 32 && head.readUInt32BE(0) === 0x514649fb) {
    const cap = safeNumber(head.readBigUInt64BE(24));
    if (cap !== undefined) return { format: 'qcow2', capacity: cap, ...base };
  }
  // VHD: footer "conectix" in the last 512 bytes (or the first, for dynamic disks), current size (u64 BE) at 48.
  for (const footer of [tail, head.length >= 512 ? head.subarray(0, 512) : undefined]) {
    if (footer && footer.toString('latin1', 0, 8) === 'conectix') {
      const cap = safeNumber(footer.readBigUInt64BE(48));
      if (cap !== undefined) return { format: 'vpc', capacity: cap, ...base };
    }
  }
  // ISO 9660: "CD001" at 0x8001 — beyond our head; decide by extension instead.
  if (/\.iso$/i.test(path)) return { format: 'iso', capacity: size, ...base };
  return { format: 'raw', capacity: size, ...base };
}
