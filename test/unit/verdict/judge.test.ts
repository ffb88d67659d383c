import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, judgeResult } from '../../../src/verdict/judge.js';
import { parseKernelVersion, parseRange, rangeContains, kernelVersionOf } from '../../../src/verdict/version.js';
import { CASES, getCase } from '../../../src/catalog/index.js';
import type { CaseResult } from '../../../src/model.js';

const dir = getCase('U03.dir');
const v = (s: string) => parseKernelVersion(s)!;

test('every range of the catalog parses (a typo fails here, not at a user)', () => {
  for (const c of CASES) for (const k of c.known) assert.doesNotThrow(() => parseRange(k.range), `${c.id}: ${k.range}`);
});

test('versions from releases, and range containment with rc ranges', () => {
  assert.equal(kernelVersionOf({ release: '6.12.57+deb12-cloud-amd64' })?.patch, 57);
  assert.ok(rangeContains(parseRange('6.12-6.16'), v('6.16.3')));
  assert.ok(!rangeContains(parseRange('6.12-6.16'), v('6.17.0')));
  assert.ok(rangeContains(parseRange('6.9-rc'), v('6.9.0-rc3')));
  assert.ok(!rangeContains(parseRange('6.9-rc'), v('6.9.0')));
});

test('the verdict table: current outcome, older outcome inside its range, the same outside it, unknown', () => {
  assert.equal(judge(dir, 'EISDIR', { version: '6.18.0' }).status, 'PASS');
  const old = judge(dir, 'ok', { version: '6.14.2' });
  assert.equal(old.status, 'XFAIL');
  assert.match(old.reason!, /known in 6\.12-6\.16: .* \(fixed by e9c8da670e74\)/);
  const regressed = judge(dir, 'ok', { version: '6.18.0' });
  assert.equal(regressed.status, 'FAIL');
  assert.match(regressed.reason!, /regressed to the 6\.12-6\.16 behaviour fixed by e9c8da670e74/);
  // A tree whose Makefile says 6.17.0: newer than the range, so FAIL too.
  assert.equal(judge(dir, 'ok', { version: '6.17.0' }).status, 'FAIL');
  // 6.12.48 carries the backport: a directory accepted there is a regression (the reverted test tree).
  assert.equal(judge(dir, 'ok', { version: '6.12.118' }).status, 'FAIL');
  assert.equal(judge(dir, 'ok', { version: '6.12.40' }).status, 'XFAIL');
  assert.equal(judge(dir, 'ENOMEM', { version: '6.18.0' }).status, 'FAIL');
  assert.match(judge(dir, 'ok', {}).reason!, /kernel version unknown/);
  assert.equal(judge(dir, 'ok', {}).status, 'XFAIL');
});

test('judgeResult re-judges only PASS/XFAIL/FAIL with an observed token; a non-token FAIL stays FAIL', () => {
  const base: CaseResult = { id: 'U03.dir', family: 'ioctl-open', status: 'XFAIL', observed: 'ok', expected: 'EISDIR', tap: [] };
  assert.equal(judgeResult(base, { release: '6.18.0' }).status, 'FAIL');
  assert.equal(judgeResult(base, { release: '6.14.0' }).status, 'XFAIL');
  for (const status of ['SKIP', 'CRASH', 'TIMEOUT', 'ERROR', 'MISS'] as const) {
    assert.equal(judgeResult({ ...base, status }, { release: '6.18.0' }).status, status);
  }
  // The harness failed it although the token is right (say a read reached the server): kept.
  const fail = { ...base, status: 'FAIL' as const, observed: 'EISDIR', reason: 'FUSE_READ reached the server' };
  assert.deepEqual(judgeResult(fail, { release: '6.18.0' }), fail);
  const foreign = { ...base, id: 'kunit.case' };
  assert.deepEqual(judgeResult(foreign, { release: '6.18.0' }), foreign);
});
