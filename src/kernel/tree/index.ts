// `--kernel tree:PATH[@REF]`: build the kernel under test from a git tree.
//
//   resolve (read-only in the user's tree) -> build key -> cached? done, no make
//   -> lock the tree's checkout -> check out the commit (and the dirty diff)
//   -> .config (base + fragments + olddefconfig, survival check) -> make -> cache entry
//
// Everything lives in the kgate cache: the checkout and one build directory
// per (tree, config) under trees/, finished kernels under builds/. The user's
// repository is only read.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KernelIdentity } from '../../model.js';
import { cacheCapBytes, cacheRoot, evictLru, touchEntry } from '../../util/cache.js';
import { mkdirp } from '../../util/fs.js';
import { changedFiles } from '../../util/git.js';
import { runTool } from '../../util/run-tool.js';
import type { GcovBuild, KernelArtifact, KernelRequest, KernelStageOptions, StacktraceTools } from '../artifact.js';
import type { KernelSpec } from '../spec.js';
import { buildEntryDir, buildKey, configKey, readBuild, type CachedBuild } from './cache.js';
import { CONFIG_STAMP, configRecipe, configure, inertForBuild, withoutCoverage } from './config.js';
import { runMake, type Make } from './make.js';
import { enableProfiling, keepGcovFiles, seedFrom } from './gcov.js';
import { enableDebugInfo, keepStacktraceTools } from './debuginfo.js';
import { checkOut, lockTree, resolveTreeSource, treeCacheDir, type TreeSource } from './source.js';

/** Build directories kept per tree (one per config recipe), least recently used dropped first. */
const OBJ_DIRS_PER_TREE = 3;

