// The gcov build of a tree kernel (`kgate run --coverage`): what is profiled,
// how, and what is kept of it beside the kernel.
//
// Mechanism: CONFIG_GCOV_KERNEL plus `GCOV_PROFILE := y` appended to
// fs/fuse/Makefile and `GCOV_PROFILE_backing-file.o := y` to fs/Makefile, in
// kgate's own checkout (the next checkOut's `git checkout --force` puts them
// back). Not CONFIG_GCOV_PROFILE_ALL: it recompiles the whole kernel (a
// second cold build, ccache cannot help: every command line changes), makes
// it larger and slower under TCG, and fills debugfs with thousands of files
// to read back. Not GCOV_PROFILE_<obj>.o on make's command line: those
// variables name an object by its file name only, so file.o and inode.o of
// fs/ would be profiled too.
import { appendFileSync, copyFileSync, cpSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { mkdirp } from '../../util/fs.js';

/** The options a gcov kernel needs, beside kgate's required ones (DEBUG_FS_ALLOW_ALL: debugfs mountable and readable). */
export const COVERAGE_FRAGMENT = 'CONFIG_DEBUG_FS=y\nCONFIG_DEBUG_FS_ALLOW_ALL=y\nCONFIG_GCOV_KERNEL=y\n';
export const COVERAGE_FRAGMENT_NAME = 'kgate coverage fragment (--coverage)';

/** Makefile lines appended in kgate's checkout: the directory and the one object outside it that are profiled. */
const PROFILE_LINES: { makefile: string; line: string }[] = [
  { makefile: 'fs/fuse/Makefile', line: 'GCOV_PROFILE := y' },
  { makefile: 'fs/Makefile', line: 'GCOV_PROFILE_backing-file.o := y' },
];

/** Profiled code: every file of fs/fuse, and fs/backing-file.c (the VFS helpers passthrough I/O goes through; 7.x moved them into fs/fuse). */
export function profiled(rel: string): boolean {
  return /^fs\/fuse\/[^/]+$/.test(rel) || rel === 'fs/backing-file.c' || rel === 'fs/backing-file.gcno';
}

/** Ask kbuild for gcov in kgate's checkout (after checkOut, which restores the Makefiles). */
export function enableProfiling(srcDir: string): void {
  for (const p of PROFILE_LINES) {
    const f = path.join(srcDir, p.makefile);
    if (existsSync(f)) appendFileSync(f, `\n# kgate --coverage\n${p.line}\n`);
  }
}

/**
 * Seed a new gcov build directory with a copy of the plain one (the same
 * commit's objects): make then rebuilds only what the three options and
 * GCOV_PROFILE change, not the whole kernel. What the plain directory
 * remembers of its own kernels is not copied.
 */
export function seedFrom(plainObj: string, gcovObj: string, forget: string[]): boolean {
  if (existsSync(gcovObj) || !existsSync(path.join(plainObj, '.config'))) return false;
  const tmp = `${gcovObj}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  // cpSync keeps modes; timestamps must be kept too, or make rebuilds everything.
  cpSync(plainObj, tmp, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  for (const f of forget) rmSync(path.join(tmp, f), { force: true });
  // A rename within one directory: a killed copy never looks like a build directory.
  renameSync(tmp, gcovObj);
  return true;
}

/**
 * Keep what coverage needs of this build in the cache entry: the .gcno files
 * (obj/<rel>) and the profiled sources (src/<rel>), so the entry's kernel can
 * be measured after the build directory has moved on to another commit.
 */
export function keepGcovFiles(obj: string, srcDir: string, into: string): number {
  let n = 0;
  const copy = (from: string, to: string) => { mkdirp(path.dirname(to)); copyFileSync(from, to); n++; };
  for (const dir of ['fs/fuse', 'fs']) {
    for (const e of readdirSync(path.join(obj, dir))) {
      const rel = `${dir}/${e}`;
      if (e.endsWith('.gcno') && profiled(rel)) copy(path.join(obj, rel), path.join(into, 'obj', rel));
    }
    for (const e of readdirSync(path.join(srcDir, dir))) {
      const rel = `${dir}/${e}`;
      if (/\.[ch]$/.test(e) && profiled(rel)) copy(path.join(srcDir, rel), path.join(into, 'src', rel));
    }
  }
  return n;
}
