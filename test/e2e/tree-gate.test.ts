// Gate end to end on the real test tree (scripts/test-tree.sh). Base is
// fix-build (the base source again); the series, written for this test:
//   V1 (a range of the tree): revert the regular-file-only check, so a
//      directory or a pipe is accepted as backing file again;
//   V2 (an mbox, as git format-patch --stdout writes): keep the check but
//      allow one more stacking level in BACKING_OPEN (the review of V8 of the
//      passthrough series discussed the stack-depth rule).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertSaid, kgateBin, tempDir } from './helpers.js';
import { interruptKgate, testTree, treeSkip, treeState } from './tree-helpers.js';
import { qemuPids } from './procs.js';

const skip = treeSkip;
let tree = '';
let v2 = '';
before(async () => {
  if (skip) return;
  tree = await testTree();
  v2 = join(tempDir('kgate-gate-series-'), 'v2.mbox');
  writeFileSync(v2, (await execa('git', ['-C', tree, 'format-patch', '--stdout', 'revert-regular..stack-depth'])).stdout + '\n');
});

const CASES = 'U03,U05,U07,U16,U18,U19,H1.read';
interface Change { id: string; kind: string; before?: { status: string; observed?: string }; after?: { status: string; observed?: string } }

test('gate V1, V2 on base: the backing-file cases V1 changed, the ones V2 moved back and the stacking cases it changed; exit 1', { skip, timeout: 30 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await execa('node', [kgateBin, 'gate', '--tree', tree, '--base', 'fix-build', '--series', 'V1=fix-build..revert-regular', '--series', `V2=${v2}`,
    '--case', CASES, '--results', tempDir('kgate-gate-')], { reject: false, env: { CI: '1' } });
  assert.equal(r.exitCode, 1, r.stderr);
  const dir = r.stdout.match(/^results: (.*)$/m)![1];
  const report = JSON.parse(readFileSync(join(dir, 'gate.json'), 'utf8'));
  const [V1, V2] = report.revisions;
  const ids = (cs: Change[]) => cs.map((c) => c.id).sort();
  const v1 = V1.vsBase.changes as Change[];
  for (const id of ['U03.dir', 'U05.opath_dir', 'U07.pipe']) {
    const c = v1.find((x) => x.id === id);
    assert.ok(c, `${id} changed at V1 against base: ${ids(v1)}`);
    assert.equal(c!.before?.status, 'PASS');
    assert.match(c!.before?.observed ?? '', /^(EISDIR|EINVAL)$/, id);
    assert.notEqual(c!.after?.observed, c!.before?.observed, id);
  }
  assert.ok(!v1.some((c) => /^U1[689]/.test(c.id)), `no stacking case changed at V1: ${ids(v1)}`);
  const v2vs1 = V2.vsPrevious.changes as Change[];
  for (const id of ['U03.dir', 'U05.opath_dir', 'U07.pipe']) assert.ok(v2vs1.some((c) => c.id === id), `${id} moved back at V2: ${ids(v2vs1)}`);
  const stacking = (V2.vsBase.changes as Change[]).filter((c) => /^U1[689]/.test(c.id));
  assert.ok(stacking.length > 0, 'V2 changes stacking cases against base');
  assert.ok(stacking.some((c) => c.before?.observed === 'ELOOP' && c.after?.observed !== 'ELOOP'), JSON.stringify(stacking));
  assert.equal(V2.patches[0].subject, 'fuse: passthrough: allow one more stacking level');
  const text = readFileSync(join(dir, 'gate.txt'), 'utf8');
  for (const l of text.split('\n')) assert.ok(l.length <= 72, `gate.txt under 72 columns: ${l}`);
  assert.match(text, /U16\.overlay_d1/);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by a gate');
});

test('a series that does not apply: exit 2 naming the revision, the patch and git am\'s reason; the tree untouched', { skip, timeout: 20 * 60_000 }, async () => {
  const state = treeState(tree);
  const bad = join(tempDir('kgate-gate-bad-'), 'bad.mbox');
  const patch = (await execa('git', ['-C', tree, 'format-patch', '--stdout', '-1', 'revert-regular'])).stdout
    .replace(/\tres = d_is_dir\(file->f_path\.dentry\) \? -EISDIR : -EINVAL;/g, '\tres = this_line_is_not_in_the_tree();');
  writeFileSync(bad, patch + '\n');
  const r = await execa('node', [kgateBin, 'gate', '--tree', tree, '--base', 'fix-build', '--series', `V3=${bad}`, '--case', 'U03.dir', '--results', tempDir('kgate-gate-')], { reject: false, env: { CI: '1' } });
  assert.equal(r.exitCode, 2, r.stderr);
  // kgate's line names the revision, the patch and gives git am's reason after it (git's words are git's: only their presence is kgate's).
  assertSaid(r.stderr, /V3 \(.*\) does not apply on [0-9a-f]{12}: patch 1\/1 "fuse: passthrough: accept any backing file type again": \S/);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by a series that does not apply');
});

