// The culprit's checks: the decision over what the re-runs gave, and the revert made without a work tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksOf, revertOn } from '../../../src/bisect/verify.js';

const good = { verdict: 'good', why: 'as expected' };
const bad = { verdict: 'bad', why: 'U03.dir FAIL' };
const reverted = (verdict: string) => ({ applied: true as const, commit: 'c0ffee', verdict, why: verdict === 'good' ? 'as expected' : 'U03.dir FAIL' });

test('verified: the revert passes, culprit bad and parent good again, kernels differ', () => {
  const c = checksOf({ revert: reverted('good'), culprit: bad, parent: good, identicalKernel: false });
  assert.deepEqual(c, { revert: 'PASS', verify: 'PASS', verified: true, why: [], revertCommit: 'c0ffee' });
});

test('unverified, each for its reason', () => {
  const failRevert = checksOf({ revert: reverted('bad'), culprit: bad, parent: good, identicalKernel: false });
  assert.equal(failRevert.revert, 'FAIL');
  assert.equal(failRevert.verified, false);
  const noRevert = checksOf({ revert: { applied: false, why: 'the revert does not apply on bad' }, culprit: bad, parent: good, identicalKernel: false });
  assert.equal(noRevert.revert, 'unverified');
  assert.match(noRevert.why[0], /does not apply/);
  const flaky = checksOf({ revert: reverted('good'), culprit: good, parent: good, identicalKernel: false });
  assert.equal(flaky.verify, 'FAIL');
  assert.match(flaky.why[0], /culprit was good and its parent good/);
  const untestable = checksOf({ revert: reverted('good'), culprit: { verdict: 'skip', why: 'did not boot' }, parent: good, identicalKernel: false });
  assert.equal(untestable.verify, 'unverified');
  const same = checksOf({ revert: reverted('good'), culprit: bad, parent: good, identicalKernel: true });
  assert.equal(same.verified, false, 'an identical kernel cannot have changed the behaviour');
  assert.match(same.why.at(-1)!, /identical to its parent/);
});

test('revertOn: the culprit reverted on bad as a commit of the repository, the same commit twice; a conflicting revert is said', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-revert-'));
  const git = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@x' } }).trim();
  try {
    git('init', '-q');
    writeFileSync(join(dir, 'a.c'), 'one\n1\n2\n3\nk\n');
    writeFileSync(join(dir, 'b.c'), 'x\n');
    git('add', '.'); git('commit', '-qm', 'base');
    writeFileSync(join(dir, 'a.c'), 'two\n1\n2\n3\nk\n'); git('commit', '-qam', 'culprit');
    const culprit = git('rev-parse', 'HEAD');
    // A later commit moves the culprit's context (not its lines): a plain reverse patch fails, the three-way revert does not.
    writeFileSync(join(dir, 'a.c'), 'two\n1\n2\n3!\nk\n'); writeFileSync(join(dir, 'b.c'), 'y\n'); git('commit', '-qam', 'unrelated');
    const badCommit = git('rev-parse', 'HEAD');
    const r = await revertOn(dir, badCommit, culprit, 'culprit');
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(git('show', `${r.commit}:a.c`), 'one\n1\n2\n3!\nk', 'the culprit\'s change undone, the later one kept');
    assert.equal(git('show', `${r.commit}:b.c`), 'y', 'what came after it kept');
    assert.equal(git('rev-parse', `${r.commit}^`), badCommit);
    assert.equal((await revertOn(dir, badCommit, culprit, 'culprit')).ok && r.commit, r.commit, 'deterministic: the build cache knows it again');
    writeFileSync(join(dir, 'a.c'), 'three\n1\n2\n3!\nk\n'); git('commit', '-qam', 'touches the same line');
    const c = await revertOn(dir, git('rev-parse', 'HEAD'), culprit, 'culprit');
    assert.equal(c.ok, false);
    if (!c.ok) assert.match(c.why, /does not apply on bad/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