export async function buildTreeKernel(spec: Extract<KernelSpec, { kind: 'tree' }>, req: KernelRequest, opts: KernelStageOptions = {}): Promise<KernelArtifact> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const root = opts.cacheDir ?? cacheRoot();
  const src = await resolveTreeSource(spec.path, spec.ref, req.objectsFrom, opts.signal);
  const what = `${src.describe}${src.dirty ? ' + uncommitted changes' : ''}`;
  const recipe = await configRecipe(req, src, opts.signal);
  const compiler = await compilerVersion();
  const key = buildKey({ sourceTree: src.sourceTree, dirtyHash: src.dirty?.hash, config: recipe, compiler });
  const buildsDir = path.join(root, 'builds');
  // A kernel the cache holds already: this key's, the same kernel made from another commit, or one another kgate built meanwhile.
  const cached = (hit: CachedBuild) => artifactOf(hit.bzImage, hit.modulesDir, identityOf(req, src, hit.identity), 'cached', Date.now() - t0, hit.gcov, hit.stacktrace);
  const hit = readBuild(buildsDir, key);
  if (hit) {
    touchEntry(hit.dir);
    log(`cached: ${what}${req.coverage ? ' (gcov)' : ''} (made in ${(hit.makeMs / 1000).toFixed(0)} s when first built)`);
    return cached(hit);
  }

  const treeDir = treeCacheDir(path.join(root, 'trees'), src);
  const obj = path.join(treeDir, `obj-${configKey(recipe).slice(0, 12)}`);
  // The last kernel this build directory made, when only files no build reads changed since: the same kernel.
  const same = await sameKernelAs(obj, src, compiler, buildsDir, opts.signal);
  if (same) {
    touchEntry(same.hit.dir);
    log(`cached: ${what} (the kernel of ${same.sourceTree.slice(0, 12)}: since then only files no build reads changed)`);
    return cached(same.hit);
  }
  const unlock = await lockTree(treeDir, log, opts.signal);
  try {
    // Another kgate may have built it while this one waited for the lock.
    const late = readBuild(buildsDir, key);
    if (late) return cached(late);
    touchEntry(treeDir);
    const srcDir = path.join(treeDir, 'src');
    log(`checking out ${what} in ${srcDir}`);
    await checkOut(srcDir, src, req.objectsFrom, opts.signal);
    enableDebugInfo(srcDir);
    if (req.coverage) {
      enableProfiling(srcDir);
      // The plain build of this config, copied: make redoes what gcov changes, not the whole kernel.
      const plainObj = path.join(treeDir, `obj-${configKey(withoutCoverage(recipe)).slice(0, 12)}`);
      const tCopy = Date.now();
      if (seedFrom(plainObj, obj, [LAST_BUILD, CONFIG_STAMP])) log(`gcov build directory seeded from ${path.basename(plainObj)} in ${((Date.now() - tCopy) / 1000).toFixed(1)} s (incremental)`);
    }
    mkdirp(obj);
    touchEntry(obj);
    const logFile = buildLogFile(opts.logDir, treeDir);
    const make = makeRunner(root, srcDir, obj, src, logFile, what, opts);
    const finalConfig = await configure(make, srcDir, obj, recipe, what, { src, compiler, signal: opts.signal, log });
    const modules = finalConfig.get('CONFIG_MODULES') === 'y';
    log(`building ${what}: make -j${os.availableParallelism()} bzImage${modules ? ' modules' : ''} (log: ${logFile})`);
    let makeMs = (await make(modules ? ['bzImage', 'modules'] : ['bzImage'])).ms;
    const release = readFileSync(path.join(obj, 'include', 'config', 'kernel.release'), 'utf8').trim();
    const entry = buildEntryDir(buildsDir, key);
    const tmp = `${entry}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirp(tmp);
    copyFileSync(path.join(obj, 'arch', 'x86', 'boot', 'bzImage'), path.join(tmp, 'bzImage'));
    const configText = readFileSync(path.join(obj, '.config'), 'utf8');
    writeFileSync(path.join(tmp, 'config'), configText);
    let modulesRel: string | undefined;
    const gcovFiles = req.coverage ? keepGcovFiles(obj, srcDir, path.join(tmp, 'gcov')) : 0;
    const kept = await keepStacktraceTools(obj, srcDir, tmp, opts.signal);
    // The file names addr2line prints: ccache (CCACHE_BASEDIR) makes them relative to the build directory, "<obj>/../src/fs/fuse/file.c".
    const stacktrace = kept && { ...kept, basePath: hasCcache() ? `${obj}/${path.relative(obj, srcDir)}` : srcDir };
    if (modules) {
      makeMs += (await make(['modules_install'], { INSTALL_MOD_PATH: path.join(tmp, 'mod'), INSTALL_MOD_STRIP: '1' })).ms;
      modulesRel = path.join('mod', 'lib', 'modules', release);
      for (const l of ['build', 'source']) rmSync(path.join(tmp, modulesRel, l), { force: true });
    }
    const identity = identityOf(req, src, { release, configHash: createHash('sha256').update(configText).digest('hex'), baseConfig: recipe.base });
    const gcov = req.coverage ? { obj, src: srcDir } : undefined;
    if (req.coverage) log(`gcov: kept ${gcovFiles} .gcno and source files beside the kernel`);
    writeFileSync(path.join(tmp, 'identity.json'), JSON.stringify({ key, identity, makeMs, ...(modulesRel ? { modulesDir: modulesRel } : {}), ...(gcov ? { gcov } : {}), ...(stacktrace ? { stacktrace } : {}) }, null, 2) + '\n');
    rmSync(entry, { recursive: true, force: true });
    renameSync(tmp, entry);
    if (!src.dirty) writeFileSync(path.join(obj, LAST_BUILD), JSON.stringify([{ sourceTree: src.sourceTree, key, compiler }, ...lastBuilds(obj)].slice(0, 8)) + '\n');
    evictLru(buildsDir, cacheCapBytes() / 4, [entry]);
    evictObjDirs(treeDir, obj);
    evictLru(path.join(root, 'trees'), cacheCapBytes() / 2, [treeDir]);
    return artifactOf(path.join(entry, 'bzImage'), modulesRel && path.join(entry, modulesRel), identity, 'built', makeMs, gcov && { dir: path.join(entry, 'gcov'), ...gcov },
      stacktrace && { ...stacktrace, script: path.join(entry, stacktrace.script), vmlinux: path.join(entry, stacktrace.vmlinux) });
  } finally {
    unlock();
  }
}

/**
 * The kernels a build directory made last (newest first, a few): a commit whose
 * diff from one of them touches only inert files gets that kernel. A bisect
 * visits commits out of order, so the last build alone is not enough.
 */
interface LastBuild { sourceTree: string; key: string; compiler: string }
const LAST_BUILD = '.kgate-last-builds.json';

function lastBuilds(obj: string): LastBuild[] {
  try {
    const j = JSON.parse(readFileSync(path.join(obj, LAST_BUILD), 'utf8')) as unknown;
    return Array.isArray(j) ? (j as LastBuild[]) : [];
  } catch { return []; }
}

async function sameKernelAs(obj: string, src: TreeSource, compiler: string, buildsDir: string, signal?: AbortSignal): Promise<{ hit: CachedBuild; sourceTree: string } | undefined> {
  if (src.dirty) return undefined;
  for (const last of lastBuilds(obj)) {
    if (last.compiler !== compiler || last.sourceTree === src.sourceTree) continue;
    const hit = readBuild(buildsDir, last.key);
    if (!hit) continue;
    // The tree's own repository has both trees' objects (a gate's new commits are not there: git says so, and it is a miss).
    const files = await changedFiles(src.commonDir, last.sourceTree, src.sourceTree, { signal });
    if (files && files.length > 0 && files.every(inertForBuild)) return { hit, sourceTree: last.sourceTree };
  }
  return undefined;
}

/** The identity of this commit's kernel; a cache entry may have been built from another commit of the same source tree. */
function identityOf(req: KernelRequest, src: TreeSource, built: Pick<KernelIdentity, 'release' | 'configHash' | 'baseConfig'>): KernelIdentity {
  return {
    release: built.release,
    kernelVersion: src.kernelVersion,
    ...(built.configHash ? { configHash: built.configHash } : {}),
    commit: src.commit,
    describe: src.describe,
    ...(src.dirty ? { dirtyHash: src.dirty.hash } : {}),
    ...(built.baseConfig ? { baseConfig: built.baseConfig } : {}),
    fragments: req.fragments?.map((f) => path.resolve(f)) ?? [],
    source: req.spec.text,
    // Uncommitted changes cannot be named by a --kernel, nor a commit only a gate's scratch repository has.
    ...(src.dirty || req.objectsFrom ? {} : { pinned: `tree:${src.tree}@${src.commit}` }),
  };
}

function artifactOf(bzImage: string, modulesDir: string | undefined, identity: KernelIdentity, how: 'built' | 'cached', ms: number, gcov?: GcovBuild, stacktrace?: StacktraceTools): KernelArtifact {
  // The cache entry holds the build's .config beside its bzImage.
  return { bzImage, config: path.join(path.dirname(bzImage), 'config'), ...(modulesDir ? { modulesDir } : {}), release: identity.release, source: `${identity.source} (${identity.describe ?? identity.commit})`, identity, how, ms, ...(gcov ? { coverage: gcov } : {}), ...(stacktrace ? { stacktrace } : {}) };
}

function buildLogFile(logDir: string | undefined, treeDir: string): string {
  const dir = logDir ?? path.join(treeDir, 'logs');
  mkdirp(dir);
  const f = path.join(dir, 'kernel-build.log');
  writeFileSync(f, '');
  return f;
}

function makeRunner(root: string, srcDir: string, obj: string, src: TreeSource, logFile: string, what: string, opts: KernelStageOptions): Make {
  const ccache = hasCcache();
  const env: Record<string, string> = {
    KBUILD_BUILD_USER: 'kgate', KBUILD_BUILD_HOST: 'kgate',
    // The commit's date, not now: the same commit builds the same image.
    KBUILD_BUILD_TIMESTAMP: new Date(src.commitTime * 1000).toUTCString(),
    ...(ccache ? { CCACHE_DIR: path.join(root, 'ccache'), CCACHE_BASEDIR: srcDir, CCACHE_MAXSIZE: `${Math.max(1, Math.round(cacheCapBytes() / 4 / 1024 ** 3))}G` } : {}),
  };
  return (targets, vars = {}) => runMake({
    src: srcDir, obj, targets, jobs: os.availableParallelism(), logFile, what, signal: opts.signal, log: opts.log,
    // A terminal redraws one line; a CI log gets a line every few seconds, not one per file.
    noteEveryMs: process.stderr.isTTY ? 1000 : 5000,
    vars: { ...(ccache ? { CC: 'ccache gcc' } : {}), ...vars }, env,
  });
}

let ccacheFound: boolean | undefined;
function hasCcache(): boolean {
  ccacheFound ??= (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, 'ccache')));
  return ccacheFound;
}

let gccVersion: string | undefined;
async function compilerVersion(): Promise<string> {
  gccVersion ??= (await runTool('gcc', ['--version'])).stdout.split('\n')[0].trim();
  return gccVersion;
}

function evictObjDirs(treeDir: string, keep: string): void {
  const dirs = readdirSync(treeDir).filter((e) => e.startsWith('obj-')).map((e) => path.join(treeDir, e))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const d of dirs.slice(OBJ_DIRS_PER_TREE)) if (d !== keep) rmSync(d, { recursive: true, force: true });
}
