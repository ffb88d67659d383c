import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { toKcidb, validateKcidb, writeKcidb, kcidbStatus, kcidbPath, KCIDB_VERSION } from '../../../src/report/kcidb.js';
import { KgateError } from '../../../src/model.js';
import { bigMatrix, smallMatrix, TREE } from './matrix-fixture.js';

test('toKcidb: two cells validate against the vendored KCIDB v4.5 schema', () => {
  const data = toKcidb(smallMatrix());
  assert.deepEqual(validateKcidb(data), []);
  assert.deepEqual(data.version, { major: 4, minor: 5 });
  assert.deepEqual(KCIDB_VERSION, { major: 4, minor: 5 });
  // One checkout and one build per kernel; one test per case per cell.
  assert.equal(data.checkouts.length, 2);
  assert.equal(data.builds.length, 2);
  assert.equal(data.tests.length, 14);
  for (const o of [...data.checkouts, ...data.builds, ...data.tests]) {
    assert.equal(o.origin, 'kgate');
    assert.match(o.id, /^kgate:[0-9a-f]{32}$/);
  }
  assert.equal(new Set(data.tests.map((t) => t.id)).size, 14, 'test ids are unique');
  const tree = data.checkouts.find((c) => c.git_commit_hash === TREE.commit);
  assert.ok(tree, 'the tree build names its commit');
  assert.equal(tree.tree_name, 'linux');
  assert.equal(tree.patchset_hash, '');
  const treeBuild = data.builds.find((b) => b.checkout_id === tree.id)!;
  assert.equal(treeBuild.config_name, 'tiny');
  assert.equal(treeBuild.architecture, 'x86_64');
  assert.equal(treeBuild.valid, true);
  assert.equal(data.builds.find((b) => b !== treeBuild)!.config_name, 'debian');

  // Statuses: kgate's own three become KCIDB's, kgate's word stays in misc.
  const byCell = (cell: string, id: string) => data.tests.find((t) => t.misc?.cell === cell && t.misc?.case_id === id)!;
  const u03 = byCell('debian', 'U03.dir');
  assert.equal(u03.status, 'FAIL');
  assert.equal(u03.path, 'fuse_passthrough.ioctl-open.U03.dir');
  assert.equal(u03.misc?.observed, 'ok');
  assert.equal(u03.misc?.expected, 'EISDIR');
  assert.equal(u03.build_id, data.builds.find((b) => b !== treeBuild)!.id);
  assert.match(u03.log_excerpt!, /--- console\n.*<bad> & "quoted"/);
  assert.equal(byCell('tree', 'U07.pipe').misc?.observed, 'EISDIR');
  assert.deepEqual([byCell('debian', 'U05.fifo').status, byCell('debian', 'U05.fifo').misc?.kgate_status], ['PASS', 'XFAIL']);
  assert.deepEqual([byCell('tree', 'K2.panic').status, byCell('tree', 'K2.panic').misc?.kgate_status], ['FAIL', 'CRASH']);
  assert.deepEqual([byCell('tree', 'K1.hang').status, byCell('tree', 'K1.hang').misc?.kgate_status], ['FAIL', 'TIMEOUT']);
  assert.equal(byCell('debian', 'A1.open').status, 'SKIP');
  assert.equal(byCell('debian', 'U01.never_opened').duration, 0.012);
  assert.deepEqual(['PASS', 'FAIL', 'ERROR', 'MISS', 'DONE', 'SKIP', 'XFAIL', 'CRASH', 'TIMEOUT'].map((s) => kcidbStatus(s as never)),
    ['PASS', 'FAIL', 'ERROR', 'MISS', 'DONE', 'SKIP', 'PASS', 'FAIL', 'FAIL']);
});

test('toKcidb: the same kernel is the same build on another night; ids depend on origin', () => {
  const a = toKcidb(smallMatrix());
  const next = smallMatrix();
  next.date = '2026-12-04';
  for (const c of next.cells) c.run!.runId = c.run!.runId.replace('1203', '1204');
  const b = toKcidb(next);
  assert.deepEqual(b.builds.map((x) => x.id), a.builds.map((x) => x.id));
  assert.deepEqual(b.checkouts.map((x) => x.id), a.checkouts.map((x) => x.id));
  assert.equal(b.tests.filter((t) => a.tests.some((u) => u.id === t.id)).length, 0, 'a new night has new test ids');
  const other = toKcidb(smallMatrix(), 'my_ci');
  assert.ok(other.tests.every((t) => t.id.startsWith('my_ci:')));
  assert.deepEqual(validateKcidb(other), []);
  assert.throws(() => toKcidb(smallMatrix(), 'My-CI'), (e: unknown) => e instanceof KgateError && e.family === 'user');
});

