// The build cache of tree kernels. Its key is known before anything is
// checked out or made (the commit, the hash of the uncommitted changes, the
// config recipe, the compiler), so a kernel built once is found again with
// no make at all, by any clone or worktree of kgate.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KernelIdentity } from '../../model.js';
import type { GcovBuild, StacktraceTools } from '../artifact.js';

/** Bumped when the way kgate builds a tree changes, so old entries are not reused for a different recipe (2: DWARF for fs/fuse, vmlinux kept). */
export const BUILD_RECIPE = 2;

export interface ConfigRecipe {
  /** tiny, defconfig, debian, or a file's absolute path. */
  base: string;
  /** Content hash of the base when it is a file (Debian's config or the user's). */
  baseHash?: string;
  /** The fragments in the order they are merged: kgate's required one, then the user's. */
  fragments: { name: string; text: string }[];
}

export interface BuildKeyInput {
  /** The commit's tree object, not the commit: a gate's `git am` makes new commits of the same source on every run. */
  sourceTree: string;
  dirtyHash?: string;
  config: ConfigRecipe;
  /** `gcc --version`'s first line (and ccache's use does not change the output, so it is not part of it). */
  compiler: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** What makes a .config: the base and the fragments, not the commit (so one build directory serves nearby commits). */
export function configKey(c: ConfigRecipe): string {
  return sha(JSON.stringify({ base: c.base, baseHash: c.baseHash ?? null, fragments: c.fragments.map((f) => [f.name, f.text]) }));
}

export function buildKey(k: BuildKeyInput): string {
  return sha(JSON.stringify({ recipe: BUILD_RECIPE, source: k.sourceTree, dirty: k.dirtyHash ?? null, config: configKey(k.config), compiler: k.compiler }));
}

export interface CachedBuild { dir: string; bzImage: string; modulesDir?: string; identity: KernelIdentity; makeMs: number; gcov?: GcovBuild; stacktrace?: StacktraceTools }

/** A complete cache entry for `key`, or undefined (an entry is complete once its identity.json exists: written last). */
export function readBuild(buildsDir: string, key: string): CachedBuild | undefined {
  const dir = buildEntryDir(buildsDir, key);
  const idFile = path.join(dir, 'identity.json');
  if (!existsSync(idFile) || !existsSync(path.join(dir, 'bzImage'))) return undefined;
  try {
    const saved = JSON.parse(readFileSync(idFile, 'utf8')) as { key: string; identity: KernelIdentity; modulesDir?: string; makeMs: number; gcov?: Omit<GcovBuild, 'dir'>; stacktrace?: StacktraceTools };
    if (saved.key !== key) return undefined;
    return { dir, bzImage: path.join(dir, 'bzImage'), identity: saved.identity, makeMs: saved.makeMs, ...(saved.modulesDir ? { modulesDir: path.join(dir, saved.modulesDir) } : {}),
      ...(saved.gcov ? { gcov: { dir: path.join(dir, 'gcov'), ...saved.gcov } } : {}),
      // Paths kept relative to the entry, which may be read from another clone's cache path.
      ...(saved.stacktrace ? { stacktrace: { ...saved.stacktrace, script: path.join(dir, saved.stacktrace.script), vmlinux: path.join(dir, saved.stacktrace.vmlinux) } } : {}) };
  } catch {
    return undefined;
  }
}

export function buildEntryDir(buildsDir: string, key: string): string {
  return path.join(buildsDir, key.slice(0, 24));
}
