import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBisectText } from '../../../src/bisect/report.js';
import type { BisectReport } from '../../../src/bisect/types.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const report = (after: NonNullable<BisectReport['changed'][number]['after']>): BisectReport => ({
  id: 'x', dir: '/tmp/x', tree: '/src/linux', good: { ref: 'base', commit: A }, bad: { ref: 'warn-dir', commit: B },
  selection: 'U03.dir', repeat: 1, commitsInRange: 1, steps: [], builds: 0, skipped: [], log: '', reproducer: 'kgate bisect', outcome: 'found', wallMs: 1,
  firstBad: { commit: C, subject: 'fuse: warn', author: 'A <a@b>', date: '2026-01-02', files: ['fs/fuse/passthrough.c'] },
  changed: [{ id: 'U03.dir', family: 'ioctl-open', kind: 'new-crash', before: { status: 'PASS', observed: 'EISDIR' }, after }],
});

test('bisect.txt quotes a crash at bad decoded (file:line) when the run decoded it, the console\'s lines otherwise', () => {
  const console_ = ['WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237 fuse_backing_open+0x5c/0x1a0', 'Call Trace:', ' fuse_dev_ioctl+0x2a5/0x4b0'];
  const trace = ['WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237 fuse_backing_open (fs/fuse/passthrough.c:237)', 'Call Trace:', ' fuse_dev_ioctl (fs/fuse/dev.c:2379)'];
  const decoded = formatBisectText(report({ status: 'CRASH', observed: 'EISDIR', console: console_, trace })).split('\n');
  const at = decoded.indexOf("    decoded (the tree's scripts/decode_stacktrace.sh):");
  assert.ok(at > 0, decoded.join('\n'));
  assert.deepEqual(decoded.slice(at + 1, at + 4), ['    | WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237', '      fuse_backing_open (fs/fuse/passthrough.c:237)', '    | fuse_dev_ioctl (fs/fuse/dev.c:2379)']);
  const raw = formatBisectText(report({ status: 'CRASH', observed: 'EISDIR', console: console_ })).split('\n');
  assert.ok(!raw.some((l) => l.includes('decoded')), 'no decoded heading without a decoded trace');
  assert.ok(raw.includes('    |  fuse_dev_ioctl+0x2a5/0x4b0') || raw.includes('    | Call Trace:'), raw.join('\n'));
  for (const l of decoded) assert.ok(l.length <= 72 || !l.trim().includes(' '), `72 columns: ${l}`);
});
