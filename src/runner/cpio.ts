// The cpio (newc) archive of a guest's initramfs, written in Node rather than
// by cpio(1): the format is a 110-byte ASCII header per entry, and writing it
// ourselves gives device nodes (/dev/console) without root or mknod, fixed
// owners and mtimes (so equal inputs give equal bytes), and no staging tree to
// clean up.
type Entry =
  | { kind: 'dir'; name: string; mode: number }
  | { kind: 'file'; name: string; mode: number; data: Buffer }
  | { kind: 'symlink'; name: string; target: string }
  | { kind: 'chardev'; name: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

export class CpioArchive {
  private entries = new Map<string, Entry>();

  dir(name: string, mode = 0o755): this { this.parents(name); this.entries.set(clean(name), { kind: 'dir', name: clean(name), mode }); return this; }
  file(name: string, data: Buffer | string, mode = 0o644): this {
    this.parents(name);
    this.entries.set(clean(name), { kind: 'file', name: clean(name), mode, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
    return this;
  }
  symlink(name: string, target: string): this { this.parents(name); this.entries.set(clean(name), { kind: 'symlink', name: clean(name), target }); return this; }
  chardev(name: string, major: number, minor: number, mode = 0o600): this {
    this.parents(name);
    this.entries.set(clean(name), { kind: 'chardev', name: clean(name), mode, major, minor });
    return this;
  }
  has(name: string): boolean { return this.entries.has(clean(name)); }

  /** Parent directories first: the kernel's unpacker does not create them. */
  private parents(name: string): void {
    const parts = clean(name).split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!this.entries.has(p)) this.entries.set(p, { kind: 'dir', name: p, mode: 0o755 });
    }
  }

  toBuffer(): Buffer {
    const chunks: Buffer[] = [];
    let size = 0;
    const push = (b: Buffer) => { chunks.push(b); size += b.length; };
    const pad = () => { const n = (4 - (size % 4)) % 4; if (n) push(Buffer.alloc(n)); };
    let ino = 1;
    const write = (name: string, mode: number, data: Buffer, rmaj = 0, rmin = 0, nlink = 1) => {
      const fields = [ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, rmaj, rmin, Buffer.byteLength(name) + 1, 0];
      push(Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1'));
      push(Buffer.from(name + '\0'));
      pad();
      push(data);
      pad();
    };
    // Map order is insertion order with parents inserted before children.
    for (const e of this.entries.values()) {
      switch (e.kind) {
        case 'dir': write(e.name, S_IFDIR | e.mode, Buffer.alloc(0), 0, 0, 2); break;
        case 'file': write(e.name, S_IFREG | e.mode, e.data); break;
        case 'symlink': write(e.name, S_IFLNK | 0o777, Buffer.from(e.target)); break;
        case 'chardev': write(e.name, S_IFCHR | e.mode, Buffer.alloc(0), e.major, e.minor); break;
      }
    }
    write('TRAILER!!!', 0, Buffer.alloc(0), 0, 0, 1);
    // Pad to 512 so another archive can be appended and still start aligned.
    const n = (512 - (size % 512)) % 512;
    if (n) push(Buffer.alloc(n));
    return Buffer.concat(chunks, size);
  }
}

function clean(name: string): string {
  return name.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Names in a newc archive, for tests and for checking a built image. */
export function listCpio(buf: Buffer): { name: string; mode: number; size: number; data: Buffer }[] {
  const out: { name: string; mode: number; size: number; data: Buffer }[] = [];
  let off = 0;
  const align = (n: number) => (n + 3) & ~3;
  while (off + 110 <= buf.length) {
    if (buf[off] === 0) { off++; continue; } // padding between concatenated archives
    const magic = buf.toString('latin1', off, off + 6);
    if (magic !== '070701') throw new Error(`bad cpio magic at ${off}`);
    const field = (i: number) => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1), size = field(6), namesize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    const dataStart = align(off + 110 + namesize);
    const data = buf.subarray(dataStart, dataStart + size);
    off = align(dataStart + size);
    if (name === 'TRAILER!!!') continue;
    out.push({ name, mode, size, data });
  }
  return out;
}
