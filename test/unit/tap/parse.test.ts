// Line shapes and stream behaviour of src/tap on small, synthetic inputs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CaseResult } from '../../../src/model.js';
import {
  KtapNormaliser, KtapStream, formatParseSummary, parseKtap, parseLog, parseResultLine, toCaseResults, type TapCase,
} from '../../../src/tap/index.js';

const lines = (...l: string[]) => l.join('\n') + '\n';

describe('parseResultLine', () => {
  it('reads every directive, case-insensitively, and keeps its text', () => {
    const cases: [string, string | undefined, string][] = [
      ['ok 1 a # SKIP no feature', 'SKIP', 'no feature'],
      ['ok 1 a # skip', 'SKIP', ''],
      ['not ok 1 a # TODO later', 'TODO', 'later'],
      ['ok 1 a # XFAIL 6.9-rc: bug (abc123)', 'XFAIL', '6.9-rc: bug (abc123)'],
      ['ok 1 # XPASS fixed', 'XPASS', 'fixed'],
      ['not ok 1 a # TIMEOUT after 10 s', 'TIMEOUT', 'after 10 s'],
      ['not ok 1 # error setup failed', 'ERROR', 'setup failed'],
      ['not ok 1 a # exit=1', undefined, ''],
    ];
    for (const [line, kind, text] of cases) {
      const r = parseResultLine(line);
      assert.ok(r, line);
      assert.equal(r.directive?.kind, kind, line);
      if (kind) assert.equal(r.directive?.text, text, line);
    }
    assert.equal(parseResultLine('not ok 1 a # exit=1')?.comment, 'exit=1');
  });

  it('handles "- " separators, escaped #, missing numbers and time', () => {
    assert.deepEqual(parseResultLine('ok 12 - name with spaces'), { ok: true, number: 12, name: 'name with spaces' });
    assert.equal(parseResultLine('ok 1 a \\# b')?.name, 'a # b');
    assert.equal(parseResultLine('ok a')?.number, undefined);
    assert.equal(parseResultLine('ok 3 t # time=12ms')?.durationMs, 12);
    assert.equal(parseResultLine('okay 1 x'), null);
    assert.equal(parseResultLine('yest ok 1 - x'), null);
  });
});

describe('directives -> statuses', () => {
  it('maps ok/not ok and every directive', () => {
    const p = parseLog(lines('KTAP version 1', '1..9',
      'ok 1 A1.pass', 'not ok 2 A2.fail', 'ok 3 A3.skip # SKIP why', 'not ok 4 A4.skipnotok # SKIP why',
      'ok 5 A5.xfail # XFAIL r', 'not ok 6 A6.timeout # TIMEOUT after 3 s', 'not ok 7 A7.error # ERROR broken',
      'not ok 8 A8.todo # TODO later', 'ok 9 A9.xpass # XPASS oops'), { family: 'f' });
    assert.deepEqual(p.cases.map((c) => c.status),
      ['PASS', 'FAIL', 'SKIP', 'SKIP', 'XFAIL', 'TIMEOUT', 'ERROR', 'XFAIL', 'FAIL']);
    assert.ok(p.cases.every((c) => c.family === 'f'));
    assert.deepEqual(p.problems, []);
  });
});