test('gate interrupted (Ctrl-C): exit 130, no guest left, the tree untouched', { skip, timeout: 20 * 60_000 }, async () => {
  const state = treeState(tree);
  const qemuBefore = qemuPids();
  const r = await interruptKgate(['gate', '--tree', tree, '--base', 'fix-build', '--series', 'V1=fix-build..revert-regular', '--case', 'U03.dir', '--results', tempDir('kgate-gate-')], /target start/, 'the gate reaching a guest');
  assert.equal(r.exitCode, 130, r.stderr);
  await new Promise((res) => setTimeout(res, 500));
  assert.deepEqual([...qemuPids()].filter((p) => !qemuBefore.has(p)), [], 'no guest left');
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by an interrupted gate');
});

test('gate with no --base, as the series is posted: a git format-patch --cover-letter --base directory, and a b4 prep range with its empty cover commit', { skip, timeout: 30 * 60_000 }, async () => {
  const state = treeState(tree);
  const fixBuild = (await execa('git', ['-C', tree, 'rev-parse', 'fix-build'])).stdout.trim();
  // The directory an author sends from: v2 of a one-patch series, its cover letter naming the base.
  const posted = tempDir('kgate-gate-posted-');
  await execa('git', ['-C', tree, 'format-patch', '-q', '--cover-letter', '--base=fix-build', '-v2', '-o', posted, 'fix-build..revert-regular']);
  const gate = (args: string[]) => execa('node', [kgateBin, 'gate', ...args, '--case', 'U03.dir', '--results', tempDir('kgate-gate-')], { reject: false, env: { CI: '1' } });
  const r = await gate(['--tree', tree, '--series', posted]);
  assert.equal(r.exitCode, 1, r.stderr);
  assertSaid(r.stderr, new RegExp(`suite note: gate: base: ${fixBuild.slice(0, 12)}, the base-commit of V2$`));
  const dir = r.stdout.match(/^results: (.*)$/m)![1];
  const report = JSON.parse(readFileSync(join(dir, 'gate.json'), 'utf8'));
  assert.equal(report.base.commit, fixBuild);
  assert.equal(report.revisions[0].label, 'V2', 'named by the cover letter\'s version');
  assert.match(readFileSync(join(dir, 'gate.txt'), 'utf8'), /^ {2}\[PATCH v2 0\/1\] \*\*\* SUBJECT HERE \*\*\*$/m);

  // A b4 prep branch (in a clone: the test tree is not ours to add branches to): the cover letter is an empty commit.
  const clone = join(tempDir('kgate-gate-b4-'), 'linux');
  await execa('git', ['clone', '-q', '--shared', '--no-checkout', tree, clone]);
  await execa('git', ['-C', clone, 'branch', '-q', 'b4/y', fixBuild]);
  const env = { GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@example.org', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@example.org' };
  const cover = (await execa('git', ['-C', clone, 'commit-tree', `${fixBuild}^{tree}`, '-p', fixBuild, '-m',
    'fuse: accept any backing file\n\n--- b4-submit-tracking ---\n# This section is used internally by b4 prep for tracking purposes.\n{\n  "series": {\n    "revision": 4,\n    "change-id": "20261206-any-0001",\n    "prefixes": []\n  }\n}\n'], { env })).stdout.trim();
  const patch = (await execa('git', ['-C', clone, 'rev-parse', 'revert-regular'])).stdout.trim();
  const head = (await execa('git', ['-C', clone, 'commit-tree', `${patch}^{tree}`, '-p', cover, '-m', 'fuse: passthrough: accept any backing file type again'], { env })).stdout.trim();
  await execa('git', ['-C', clone, 'update-ref', 'refs/heads/b4/y', head]);
  const b4 = await gate(['--tree', clone, '--series', 'fix-build..b4/y']);
  assert.equal(b4.exitCode, 1, b4.stderr);
  const b4dir = b4.stdout.match(/^results: (.*)$/m)![1];
  const b4report = JSON.parse(readFileSync(join(b4dir, 'gate.json'), 'utf8'));
  assert.equal(b4report.base.commit, fixBuild, 'the range\'s start');
  assert.equal(b4report.revisions[0].label, 'V4');
  assert.equal(b4report.revisions[0].patches.length, 1, 'the cover commit is not applied');
  assert.match(readFileSync(join(b4dir, 'gate.txt'), 'utf8'), /^ {2}\[PATCH v4 0\/1\] fuse: accept any backing file$/m);

  // A base the tree lacks: one line naming it, exit 2.
  const lacking = tempDir('kgate-gate-lacking-');
  for (const f of (await execa('ls', [posted])).stdout.split('\n')) {
    writeFileSync(join(lacking, f), readFileSync(join(posted, f), 'utf8').replace(/^base-commit: [0-9a-f]+$/m, 'base-commit: 0123456789abcdef0123456789abcdef01234567'));
  }
  const bad = await gate(['--tree', tree, '--series', lacking]);
  assert.equal(bad.exitCode, 2, bad.stderr);
  assertSaid(bad.stderr, /base-commit of V2 \(.*\): '0123456789abcdef0123456789abcdef01234567' is not a commit of /);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched');
});
