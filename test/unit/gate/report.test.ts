import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGateText } from '../../../src/gate/report.js';
import type { GateReport, GateRun } from '../../../src/gate/types.js';

const run = (label: string): GateRun => ({ label, commit: 'a'.repeat(40), describe: label, build: 'cached', dir: '/tmp/r', runs: [], exitCode: 0 });

test('gate.txt quotes a new crash decoded (file:line) when the revision\'s run decoded it', () => {
  const trace = ['WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237 fuse_backing_open (fs/fuse/passthrough.c:237)', 'RSP: 0018:ffffc900001cfe00', 'Call Trace:', ' fuse_dev_ioctl (fs/fuse/dev.c:2379)'];
  const r: GateReport = {
    id: 'g', dir: '/tmp/g', tree: '/src/linux', selection: 'U03.dir', verdict: 'regressed', exitCode: 1, reproducer: 'kgate gate', wallMs: 1,
    base: { ref: 'base', commit: 'a'.repeat(40), describe: 'base', run: run('base') },
    revisions: [{
      label: 'V1', source: 'series/', patches: [{ n: 1, subject: 'fuse: warn' }] as GateReport['revisions'][number]['patches'], run: run('V1'),
      vsBase: { unchanged: 0, regressed: true, changes: [{ id: 'U03.dir', family: 'ioctl-open', kind: 'new-crash', before: { status: 'PASS', observed: 'EISDIR' }, after: { status: 'CRASH', observed: 'EISDIR', console: ['raw'], trace } }] },
    }],
  };
  const text = formatGateText(r).split('\n');
  const at = text.indexOf("      decoded (the tree's scripts/decode_stacktrace.sh):");
  assert.ok(at > 0, text.join('\n'));
  assert.deepEqual(text.slice(at + 1, at + 4), ['      | WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237', '        fuse_backing_open (fs/fuse/passthrough.c:237)', '      | fuse_dev_ioctl (fs/fuse/dev.c:2379)']);
  assert.ok(!text.includes('      | raw'), 'the decoded report, not the raw console');
});
