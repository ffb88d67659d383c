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
