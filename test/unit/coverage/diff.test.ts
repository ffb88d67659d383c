import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { diffExits, readCoverageRows, renderDiff } from '../../../src/coverage/diff.js';
import { KgateError } from '../../../src/model.js';

const row = (func: string, errno: string, line: number, hit: boolean, hitBy: string[] = []) =>
  ({ file: 'fs/fuse/passthrough.c', func, kind: 'goto' as const, errno, line, judgement: { hit }, hitBy });

test('diffExits: matched by function, kind and errno (not line); newly hit, no longer hit, new and gone exits', () => {
  const a = [row('fuse_backing_close', 'EPERM', 281, false), row('fuse_backing_close', 'EINVAL', 285, true), row('fuse_backing_open', 'ELOOP', 244, true), row('gone', 'EIO', 10, false)];
  // b: the same code 3 lines lower, a new exit, one exit gone.
  const b = [row('fuse_backing_close', 'EPERM', 284, true, ['U12.no_flag_close']), row('fuse_backing_close', 'EINVAL', 288, true), row('fuse_backing_open', 'ELOOP', 247, false), row('fuse_backing_open', 'ENOMEM', 250, false)];
  const d = diffExits(a, b);
  assert.deepEqual(d.newlyHit.map((r) => `${r.func} ${r.errno} ${r.line}`), ['fuse_backing_close EPERM 284']);
  assert.deepEqual(d.noLongerHit.map((r) => `${r.func} ${r.errno}`), ['fuse_backing_open ELOOP']);
  assert.deepEqual(d.onlyB.map((r) => r.errno), ['ENOMEM']);
  assert.deepEqual(d.onlyA.map((r) => r.func), ['gone']);
  const text = renderDiff(d, 'A', 'B');
  assert.match(text, /^newly hit: 1\n {2}passthrough\.c:284 fuse_backing_close goto EPERM by U12\.no_flag_close$/m);
  assert.match(text, /^no longer hit: 1$/m);
});

test('diffExits: two exits of one function with the same errno are told apart by their order', () => {
  const a = [row('f', 'EINVAL', 10, true), row('f', 'EINVAL', 20, false)];
  const b = [row('f', 'EINVAL', 11, true), row('f', 'EINVAL', 21, true)];
  assert.deepEqual(diffExits(a, b).newlyHit.map((r) => r.line), [21]);
});

test('readCoverageRows: a directory without coverage.json, or a file that is not one, is one line for the user', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgate-covdiff-'));
  assert.throws(() => readCoverageRows(dir), (e: unknown) => e instanceof KgateError && e.family === 'user' && /no coverage\/coverage\.json/.test(e.message));
  mkdirSync(path.join(dir, 'coverage'));
  writeFileSync(path.join(dir, 'coverage', 'coverage.json'), '{"x":1}');
  assert.throws(() => readCoverageRows(dir), (e: unknown) => e instanceof KgateError && /not a coverage\.json of kgate/.test(e.message));
});
