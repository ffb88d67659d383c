// The source of a tree build: which commit (and which uncommitted changes) of
// the user's tree, read without writing to it, and kgate's own checkout of
// it in the cache.
//
// The checkout is a repository of kgate's own that borrows the user's objects
// through objects/info/alternates, not a `git worktree add`: a linked worktree
// is registered in the user's repository (`git worktree list` shows it, and a
// killed kgate leaves it there for `git worktree prune`), which is exactly
// what a user's tree must never see. It is kept per tree, so the next commit
// checks out only the files that differ and the build stays incremental.
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, lstatSync, openSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { KgateError } from '../../model.js';
import { mkdirp } from '../../util/fs.js';
import { assertGitTree, borrowObjects, commitOf, git, gitCommonDir, gitFreeEnv } from '../../util/git.js';

/** Never take the user's index lock or refresh its stat data: reading must not write. */
const READ_ONLY = { GIT_OPTIONAL_LOCKS: '0' };

export interface TreeSource {
  /** The tree as the user named it, resolved to its top directory. */
  tree: string;
  /** The user's git common directory (shared by all their worktrees). */
  commonDir: string;
  commit: string;
  /** Its tree object: what the build depends on. */
  sourceTree: string;
  /** The `@REF` as given, when there was one. */
  ref?: string;
  /** Uncommitted changes of the work tree (no @REF only), as a diff and untracked files. */
  dirty?: { hash: string; diff: Buffer; untracked: string[] };
  /** Upstream version of the commit's top Makefile, e.g. "6.12.118". */
  kernelVersion: string;
  describe: string;
  /** Seconds since the epoch of the commit: the build timestamp, so a rebuild is byte-for-byte the same. */
  commitTime: number;
}

/** Resolve tree:PATH[@REF] in the user's tree (or `objectsFrom`, a gate's scratch repository), reading only. */
export async function resolveTreeSource(treePath: string, ref: string | undefined, objectsFrom?: string, signal?: AbortSignal): Promise<TreeSource> {
  const abs = path.resolve(treePath);
  if (!existsSync(abs)) throw new KgateError('user', `tree:${treePath}: ${abs} does not exist`);
  await assertGitTree(abs);
  const ro = { env: READ_ONLY, signal };
  const commonDir = await gitCommonDir(abs, ro);
  const top = (await git(abs, ['rev-parse', '--show-toplevel'], { ...ro, allowFail: true })).stdout.trim() || abs;
  const lookup = (where: string, name: string) => commitOf(where, name, ro);
  let commit: string | undefined;
  if (ref !== undefined) {
    commit = (objectsFrom && await lookup(objectsFrom, ref)) || await lookup(abs, ref);
    if (!commit) throw new KgateError('user', `tree:${treePath}@${ref}: '${ref}' is not a commit of ${top}`);
  } else {
    commit = await lookup(abs, 'HEAD');
    if (!commit) throw new KgateError('user', `tree:${treePath}: the tree has no commit yet (HEAD is unborn); commit something or name one with @REF`);
  }
  const where = objectsFrom && await lookup(objectsFrom, commit) ? objectsFrom : abs;
  const makefile = await git(where, ['show', `${commit}:Makefile`], { ...ro, allowFail: true });
  const kernelVersion = makefileVersion(makefile.stdout);
  if (!kernelVersion) throw new KgateError('user', `tree:${treePath}${ref ? `@${ref}` : ''}: ${commit.slice(0, 12)} is not a kernel tree (its top Makefile has no VERSION/PATCHLEVEL)`);
  const describe = (await git(where, ['describe', '--tags', '--always', '--abbrev=12', commit], { ...ro, allowFail: true })).stdout.trim() || commit.slice(0, 12);
  const commitTime = Number((await git(where, ['show', '-s', '--format=%ct', commit], ro)).stdout.trim()) || 0;
  const sourceTree = (await git(where, ['rev-parse', `${commit}^{tree}`], ro)).stdout.trim();
  const out: TreeSource = { tree: top, commonDir, commit, sourceTree, kernelVersion, describe, commitTime };
  if (ref !== undefined) out.ref = ref;
  else {
    const dirty = await workTreeChanges(top, signal);
    if (dirty) out.dirty = dirty;
  }
  return out;
}

/** VERSION.PATCHLEVEL.SUBLEVEL of a kernel's top Makefile, or undefined. */
export function makefileVersion(text: string): string | undefined {
  const v = (k: string) => text.match(new RegExp(`^${k}\\s*=\\s*(\\d+)\\s*$`, 'm'))?.[1];
  const [a, b, c] = [v('VERSION'), v('PATCHLEVEL'), v('SUBLEVEL')];
  return a && b ? `${a}.${b}.${c ?? '0'}` : undefined;
}

