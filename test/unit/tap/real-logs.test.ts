// `kgate parse` on real kselftest and KUnit output (test/fixtures/real-logs,
// made by the commands its README gives). The truth for each log is its own
// "# Totals:" line (or, where it has none, what the README says), and the exit
// status must be 0 exactly when every case passed or was skipped.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import type { CaseResult, Status } from '../../../src/model.js';
import { parseLog } from '../../../src/tap/index.js';
import { projectRoot } from '../../../src/util/paths.js';

const DIR = join(projectRoot(), 'test', 'fixtures', 'real-logs');
const kgateBin = join(projectRoot(), 'bin', 'kgate.js');

interface Parsed { code: number; cases: CaseResult[]; stdout: string }

/** The CLI itself, as a user runs it: the table and summary, and the cases as JSON. */
async function kgateParse(name: string): Promise<Parsed> {
  const file = join(DIR, name);
  const [json, text] = await Promise.all([
    execa('node', [kgateBin, 'parse', '--json', file], { reject: false, stdin: 'ignore' }),
    execa('node', [kgateBin, 'parse', file], { reject: false, stdin: 'ignore' }),
  ]);
  assert.equal(json.exitCode, text.exitCode);
  return { code: text.exitCode ?? -1, cases: JSON.parse(String(json.stdout)) as CaseResult[], stdout: String(text.stdout) };
}

