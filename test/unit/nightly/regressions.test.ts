// The regression lifecycle read from a history file (history/<cell>.jsonl as
// the nightly writes it): appeared, last passed, still failing, culprit once
// bisected, closed when it passes again; a failure on the same kernel opens none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readHistory, recordBisect, type NightEntry } from '../../../src/nightly/history.js';
import { regressionsOf, reportedRegressions } from '../../../src/nightly/regressions.js';
import { lastGoodNight, newFailures } from '../../../src/nightly/self-bisect.js';
import { formatRegressions, formatCellBisect } from '../../../src/nightly/report.js';
import type { CellBisect, MatrixCell } from '../../../src/report/matrix.js';

const root = mkdtempSync(join(tmpdir(), 'kgate-regressions-'));
process.once('exit', () => rmSync(root, { recursive: true, force: true }));
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const CULPRIT = 'd'.repeat(40);
const night = (date: string, commit: string, cases: NightEntry['cases']): NightEntry =>
  ({ date, dir: `${date}/tiny`, runId: 'tiny', kernel: `6.12.118+ ${commit} cfg`, commit, cases });
const bisect: CellBisect = {
  cases: ['U03.dir'], good: { date: '2026-11-30', commit: A }, bad: { date: '2026-12-01', commit: B, describe: 'unrelated-3' },
  outcome: 'found', culprit: { commit: CULPRIT, subject: 'fuse: passthrough: accept any backing file type again', verified: true, revert: 'PASS', verify: 'PASS', why: [] },
  dir: 'bisect/tiny', builds: 1, steps: 7, wallMs: 32_000,
};

/** A history file as the nightly writes it: one JSON line per night, oldest first. */
function historyFile(nights: NightEntry[]): NightEntry[] {
  mkdirSync(join(root, 'history'), { recursive: true });
  writeFileSync(join(root, 'history', 'tiny.jsonl'), nights.map((n) => JSON.stringify(n)).join('\n') + '\n');
  return readHistory(root, 'tiny');
}

test('a case that passed, then fails on a new kernel: open, with the night it appeared and the last night it passed; the bisect\'s culprit once recorded', () => {
  historyFile([
    night('2026-11-29', A, [['U03.dir', 'PASS', 'EISDIR'], ['H1.read', 'PASS']]),
    night('2026-11-30', A, [['U03.dir', 'PASS', 'EISDIR'], ['H1.read', 'PASS']]),
    night('2026-12-01', B, [['U03.dir', 'FAIL', 'ok'], ['H1.read', 'PASS']]),
  ]);
  let rs = regressionsOf('tiny', readHistory(root, 'tiny'));
  assert.deepEqual(rs, [{ cell: 'tiny', case: 'U03.dir', appeared: '2026-12-01', lastSeen: '2026-12-01', open: true, lastPassed: { date: '2026-11-30', commit: A } }]);
  recordBisect(root, 'tiny', '2026-12-01', bisect);
  rs = regressionsOf('tiny', readHistory(root, 'tiny'));
  assert.equal(rs[0].bisect?.culprit?.commit, CULPRIT);
  assert.equal(rs[0].bisect?.date, '2026-12-01');
  assert.deepEqual(formatRegressions(rs, '2026-12-01'), [
    'Open regressions (1):',
    '  tiny U03.dir: still fails',
    `    appeared 2026-12-01, last passed 2026-11-30 (${A.slice(0, 12)})`,
    `    culprit ${CULPRIT.slice(0, 12)} (verified)`,
    '',
  ]);
});

