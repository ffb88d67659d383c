import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileOf, parseInfo, totals } from '../../../src/coverage/info.js';
import { rebase } from '../../../src/coverage/lcov.js';
import { parseSnapshot, snapshotCommand } from '../../../src/coverage/guest.js';

const INFO = `TN:
SF:/c/trees/linux-1/src/fs/fuse/iomode.c
FN:30,fuse_file_cached_io_open
FN:85,fuse_inode_uncached_io_start
FNDA:12,fuse_file_cached_io_open
FNDA:0,fuse_inode_uncached_io_start
FNF:2
FNH:1
BRDA:54,0,0,0
BRDA:54,0,1,12
BRDA:93,0,0,-
BRDA:93,0,1,-
BRF:4
BRH:1
DA:30,12
DA:54,12
DA:57,0
DA:85,0
DA:93,0
LF:5
LH:2
end_of_record
TN:
SF:/c/trees/linux-1/src/fs/fuse/iomode.c
FN:30,fuse_file_cached_io_open
FNDA:3,fuse_file_cached_io_open
BRDA:54,0,0,1
BRDA:54,0,1,2
DA:30,3
DA:57,1
end_of_record
`;

test('parseInfo: records of one file met twice are added up; "-" arcs stay unexecuted', () => {
  const tf = parseInfo(INFO);
  assert.equal(tf.size, 1);
  const cov = fileOf(tf, 'fs/fuse/iomode.c')!;
  assert.equal(cov.functions.get('fuse_file_cached_io_open')!.count, 15);
  assert.equal(cov.lines.get(30), 15);
  assert.equal(cov.lines.get(57), 1);
  assert.deepEqual(cov.branches.get(54), [{ block: 0, branch: 0, taken: 1 }, { block: 0, branch: 1, taken: 14 }]);
  assert.deepEqual(cov.branches.get(93), [{ block: 0, branch: 0, taken: null }, { block: 0, branch: 1, taken: null }]);
  assert.deepEqual(totals(cov), { lines: [3, 5], branches: [2, 4], functions: [1, 2] });
  assert.deepEqual(totals(cov, 80, 100), { lines: [0, 2], branches: [0, 2], functions: [0, 1] });
  assert.equal(fileOf(tf, 'fs/fuse/file.c'), undefined);
});

test('rebase: SF paths of the build checkout become the kept copies; nothing else changes', () => {
  const out = rebase(INFO, '/c/trees/linux-1/src', '/c/builds/k/gcov/src');
  assert.match(out, /^SF:\/c\/builds\/k\/gcov\/src\/fs\/fuse\/iomode\.c$/m);
  assert.doesNotMatch(out, /trees\/linux-1/);
  assert.equal(out.split('\n').length, INFO.split('\n').length);
});

test('parseSnapshot: "F path" then base64 lines per file; an empty file is kept', () => {
  const a = Buffer.from([0x67, 0x63, 0x64, 0x61, 0, 1, 2, 255]);
  const b64 = a.toString('base64');
  const files = parseSnapshot(['F fs/fuse/dev.gcda', b64.slice(0, 4), b64.slice(4), 'F fs/backing-file.gcda', 'F fs/fuse/file.gcda', 'AAEC']);
  assert.deepEqual([...files.keys()], ['fs/fuse/dev.gcda', 'fs/backing-file.gcda', 'fs/fuse/file.gcda']);
  assert.deepEqual(files.get('fs/fuse/dev.gcda'), a);
  assert.equal(files.get('fs/backing-file.gcda')!.length, 0);
  assert.deepEqual(files.get('fs/fuse/file.gcda'), Buffer.from([0, 1, 2]));
  // cat, never tar: debugfs's gcov files say their size is 0.
  assert.match(snapshotCommand('/c/trees/x/obj-1'), /^cd \/sys\/kernel\/debug\/gcov\/c\/trees\/x\/obj-1 && find fs -name '\*\.gcda'.*base64 < "\$f"/);
});