/** The work tree's changes against HEAD (tracked diff plus untracked, not ignored, files), or undefined when clean. */
async function workTreeChanges(top: string, signal?: AbortSignal): Promise<TreeSource['dirty']> {
  const diff = await execa('git', ['-C', top, 'diff', 'HEAD', '--binary', '--no-color', '--no-ext-diff'], { env: gitFreeEnv(READ_ONLY), extendEnv: false, encoding: 'buffer', stripFinalNewline: false, stdin: 'ignore', cancelSignal: signal, reject: false, maxBuffer: 1024 ** 3 });
  if (diff.exitCode !== 0) throw new KgateError('infra', `git diff HEAD in ${top} failed: ${String(diff.stderr).trim().split('\n').at(-1)}`);
  const untracked = (await git(top, ['ls-files', '-z', '--others', '--exclude-standard'], { env: READ_ONLY, signal })).stdout.split('\0').filter(Boolean).sort();
  const patch = Buffer.from(diff.stdout as Uint8Array);
  if (patch.length === 0 && untracked.length === 0) return undefined;
  const h = createHash('sha256').update(patch);
  for (const f of untracked) {
    const p = path.join(top, f);
    const st = lstatSync(p);
    h.update(`\0${f}\0${st.mode}\0`);
    h.update(st.isSymbolicLink() ? readlinkSync(p) : st.isFile() ? readFileSync(p) : '');
  }
  return { hash: h.digest('hex'), diff: patch, untracked };
}

/** kgate's directory for one user tree in the cache: one per git common dir, so all the user's worktrees share it. */
export function treeCacheDir(treesRoot: string, src: TreeSource): string {
  const id = createHash('sha256').update(realpathSync(src.commonDir)).digest('hex').slice(0, 12);
  return path.join(treesRoot, `${path.basename(src.tree).replace(/[^\w.-]/g, '_')}-${id}`);
}

/**
 * Check the source out in `dir` (kgate's checkout): the commit, then the
 * work tree's changes on top. Only files that differ from the last checkout
 * are written, so make rebuilds only what they touch.
 */
export async function checkOut(dir: string, src: TreeSource, objectsFrom: string | undefined, signal?: AbortSignal): Promise<void> {
  if (!existsSync(path.join(dir, '.git'))) {
    mkdirp(dir);
    await git(dir, ['init', '--quiet'], { signal });
    await git(dir, ['config', 'gc.auto', '0'], { signal });
  }
  // A checkout killed by Ctrl-C leaves its lock; this kgate holds the tree lock, so it is stale.
  rmSync(path.join(dir, '.git', 'index.lock'), { force: true });
  // Rewritten each time: the objects of the tree, and of a gate's repository when it made the commit.
  borrowObjects(dir, objectsFrom ? [await gitCommonDir(objectsFrom, { signal }), src.commonDir] : [src.commonDir]);
  await git(dir, ['checkout', '--quiet', '--force', '--detach', src.commit], { signal });
  // -x too: nothing of a previous dirty build may stay behind (make's output is never here: O=).
  await git(dir, ['clean', '-ffdxq'], { signal });
  if (!src.dirty) return;
  if (src.dirty.diff.length > 0) {
    const r = await execa('git', ['-C', dir, 'apply', '--binary', '--whitespace=nowarn', '-'], { input: src.dirty.diff, reject: false, cancelSignal: signal, env: gitFreeEnv(), extendEnv: false });
    if (r.exitCode !== 0) throw new KgateError('infra', `could not reproduce the uncommitted changes of ${src.tree} in kgate's checkout: ${String(r.stderr).trim().split('\n').at(-1)}`);
  }
  for (const f of src.dirty.untracked) {
    const from = path.join(src.tree, f);
    const to = path.join(dir, f);
    mkdirp(path.dirname(to));
    rmSync(to, { force: true });
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else copyFileSync(from, to);
  }
}

/**
 * One kgate at a time builds in a tree's checkout. The lock file holds the
 * owner's pid; a lock whose owner is dead (a killed kgate) is taken over.
 */
/**
 * The trees this process holds or waits for: the lock file names a pid, which
 * two builds of one kgate share (a bisect builds bad's kernel ahead while
 * good's builds), so they take turns here first.
 */
const heldHere = new Map<string, Promise<void>>();

export async function lockTree(dir: string, log: (l: string) => void, signal?: AbortSignal): Promise<() => void> {
  mkdirp(dir);
  let saidHere = false;
  for (let held = heldHere.get(dir); held; held = heldHere.get(dir)) {
    if (!saidHere) { log(`waiting for this kgate's other build in ${dir}`); saidHere = true; }
    if (signal?.aborted) throw new KgateError('interrupt', 'interrupted while waiting for the tree lock');
    await Promise.race([held, new Promise((r) => setTimeout(r, 500))]);
  }
  let done!: () => void;
  heldHere.set(dir, new Promise<void>((r) => { done = r; }));
  const leave = () => { heldHere.delete(dir); done(); };
  try {
    const unlock = await lockFile(dir, log, signal);
    return () => { unlock(); leave(); };
  } catch (e) {
    leave();
    throw e;
  }
}

async function lockFile(dir: string, log: (l: string) => void, signal?: AbortSignal): Promise<() => void> {
  const lock = path.join(dir, 'lock');
  let said = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => { try { if (readFileSync(lock, 'utf8').trim() === String(process.pid)) rmSync(lock); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(readFileSync(lock, 'utf8').trim());
    if (!alive(owner) || owner === process.pid) { rmSync(lock, { force: true }); continue; }
    if (!said) { log(`waiting for kgate pid ${owner}, which is building in ${dir}`); said = true; }
    if (signal?.aborted) throw new KgateError('interrupt', 'interrupted while waiting for the tree lock');
    await new Promise((r) => setTimeout(r, 500));
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}
