// Nightly end to end: Debian 6.1 and 6.12 and a tiny kernel of the test tree
// (scripts/test-tree.sh), two nights. The second night the tree's branch has
// moved from fix-build to revert-regular (the regular-file-only check
// reverted), so the tree cell's backing-file cases change and nothing else
// may. Then the same night in two shards, merged, must equal the unsharded
// night case by case; and a night interrupted after its first cell, resumed,
// keeps that cell.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { RunResult } from '../../src/model.js';
import type { MatrixReport } from '../../src/report/matrix.js';
import { assertSaid, kgateBin, tempDir } from './helpers.js';
import { testTree, treeSkip, treeState } from './tree-helpers.js';
import { orphanQemus, qemuPids } from './procs.js';
import { chromium, chromiumSkip, textOf } from './chromium.js';
import { validateKcidb } from '../../src/report/kcidb.js';
import { pathToFileURL } from 'node:url';

const skip = treeSkip;
const CASES = '[U03, U05, U07, H1.read]';
let tree = '';
let work = '';
let cfg1 = '';
let cfg2 = '';
before(async () => {
  if (skip) return;
  tree = await testTree();
  work = tempDir('kgate-nightly-');
  const yaml = (ref: string) => `# two Debian kernels and a tiny tree kernel, one selection
kernels:
  - { name: deb612, debian: "6.12" }
  - { name: deb61, debian: "6.1" }
  - { name: tiny, tree: ${tree}, ref: ${ref} }
selections:
  - { name: backing, cases: ${CASES} }
defaults: { accel: tcg }
`;
  cfg1 = join(work, 'night1.yaml');
  cfg2 = join(work, 'night2.yaml');
  writeFileSync(cfg1, yaml('fix-build'));
  writeFileSync(cfg2, yaml('revert-regular'));
});

const nightly = (args: string[]) => execa('node', [kgateBin, 'nightly', ...args], { reject: false, env: { CI: '1' } });
const readJson = <T>(f: string) => JSON.parse(readFileSync(f, 'utf8')) as T;
const key = (c: { status: string; observed?: string }) => `${c.status} ${c.observed ?? ''}`;

