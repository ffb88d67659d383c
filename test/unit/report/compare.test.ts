import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRuns, classifyChange, formatChanges } from '../../../src/report/compare.js';
import type { CaseResult, Status } from '../../../src/model.js';

const c = (id: string, status: Status, observed?: string, extra: Partial<CaseResult> = {}): CaseResult =>
  ({ id, family: id.startsWith('U0') ? 'ioctl-open' : 'stacking', status, tap: [], ...(observed ? { observed } : {}), ...extra });

test('classifyChange: each kind of change, and no change', () => {
  assert.equal(classifyChange(c('U03.dir', 'PASS', 'EISDIR'), c('U03.dir', 'PASS', 'EISDIR')), undefined);
  assert.equal(classifyChange(c('U03.dir', 'PASS', 'EISDIR'), c('U03.dir', 'FAIL', 'ok')), 'new-failure');
  assert.equal(classifyChange(c('U03.dir', 'FAIL', 'ok'), c('U03.dir', 'PASS', 'EISDIR')), 'fixed');
  assert.equal(classifyChange(c('U03.dir', 'PASS', 'EISDIR'), c('U03.dir', 'CRASH')), 'new-crash');
  assert.equal(classifyChange(c('U03.dir', 'PASS', 'EISDIR'), c('U03.dir', 'SKIP')), 'new-skip');
  assert.equal(classifyChange(c('U03.dir', 'SKIP'), c('U03.dir', 'PASS', 'EISDIR')), 'unskipped');
  // Both fail, with another errno: still a change a reviewer must see.
  assert.equal(classifyChange(c('S01.x', 'FAIL', 'ELOOP'), c('S01.x', 'FAIL', 'EINVAL')), 'changed');
  assert.equal(classifyChange(c('S01.x', 'PASS', 'ok'), c('S01.x', 'XFAIL', 'ok')), 'changed');
  assert.equal(classifyChange(undefined, c('S01.x', 'PASS')), 'added');
  assert.equal(classifyChange(c('S01.x', 'PASS'), undefined), 'removed');
});

test('compareRuns: a revision against base, cases on one side only, the regression verdict', () => {
  const base = { cases: [c('U03.dir', 'PASS', 'EISDIR'), c('U07.pipe', 'PASS', 'EINVAL'), c('U09.memfd', 'PASS', 'ok'), c('S02.gone', 'PASS', 'ok')] };
  const v1 = { cases: [c('U03.dir', 'FAIL', 'ok'), c('U07.pipe', 'FAIL', 'ok'), c('U09.memfd', 'PASS', 'ok'), c('S03.new', 'PASS', 'ok')] };
  const cmp = compareRuns(base, v1);
  assert.equal(cmp.regressed, true);
  assert.equal(cmp.unchanged, 1);
  assert.deepEqual(cmp.changes.map((x) => `${x.id}:${x.kind}`), ['U03.dir:new-failure', 'U07.pipe:new-failure', 'S03.new:added', 'S02.gone:removed']);
  assert.deepEqual(cmp.changes[0].before, { status: 'PASS', observed: 'EISDIR' });
  assert.deepEqual(cmp.changes[0].after, { status: 'FAIL', observed: 'ok' });
  const lines = formatChanges(cmp);
  assert.match(lines[0], /U03\.dir\s+new failure: PASS EISDIR -> FAIL ok/);
  // Added and removed cases alone are no regression.
  assert.equal(compareRuns({ cases: [c('S02.gone', 'PASS')] }, { cases: [c('S03.new', 'FAIL')] }).regressed, false);
});

test('compareRuns: repeats that disagree make a case flaky, not a failure or a fix', () => {
  const base = { cases: [c('S01.x', 'PASS', 'ok')] };
  const first = { cases: [c('S01.x', 'FAIL', 'EIO')] };
  const second = { cases: [c('S01.x', 'PASS', 'ok')] };
  const cmp = compareRuns(base, first, [second]);
  assert.deepEqual(cmp.changes.map((x) => x.kind), ['flaky']);
  assert.equal(cmp.regressed, false);
  // A crash keeps its console excerpt for the report.
  const crash = compareRuns(base, { cases: [c('S01.x', 'CRASH', undefined, { console: ['BUG: KASAN: x'] })] });
  assert.deepEqual(crash.changes[0].after?.console, ['BUG: KASAN: x']);
  assert.equal(formatChanges(compareRuns(base, base))[0], '  no change (1 cases the same)');
});