test('still failing on later nights keeps the culprit and the night it appeared; passing again closes it, reported the night it closed only', () => {
  const h = historyFile([
    night('2026-11-30', A, [['U03.dir', 'PASS']]),
    { ...night('2026-12-01', B, [['U03.dir', 'FAIL']]), bisect },
    night('2026-12-02', C, [['U03.dir', 'FAIL']]),
    night('2026-12-03', C, [['U03.dir', 'PASS']]),
  ]);
  const [r] = regressionsOf('tiny', h.slice(0, 3));
  assert.deepEqual({ appeared: r.appeared, lastSeen: r.lastSeen, open: r.open, culprit: r.bisect?.culprit?.commit }, { appeared: '2026-12-01', lastSeen: '2026-12-02', open: true, culprit: CULPRIT });
  const all = regressionsOf('tiny', h);
  assert.deepEqual({ open: all[0].open, closed: all[0].closed, culprit: all[0].bisect?.culprit?.commit }, { open: false, closed: '2026-12-03', culprit: CULPRIT });
  assert.equal(reportedRegressions('tiny', h, '2026-12-03').length, 1, 'closed tonight: said');
  assert.equal(reportedRegressions('tiny', [...h, night('2026-12-04', C, [['U03.dir', 'PASS']])], '2026-12-04').length, 0, 'closed before tonight: gone');
  assert.match(formatRegressions(all, '2026-12-03').join('\n'), /^Closed tonight \(1\):\n  tiny U03\.dir: passes again since 2026-12-03\n    appeared 2026-12-01, last passed 2026-11-30 \(a{12}\)\n    culprit d{12} \(verified\)$/m);
  // It fails again later, on another kernel: a new regression, with its own start.
  const again = regressionsOf('tiny', [...h, night('2026-12-05', A, [['U03.dir', 'CRASH']])]);
  assert.equal(again.length, 2);
  assert.deepEqual({ appeared: again[1].appeared, lastPassed: again[1].lastPassed.date, open: again[1].open, bisect: again[1].bisect }, { appeared: '2026-12-05', lastPassed: '2026-12-03', open: true, bisect: undefined });
});

test('no regression: a failure on the kernel of the last pass (flaky), a case that never passed, a night that did not run the case', () => {
  const h = historyFile([
    night('2026-11-30', A, [['U03.dir', 'PASS'], ['U05.opath_dir', 'FAIL']]),
    night('2026-12-01', A, [['U03.dir', 'TIMEOUT'], ['U05.opath_dir', 'FAIL']]),
    night('2026-12-02', B, [['U05.opath_dir', 'FAIL']]),
  ]);
  assert.deepEqual(regressionsOf('tiny', h), []);
  // A failure while a regression of the same case is open is the same regression; a skip neither opens nor closes one... but passes it.
  const h2 = historyFile([
    night('2026-11-30', A, [['U03.dir', 'PASS']]),
    night('2026-12-01', B, [['U03.dir', 'FAIL']]),
    night('2026-12-02', C, []),
  ]);
  const [r] = regressionsOf('tiny', h2);
  assert.deepEqual({ open: r.open, lastSeen: r.lastSeen }, { open: true, lastSeen: '2026-12-01' });
  assert.match(formatRegressions([r], '2026-12-02')[1], /^  tiny U03\.dir: failed when last run, 2026-12-01$/);
});

test('a history line cut by a crash is skipped; the lifecycle is read from the rest', () => {
  mkdirSync(join(root, 'history'), { recursive: true });
  writeFileSync(join(root, 'history', 'cut.jsonl'), [JSON.stringify(night('2026-11-30', A, [['U03.dir', 'PASS']])), '{"date":"2026-12-01","di', JSON.stringify(night('2026-12-02', B, [['U03.dir', 'FAIL']]))].join('\n'));
  const [r] = regressionsOf('cut', readHistory(root, 'cut'));
  assert.deepEqual({ appeared: r.appeared, lastPassed: r.lastPassed.date }, { appeared: '2026-12-02', lastPassed: '2026-11-30' });
});

test('the bisect\'s ends: tonight\'s new failures only, and the last night every one of them passed', () => {
  const cell = { name: 'tiny', state: 'ran', vsLast: { date: '2026-12-01', runId: 'tiny', comparison: { regressed: true, unchanged: 1, changes: [
    { id: 'U03.dir', kind: 'new-failure' }, { id: 'U16.x', kind: 'new-crash' }, { id: 'H1.read', kind: 'fixed' }, { id: 'U07', kind: 'flaky' },
  ] } } } as unknown as MatrixCell;
  assert.deepEqual(newFailures(cell), ['U03.dir', 'U16.x']);
  assert.deepEqual(newFailures({ ...cell, state: 'unchanged' }), [], 'a cell not run tonight has nothing new');
  const h = [
    night('2026-11-28', A, [['U03.dir', 'PASS'], ['U16.x', 'PASS']]),
    night('2026-11-29', B, [['U03.dir', 'PASS'], ['U16.x', 'FAIL']]),
    night('2026-11-30', B, [['U03.dir', 'PASS']]),
    night('2026-12-02', C, [['U03.dir', 'FAIL'], ['U16.x', 'CRASH']]),
  ];
  assert.equal(lastGoodNight(h, '2026-12-02', ['U03.dir'])?.date, '2026-11-30');
  assert.equal(lastGoodNight(h, '2026-12-02', ['U03.dir', 'U16.x'])?.date, '2026-11-28', 'U16.x failed on the 29th and did not run on the 30th');
  assert.equal(lastGoodNight(h, '2026-11-28', ['U03.dir']), undefined);
});