test('two nights: the comparison names exactly the cases whose outcome changed, the reports say it; exit 1 for the new failures', { skip, timeout: 40 * 60_000 }, async () => {
  const state = treeState(tree);
  const before = qemuPids();
  const results = join(work, 'results');
  const n1 = await nightly(['--config', cfg1, '--date', '2026-11-30', '--results', results]);
  assert.equal(n1.exitCode, 0, n1.stderr);
  const n2 = await nightly(['--config', cfg2, '--date', '2026-12-01', '--results', results]);
  assert.equal(n2.exitCode, 1, `a reverted check is a new failure: ${n2.stderr.split('\n').slice(-5).join('\n')}`);
  const night = join(results, 'nightly', '2026-12-01');
  const m = readJson<{ report: MatrixReport }>(join(night, 'nightly.json')).report;
  assert.deepEqual(m.cells.map((c) => c.name), ['deb612', 'deb61', 'tiny']);

  // What changed, computed from the two nights' own results.json, case by case.
  for (const cell of m.cells) {
    const a = readJson<RunResult>(join(results, 'nightly', '2026-11-30', cell.name, 'results.json'));
    const b = readJson<RunResult>(join(night, cell.name, 'results.json'));
    const was = new Map(a.cases.map((c) => [c.id, key(c)]));
    const changed = b.cases.filter((c) => was.get(c.id) !== key(c)).map((c) => c.id).sort();
    const said = cell.vsLast!.comparison.changes.map((c) => c.id).sort();
    assert.deepEqual(said, changed, `${cell.name}: the comparison names exactly the changed cases`);
    if (cell.name !== 'tiny') assert.deepEqual(said, [], `${cell.name}: the same Debian kernel, the same outcomes`);
  }
  const tiny = m.cells.find((c) => c.name === 'tiny')!;
  const dir = tiny.vsLast!.comparison.changes.find((c) => c.id === 'U03.dir');
  assert.ok(dir, 'U03.dir changed on the tree');
  assert.equal(dir!.kind, 'new-failure');
  assert.equal(dir!.before?.observed, 'EISDIR');

  // The mail, JUnit (a testsuite per cell) and the history.
  const text = readFileSync(join(night, 'summary.txt'), 'utf8');
  assert.match(text, /Changed since the last night: tiny\n/);
  assert.match(text, /U03\.dir +new failure: PASS EISDIR -> FAIL/);
  for (const l of text.split('\n')) assert.ok(l.length <= 72, l);
  const junit = readFileSync(join(night, 'junit.xml'), 'utf8');
  assert.equal((junit.match(/<testsuite /g) ?? []).length, 3);
  const hist = readFileSync(join(results, 'nightly', 'history', 'tiny.jsonl'), 'utf8').trim().split('\n');
  assert.equal(hist.length, 2);

  // KCIDB's own schema accepts the export; every case of every cell is a test in it.
  const kcidb = readJson<{ tests: { path: string; status: string }[] }>(join(night, 'kcidb.json'));
  assert.deepEqual(validateKcidb(kcidb), []);
  assert.equal(kcidb.tests.length, m.cells.reduce((n, c) => n + (c.run?.cases.length ?? 0), 0));

  // What the HTML report shows, in a real browser: the matrix, the failing case's errno, the comparison.
  if (!chromiumSkip) {
    const page = pathToFileURL(join(night, 'report.html')).href;
    const { stdout: dom } = await chromium(join(work, 'profile'), ['--dump-dom'], page);
    const boxes = [...dom.matchAll(/<td class="cell ([^"]*)" data-status="([^"]*)"/g)];
    const caseIds = new Set(m.cells.flatMap((c) => c.run?.cases.map((x) => x.id) ?? []));
    assert.equal(boxes.length, caseIds.size * 3, 'one box per case per cell');
    const text = textOf(dom);
    assert.match(text, /EISDIR/, 'the errno U03.dir expects is in the page');
    assert.match(text, /U03\.dir/);
    const png = join(work, 'night2.png');
    await chromium(join(work, 'profile-shot'), [`--screenshot=${png}`, '--window-size=1400,1000'], page);
    assert.ok(statSync(png).size > 10_000, 'a screenshot of the matrix');
  }

  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by a nightly');
  assert.deepEqual(orphanQemus(before), [], 'no guest left');

  // Two shards of the second night, merged: the same night case by case.
  const shards = join(work, 'shards');
  for (const s of ['1/2', '2/2']) {
    const r = await nightly(['--config', cfg2, '--date', '2026-12-01', '--results', shards, '--shard', s]);
    assert.ok(r.exitCode === 0 || r.exitCode === 1, r.stderr);
  }
  const parts = readdirSync(join(shards, 'nightly')).filter((d) => d.includes('.shard-')).sort().map((d) => join(shards, 'nightly', d));
  assert.equal(parts.length, 2);
  const merged = join(work, 'merged');
  const mr = await execa('node', [kgateBin, 'merge', ...parts, '--out', merged], { reject: false });
  assert.equal(mr.stderr, '');
  const mm = readJson<{ report: MatrixReport }>(join(merged, 'nightly.json')).report;
  const cases = (r: MatrixReport) => r.cells.flatMap((c) => (c.run?.cases ?? []).map((x) => `${c.name} ${x.id} ${key(x)}`)).sort();
  assert.deepEqual(cases(mm), cases(m), 'two shards merged equal the unsharded night');
  assert.ok(cases(m).length >= 3 * 4);
  // Shards of another plan are refused in one line.
  const other = await execa('node', [kgateBin, 'merge', parts[0], night, '--out', join(work, 'x')], { reject: false });
  assert.equal(other.exitCode, 2);
  assert.match(other.stderr, /^kgate: merge: [^\n]*is not a shard[^\n]*$/);
});

