// A crash in a tree kernel read as file:line, end to end: the test tree's
// warn-dir branch (scripts/test-tree.sh) WARNs in fs/fuse/passthrough.c when
// a directory is given as backing file, so U03.dir is CRASH. kgate keeps the
// build's vmlinux (DWARF for fs/fuse only) and the tree's
// scripts/decode_stacktrace.sh with the kernel, and every report that shows
// the crash places it at the WARN_ON's own line.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { assertStatus, kgate, kgateBin, tempDir } from './helpers.js';
import { testTree, treeSkip, treeState } from './tree-helpers.js';

const skip = treeSkip;
let tree = '';
/** fs/fuse/passthrough.c:N of the WARN_ON warn-dir adds, read from the tree, not from kgate. */
let warnAt = '';
before(async () => {
  if (skip) return;
  tree = await testTree();
  const src = execaSync('git', ['-C', tree, 'show', 'warn-dir:fs/fuse/passthrough.c']).stdout.split('\n');
  warnAt = `fs/fuse/passthrough.c:${src.findIndex((l) => l.includes('WARN_ON(d_is_dir(')) + 1}`;
  assert.notEqual(warnAt, 'fs/fuse/passthrough.c:0', 'warn-dir has its WARN_ON');
});

test('kgate run on a tree kernel whose fs/fuse WARNs: CRASH, and the summary and results.json place it at the WARN_ON\'s line', { skip, timeout: 30 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await kgate(['run', '--kernel', `tree:${tree}@warn-dir`, '--case', 'U03.dir', '--case', 'U01.never_opened']);
  assert.equal(r.code, 1, r.stderr);
  assertStatus(r, 'U03.dir', 'CRASH');
  assertStatus(r, 'U01.never_opened', 'PASS', 'a case that does not reach the WARN');
  const c = r.run!.cases.find((x) => x.id === 'U03.dir')!;
  assert.ok(c.trace?.length, `results.json carries the decoded report: ${JSON.stringify(c)}`);
  assert.ok(c.trace!.some((l) => l.includes(`(${warnAt}`)), `a frame at ${warnAt}: ${c.trace!.join('\n')}`);
  // The summary kgate prints says it, under its own heading, with the case.
  const summary = r.stdout.split('\n');
  const at = summary.findIndex((l) => /^Crashes decoded \(1, the tree's scripts\/decode_stacktrace\.sh\):$/.test(l));
  assert.ok(at >= 0, r.stdout);
  assert.equal(summary[at + 1], '  U03.dir:');
  assert.ok(summary.slice(at + 2).some((l) => l.startsWith('    ') && l.includes(`(${warnAt}`)), r.stdout);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched');
});

test('two lanes: U03.dir\'s WARN, raised while data-path\'s cases ran beside it, is U03.dir\'s alone', { skip, timeout: 30 * 60_000 }, async () => {
  const r = await kgate(['run', '--kernel', `tree:${tree}@warn-dir`, '--case', 'U01,U03.dir,H1,H2,H3,H10']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ioctl-open: \d+ case\(s\) on qemu\/\d/);
  assert.match(r.stderr, /data-path: \d+ case\(s\) on qemu\/\d/);
  assertStatus(r, 'U03.dir', 'CRASH');
  for (const c of r.run!.cases.filter((x) => x.id !== 'U03.dir')) assert.equal(c.status, 'PASS', `${c.id}: ${c.status} ${c.reason ?? ''}`);
  // The WARN's printk time (the console kgate kept) lies in a data-path case's window too: time alone could not
  // tell the two cases apart. A case's window runs from the end of the case before it in its binary (the harness's
  // kte) to its own end, the gap between two cases included (docs/suite-protocol.md KGATE_CASE_MARKS).
  const stamp = /^\[\s*(\d+)\.(\d{6})\] WARNING: /m.exec(readFileSync(join(r.resultsDir, 'console.log'), 'utf8'));
  assert.ok(stamp, 'the WARN is on the console');
  const at = Number(stamp[1]) * 1e6 + Number(stamp[2]);
  const data = r.run!.cases.filter((c) => c.family === 'data-path').sort((a, b) => Number(a.details?.kt) - Number(b.details?.kt));
  const beside = data.filter((c, i) => (i === 0 ? Number(c.details?.kt) : Number(data[i - 1].details?.kte)) < at && at <= Number(c.details?.kte));
  assert.equal(beside.length, 1, `a data-path case ran when the WARN came (${at} µs): ${JSON.stringify(r.run!.cases.map((c) => [c.id, c.details?.kt, c.details?.kte]))}`);
});

test('kgate bisect base..warn-dir: the culprit verified, and bisect.txt quotes the crash decoded at the WARN_ON\'s line', { skip, timeout: 40 * 60_000 }, async () => {
  const state = treeState(tree);
  const results = tempDir('kgate-bisect-oops-');
  const r = await execa('node', [kgateBin, 'bisect', '--tree', tree, '--good', 'base', '--bad', 'warn-dir', '--case', 'U03.dir', '--results', results],
    { reject: false, env: { CI: '1' } });
  assert.equal(r.exitCode, 0, r.stderr);
  const dir = r.stdout.match(/^results: (.*)$/m)![1];
  const report = JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8'));
  assert.equal(report.firstBad.commit, execaSync('git', ['-C', tree, 'rev-parse', 'warn-dir']).stdout);
  assert.equal(report.checks.verified, true, JSON.stringify(report.checks));
  const changed = report.changed.find((x: { id: string }) => x.id === 'U03.dir');
  assert.equal(changed?.after?.status, 'CRASH');
  assert.ok(changed.after.trace?.some((l: string) => l.includes(`(${warnAt}`)), 'bisect.json keeps the decoded report');
  const text = readFileSync(join(dir, 'bisect.txt'), 'utf8').split('\n');
  const at = text.indexOf('    decoded (the tree\'s scripts/decode_stacktrace.sh):');
  assert.ok(at > 0, text.join('\n'));
  assert.ok(text.slice(at + 1).some((l) => l.startsWith('    | ') && l.includes(`(${warnAt}`)), text.join('\n'));
  for (const l of text) assert.ok(l.length <= 72 || /^(Fixes: |#regzbot )/.test(l) || !l.trim().includes(' '), `bisect.txt under 72 columns: ${l}`);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by a bisect');
});
