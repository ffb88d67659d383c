// git, read-only or in a scratch repository of kgate's own: one helper, so
// every failure is one line naming the command and git's own words.
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { KgateError, type FailureFamily } from '../model.js';
import { scratchDir } from './scratch.js';

/**
 * The environment for git and for anything that runs git (make's
 * setlocalversion): the caller's, without the variables that point git at a
 * repository. `git bisect run` in a linked worktree exports GIT_DIR, and with
 * it `git -C <kgate's checkout> ...` would act on the user's repository.
 * Every call names its repository with -C instead.
 */
export function gitFreeEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || REPO_VARS.has(k)) continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out;
}
const REPO_VARS = new Set(['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_PREFIX', 'GIT_CEILING_DIRECTORIES', 'GIT_DISCOVERY_ACROSS_FILESYSTEM', 'GIT_QUARANTINE_PATH']);

export interface GitOptions { signal?: AbortSignal; env?: Record<string, string>; family?: FailureFamily; allowFail?: boolean }

export async function git(cwd: string, args: string[], o: GitOptions = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  const r = await execa('git', ['-C', cwd, ...args], {
    reject: false, cancelSignal: o.signal, stdin: 'ignore', stripFinalNewline: true,
    env: gitFreeEnv({ GIT_TERMINAL_PROMPT: '0', GIT_EDITOR: 'true', ...o.env }), extendEnv: false,
  });
  if (o.signal?.aborted) throw new KgateError('interrupt', `git ${args[0]} interrupted`);
  const out = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), code: r.exitCode ?? -1 };
  if (out.code !== 0 && !o.allowFail) {
    const why = out.stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit ${out.code}`;
    throw new KgateError(o.family ?? 'infra', `git ${args.join(' ')} in ${cwd} failed: ${why}`, out.stderr);
  }
  return out;
}

/** The full hash of the commit REF names in the repository at `cwd`, or undefined. */
export async function commitOf(cwd: string, ref: string, o: GitOptions = {}): Promise<string | undefined> {
  const r = await git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { ...o, allowFail: true });
  return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** The full hash REF names in the repository at `cwd`, or a user error naming it. */
export async function resolveRef(cwd: string, ref: string, what = ref): Promise<string> {
  const commit = await commitOf(cwd, ref);
  if (!commit) throw new KgateError('user', `${what}: '${ref}' is not a commit of ${cwd}`);
  return commit;
}

/** The repository's common git directory (shared by all its worktrees), absolute. */
export async function gitCommonDir(cwd: string, o: GitOptions = {}): Promise<string> {
  return (await git(cwd, ['rev-parse', '--path-format=absolute', '--git-common-dir'], o)).stdout.trim();
}

/** Let the repository at `dir` read the objects of the repositories whose common git dirs are given (objects/info/alternates, rewritten whole), never write to theirs. */
export function borrowObjects(dir: string, commonDirs: string[]): void {
  writeFileSync(path.join(dir, '.git', 'objects', 'info', 'alternates'), commonDirs.map((c) => path.join(c, 'objects')).join('\n') + '\n');
}

/** A user error unless `dir` is the top of a git work tree (or a bare repository). */
export async function assertGitTree(dir: string): Promise<void> {
  const r = await execa('git', ['-C', dir, 'rev-parse', '--git-dir'], { reject: false, stdin: 'ignore', env: gitFreeEnv(), extendEnv: false });
  if (r.exitCode !== 0) throw new KgateError('user', `${dir} is not a git tree${/cannot change to|No such file/.test(String(r.stderr)) ? ' (it does not exist)' : ''}`);
}

/**
 * A scratch repository of kgate's own that borrows the objects of `tree`
 * through objects/info/alternates: it can name, check out and make commits
 * on top of the user's history while never writing to their repository.
 */
export async function borrowingRepo(tree: string, prefix: string): Promise<string> {
  const dir = await scratchDir(prefix);
  try {
    await git(dir, ['init', '--quiet']);
    borrowObjects(dir, [await gitCommonDir(tree)]);
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The paths that differ between two trees (or commits) a repository has; undefined when it lacks one of them. */
export async function changedFiles(cwd: string, from: string, to: string, o: GitOptions = {}): Promise<string[] | undefined> {
  const d = await git(cwd, ['diff', '--name-only', '--no-renames', from, to], { ...o, allowFail: true, env: { GIT_OPTIONAL_LOCKS: '0', ...o.env } });
  return d.code === 0 ? d.stdout.split('\n').filter(Boolean) : undefined;
}
