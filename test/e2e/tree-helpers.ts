// The test tree (scripts/test-tree.sh) and what "untouched" means for a user's tree.
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { hasQemu, root } from './helpers.js';

export const treeSkip = !hasQemu() ? 'qemu-system-x86_64 is not installed'
  : !existsSync('/usr/src/linux-source-6.12.tar.xz') ? 'linux-source-6.12 is not installed (scripts/setup.sh)' : false;

/** The test tree's path, made in the cache the first time (about 40 s), reused after. */
export async function testTree(): Promise<string> {
  return (await execa('bash', [join(root, 'scripts', 'test-tree.sh')], { stderr: 'inherit' })).stdout.trim();
}

/** Everything of a user's tree that kgate could have changed, read without refreshing the index. */
/**
 * The worktree list, less the worktrees other tests and benches add to the
 * shared test tree for themselves (in the temp dir, named kgate-*): a test
 * running beside another one (another clone's, a bench) must not see that
 * one's bisect move as a change to its tree. kgate itself never makes a
 * worktree (its checkouts borrow objects), and none in the temp dir.
 */
function ownWorktrees(porcelain: string, dir: string): string {
  const others = new RegExp(`^worktree ${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/kgate-`);
  return porcelain.split(/\n\n+/).map((w) => w.trim()).filter((w) => w && (!others.test(w) || w.startsWith(`worktree ${dir}\n`))).join('\n\n');
}

export function treeState(dir: string): Record<string, string> {
  const g = (...args: string[]) => execaSync('git', ['-C', dir, ...args], { env: { GIT_OPTIONAL_LOCKS: '0' }, reject: false }).stdout;
  const gitDir = g('rev-parse', '--absolute-git-dir');
  return {
    status: g('status', '--porcelain', '--ignored'),
    head: g('rev-parse', 'HEAD') + ' ' + g('symbolic-ref', '-q', 'HEAD'),
    refs: g('for-each-ref', '--format=%(refname) %(objectname)'),
    bisect: g('for-each-ref', 'refs/bisect') + (existsSync(join(gitDir, 'BISECT_LOG')) ? ' BISECT_LOG' : ''),
    stash: g('stash', 'list'),
    worktrees: ownWorktrees(g('worktree', 'list', '--porcelain'), dir),
    index: createHash('sha256').update(readFileSync(join(gitDir, 'index'))).digest('hex'),
    config: readFileSync(join(g('rev-parse', '--path-format=absolute', '--git-common-dir'), 'config'), 'utf8'),
  };
}

/** Runs `kgate ARGS`, presses Ctrl-C (SIGINT) once its stderr matches `when`, and returns how it ended. */
export async function interruptKgate(args: string[], when: RegExp, what: string): Promise<{ exitCode?: number; stderr: string }> {
  const child = execa('node', [join(root, 'bin', 'kgate.js'), ...args], { reject: false, env: { CI: '1' } });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} never happened: ${err}`)), 10 * 60_000);
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (when.test(err)) { clearTimeout(t); resolve(); } });
  });
  child.kill('SIGINT');
  const r = await child;
  return { exitCode: r.exitCode, stderr: String(r.stderr) };
}
