// Bisect end to end on the real test tree (scripts/test-tree.sh): the user's
// `git bisect run kgate bisect-step`, and `kgate bisect` driving git in a
// scratch repository. Between base and unrelated-3 the first bad commit for
// the ioctl-open family is revert-regular; git tests broken-build first, which
// must be skipped (125), not called bad.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { assertSaid, kgateBin, tempDir } from './helpers.js';
import { interruptKgate, testTree, treeSkip, treeState } from './tree-helpers.js';
import { qemuPids } from './procs.js';

const skip = treeSkip;
let tree = '';
const rev = (ref: string) => execaSync('git', ['-C', tree, 'rev-parse', ref]).stdout;
before(async () => { if (!skip) tree = await testTree(); });

test('git bisect run kgate bisect-step: finds revert-regular, skips broken-build, writes nothing in the tree', { skip, timeout: 30 * 60_000 }, async () => {
  const wt = join(tempDir('kgate-bisect-wt-'), 'linux');
  await execa('git', ['-C', tree, 'worktree', 'add', '--quiet', '--detach', wt, 'unrelated-3']);
  try {
    await execa('git', ['-C', wt, 'bisect', 'start', 'unrelated-3', 'base']);
    const r = await execa('git', ['-C', wt, 'bisect', 'run', 'node', kgateBin, 'bisect-step', '--family', 'ioctl-open', '--results', tempDir('kgate-bs-')],
      { reject: false, env: { CI: '1' }, cwd: wt });
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${rev('revert-regular')} is the first bad commit`));
    const log = (await execa('git', ['-C', wt, 'bisect', 'log'])).stdout;
    assert.match(log, new RegExp(`^git bisect skip ${rev('broken-build')}`, 'm'), `broken-build skipped:\n${log}`);
    assert.doesNotMatch(log, new RegExp(`^git bisect bad ${rev('broken-build')}`, 'm'));
    assert.match(r.stderr, /^kgate bisect-step: [0-9a-f]{12} skip: cannot test this commit: build of .* failed: fs\/fuse\/inode\.c:\d+/m);
    assert.equal((await execa('git', ['-C', wt, 'status', '--porcelain', '--ignored'])).stdout, '', 'kgate wrote nothing into the tree');
    // git bisect run exports GIT_DIR here (a linked worktree): had kgate's own git commands followed it,
    // its checkouts would show in this worktree's reflog as moves from a commit to itself.
    const reflog = (await execa('git', ['-C', wt, 'reflog', '--format=%gs'])).stdout.split('\n');
    assert.deepEqual(reflog.filter((l) => /^checkout: moving from (\S+) to \1$/.test(l)), [], 'no checkout of kgate\'s in the user\'s worktree');
    assert.ok(reflog.filter((l) => /^checkout: moving from/.test(l)).length >= 3, 'git bisect\'s own checkouts are there');
  } finally {
    await execa('git', ['-C', wt, 'bisect', 'reset', '--quiet'], { reject: false });
    await execa('git', ['-C', tree, 'worktree', 'remove', '--force', wt], { reject: false });
    await execa('git', ['-C', tree, 'worktree', 'prune'], { reject: false });
  }
});

test('kgate bisect: the same commit, the cases with their errnos at good and bad, broken-build skipped; the tree untouched', { skip, timeout: 30 * 60_000 }, async () => {
  const state = treeState(tree);
  const results = tempDir('kgate-bisect-');
  const r = await execa('node', [kgateBin, 'bisect', '--tree', tree, '--good', 'base', '--bad', 'unrelated-3', '--family', 'ioctl-open', '--results', results,
    '--reporter', 'A Developer <dev@example.org>'], { reject: false, env: { CI: '1' } });
  assert.equal(r.exitCode, 0, r.stderr);
  const dir = r.stdout.match(/^results: (.*)$/m)![1];
  const report = JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8'));
  assert.equal(report.outcome, 'found');
  assert.equal(report.firstBad.commit, rev('revert-regular'));
  assert.deepEqual(report.firstBad.files, ['fs/fuse/passthrough.c']);
  assert.ok(report.skipped.some((s: { commit: string }) => s.commit === rev('broken-build')), 'broken-build is listed as skipped');
  const dirCase = report.changed.find((c: { id: string }) => c.id === 'U03.dir');
  assert.ok(dirCase, 'U03.dir changed between good and bad');
  assert.equal(dirCase.before.observed, 'EISDIR');
  assert.notEqual(dirCase.after.observed, 'EISDIR');
  const text = readFileSync(join(dir, 'bisect.txt'), 'utf8');
  assert.match(text, /U03\.dir/);
  assert.match(text, new RegExp(rev('revert-regular').slice(0, 12)));
  // The culprit's checks: reverted on bad, the changed cases pass again; culprit and parent run again, bad and good.
  assert.deepEqual({ revert: report.checks?.revert, verify: report.checks?.verify, verified: report.checks?.verified }, { revert: 'PASS', verify: 'PASS', verified: true }, JSON.stringify(report.checks));
  const revertStep = report.steps.find((st: { role: string }) => st.role === 'revert');
  assert.ok(revertStep && revertStep.verdict === 'good', 'the revert on bad ran and was good');
  assert.equal(report.steps.filter((st: { role: string }) => st.role === 'verify').length, 2, 'culprit and parent once more');
  assert.match(text, /^Checks: revert: PASS, verify: PASS$/m);
  const culprit = rev('revert-regular').slice(0, 12);
  assert.match(text, new RegExp(`^Fixes: ${culprit} \\("fuse: passthrough: accept any backing file type again"\\)$`, 'm'));
  assert.match(text, new RegExp(`^#regzbot introduced: ${culprit}$`, 'm'));
  assert.match(text, /^Reported-by: A Developer <dev@example\.org>$/m);
  assert.match(text, /^Still fails at unrelated-3 \([0-9a-f]{12}\)/m);
  // 72 columns, but for the trailers (one line each, as tools read them) and a word too long to break (a path).
  for (const l of text.split('\n')) assert.ok(l.length <= 72 || /^(Fixes: |#regzbot )/.test(l) || !l.trim().includes(' '), `bisect.txt under 72 columns: ${l}`);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by a bisect');
});

test('kgate bisect whose good is bad: exit 2, says which; the tree untouched', { skip, timeout: 20 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await execa('node', [kgateBin, 'bisect', '--tree', tree, '--good', 'revert-regular', '--bad', 'unrelated-3', '--case', 'U03.dir', '--results', tempDir('kgate-bisect-')], { reject: false, env: { CI: '1' } });
  assert.equal(r.exitCode, 2, r.stderr);
  assertSaid(r.stderr, /.*--good revert-regular \([0-9a-f]{12}\) is not good: .*U03\.dir/);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by a failed bisect');
});

test('kgate bisect interrupted (Ctrl-C): exit 130, no guest left, the tree untouched', { skip, timeout: 20 * 60_000 }, async () => {
  const state = treeState(tree);
  const qemuBefore = qemuPids();
  const r = await interruptKgate(['bisect', '--tree', tree, '--good', 'base', '--bad', 'unrelated-3', '--case', 'U03.dir', '--results', tempDir('kgate-bisect-')], /target start/, 'the bisect reaching a guest');
  assert.equal(r.exitCode, 130, r.stderr);
  await new Promise((res) => setTimeout(res, 500));
  assert.deepEqual([...qemuPids()].filter((p) => !qemuBefore.has(p)), [], 'no guest left');
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by an interrupted bisect');
});

// The test tree's regular-comment branch (scripts/test-tree.sh) puts a comment where revert-regular removed the
// regular-only check: git bisect still names revert-regular, but its revert does not apply on bad, so the culprit
// cannot be confirmed. kgate says so and does not give Fixes:, and the exit status says it.
test('kgate bisect whose culprit cannot be reverted on bad: unverified in bisect.txt and bisect.json, exit 1, regzbot given the range', { skip, timeout: 40 * 60_000 }, async () => {
  const state = treeState(tree);
  const results = tempDir('kgate-bisect-unverified-');
  const r = await execa('node', [kgateBin, 'bisect', '--tree', tree, '--good', 'fix-build', '--bad', 'regular-comment', '--case', 'U03.dir', '--results', results],
    { reject: false, env: { CI: '1' } });
  assert.equal(r.exitCode, 1, r.stderr);
  const dir = r.stdout.match(/^results: (.*)$/m)![1];
  const report = JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8'));
  const culprit = rev('revert-regular');
  assert.equal(report.outcome, 'found');
  assert.equal(report.firstBad.commit, culprit);
  assert.equal(report.checks.verified, false);
  assert.equal(report.checks.revert, 'unverified', JSON.stringify(report.checks));
  assert.equal(report.checks.verify, 'PASS', 'culprit and parent ran bad and good again');
  assert.equal(report.steps.filter((st: { role: string }) => st.role === 'revert').length, 0, 'no revert built: it did not apply');
  const text = readFileSync(join(dir, 'bisect.txt'), 'utf8');
  assert.match(text, /^kgate bisect: first bad commit \(UNVERIFIED\)$/m);
  assert.match(text, /^Checks: revert: unverified, verify: PASS$/m);
  assert.match(text, new RegExp(`^  unverified: revert: the revert of ${culprit.slice(0, 12)} does not apply on bad`, 'm'));
  assert.doesNotMatch(text, /^Fixes: /m, 'no Fixes: for a culprit the checks did not confirm');
  assert.match(text, new RegExp(`^#regzbot introduced: ${rev('fix-build').slice(0, 12)}\\.\\.${rev('regular-comment').slice(0, 12)}$`, 'm'));
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by a bisect');
});