test('toKcidb: failed, unchanged and first-night cells; odd case ids still make valid paths', () => {
  const m = bigMatrix(20, 3);
  const data = toKcidb(m);
  assert.deepEqual(validateKcidb(data), []);
  const failed = data.builds.find((b) => b.misc?.error);
  assert.ok(failed);
  assert.equal(failed.valid, undefined);
  assert.match(failed.log_excerpt!, /Error 2/);
  assert.equal(data.tests.length, 20 * 3, 'the failed cell has no tests');
  assert.equal(kcidbPath({ family: 'odd family/x', id: 'Z9.a b<c>' }), 'fuse_passthrough.odd_family_x.Z9.a_b_c_');
  // A huge console is cut to the schema's log_excerpt limit.
  m.cells[0].run!.cases[0].console = Array.from({ length: 5000 }, (_, i) => `[${i}] console line with some text`);
  const big = toKcidb(m);
  assert.deepEqual(validateKcidb(big), []);
  assert.ok(big.tests[0].log_excerpt!.length <= 16384);
  assert.match(big.tests[0].log_excerpt!, /cut by kgate[\s\S]*\[4999\]/);
});

test('validateKcidb rejects what KCIDB would: a kgate status, a null, a bad id', () => {
  const data = toKcidb(smallMatrix());
  const xfail = structuredClone(data) as unknown as { tests: { status: string }[] };
  xfail.tests[0].status = 'XFAIL';
  const problems = validateKcidb(xfail);
  assert.ok(problems.length > 0, 'a test status of XFAIL must not validate');
  assert.ok(problems.some((p) => p.startsWith('/tests/0/status')), problems.join('\n'));
  const nul = structuredClone(data) as unknown as { builds: { architecture: unknown }[] };
  nul.builds[0].architecture = null;
  assert.ok(validateKcidb(nul).length > 0);
  const badId = structuredClone(data);
  badId.tests[0].build_id = 'no-origin';
  assert.ok(validateKcidb(badId).length > 0);
  const badTime = structuredClone(data);
  badTime.tests[0].start_time = 'yesterday';
  assert.ok(validateKcidb(badTime).length > 0, 'formats are checked');
  assert.ok(validateKcidb({ version: { major: 5, minor: 0 } }).length > 0);
});

test('writeKcidb writes dir/kcidb.json that validates when read back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-kcidb-'));
  try {
    const path = writeKcidb(dir, smallMatrix());
    assert.equal(path, join(dir, 'kcidb.json'));
    const back = JSON.parse(readFileSync(path, 'utf8'));
    assert.deepEqual(validateKcidb(back), []);
    assert.equal(back.tests.length, 14);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('toKcidb: a culprit a bisect named is an issue of the code, one per commit, and each failing test it covers an incident of it; it validates', () => {
  const m = smallMatrix();
  const tree = m.cells.find((c) => c.name === 'tree')!;
  const a = 'a'.repeat(40), b = 'b'.repeat(40);
  const passing = tree.run!.cases.find((c) => c.status === 'PASS')!.id;
  tree.bisect = { cases: ['K2.panic', 'K1.hang', passing], good: { date: '2026-12-01', commit: 'c'.repeat(40) }, bad: { date: '2026-12-02', commit: 'd'.repeat(40) },
    outcome: 'found', culprit: { commit: a, subject: 'fuse: break it', verified: true, revert: 'PASS', verify: 'PASS', why: [] }, dir: 'bisect-tree' };
  // An earlier night's bisect of a regression still open on another cell.
  m.regressions = [{ cell: 'debian', case: 'U03.dir', appeared: '2026-11-30', lastPassed: { date: '2026-11-29' }, lastSeen: m.date, open: true,
    bisect: { date: '2026-11-30', cases: ['U03.dir'], good: { date: '2026-11-29', commit: 'e'.repeat(40) }, bad: { date: '2026-11-30', commit: 'f'.repeat(40) },
      outcome: 'found', culprit: { commit: b, subject: 'fuse: and this', verified: false, why: ['revert did not apply'] } } }];
  const data = toKcidb(m);
  assert.deepEqual(validateKcidb(data), []);
  assert.deepEqual(data.issues!.map((i) => [i.report_subject, i.culprit, i.version, i.misc?.commit, i.misc?.verified]).sort(),
    [['fuse: and this', { code: true, tool: false, harness: false }, 1, b, false], ['fuse: break it', { code: true, tool: false, harness: false }, 1, a, true]]);
  const testOf = (id: string) => data.tests.find((t) => t.id === id)!;
  const shown = data.incidents!.map((i) => [testOf(i.test_id!).misc?.cell, testOf(i.test_id!).misc?.case_id, data.issues!.find((x) => x.id === i.issue_id)!.misc?.commit]);
  // K2.panic (CRASH) and K1.hang (TIMEOUT) fail; the passing case, bisected too, gets none.
  assert.deepEqual(shown.sort(), [['debian', 'U03.dir', b], ['tree', 'K1.hang', a], ['tree', 'K2.panic', a]]);
  assert.ok(data.incidents!.every((i) => i.present === true));
  assert.equal(toKcidb(smallMatrix()).issues, undefined, 'no bisect, no issues');
});
