import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execaSync } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bzImagePayload, hasPvhEntry, pvhKernelOf } from '../../../src/kernel/pvh.js';

/** An ELF64 with one PT_NOTE segment holding one note (name, type). */
function elf(note?: { name: string; type: number }): Buffer {
  const b = Buffer.alloc(160);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; b[5] = 1; b[6] = 1;
  b.writeBigUInt64LE(64n, 0x20);            // e_phoff
  b.writeUInt16LE(56, 0x36);                // e_phentsize
  b.writeUInt16LE(note ? 1 : 0, 0x38);      // e_phnum
  if (note) {
    b.writeUInt32LE(4, 64);                 // PT_NOTE
    b.writeBigUInt64LE(120n, 72);           // p_offset
    b.writeBigUInt64LE(24n, 96);            // p_filesz
    b.writeUInt32LE(note.name.length + 1, 120);
    b.writeUInt32LE(4, 124);
    b.writeUInt32LE(note.type, 128);
    b.write(note.name, 132, 'latin1');
  }
  return b;
}

/** A bzImage as the boot protocol lays it out: setup header, then the payload (compressed, size appended as kbuild does). */
function bzImage(compressed: Buffer): Buffer {
  const b = Buffer.alloc(1024 + compressed.length);
  b[0x1f1] = 1;                             // setup_sects: the protected-mode code starts at 1024
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x020f, 0x206);
  b.writeUInt32LE(0, 0x248);                // payload_offset
  b.writeUInt32LE(compressed.length, 0x24c);
  compressed.copy(b, 1024);
  return b;
}
const withSize = (c: Buffer, n: number) => { const s = Buffer.alloc(4); s.writeUInt32LE(n); return Buffer.concat([c, s]); };
const zstd = (x: Buffer) => withSize(execaSync('zstd', ['-c', '-q'], { input: x, encoding: 'buffer' }).stdout as unknown as Buffer, x.length);

test('hasPvhEntry: the Xen note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY), not another Xen note, not a non-ELF', () => {
  assert.equal(hasPvhEntry(elf({ name: 'Xen', type: 18 })), true);
  assert.equal(hasPvhEntry(elf({ name: 'Xen', type: 6 })), false);
  assert.equal(hasPvhEntry(elf({ name: 'GNU', type: 18 })), false);
  assert.equal(hasPvhEntry(elf()), false);
  assert.equal(hasPvhEntry(Buffer.from('MZ not an elf at all, but long enough to read a header from it............')), false);
});

test('bzImagePayload: where the setup header says; a file that is no bzImage says why', () => {
  const p = Buffer.from('payload bytes');
  assert.deepEqual(bzImagePayload(bzImage(p)), { payload: p });
  assert.match((bzImagePayload(Buffer.alloc(4096)) as { why: string }).why, /not a bzImage/);
});

test('pvhKernelOf: unpacks a cached bzImage with the PVH note once (zstd with the size kbuild appends, gzip), not one without, not one outside the cache', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'kgate-pvh-'));
  const saved = process.env.KGATE_CACHE;
  process.env.KGATE_CACHE = cache;
  t.after(() => { process.env.KGATE_CACHE = saved; if (saved === undefined) delete process.env.KGATE_CACHE; rmSync(cache, { recursive: true, force: true }); });
  const pvh = elf({ name: 'Xen', type: 18 });
  const z = join(cache, 'vmlinuz-zstd');
  writeFileSync(z, bzImage(zstd(pvh)));
  const out = await pvhKernelOf(z);
  assert.equal(out, `${z}.pvh.elf`);
  assert.deepEqual(readFileSync(out!), pvh);
  assert.equal(await pvhKernelOf(z), out, 'the second time: the kept one');
  const g = join(cache, 'vmlinuz-gzip');
  writeFileSync(g, bzImage(gzipSync(pvh)));
  assert.equal(await pvhKernelOf(g), `${g}.pvh.elf`);
  // no PVH entry: the bzImage boots, and the answer is kept
  const plain = join(cache, 'vmlinuz-plain');
  writeFileSync(plain, bzImage(zstd(elf())));
  assert.equal(await pvhKernelOf(plain), undefined);
  assert.ok(existsSync(`${plain}.no-pvh`));
  // a tree build whose .config has no CONFIG_PVH is not even unpacked
  const tree = join(cache, 'vmlinuz-tree');
  writeFileSync(tree, bzImage(zstd(pvh)));
  writeFileSync(join(cache, 'config'), 'CONFIG_64BIT=y\n');
  assert.equal(await pvhKernelOf(tree, { config: join(cache, 'config') }), undefined);
  assert.ok(!existsSync(`${tree}.pvh.elf`) && !existsSync(`${tree}.no-pvh`));
  // a user's bzImage outside kgate's cache: nothing is written beside it
  const outside = mkdtempSync(join(tmpdir(), 'kgate-pvh-user-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(join(outside, 'bzImage'), bzImage(zstd(pvh)));
  assert.equal(await pvhKernelOf(join(outside, 'bzImage')), undefined);
  assert.ok(!existsSync(join(outside, 'bzImage.pvh.elf')));
});