/** kselftest.h's ksft_print_cnts() line, as statuses ("xpass" is a FAIL for kgate, as kselftest counts it a failure). */
function totalsOf(text: string): Partial<Record<Status, number>>[] {
  const out: Partial<Record<Status, number>>[] = [];
  for (const m of text.matchAll(/^(?:# )*# Totals: (.*)$/gm)) {
    const kv = Object.fromEntries(m[1].trim().split(/\s+/).map((x) => x.split(':')).map(([k, v]) => [k, Number(v)]));
    const t: Partial<Record<Status, number>> = { PASS: kv.pass ?? 0, FAIL: (kv.fail ?? 0) + (kv.xpass ?? 0), XFAIL: kv.xfail ?? 0, SKIP: kv.skip ?? 0 };
    if (kv.error !== undefined) t.ERROR = kv.error;
    out.push(t);
  }
  return out;
}

function countsOf(cases: CaseResult[], statuses: Status[]): Partial<Record<Status, number>> {
  const c: Partial<Record<Status, number>> = {};
  for (const s of statuses) c[s] = cases.filter((x) => x.status === s).length;
  return c;
}

const OK = new Set<Status>(['PASS', 'SKIP', 'XFAIL']);
const expectedExit = (cases: CaseResult[]) => (cases.every((c) => OK.has(c.status)) ? 0 : 1);
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');

describe('kselftest binaries run directly', () => {
  it('kcmp_test counts instead of listing (1..3, PASS: lines, Totals pass:3): three PASS, exit 0, and a problem saying so', async () => {
    const r = await kgateParse('kselftest-kcmp-counters.log');
    const [totals] = totalsOf(read('kselftest-kcmp-counters.log'));
    assert.deepEqual(countsOf(r.cases, ['PASS', 'FAIL', 'XFAIL', 'SKIP', 'ERROR']), totals);
    assert.equal(r.cases.length, 3);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /results counted, not listed, taken from # Totals/);
  });

  it("posix_timers' results glued behind 'Diff too high: N..': FAIL of the right case, the counts of Totals, exit 1", async () => {
    const r = await kgateParse('kselftest-posix-timers-glued.log');
    const [totals] = totalsOf(read('kselftest-posix-timers-glued.log'));
    assert.deepEqual(countsOf(r.cases, ['PASS', 'FAIL', 'XFAIL', 'SKIP', 'ERROR']), totals);
    assert.equal(r.cases.find((c) => c.id === 'ITIMER_VIRTUAL')?.status, 'FAIL');
    assert.equal(r.cases.filter((c) => c.status === 'MISS').length, 0);
    assert.equal(r.code, expectedExit(r.cases));
    assert.equal(r.code, 1);
  });

  it('pidfd_poll_test: no TAP version line, no plan, one ok and Totals: one PASS, exit 0', async () => {
    const r = await kgateParse('kselftest-pidfd-no-header.log');
    const [totals] = totalsOf(read('kselftest-pidfd-no-header.log'));
    assert.deepEqual(countsOf(r.cases, ['PASS', 'FAIL', 'XFAIL', 'SKIP', 'ERROR']), totals);
    assert.equal(r.code, 0);
  });

  it("sync_test skipped whole ('1..0 # SKIP', exit 4, no Totals): one SKIP with the reason, exit 0", async () => {
    const r = await kgateParse('kselftest-sync-skip-all.log');
    assert.deepEqual(r.cases.map((c) => [c.status, c.reason]), [['SKIP', 'Sync framework not supported by kernel']]);
    assert.equal(r.code, 0);
  });

  it('resolve_test bailed out after 1..88: one ERROR with the reason, 88 MISS, Totals (all 0) still agree, exit 1', async () => {
    const r = await kgateParse('kselftest-openat2-bailout.log');
    const [totals] = totalsOf(read('kselftest-openat2-bailout.log'));
    // Totals counts what ran (nothing); the bail-out itself is the one ERROR, as the README says.
    assert.deepEqual(countsOf(r.cases, ['PASS', 'FAIL', 'XFAIL', 'SKIP']), { PASS: totals.PASS, FAIL: totals.FAIL, XFAIL: totals.XFAIL, SKIP: totals.SKIP });
    const errors = r.cases.filter((c) => c.status === 'ERROR');
    assert.equal(errors.length, 1);
    assert.match(errors[0].reason ?? '', /bailed out \(line 3\): resolve_test\.c:54 mount failed - errno:22/);
    assert.equal(r.cases.filter((c) => c.status === 'MISS').length, 88);
    assert.equal(r.code, 1);
  });
});

describe('run_kselftest.sh (one TAP document per collection, each binary nested under "# ")', () => {
  const name = 'kselftest-runner-timeout.log';

  it("both levels: the runner's verdict per binary, the nested cases counted beside, the summary says which", async () => {
    const r = await kgateParse(name);
    const p = parseLog(read(name));
    assert.deepEqual(p.runner.map((v) => `${v.family}:${v.binary}=${v.status}`),
      ['kcmp:kcmp_test=PASS', 'openat2:resolve_test=FAIL', 'pidfd:pidfd_poll_test=PASS', 'sync:sync_test=SKIP', 'timers:posix_timers=TIMEOUT']);
    assert.equal(p.runner[1].reason, 'exit=1');
    // The top level is the runner's (issue 27): one result per binary, the nested cases beside.
    assert.match(r.stdout, /^Testing complete\. Ran 5 tests: passed: 2, failed: 1, timed out: 1, skipped: 1$/m);
    assert.match(r.stdout, new RegExp(`^Counted per binary, as kselftest's runner does \\(5 binaries\\)\\. Nested test cases: ran ${r.cases.length}: `, 'm'));
    assert.equal(r.code, expectedExit(r.cases));
    assert.equal(r.code, 1);
  });

  it("each binary's nested cases give its own Totals", async () => {
    const r = await kgateParse(name);
    const text = read(name).replace(/\r/g, '');
    const sections = text.split(/^TAP version 13$/m).filter((s) => s.trim());
    for (const s of sections) {
      const bin = /^# selftests: (\S+): (\S+)$/m.exec(s);
      const [totals] = totalsOf(s);
      if (!bin || !totals) continue;
      const mine = r.cases.filter((c) => c.family === bin[1] && (c.id === bin[2] || c.id.startsWith(`${bin[2]}.`)) && c.status !== 'MISS' && c.id !== `${bin[2]}.bail out`);
      assert.deepEqual(countsOf(mine, ['PASS', 'FAIL', 'XFAIL', 'SKIP']), { PASS: totals.PASS, FAIL: totals.FAIL, XFAIL: totals.XFAIL, SKIP: totals.SKIP }, `${bin[1]}:${bin[2]}`);
    }
    // kcmp_test counted (3), pidfd_poll_test printed no version line of its own: both still found.
    assert.equal(r.cases.filter((c) => c.family === 'kcmp' && c.status === 'PASS').length, 3);
    assert.equal(r.cases.filter((c) => c.family === 'pidfd' && c.status === 'PASS').length, 1);
  });

  it('the binary that timed out is TIMEOUT at the runner level, its cases cut short MISS, the 18 planned all accounted for', async () => {
    const r = await kgateParse(name);
    // Issue 27: the binary's timeout is named by its first unreported case, not counted as a 19th.
    assert.equal(parseLog(read(name)).runner.find((v) => v.binary === 'posix_timers')?.status, 'TIMEOUT');
    assert.equal(r.cases.find((c) => c.id === 'posix_timers'), undefined);
    assert.match(r.cases.find((c) => c.id === 'posix_timers.#1')?.reason ?? '', /posix_timers timed out \(timeout 5 seconds\)$/);
    const nested = r.cases.filter((c) => c.id.startsWith('posix_timers.'));
    assert.equal(nested.length, 18);
    assert.ok(nested.some((c) => c.status === 'MISS'));
    assert.equal(r.cases.find((c) => c.id === 'resolve_test.bail out')?.status, 'ERROR');
    assert.equal(r.cases.find((c) => c.id === 'sync_test')?.reason, 'Sync framework not supported by kernel');
  });
});

describe('the runner\'s own top level (issue 27)', () => {
  /** The runner's own lines: one "ok N selftests: dir: bin [# directive]" per binary, as statuses. */
  const runnerLines = (text: string): Partial<Record<Status, number>> => {
    const c: Partial<Record<Status, number>> = {};
    for (const m of text.replace(/\r/g, '').matchAll(/^(not ok|ok) \d+ selftests: \S+: \S+(?: # (SKIP|TIMEOUT))?/gm)) {
      const s: Status = m[2] === 'SKIP' ? 'SKIP' : m[2] === 'TIMEOUT' ? 'TIMEOUT' : m[1] === 'ok' ? 'PASS' : 'FAIL';
      c[s] = (c[s] ?? 0) + 1;
    }
    return c;
  };

  for (const name of ['kselftest-runner-timeout.log', 'kselftest-runner-killed-after-plan.log', 'kselftest-make-run-tests.log']) {
    it(`${name}: the top-level totals are the runner's per-binary results, the nested counts beside`, async () => {
      const r = await kgateParse(name);
      const truth = runnerLines(read(name));
      const total = Object.values(truth).reduce((a, b) => a + (b ?? 0), 0);
      const p = parseLog(read(name));
      assert.equal(p.top.total, total);
      assert.deepEqual(p.top.counts, truth);
      assert.equal(p.summary.total, r.cases.length);
      assert.match(r.stdout, new RegExp(`^Testing complete\\. Ran ${total} tests?: `, 'm'));
      assert.match(r.stdout, new RegExp(`Nested test cases: ran ${r.cases.length}: `));
    });
  }

  it('a binary killed after its plan (1..18, then the runner\'s TIMEOUT): exactly the 18 planned, all MISS, the timeout named once, exit 1', async () => {
    const name = 'kselftest-runner-killed-after-plan.log';
    const r = await kgateParse(name);
    const planned = Number(/^# 1\.\.(\d+)/m.exec(read(name))![1]);
    assert.equal(planned, 18);
    assert.equal(r.cases.length, planned);
    assert.ok(r.cases.every((c) => c.status === 'MISS' && c.family === 'timers'));
    assert.equal(r.cases.filter((c) => /timed out \(timeout 1 seconds\)/.test(c.reason ?? '')).length, 1);
    assert.match(r.stdout, /^  TIMEOUT timers:posix_timers  timeout 1 seconds$/m);
    assert.equal(r.code, 1);
  });
});

describe('make run_tests (make\'s own lines around the runner\'s output)', () => {
  it('a counting target and a skipped one: kcmp_test\'s Totals (3 pass), sync_test SKIP, exit 0 (it failed the whole run before)', async () => {
    const name = 'kselftest-make-run-tests.log';
    const r = await kgateParse(name);
    const [totals] = totalsOf(read(name));
    assert.deepEqual(countsOf(r.cases.filter((c) => c.family === 'kcmp'), ['PASS', 'FAIL', 'XFAIL', 'SKIP', 'ERROR']), totals);
    assert.deepEqual(r.cases.filter((c) => c.family === 'sync').map((c) => c.status), ['SKIP']);
    assert.equal(r.code, 0);
  });
});

describe('a console Oops inside a test that then reports ok: the source of the log decides', () => {
  const log = ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: kunit_fault', '    1..1',
    '[    1.200000] BUG: kernel NULL pointer dereference, address: 0000000000000000',
    '[    1.200001] Oops: Oops: 0002 [#1] PREEMPT NOPTI',
    '    ok 1 kunit_test_null_dereference', 'ok 1 kunit_fault'].join('\n') + '\n';

  it('a saved log (kgate parse): PASS, with the Oops kept as a note and a problem line', () => {
    const p = parseLog(log);
    assert.deepEqual(p.cases.map((c) => `${c.id}=${c.status}`), ['kunit_fault.kunit_test_null_dereference=PASS']);
    assert.match(p.cases[0].reason ?? '', /reported ok after a kernel crash marker.*NULL pointer dereference/);
    assert.ok(p.problems.some((x) => /reported ok after .* kept as PASS \(saved log\)/.test(x.message)));
  });

  it("kgate's own suite: CRASH, as before (no case of kgate's expects an Oops)", () => {
    const p = parseLog(log, { source: 'kgate-suite' });
    assert.equal(p.cases[0].status, 'CRASH');
  });

  it('a saved log where the test reported not ok, or never reported: CRASH', () => {
    assert.equal(parseLog(log.replace('    ok 1 kunit_test', '    not ok 1 kunit_test')).cases[0].status, 'CRASH');
    const cut = log.split('\n').slice(0, 7).join('\n') + '\n';
    assert.equal(parseLog(cut).cases[0].status, 'CRASH');
  });

  const kunit = 'kunit-x86_64-6.12-boot.log';
  it('a real KUnit boot of 6.12 (kunit_fault oopses, then ok): each suite gives its own # Totals, kunit_fault PASS, exit 1 for its one real failure', async () => {
    const r = await kgateParse(kunit);
    // KUnit prints "# Totals: pass:N fail:N skip:N total:N" before a suite's result, counting parameters,
    // and only for a suite of more than one case; a one-case suite's truth is its own result line.
    const text = read(kunit).replace(/\r/g, '');
    const suites = [...text.matchAll(/^(?:# Totals: pass:(\d+) fail:(\d+) skip:(\d+) total:(\d+)\n)?(not ok|ok) \d+ (\S+)$/gm)];
    assert.equal(suites.length, 14);
    for (const m of suites) {
      const mine = r.cases.filter((c) => c.family === m[6]);
      if (m[1] === undefined) {
        assert.deepEqual(mine.map((c) => c.status), [m[5] === 'ok' ? 'PASS' : 'FAIL'], m[6]);
      } else {
        assert.deepEqual(countsOf(mine, ['PASS', 'FAIL', 'SKIP']), { PASS: Number(m[1]), FAIL: Number(m[2]), SKIP: Number(m[3]) }, m[6]);
        assert.equal(mine.length, Number(m[4]), m[6]);
      }
    }
    const fault = r.cases.find((c) => c.family === 'kunit_fault')!;
    assert.equal(fault.status, 'PASS');
    assert.match(fault.reason ?? '', /NULL pointer dereference/);
    assert.equal(r.code, expectedExit(r.cases));
    assert.equal(r.code, 1, 'kunit_platform_device_add_twice_fails_test really fails on this tiny config');
    const own = parseLog(text, { source: 'kgate-suite' });
    assert.equal(own.cases.find((c) => c.family === 'kunit_fault')?.status, 'CRASH', "kgate's own rule makes the Oops a CRASH");
  });
});