test('the summary\'s bisect lines: Fixes and regzbot for a verified culprit; the good..bad range when unverified; the line to fill in without a reporter', () => {
  const text = formatCellBisect(bisect, '2026-12-01', 'A Maintainer <m@example.org>');
  assert.deepEqual(text.slice(-5), [
    `Still fails at unrelated-3 (${B.slice(0, 12)}), tested in this bisect.`,
    'Reported-by: A Maintainer <m@example.org>',
    'Closes: <the link of your report on lore, once it is sent>',
    `Fixes: ${CULPRIT.slice(0, 12)} ("fuse: passthrough: accept any backing file type again")`,
    `#regzbot introduced: ${CULPRIT.slice(0, 12)}`,
  ]);
  const unverified = formatCellBisect({ ...bisect, culprit: { ...bisect.culprit!, verified: false, revert: 'FAIL', why: ['revert: the changed cases still fail'] } }, '2026-12-01', undefined);
  assert.ok(!unverified.some((l) => l.startsWith('Fixes:')), 'no Fixes: for an unverified culprit');
  assert.ok(unverified.includes(`#regzbot introduced: ${A.slice(0, 12)}..${B.slice(0, 12)}`));
  assert.ok(unverified.includes('  unverified: revert: the changed cases still fail'));
  assert.ok(unverified.some((l) => /^Reported-by: <Name <address>: /.test(l)), 'never an invented address');
  const stopped = formatCellBisect({ ...bisect, outcome: 'stopped', culprit: undefined, error: 'stopped before the next step (abc): 2 kernel(s) built, the most max-builds allows' }, '2026-12-01', undefined);
  assert.ok(stopped.includes('  bisect stopped: stopped before the next step (abc): 2 kernel(s) built, the most max-builds allows'));
  assert.ok(stopped.includes(`#regzbot introduced: ${A.slice(0, 12)}..${B.slice(0, 12)}`));
  const notRun = formatCellBisect({ ...bisect, outcome: 'not-run', culprit: undefined, error: 'no earlier night passed these cases' }, '2026-12-01', undefined);
  assert.deepEqual(notRun.slice(-1), ['  not bisected: no earlier night passed these cases']);
});

test('--resume: the cell the interrupted night kept keeps its bisect, which is not run again; a new run of the night drops it; an interrupted bisect is run again', async () => {
  const { recordNight, finishedBisect } = await import('../../../src/nightly/history.js');
  historyFile([night('2026-11-30', A, [['U03.dir', 'PASS']])]);
  const run = { runId: 'run-1', startedAt: '', target: 'qemu', cases: [{ id: 'U03.dir', family: 'ioctl-open', status: 'FAIL' as const, tap: [] }], problems: [], summary: {} as never, kernel: { release: '6.12.118+', commit: B } };
  const dir = join(root, 'nightly', '2026-12-01', 'tiny');
  recordNight(root, 'tiny', '2026-12-01', dir, run);
  recordBisect(root, 'tiny', '2026-12-01', bisect);
  // The resumed night records the same run again: the bisect stays, and is the night's finished one for these cases.
  recordNight(root, 'tiny', '2026-12-01', dir, run);
  assert.equal(finishedBisect(readHistory(root, 'tiny'), '2026-12-01', ['U03.dir'])?.culprit?.commit, CULPRIT);
  assert.equal(finishedBisect(readHistory(root, 'tiny'), '2026-12-01', ['U03.dir', 'U05.opath_dir']), undefined, 'other cases: bisected anew');
  // A new run of the same night: its results may differ, the bisect goes.
  recordNight(root, 'tiny', '2026-12-01', dir, { ...run, runId: 'run-2' });
  assert.equal(finishedBisect(readHistory(root, 'tiny'), '2026-12-01', ['U03.dir']), undefined);
  recordBisect(root, 'tiny', '2026-12-01', { ...bisect, outcome: 'stopped', culprit: undefined, error: 'interrupted' });
  assert.equal(finishedBisect(readHistory(root, 'tiny'), '2026-12-01', ['U03.dir']), undefined, 'an interrupted bisect runs again');
});