describe('nesting', () => {
  const leafIds = (text: string) => parseLog(text).cases.map((c) => `${c.id}=${c.status}`);

  it('KTAP 2-space nesting', () => {
    assert.deepEqual(leafIds(lines('KTAP version 1', '1..2', '  KTAP version 1', '  1..2', '  ok 1 a', '  not ok 2 b',
      'not ok 1 s1', '  KTAP version 1', '  1..1', '  ok 1 c', 'ok 2 s2')), ['s1.a=PASS', 's1.b=FAIL', 's2.c=PASS']);
  });

  it('KUnit 4-space nesting with "# Subtest:" before the version line', () => {
    const text = lines('KTAP version 1', '1..1', '    # Subtest: fuse_suite', '    # module: fuse', '    KTAP version 1', '    1..2',
      '    ok 1 t1', '    # t2: EXPECTATION FAILED at fs/fuse/x.c:1', '    not ok 2 t2', '# fuse_suite: pass:1 fail:1', 'not ok 1 fuse_suite');
    const p = parseLog(text);
    assert.deepEqual(p.cases.map((c) => `${c.family}/${c.id}=${c.status}`), ['fuse_suite/fuse_suite.t1=PASS', 'fuse_suite/fuse_suite.t2=FAIL']);
    assert.equal(p.cases[1].reason, 'EXPECTATION FAILED at fs/fuse/x.c:1');
    assert.deepEqual(p.problems, []);
  });

  it('TAP14 "# Subtest" at the parent level names the indented child', () => {
    assert.deepEqual(leafIds(lines('TAP version 14', '1..1', '# Subtest: grp', '    1..1', '    ok 1 x', 'ok 1 grp')), ['grp.x=PASS']);
  });

  it('a parent that fails with all subtests passing keeps its own failure', () => {
    assert.deepEqual(leafIds(lines('KTAP version 1', '1..1', '  KTAP version 1', '  1..1', '  ok 1 a', 'not ok 1 s # exit=3')),
      ['s.a=PASS', 's=FAIL']);
  });

  it('kselftest "# "-prefixed child TAP under a wrapper', () => {
    const p = parseLog(lines('TAP version 13', '1..1', '# selftests: fuse: passthrough', '# TAP version 13', '# 1..2',
      '# ok 1 open', '# not ok 2 read', '# # Totals: pass:1 fail:1', 'not ok 1 selftests: fuse: passthrough # exit=1'));
    assert.deepEqual(p.cases.map((c) => `${c.family}/${c.id}=${c.status}`), ['fuse/passthrough.open=PASS', 'fuse/passthrough.read=FAIL']);
  });
});

describe('console prefixes', () => {
  it('strips printk timestamps found on the version line, whatever their width', () => {
    const p = parseLog(lines('[    1.000000] boot', '[    1.234567] KTAP version 1', '[    1.234568] 1..2',
      '[    9.999999] ok 1 a', '[   10.000001] fuse: note', '[12345.000001] not ok 2 b'), { family: 'f' });
    assert.deepEqual(p.cases.map((c) => `${c.id}=${c.status}`), ['a=PASS', 'b=FAIL']);
    assert.deepEqual(p.cases[1].console, ['fuse: note']);
    assert.deepEqual(p.problems, []);
  });

  it('strips a literal prefix and treats lines without it as noise', () => {
    const p = parseLog(lines('guest1: KTAP version 1', 'guest1: 1..1', 'ok 1 not-mine', 'guest1: ok 1 mine'), { family: 'f' });
    assert.deepEqual(p.cases.map((c) => c.id), ['mine']);
    assert.deepEqual(p.cases[0].console, ['ok 1 not-mine']);
  });

  it('CRLF line ends from a serial console', () => {
    const p = parseLog('KTAP version 1\r\n1..1\r\nok 1 a\r\n', { family: 'f' });
    assert.deepEqual(p.cases.map((c) => `${c.id}=${c.status}`), ['a=PASS']);
  });

  it('the normaliser marks pre, tap, end and post lines and crash markers', () => {
    const n = new KtapNormaliser();
    const kinds = ['boot', 'KTAP version 1', '1..1', '[ 1.0] BUG: KASAN: use-after-free in fuse_x', 'Kernel panic - not syncing: Fatal exception', 'after']
      .map((l) => n.push(l));
    assert.deepEqual(kinds.map((k) => k.kind), ['pre', 'tap', 'tap', 'tap', 'end', 'post']);
    assert.equal(kinds[3].crash, 'BUG: KASAN: use-after-free in fuse_x');
    assert.ok(kinds[4].crash);
  });
});

