import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashQuote } from '../../../src/report/oops.js';
import { formatSummaryTable } from '../../../src/report/summary.js';
import type { CaseResult } from '../../../src/model.js';

const console_ = [
  'WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237 fuse_backing_open+0x5c/0x1a0',
  'CPU: 0 UID: 0 PID: 93 Comm: kgate-suite Not tainted 6.12.118 #1',
  'RIP: 0010:fuse_backing_open+0x5c/0x1a0',
  'RSP: 0018:ffffc900001cfe00 EFLAGS: 00010246',
  'Call Trace:',
  ' fuse_dev_ioctl+0x2a5/0x4b0',
  ' __x64_sys_ioctl+0x82/0xb0',
  '---[ end trace 0000000000000000 ]---',
];
const trace = [
  'WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237 fuse_backing_open (fs/fuse/passthrough.c:237)',
  'CPU: 0 UID: 0 PID: 93 Comm: kgate-suite Not tainted 6.12.118 #1',
  'RIP: 0010:fuse_backing_open (fs/fuse/passthrough.c:237 (discriminator 1))',
  'RSP: 0018:ffffc900001cfe00 EFLAGS: 00010246',
  'Call Trace:',
  ' fuse_dev_ioctl (fs/fuse/dev.c:2379 fs/fuse/dev.c:2420)',
  ' __x64_sys_ioctl+0x82/0xb0',
  '---[ end trace 0000000000000000 ]---',
];

test('crashQuote: decoded, the first line and the frames that name a source line; else the console\'s first lines', () => {
  assert.deepEqual(crashQuote({ console: console_, trace }), {
    decoded: true,
    lines: [trace[0], trace[2], 'fuse_dev_ioctl (fs/fuse/dev.c:2379 fs/fuse/dev.c:2420)'],
  });
  assert.deepEqual(crashQuote({ console: console_ }), { decoded: false, lines: console_ });
  assert.equal(crashQuote({ console: console_, trace }, 2).lines.length, 2, 'at most max lines');
});

test('the summary places each decoded crash under its case, and says nothing of crashes that were not decoded', () => {
  const c = (id: string, extra: Partial<CaseResult>): CaseResult => ({ id, family: 'ioctl-open', status: 'CRASH', tap: [], reason: 'kernel warning while the case ran', ...extra });
  const text = formatSummaryTable({ cases: [c('U03.dir', { console: console_, trace }), c('U05.opath_dir', { console: console_ })] }).split('\n');
  const at = text.indexOf("Crashes decoded (1, the tree's scripts/decode_stacktrace.sh):");
  assert.ok(at > 0, text.join('\n'));
  assert.deepEqual(text.slice(at + 1, at + 5), ['  U03.dir:', `    ${trace[0]}`, `    ${trace[2]}`, '    fuse_dev_ioctl (fs/fuse/dev.c:2379 fs/fuse/dev.c:2420)']);
  assert.ok(!text.slice(at).some((l) => l.includes('U05.opath_dir:')));
  assert.ok(!formatSummaryTable({ cases: [c('U05.opath_dir', { console: console_ })] }).includes('Crashes decoded'));
});
