// Every fixture in test/fixtures/ktap, checked the way a user reads the result.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CaseResult, Status } from '../../../src/model.js';
import { formatParseSummary, parseLog, type ParsedLog } from '../../../src/tap/index.js';
import { FIXTURES, fixture } from './fixture-path.js';
import { formatSummaryTable } from '../../../src/report/summary.js';

const parse = (name: string): ParsedLog => parseLog(fixture(name));
const byId = (p: ParsedLog, id: string): CaseResult => {
  const c = p.cases.find((x) => x.id === id);
  assert.ok(c, `no case ${id}; have ${p.cases.map((x) => x.id).join(', ')}`);
  return c;
};
const counts = (p: ParsedLog) => p.summary.counts as Record<Status, number | undefined>;

describe('KUnit logs (tools/testing/kunit/test_data)', () => {
  it('all passed: 10 tests in 2 suites, suite names are the families, no problems', () => {
    const p = parse('kunit-all-passed.log');
    assert.equal(p.summary.total, 10);
    assert.equal(counts(p).PASS, 10);
    assert.deepEqual([...new Set(p.cases.map((c) => c.family))], ['sysctl_test', 'example']);
    assert.equal(byId(p, 'example.example_mock_test').status, 'PASS');
    assert.deepEqual(p.problems, []);
    // The unindented "init_suite" belongs to the suite, not to the structure.
    assert.deepEqual(byId(p, 'example.example_simple_test').console, ['init_suite']);
  });

  it('three levels of tab nesting give suite.sub.case ids', () => {
    const p = parse('kunit-all-passed-nested.log');
    assert.equal(p.summary.total, 7);
    assert.equal(p.summary.status, 'PASS');
    assert.equal(byId(p, 'sysctl_test.example.example_simple_test').family, 'sysctl_test');
    assert.deepEqual(p.problems, []);
  });

  it('a crashed test case is CRASH with the trace in its console lines, the others still count', () => {
    const p = parse('kunit-crash.log');
    const c = byId(p, 'example.example_simple_test');
    assert.equal(c.status, 'CRASH');
    assert.match(c.reason ?? '', /crash/i);
    assert.ok(c.console?.some((l) => l.includes('kunit_try_run_case')));
    assert.equal(byId(p, 'example.example_mock_test').status, 'PASS');
    assert.equal(counts(p).PASS, 9);
    assert.equal(p.summary.status, 'CRASH');
  });

  it('a failed expectation is FAIL with the EXPECTATION FAILED line as reason', () => {
    const p = parse('kunit-failure.log');
    const c = byId(p, 'example.example_simple_test');
    assert.equal(c.status, 'FAIL');
    assert.equal(c.reason, 'EXPECTATION FAILED at lib/kunit/example-test.c:30');
    assert.ok(c.tap.some((l) => l.includes('not ok 1 - example_simple_test')));
    assert.equal(counts(p).FAIL, 1);
    assert.equal(counts(p).PASS, 9);
  });

  it('KTAP 4-space nesting with a mis-indented result still finds both failures', () => {
    const p = parse('kunit-failure-nested.log');
    assert.equal(counts(p).FAIL, 2);
    assert.ok(p.cases.some((c) => c.id === 'subtest 2.subsubtest 1' && c.status === 'FAIL'));
  });

  it('panic mid-suite: the running test is CRASH, the rest MISS, and the problem names the line', () => {
    const p = parse('kunit-panic-interrupt.log');
    assert.equal(counts(p).PASS, 8);
    const crashed = p.cases.filter((c) => c.status === 'CRASH');
    assert.equal(crashed.length, 1);
    assert.equal(crashed[0].family, 'string-stream-test');
    assert.match(crashed[0].reason ?? '', /Kernel panic - not syncing/);
    assert.equal(counts(p).MISS, 1);
    assert.ok(p.problems.some((x) => x.line === 25 && /planned 3 tests in 'string-stream-test'.*missing 2-3.*line 20/.test(x.message)));
    assert.ok(p.problems.some((x) => /string-stream-test.*no result line/.test(x.message)));
    assert.notEqual(p.summary.status, 'PASS');
  });

  it('kernel messages interleaved inside a suite are console lines, not results', () => {
    const p = parse('kunit-interrupted-noise.log');
    assert.equal(p.summary.total, 10);
    assert.equal(counts(p).PASS, 10);
    const c = byId(p, 'kunit-resource-test.kunit_resource_test_cleanup_resources');
    assert.ok(c.console?.some((l) => l.includes('kAFS: Red Hat AFS client')));
    // The VFS panic after "List of all partitions:" is past the end of the stream.
    assert.deepEqual(p.problems, []);
  });

  it('boot noise and a WARNING before the stream starts are ignored', () => {
    const p = parse('kunit-output-isolated.log');
    assert.equal(p.summary.total, 2);
    assert.equal(p.summary.status, 'PASS');
    assert.deepEqual(p.problems, []);
  });

  it("'#' inside unknown lines does not confuse the parser", () => {
    const p = parse('kunit-pound-sign.log');
    assert.equal(counts(p).PASS, 10);
    assert.deepEqual(p.problems, []);
  });

  it('printk caller-id prefixes "[ts][    T1] " are stripped like timestamps', () => {
    const p = parse('kunit-multiple-prefixes.log');
    assert.equal(counts(p).PASS, 10);
    assert.deepEqual(p.problems, []);
    assert.ok(byId(p, 'string-stream-test.string_stream_test_get_string'));
  });

  it('SKIP directives in 4-space KUnit output', () => {
    const p = parse('kunit-skip-tests.log');
    assert.equal(counts(p).PASS, 4);
    assert.equal(byId(p, 'example.example_skip_test').status, 'SKIP');
    assert.equal(byId(p, 'example.example_skip_test').reason, 'this test should be skipped');
    const all = parse('kunit-skip-all.log');
    assert.equal(all.summary.total, 5);
    assert.equal(counts(all).SKIP, 5);
    assert.equal(all.summary.status, 'SKIP');
  });

  it('KTAP 2-space nesting with the subtest header after the version line, and attributes', () => {
    for (const f of ['kunit-parse-subtest-header.log', 'kunit-parse-attributes.log']) {
      const p = parse(f);
      assert.deepEqual(p.cases.map((c) => [c.family, c.id, c.status]), [['suite', 'suite.test', 'PASS']], f);
      assert.deepEqual(p.problems, [], f);
    }
  });

  it('a suite without a plan still parses', () => {
    const p = parse('kunit-missing-plan.log');
    assert.equal(counts(p).PASS, 10);
  });

  it("kunit's kselftest log: wrappers are the tests, their '# '-prefixed TAP the subtests", () => {
    const p = parse('kunit-kselftest.log');
    assert.equal(p.summary.total, 4);
    assert.equal(counts(p).PASS, 4);
    assert.ok(p.cases.every((c) => c.family === 'membarrier'));
    assert.ok(byId(p, 'membarrier_test_single_thread.sys_membarrier available'));
  });
});

