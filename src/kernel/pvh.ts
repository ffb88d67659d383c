// A kernel that QEMU can start at its PVH entry boots from its uncompressed
// ELF: no bzImage decompressing itself first, which under TCG is the slowest
// part of early boot. Measured on Debian's 6.12 cloud kernel (TCG, 1 vCPU,
// this 2-core host, to kgate's ready line): the first console line at
// 0.27-0.46 s instead of 0.78-0.92 s, the ready line at 1.93-2.27 s instead of
// 2.50-2.71 s.
//
// The ELF is the bzImage's own payload: the setup header says where it lies
// (payload_offset and payload_length, boot protocol 2.08+, the kernel's
// Documentation/arch/x86/boot.rst) and its magic says how it is compressed;
// zstd and xz are undone by the system's tools, gzip by node's zlib. It is
// used only when it carries the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY:
// CONFIG_PVH, on in Debian's kernels, off in a tiny tree config), and kept
// beside its bzImage in kgate's cache, so it is evicted with it. A kernel
// outside the cache (a user's bzImage), or one without PVH, boots as before.
// By hand rather than the kernel's scripts/extract-vmlinux: that script
// needs a kernel tree, which a Debian kernel run does not have.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compressionOf, decompress } from '../util/decompress.js';
import { writeFileAtomic } from '../util/atomic.js';
import { cacheRoot } from '../util/cache.js';

/** The compressed payload of a bzImage, or why there is none. */
export function bzImagePayload(b: Buffer): { payload: Buffer } | { why: string } {
  if (b.length < 0x260 || b.toString('latin1', 0x202, 0x206) !== 'HdrS') return { why: 'not a bzImage (no HdrS setup header)' };
  if (b.readUInt16LE(0x206) < 0x208) return { why: 'boot protocol before 2.08: no payload fields' };
  const setupSects = b[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + b.readUInt32LE(0x248);
  const len = b.readUInt32LE(0x24c);
  if (len === 0 || start + len > b.length) return { why: 'payload outside the file' };
  return { payload: b.subarray(start, start + len) };
}

async function payloadElf(payload: Buffer, signal?: AbortSignal): Promise<Buffer | undefined> {
  const kind = compressionOf(payload);
  if (kind === undefined) return undefined;   // lz4, lzma, bzip2, lzo: boot the bzImage
  // kbuild appends the uncompressed size (4 bytes) to a zstd or xz payload, which the tools take for a second frame.
  // A tool missing or failing costs speed, not the run: the bzImage boots.
  return decompress(kind, kind === 'gzip' ? payload : payload.subarray(0, payload.length - 4), signal).catch(() => undefined);
}

const PT_NOTE = 4;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** Does this ELF64 carry the PVH entry note ("Xen", type 18) in a PT_NOTE segment? */
export function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || elf.readUInt32LE(ph) !== PT_NOTE) continue;
    let at = Number(elf.readBigUInt64LE(ph + 8));
    const end = Math.min(elf.length, at + Number(elf.readBigUInt64LE(ph + 32)));
    while (at + 12 <= end) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.toString('latin1', at + 12, at + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
      at += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/**
 * The uncompressed PVH kernel of a bzImage in kgate's cache, made once and
 * kept beside it; undefined when it has none (then boot the bzImage).
 */
export async function pvhKernelOf(bzImage: string, o: { config?: string; signal?: AbortSignal } = {}): Promise<string | undefined> {
  const inCache = path.resolve(bzImage).startsWith(cacheRoot() + path.sep);
  // A tree build says in its .config whether it has the entry: no need to unpack one that has not.
  if (!inCache || (o.config && existsSync(o.config) && !/^CONFIG_PVH=y$/m.test(readFileSync(o.config, 'utf8')))) return undefined;
  const out = `${bzImage}.pvh.elf`;
  const none = `${bzImage}.no-pvh`;
  const fresh = (f: string) => existsSync(f) && statSync(f).mtimeMs >= statSync(bzImage).mtimeMs;
  if (fresh(out)) return out;
  if (fresh(none)) return undefined;
  const found = bzImagePayload(readFileSync(bzImage));
  const elf = 'payload' in found ? await payloadElf(found.payload, o.signal) : undefined;
  if (!elf || !hasPvhEntry(elf)) {
    writeFileSync(none, 'payload' in found ? 'no PVH entry note, or a compression kgate does not undo\n' : `${found.why}\n`);
    return undefined;
  }
  writeFileAtomic(out, elf);
  return out;
}