describe('truncated and broken input', () => {
  it('plan of 10 with 6 results: 4 MISS and a problem with the plan line, never a throw', () => {
    const body = ['KTAP version 1', '1..10'];
    for (let i = 1; i <= 6; i++) body.push(`ok ${i} C${i}.x`);
    const p = parseLog(lines(...body), { family: 'f' });
    assert.equal(p.cases.length, 10);
    assert.equal(p.cases.filter((c) => c.status === 'MISS').length, 4);
    assert.equal(p.problems.length, 1);
    assert.match(p.problems[0].message, /planned 10 tests \(line 2\), got 6: missing 7-10/);
  });

  it('a panic after the last result: the next planned case is CRASH', () => {
    const p = parseLog(lines('KTAP version 1', '1..3', 'ok 1 a', '[ 5.1] Kernel panic - not syncing: Fatal exception'), { family: 'f' });
    assert.deepEqual(p.cases.map((c) => c.status), ['PASS', 'CRASH', 'MISS']);
  });

  it("kgate's own suite: a WARN inside a passing case makes it CRASH", () => {
    const p = parseLog(lines('KTAP version 1', '1..1', '[ 2.0] WARNING: CPU: 0 PID: 42 at fs/fuse/passthrough.c:10 fuse_x+0x1/0x2', 'ok 1 a'), { family: 'f', source: 'kgate-suite' });
    assert.equal(p.cases[0].status, 'CRASH');
  });

  it('numbering errors, results beyond the plan and duplicate plans are problems with line numbers', () => {
    const p = parseKtap(lines('KTAP version 1', '1..2', 'ok 1 a', 'ok 3 c', 'ok 3 d', '1..5'));
    const msgs = p.problems.map((x) => `${x.line}:${x.message}`);
    assert.ok(msgs.some((m) => m.startsWith('4:expected test 2, got 3')));
    assert.ok(msgs.some((m) => m.startsWith('4:test 3 is beyond the plan')));
    assert.ok(msgs.some((m) => m.startsWith('5:test number 3 reported twice')));
    assert.ok(msgs.some((m) => m.startsWith('6:second plan')));
  });

  it('empty input and input without TAP give a problem and no cases', () => {
    for (const text of ['', 'just a boot log\nnothing else\n']) {
      const p = parseLog(text);
      assert.equal(p.cases.length, 0);
      assert.equal(p.problems.length, 1);
      assert.match(formatParseSummary(p), /Ran 0 tests/);
    }
  });

  it('garbage never throws', () => {
    const junk = ['KTAP version 1', '  1..x', '    ok', 'not ok', '1..', '  KTAP version 1', 'Bail out!', '# Subtest:', '\u0000\u001b[31m', ' '.repeat(50) + 'ok 1 z', 'ok 99999999999999999999 big'];
    for (let i = 0; i < 200; i++) {
      const pick = Array.from({ length: 12 }, (_, j) => junk[(i * 7 + j * 13) % junk.length]);
      assert.doesNotThrow(() => parseLog(pick.join('\n')));
    }
  });
});

describe('KtapStream', () => {
  it('emits each top-level case as its result line arrives, before the end', () => {
    const seen: string[] = [];
    const s = new KtapStream({ onCase: (tc: TapCase) => seen.push(tc.name) });
    s.push('KTAP version 1');
    s.push('1..3');
    s.push('# U1.a observed=ok expected=ok ms=1');
    assert.deepEqual(seen, []);
    s.push('ok 1 U1.a');
    assert.deepEqual(seen, ['U1.a']);
    s.push('not ok 2 U2.b');
    assert.deepEqual(seen, ['U1.a', 'U2.b']);
    const res = s.end();
    assert.deepEqual(seen, ['U1.a', 'U2.b', '']); // the missing third at end()
    assert.equal(res.tests[2].status, 'MISS');
  });

  it('onCaseResult gives model cases with the context family; missing:false leaves MISS naming to the runner', () => {
    const got: CaseResult[] = [];
    const s = new KtapStream({ onCaseResult: (c) => got.push(c), context: { family: 'ioctl-open', api: 'a2' }, missing: false });
    s.write('KTAP version 1\n1..3\n# U1.a observed=EBADF expected=EBADF ms=4\nok 1 U1.a\nnot ok 2 U2');
    assert.equal(got.length, 1);
    s.write('.b # TIMEOUT after 1 s\n');
    assert.equal(got.length, 2);
    s.end();
    assert.deepEqual(got.map((c) => [c.id, c.family, c.api, c.status]), [['U1.a', 'ioctl-open', 'a2', 'PASS'], ['U2.b', 'ioctl-open', 'a2', 'TIMEOUT']]);
    assert.equal(got[0].durationMs, 4);
  });

  it('a nested suite is emitted when its own result line arrives', () => {
    const seen: string[] = [];
    const s = new KtapStream({ onCase: (tc) => seen.push(`${tc.name}:${tc.subtests.length}`) });
    for (const l of ['KTAP version 1', '1..1', '    # Subtest: s', '    KTAP version 1', '    1..1', '    ok 1 t']) s.push(l);
    assert.deepEqual(seen, []);
    s.push('ok 1 s');
    assert.deepEqual(seen, ['s:1']);
  });

  it('toCaseResults on a parsed tree matches parseLog', () => {
    const text = lines('KTAP version 1', '# kgate family=x api=upstream release=6.12.1', '1..1', 'ok 1 A1.a');
    const tree = parseKtap(text);
    assert.deepEqual(toCaseResults(tree), parseLog(text).cases);
    assert.equal(toCaseResults(tree, { family: 'override' })[0].family, 'override');
  });
});