test('a nightly interrupted after its first cell, run again with --resume, keeps that cell and runs the rest', { skip, timeout: 20 * 60_000 }, async () => {
  const results = join(work, 'resume');
  const cfg = join(work, 'resume.yaml');
  writeFileSync(cfg, 'kernels:\n  - { name: a, debian: "6.12" }\n  - { name: b, debian: "6.1" }\nselections:\n  - { name: s, cases: [H1.read] }\ndefaults: { accel: tcg }\n');
  const child = execa('node', [kgateBin, 'nightly', '--config', cfg, '--date', '2026-12-01', '--results', results], { reject: false, env: { CI: '1' } });
  let err = '';
  await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (/cell 2 of 2/.test(err)) resolve(); }));
  child.kill('SIGINT');
  const r = await child;
  assert.equal(r.exitCode, 130, r.stderr);
  const night = join(results, 'nightly', '2026-12-01');
  const first = readJson<RunResult>(join(night, 'a', 'results.json'));
  const mtime = statSync(join(night, 'a', 'results.json')).mtimeMs;
  const again = await nightly(['--config', cfg, '--date', '2026-12-01', '--results', results]);
  assert.equal(again.exitCode, 2, 'a second night of the same date without --resume is refused');
  const resumed = await nightly(['--config', cfg, '--date', '2026-12-01', '--results', results, '--resume']);
  assert.equal(resumed.exitCode, 0, resumed.stderr);
  assertSaid(resumed.stderr, /suite note: nightly: +a: finished by the interrupted night, kept$/);
  assert.equal(statSync(join(night, 'a', 'results.json')).mtimeMs, mtime, 'cell a was not run again');
  const m = readJson<{ report: MatrixReport }>(join(night, 'nightly.json')).report;
  assert.equal(m.cells.find((c) => c.name === 'a')!.run!.runId, first.runId);
  assert.ok(existsSync(join(night, 'b', 'results.json')));
  assert.ok(m.finishedAt);
});

test('a nightly.yaml with mistakes: one line each, exit 2, nothing run or written', { skip, timeout: 60_000 }, async () => {
  const results = join(work, 'bad');
  const cfg = join(work, 'bad.yaml');
  writeFileSync(cfg, `kernels:\n  - { name: a, debian: "6.12" }\n  - { name: t, tree: ${work}, fragments: [nope.config] }\n  - { name: a, debian: "6.1" }\nselections:\n  - { name: s, cases: [U03], familes: [x] }\n`);
  const t0 = Date.now();
  const r = await nightly(['--config', cfg, '--results', results]);
  assert.equal(r.exitCode, 2);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length >= 3, r.stderr);
  for (const l of lines) assert.match(l, /bad\.yaml:\d+: \S+: /, l);
  assert.ok(Date.now() - t0 < 10_000, 'said before anything slow');
  assert.ok(!existsSync(join(results, 'nightly')), 'no night was started');
});

test('a cell whose kernel does not build is recorded with the compiler\'s error and the night goes on; exit 125', { skip, timeout: 20 * 60_000 }, async () => {
  const results = join(work, 'broken');
  const cfg = join(work, 'broken.yaml');
  writeFileSync(cfg, `kernels:\n  - { name: wip, tree: ${tree}, ref: broken-build }\n  - { name: deb612, debian: "6.12" }\nselections:\n  - { name: s, cases: [H1.read] }\ndefaults: { accel: tcg }\n`);
  const r = await nightly(['--config', cfg, '--date', '2026-12-01', '--results', results]);
  assert.equal(r.exitCode, 125, r.stderr.split('\n').slice(-5).join('\n'));
  const night = join(results, 'nightly', '2026-12-01');
  const m = readJson<{ report: MatrixReport }>(join(night, 'nightly.json')).report;
  const wip = m.cells.find((c) => c.name === 'wip')!;
  assert.equal(wip.state, 'failed');
  assert.match(wip.error ?? '', /inode\.c/, 'the compiler\'s error line names the file');
  assert.ok(existsSync(join(night, wip.dir!, 'kernel-build.log')), 'the build log is kept');
  assert.equal(m.cells.find((c) => c.name === 'deb612')!.run!.cases[0].status, 'PASS', 'the next cell ran');
  assert.match(readFileSync(join(night, 'summary.txt'), 'utf8'), /wip: .*\n  not tested: .*inode\.c/);
  assert.match(readFileSync(join(night, 'junit.xml'), 'utf8'), /<testcase name="kernel" classname="kgate\.wip">\n\s*<error /);
});
