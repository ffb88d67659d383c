// A culprit is only as good as its checks (KernelCI's bisections say
// "Checks: revert: PASS, verify: PASS"): git bisect names the first commit
// whose step was bad, which a flaky case or a commit that changed nothing can
// make wrong. Two checks, each a real build and run:
//   revert: the culprit reverted on the bad commit (a commit made in kgate's
//           scratch repository, never the user's tree) runs the cases that
//           changed, and they must pass again;
//   verify: the culprit and its parent run once more: bad and good again.
// A culprit whose kernel is byte for byte its parent's is flagged: it cannot
// have changed the behaviour, so the step that blamed it was flaky.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git } from '../util/git.js';

/** What the report says of the culprit's checks. */
export interface CulpritChecks {
  revert: 'PASS' | 'FAIL' | 'unverified';
  verify: 'PASS' | 'FAIL' | 'unverified';
  /** Both checks passed and the kernels differ. */
  verified: boolean;
  /** Why not, in one line each, for the report. */
  why: string[];
  /** The revert commit kgate made on bad (in its scratch repository). */
  revertCommit?: string;
  /** The culprit's bzImage is identical to its parent's. */
  identicalKernel?: boolean;
}

/** What the checks observed; decided by checksOf, which is pure. */
export interface CheckRuns {
  revert: { applied: false; why: string } | { applied: true; commit: string; verdict: string; why: string };
  culprit: { verdict: string; why: string };
  parent: { verdict: string; why: string };
  identicalKernel: boolean;
}

export function checksOf(o: CheckRuns): CulpritChecks {
  const why: string[] = [];
  let revert: CulpritChecks['revert'];
  if (!o.revert.applied) { revert = 'unverified'; why.push(`revert: ${o.revert.why}`); }
  else if (o.revert.verdict === 'good') revert = 'PASS';
  else if (o.revert.verdict === 'bad') { revert = 'FAIL'; why.push(`revert: the changed cases still fail with the culprit reverted on bad (${o.revert.why})`); }
  else { revert = 'unverified'; why.push(`revert: ${o.revert.verdict}: ${o.revert.why}`); }
  let verify: CulpritChecks['verify'];
  if (o.culprit.verdict === 'bad' && o.parent.verdict === 'good') verify = 'PASS';
  else if ((o.culprit.verdict === 'good' || o.culprit.verdict === 'bad') && (o.parent.verdict === 'good' || o.parent.verdict === 'bad')) {
    verify = 'FAIL';
    why.push(`verify: the culprit was ${o.culprit.verdict} and its parent ${o.parent.verdict} on the second run, not bad and good`);
  } else {
    verify = 'unverified';
    why.push(`verify: culprit ${o.culprit.verdict} (${o.culprit.why}), parent ${o.parent.verdict} (${o.parent.why})`);
  }
  if (o.identicalKernel) why.push('the culprit\'s kernel is identical to its parent\'s: it cannot have changed the behaviour');
  return {
    revert, verify, verified: revert === 'PASS' && verify === 'PASS' && !o.identicalKernel, why,
    ...(o.revert.applied ? { revertCommit: o.revert.commit } : {}), ...(o.identicalKernel ? { identicalKernel: true } : {}),
  };
}

// Fixed identities and dates: the same revert on the same bad commit is the same commit, which the build cache knows.
const REVERTER = {
  GIT_AUTHOR_NAME: 'kgate bisect', GIT_AUTHOR_EMAIL: 'kgate@localhost', GIT_AUTHOR_DATE: '@0 +0000',
  GIT_COMMITTER_NAME: 'kgate bisect', GIT_COMMITTER_EMAIL: 'kgate@localhost', GIT_COMMITTER_DATE: '@0 +0000',
};

/**
 * `culprit` reverted on `bad`, as a commit of the scratch repository (which
 * borrows the user's objects), made in an index of its own with no work tree:
 * the culprit's diff applied in reverse (three-way) to bad's tree (git revert would need a
 * work tree; git merge-tree --merge-base needs git 2.40, Debian 12 has 2.39).
 * A revert that does not apply is said.
 */
export async function revertOn(scratch: string, bad: string, culprit: string, subject: string, signal?: AbortSignal): Promise<{ ok: true; commit: string } | { ok: false; why: string }> {
  const parent = (await git(scratch, ['rev-parse', '--verify', '--quiet', `${culprit}^`], { allowFail: true, signal })).stdout.trim();
  if (!parent) return { ok: false, why: `${culprit.slice(0, 12)} has no parent to revert to` };
  const work = await mkdtemp(path.join(os.tmpdir(), `kgate-revert-${process.pid}-`));
  try {
    const env = { GIT_INDEX_FILE: path.join(work, 'index') };
    const patch = path.join(work, 'culprit.diff');
    writeFileSync(patch, (await git(scratch, ['diff', '--binary', '--full-index', parent, culprit], { signal })).stdout + '\n');
    await git(scratch, ['read-tree', bad], { env, signal });
    // -3: a three-way merge from the blobs the diff names, as git revert does, when later commits moved the context.
    const a = await git(scratch, ['apply', '--cached', '-3', '-R', patch], { env, signal, allowFail: true });
    if (a.code !== 0) {
      const why = a.stderr.split('\n').find((l) => /^(error:|U )/.test(l))?.replace(/^error:\s*/, '') ?? `git apply exited ${a.code}`;
      return { ok: false, why: `the revert of ${culprit.slice(0, 12)} does not apply on bad: ${why}` };
    }
    const tree = (await git(scratch, ['write-tree'], { env, signal })).stdout.trim();
    const msg = `Revert "${subject}"\n\nThis reverts commit ${culprit}.\n(made by kgate bisect to check the culprit)\n`;
    const commit = (await git(scratch, ['commit-tree', tree, '-p', bad, '-m', msg], { env: REVERTER, signal })).stdout.trim();
    return { ok: true, commit };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export function sameFile(a: string, b: string): boolean {
  const h = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  try { return h(a) === h(b); } catch { return false; }
}