describe('kselftest logs', () => {
  it('0-day statmount report: the failing subtest is FAIL, the unreported second test MISS', () => {
    const p = parse('kselftest-statmount-0day.log');
    const failed = p.cases.filter((c) => c.status === 'FAIL');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].family, 'filesystems/statmount');
    assert.match(failed[0].id, /^statmount_test\.unexpected mount options/);
    assert.equal(counts(p).PASS, 14);
    assert.equal(counts(p).MISS, 1);
    assert.ok(p.problems.some((x) => /planned 2 tests .*got 1/.test(x.message)));
  });

  it('run_kselftest.sh shapes: exit=N, SKIP, TIMEOUT, XFAIL, XPASS, error, Bail out, missing file', () => {
    const p = parse('kselftest-run.log');
    assert.equal(byId(p, 'devpts_pts').status, 'FAIL');
    assert.equal(byId(p, 'devpts_pts').reason, 'exit=1');
    assert.equal(byId(p, 'devpts_pts').family, 'filesystems');
    assert.equal(byId(p, 'fusectl_test.global.abort_write_bytes').status, 'PASS');
    assert.equal(byId(p, 'dev_in_maps').status, 'SKIP');
    assert.equal(byId(p, 'dev_in_maps').reason, 'overlayfs not available');
    assert.equal(byId(p, 'hugetlb-madvise').status, 'TIMEOUT');
    assert.equal(byId(p, 'hugetlb-madvise').reason, 'timeout 45 seconds');
    assert.ok(byId(p, 'hugetlb-madvise').console?.some((l) => l.includes('drop_caches')));
    assert.equal(byId(p, 'ktap_demo.known bug').status, 'XFAIL');
    assert.equal(byId(p, 'ktap_demo.#3').status, 'FAIL'); // XPASS
    assert.equal(byId(p, 'ktap_demo.#4').status, 'ERROR');
    assert.equal(byId(p, 'ktap_demo.#5').status, 'MISS');
    assert.match(byId(p, 'ktap_demo.#5').reason ?? '', /bailed out.*cannot continue/);
    assert.equal(byId(p, 'passthrough_missing').status, 'FAIL');
    // The bail-out is one ERROR of ktap_demo's own, with its reason (issue 13).
    assert.equal(byId(p, 'ktap_demo.bail out').status, 'ERROR');
    assert.match(byId(p, 'ktap_demo.bail out').reason ?? '', /bailed out \(line 40\): cannot continue/);
    assert.equal(p.summary.total, 12);
    assert.ok(p.problems.some((x) => x.line === 40 && /bail out/.test(x.message)));
  });
});

