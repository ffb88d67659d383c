// .gcda + .gcno -> lcov tracefiles -> HTML, with Debian's lcov (geninfo runs
// gcov of the compiler that built the kernel) and genhtml. Branch coverage is
// on: at -Os gcc folds many `return -E...;` into shared blocks, and the branch
// leaving a condition is then what says whether its exit was taken.
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GcovBuild } from '../kernel/artifact.js';
import { mkdirp } from '../util/fs.js';
import { runTool } from '../util/run-tool.js';

const RC = ['--rc', 'lcov_branch_coverage=1'];
/** What coverage is about: fs/fuse and the VFS helpers of fs/backing-file.c (inlined headers are left out). */
const KEEP = ['*/fs/fuse/*', '*/fs/backing-file.c'];

let gcovTool: string | undefined;
/** gcov of the compiler that built the kernel: gcov-<gcc major> where it exists (gcc's .gcno format is versioned). */
async function gcovOfGcc(): Promise<string> {
  if (gcovTool) return gcovTool;
  const major = (await runTool('gcc', ['-dumpversion'])).stdout.trim().split('.')[0];
  const named = `gcov-${major}`;
  gcovTool = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, named))) ? named : 'gcov';
  return gcovTool;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out); else out.push(p);
  }
  return out;
}

/**
 * One tracefile from a directory of .gcda files (relative to the build
 * directory, as the guest's debugfs lays them out): the build's .gcno files
 * are put beside them, gcov reads both, and source paths are rewritten to the
 * copies in the cache entry, so genhtml shows the sources the kernel was built from.
 */
export async function capture(gcdaDir: string, gcov: GcovBuild, out: string, signal?: AbortSignal): Promise<void> {
  const gcnoRoot = path.join(gcov.dir, 'obj');
  for (const f of walk(gcnoRoot)) {
    const to = path.join(gcdaDir, path.relative(gcnoRoot, f));
    mkdirp(path.dirname(to));
    copyFileSync(f, to);
  }
  const tool = await gcovOfGcc();
  // Every file of fs/fuse and the headers inlined into them: the sum is cut down to KEEP once (a second lcov per unit doubled the stage).
  await runTool('lcov', [...RC, '--quiet', '--gcov-tool', tool, '--capture', '--directory', gcdaDir, '--base-directory', gcov.obj, '--output-file', out], { signal, writesTo: out });
  writeFileSync(out, rebase(readFileSync(out, 'utf8'), gcov.src, path.join(gcov.dir, 'src')));
}

/** SF: lines naming the build's checkout -> the copies kept beside the kernel. */
export function rebase(info: string, from: string, to: string): string {
  const prefix = from.endsWith('/') ? from : `${from}/`;
  return info.split('\n').map((l) => (l.startsWith(`SF:${prefix}`) ? `SF:${to}/${l.slice(3 + prefix.length)}` : l)).join('\n');
}

/** The sum of tracefiles (counts added), as one, cut down to fs/fuse and fs/backing-file.c. */
export async function combine(infos: string[], out: string, signal?: AbortSignal): Promise<void> {
  const sum = `${out}.sum`;
  if (infos.length === 1) copyFileSync(infos[0], sum);
  else await runTool('lcov', [...RC, '--quiet', ...infos.flatMap((i) => ['--add-tracefile', i]), '--output-file', sum], { signal, writesTo: out });
  await runTool('lcov', [...RC, '--quiet', '--extract', sum, ...KEEP, '--output-file', out], { signal, writesTo: out });
  rmSync(sum, { force: true });
}

/** genhtml's pages; `prefix` (the kept sources) is cut from the file names it shows. */
export async function html(info: string, outDir: string, title: string, prefix: string, signal?: AbortSignal): Promise<void> {
  mkdirp(outDir);
  await runTool('genhtml', [...RC, '--quiet', '--branch-coverage', '--title', title, '--prefix', prefix, '--output-directory', outDir, info], { signal, writesTo: outDir });
}
