// What the kernel stage hands to everything after it: a bootable image on
// disk and the identity that says exactly which kernel it is. Resolved (or,
// for a tree, built) once per run, before any guest boots.
import type { KernelIdentity } from '../model.js';
import type { KernelSpec } from './spec.js';

export interface KernelArtifact {
  bzImage: string;
  /** lib/modules/<release> of this kernel; absent for a monolithic kernel. */
  modulesDir?: string;
  release: string;
  /** What identifies it: "debian:linux-image-6.12.117+deb12-cloud-amd64-unsigned=6.12.117-1~deb12u1", a path, a tree commit. */
  source: string;
  /** Release, exact version, package or commit, config hash, and the --kernel that pins it. */
  identity: KernelIdentity;
  /** How the stage got it: fetched, cached, built (with make's time), given by path. */
  how: 'fetched' | 'cached' | 'built' | 'path';
  ms?: number;
  /** A tree build's exact .config (in its cache entry), for the run's results. */
  config?: string;
  /** A gcov build (--coverage): what turns the guest's .gcda files into coverage. */
  coverage?: GcovBuild;
  /** A tree build's decode_stacktrace.sh and vmlinux: a crash in it reads as file:line (absent for Debian's and a user's bzImage). */
  stacktrace?: StacktraceTools;
}

/** What decodes a trace of a tree kernel: paths in its cache entry, and the prefix addr2line's file names carry. */
export interface StacktraceTools {
  /** The tree's scripts/decode_stacktrace.sh, copied (decodecode beside it). */
  script: string;
  /** vmlinux's symbols and DWARF (objcopy --only-keep-debug): DWARF for fs/fuse and fs/backing-file.c only. */
  vmlinux: string;
  /** What decode_stacktrace.sh strips from each file name, so fs/fuse/file.c:123 is left. */
  basePath: string;
}

/**
 * What a gcov build of fs/fuse leaves beside its kernel: the .gcno files and
 * the sources they were compiled from (copied into the cache entry, so a
 * later build of another commit in the same directories cannot change them),
 * and the two paths the kernel and the .gcno files name.
 */
export interface GcovBuild {
  /** The cache entry's gcov/ directory: obj/<rel>.gcno and src/<rel>.c|h. */
  dir: string;
  /** The build directory the kernel was made in: debugfs shows /sys/kernel/debug/gcov/<obj>/fs/fuse/*.gcda. */
  obj: string;
  /** The checkout the .gcno files name as their sources. */
  src: string;
}

export interface KernelRequest {
  spec: KernelSpec;
  /** --modules DIR, for a bzImage path. */
  modules?: string;
  /** Tree builds: --base-config and --config-fragment. */
  baseConfig?: string;
  fragments?: string[];
  /** Tree builds: another repository that holds REF when the tree does not (the commits a gate's `git am` made). */
  objectsFrom?: string;
  /** Tree builds: gcov for fs/fuse and fs/backing-file.c (kgate run --coverage). */
  coverage?: boolean;
}

export interface KernelStageOptions {
  /** The kgate cache by default. */
  cacheDir?: string;
  signal?: AbortSignal;
  /** One line of what is happening (fetching, building, the make target). */
  log?: (line: string) => void;
  /** Where a tree build writes kernel-build.log (a run's directory); the tree's cache directory otherwise. */
  logDir?: string;
}