describe("kgate's own format (docs/suite-protocol.md)", () => {
  it('every directive maps to its status, with expected/observed/ms/details from the diagnostics', () => {
    const p = parse('kgate-ioctl-open.log');
    assert.deepEqual(p.cases.map((c) => [c.id, c.status]), [
      ['U01.never_opened', 'PASS'], ['U03.dir', 'FAIL'], ['H1.read', 'PASS'], ['U10.padding', 'XFAIL'],
      ['A1.valid', 'SKIP'], ['U22.double', 'TIMEOUT'], ['U30.setup', 'ERROR'],
    ]);
    assert.ok(p.cases.every((c) => c.family === 'ioctl-open' && c.api === 'upstream' && c.kernel?.release === '6.18.44'));
    const dir = byId(p, 'U03.dir');
    assert.equal(dir.observed, 'ENOTTY');
    assert.equal(dir.expected, 'EISDIR');
    assert.equal(dir.durationMs, 3);
    assert.match(dir.reason ?? '', /^FUSE_DEV_IOC_BACKING_OPEN on a directory/);
    assert.deepEqual(byId(p, 'H1.read').details, { fuse_read: '0', fuse_write: '0', bytes: '4096' });
    assert.equal(byId(p, 'U10.padding').reason, '6.9-rc: padding not checked (aef8acd79f36)');
    assert.equal(byId(p, 'A1.valid').reason, 'kernel speaks upstream');
    assert.equal(byId(p, 'U22.double').reason, 'after 10 s');
    assert.equal(byId(p, 'U30.setup').reason, 'could not create the backing file');
    // The header and plan belong to the document, not to case 1.
    assert.deepEqual(byId(p, 'U01.never_opened').tap, ['# U01.never_opened observed=EBADF expected=EBADF ms=2', 'ok 1 U01.never_opened']);
    assert.deepEqual(p.problems, []);
  });

  it('truncated: plan 10, 6 results -> 6 PASS + 4 MISS, one problem with the line number', () => {
    const p = parse('kgate-truncated.log');
    assert.equal(p.summary.total, 10);
    assert.equal(counts(p).PASS, 6);
    assert.equal(counts(p).MISS, 4);
    assert.deepEqual(p.cases.filter((c) => c.status === 'MISS').map((c) => c.id), ['#7', '#8', '#9', '#10']);
    assert.equal(p.summary.status, 'MISS');
    assert.equal(p.problems.length, 1);
    assert.equal(p.problems[0].line, 16);
    assert.match(p.problems[0].message, /planned 10 tests \(line 3\), got 6: missing 7-10/);
    // The half-written diagnostic goes with the first missing case.
    assert.ok(byId(p, '#7').tap.includes('# H7.truncate observed='));
  });

  it('serial console: an Oops while H3.mmap ran makes it CRASH; kernel lines stay console lines', () => {
    const p = parse('kgate-console-interleaved.log');
    assert.deepEqual(p.cases.map((c) => c.status), ['PASS', 'PASS', 'CRASH', 'PASS', 'PASS']);
    const c = byId(p, 'H3.mmap');
    assert.match(c.reason ?? '', /BUG: kernel NULL pointer dereference.*line 16/);
    assert.equal(c.observed, 'SIGKILL');
    assert.ok(c.console?.some((l) => l.includes('fuse_passthrough_mmap')));
    assert.ok(!c.tap.some((l) => l.includes('fuse_passthrough_mmap')));
    assert.equal(byId(p, 'H4.splice').status, 'PASS'); // benign kernel line in its window
    assert.ok(p.cases.every((x) => x.family === 'passthrough-io'));
    assert.deepEqual(p.problems, []);
  });

  it('two binaries in one log: two documents, each with its family', () => {
    const p = parse('kgate-two-families.log');
    assert.deepEqual(p.cases.map((c) => `${c.family}:${c.id}:${c.status}`), [
      'ioctl-open:A1.valid:PASS', 'ioctl-open:A2.bad_flags:PASS', 'read-write:H1.read:FAIL', 'read-write:H2.write:SKIP',
    ]);
    assert.equal(p.documents.length, 2);
    assert.equal(byId(p, 'H1.read').details?.fuse_read, '1');
  });

  it('a real run on Android V1 (ioctl 127): what the kernel speaks, and why, on every case and in every summary', () => {
    const p = parse('kgate-android-v1-127.log');
    assert.equal(p.summary.total, 35);
    assert.equal(counts(p).PASS, 13);
    assert.equal(counts(p).SKIP, 22);
    for (const c of p.cases) {
      assert.equal(c.kernel?.speaks, 'a1 (ioctl 127)', c.id);
      if (c.api === 'a1') assert.equal(c.status, 'PASS', c.id);
      else assert.deepEqual([c.status, c.reason], ['SKIP', 'kernel speaks a1 (ioctl 127)'], c.id);
    }
    assert.match(p.documents[0].meta.why, /^a1 \(ioctl 127\): INIT offers flags 1<<31, ioctl 127 answers EINVAL$/);
    assert.equal(p.documents[0].meta.probe_127, 'EINVAL');
    // the header's words are the document's, not case 1's
    assert.ok(byId(p, 'A1.valid').tap.every((l) => !l.startsWith('# kgate')));
    assert.deepEqual(byId(p, 'A5.rw').details, { fuse_read: '0', fuse_write: '0', fuse_open: '1', fuse_release: '0', fuse_getattr: '0', bytes: '4096', written: '4096' });
    assert.match(formatSummaryTable({ cases: p.cases }), /\nVerdict: PASS: 35 cases as expected; kernel speaks a1 \(ioctl 127\)$/);
    assert.match(formatParseSummary(p), /^On 5\.10\.223, the kernel speaks a1 \(ioctl 127\)\.$/m);
    assert.deepEqual(p.problems, []);
  });

  it('the ktap.rst example: three levels of 2-space nesting', () => {
    const p = parse('ktap-spec-example.log');
    assert.equal(p.summary.total, 6);
    assert.equal(byId(p, 'main_test.example_test_3.test_2').status, 'FAIL');
    assert.equal(byId(p, 'main_test.example_test_2.test_1').status, 'SKIP');
    assert.deepEqual(p.problems, []);
  });
});

describe('every fixture', () => {
  for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.log'))) {
    it(`${f}: parses without throwing, at least one case, a kunit.py-like summary`, () => {
      const p = parse(f);
      assert.ok(p.cases.length > 0);
      assert.equal(p.summary.total, p.cases.length);
      assert.match(formatParseSummary(p), /^Testing complete\. Ran \d+ tests?: passed: \d+/);
      for (const c of p.cases) assert.ok(c.id && c.family && c.status, JSON.stringify(c));
    });
  }
});
