// The status table (model.ts STATUS_FACTS): one row per status, and the orders
// the writers and verdicts rely on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATUSES, STATUS_FACTS, exitCodeOf, worstStatus, type Status } from '../../src/model.js';
import { junitKind } from '../../src/report/junit.js';
import { kcidbStatus } from '../../src/report/kcidb.js';

test('every status has one row of facts, and no row is for a status that is not', () => {
  assert.deepEqual(Object.keys(STATUS_FACTS).sort(), [...STATUSES].sort());
  assert.equal(new Set(Object.values(STATUS_FACTS).map((f) => f.letter)).size, STATUSES.length, 'letters tell statuses apart');
});

test("a group takes its worst member's status: KCIDB's order, CRASH and TIMEOUT with FAIL, XFAIL like PASS", () => {
  assert.equal(worstStatus(['PASS', 'CRASH', 'FAIL']), 'CRASH');
  assert.equal(worstStatus(['MISS', 'ERROR']), 'ERROR');
  assert.equal(worstStatus(['SKIP', 'DONE']), 'DONE');
  assert.equal(worstStatus(['XFAIL', 'SKIP']), 'XFAIL');
  assert.equal(worstStatus([]), 'SKIP');
});

test('what CI sees: exit 1 exactly for the failures; JUnit and KCIDB kinds', () => {
  const exit = (s: Status) => exitCodeOf({ cases: [{ id: 'a', family: 'f', status: s, tap: [] }] });
  assert.deepEqual(STATUSES.filter((s) => exit(s) === 1).sort(), ['CRASH', 'ERROR', 'FAIL', 'MISS', 'TIMEOUT']);
  assert.equal(junitKind('XFAIL'), 'pass');
  assert.equal(junitKind('MISS'), 'error');
  assert.equal(kcidbStatus('TIMEOUT'), 'FAIL');
  assert.equal(kcidbStatus('XFAIL'), 'PASS');
});
