import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resultsFromConsole } from '../../../src/lava/results.js';
import { parseLavaLog } from '../../../src/lava/log.js';

const plan = {
  kernel: { release: '6.12.118+deb12-cloud-amd64', kernelVersion: '6.12.118' },
  items: [
    { binary: 'kgate-ioctl-open', family: 'ioctl-open', api: 'upstream', caseIds: ['U01.never_opened', 'U03.dir', 'U04.opath_file'] },
    { binary: 'kgate-init', family: 'init', api: 'upstream', caseIds: ['I1.offered'] },
  ],
};
const head = ['[    0.000000] Linux version 6.12.118', 'kgate-lava: suite 6.12.118+deb12-cloud-amd64 4 cases', 'kgate-lava: begin ioctl-open',
  'KTAP version 1', '# kgate family=ioctl-open api=upstream release=6.12.118+deb12-cloud-amd64 generation=upstream passthrough=yes minor=41', '1..3',
  '# U01.never_opened observed=EBADF expected=EBADF ms=2', 'ok 1 U01.never_opened', 'kgate-lava: case U01.never_opened pass 9 EBADF'];

test('a kernel report between two result lines makes the second case CRASH; the others are judged as locally', () => {
  const r = resultsFromConsole([...head,
    '[   12.000000] WARNING: CPU: 0 PID: 77 at fs/fuse/dev.c:1 fuse_request_end+0x1/0x2', '[   12.000001] ---[ end trace 0000000000000000 ]---',
    '# U03.dir observed=EISDIR expected=EISDIR ms=3', 'ok 2 U03.dir',
    '# U04.opath_file observed=ok expected=ok ms=3', 'ok 3 U04.opath_file', 'kgate-lava: end ioctl-open rc=0',
    'kgate-lava: begin init', 'KTAP version 1', '1..1', '# I1.offered observed=ok expected=ok ms=1', 'ok 1 I1.offered', 'kgate-lava: end init rc=0', 'kgate-lava: done'], plan);
  assert.deepEqual(r.cases.map((c) => [c.id, c.status]), [['U01.never_opened', 'PASS'], ['U03.dir', 'CRASH'], ['U04.opath_file', 'PASS'], ['I1.offered', 'PASS']]);
  assert.match(r.cases[1].reason!, /^kernel warning while the case ran: WARNING: CPU: 0 PID: 77/);
  assert.equal(r.release, '6.12.118+deb12-cloud-amd64');
  assert.equal(r.abort, undefined);
  assert.ok(!r.ktap.some((l) => l.startsWith('kgate-lava:') || l.startsWith('[')));
});

test('a binary that ends early: ERROR for the case it owed (TIMEOUT when the deadline killed it), the rest MISS', () => {
  const r = resultsFromConsole([...head, 'kgate-lava: end ioctl-open rc=137', 'kgate-lava: begin init', 'kgate-lava: end init rc=1'], plan);
  assert.deepEqual(r.cases.map((c) => [c.id, c.status]), [['U01.never_opened', 'PASS'], ['U03.dir', 'TIMEOUT'], ['U04.opath_file', 'MISS'], ['I1.offered', 'ERROR']]);
  assert.match(r.cases[3].reason!, /kgate-init exited \(code 1\)/);
});

test('a console that ends in a panic: CRASH with the excerpt, the rest MISS; without a report it is an infra fault', () => {
  const panic = resultsFromConsole([...head, '[   13.0] sysrq: Trigger a crash', '[   13.1] Kernel panic - not syncing: sysrq triggered crash', '[   13.2] CPU: 0 PID: 80'], plan);
  assert.deepEqual(panic.cases.map((c) => c.status), ['PASS', 'CRASH', 'MISS', 'MISS']);
  assert.ok(panic.cases[1].console!.some((l) => l.startsWith('Kernel panic')));
  const lost = resultsFromConsole(head, plan, { jobError: 'Infrastructure: lava test monitoring has timed out' });
  assert.deepEqual(lost.cases.map((c) => c.status), ['PASS', 'MISS', 'MISS', 'MISS']);
  assert.match(lost.abort!.reason, /console ended while kgate-ioctl-open ran U03.dir \(Infrastructure: lava test monitoring/);
});

test('the job log: target lines, results with kgate\'s id and errno, the job\'s error; JSON and YAML entries', () => {
  const log = parseLavaLog([
    '- {"dt": "2026-12-03T11:18:00.80", "lvl": "target", "msg": "kgate-lava: begin ioctl-close"}',
    '{"dt": "x", "lvl": "results", "msg": {"case": "u21_unknown", "definition": "ioctl-close", "extra": {"test_case_id": "U21.unknown"}, "level": "3.1", "measurement": "2", "result": "pass", "units": "ENOENT"}}',
    '{"dt": "x", "lvl": "results", "msg": {"case": "file-download", "definition": "lava", "extra": {"size": ! "11657728"}, "result": "pass"}}',
    '{"dt": "x", "lvl": "results", "msg": {"case": "job", "definition": "lava", "error_msg": "Connection closed", "error_type": "Bug", "result": "fail"}}',
    'garbage',
  ].join('\n'));
  assert.deepEqual(log.target, ['kgate-lava: begin ioctl-close']);
  assert.equal(log.results.length, 3);
  assert.deepEqual({ ...log.results[0], extra: undefined }, { suite: 'ioctl-close', case: 'u21_unknown', result: 'pass', measurement: '2', units: 'ENOENT', testCaseId: 'U21.unknown', extra: undefined });
  assert.deepEqual(log.error, { type: 'Bug', message: 'Connection closed' });
  assert.equal(log.unreadable, 1);
});
