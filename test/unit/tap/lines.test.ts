// The line-type table of src/tap/lines.ts: each shape read once, first match wins.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../../../src/tap/lines.js';

describe('classify', () => {
  it('gives each line one type, the structure before the loose lines', () => {
    const cases: [string, string][] = [
      ['KTAP version 1', 'version'],
      ['TAP version 13', 'version'],
      ['ok 1 # Subtest: x', 'result'],        // a result, never a subtest header
      ['not ok 2 selftests: dir: bin # exit=1', 'result'],
      ['1..88', 'plan'],
      ['# Subtest: suite', 'subtest'],
      ['Bail out! mount failed', 'bailout'],
      ['pragma +strict', 'pragma'],
      ['# Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0', 'totals'],
      ['# selftests: timers: posix_timers', 'selftest'],
      ['PASS: 0 returned as expected', 'counted'],
      ['# overriding timeout to 5', 'other'],
      ['Diff too high: 3239020..not ok 1 ITIMER_VIRTUAL', 'other'], // glued: the stream decides
    ];
    for (const [line, type] of cases) assert.equal(classify(line).type, type, line);
  });

  it('reads the fields of the shapes the stream acts on', () => {
    assert.deepEqual(classify('1..0 # SKIP no sync framework'), { type: 'plan', start: 1, end: 0, skipAll: 'no sync framework' });
    assert.deepEqual(classify('# Totals: pass:3 fail:1'), { type: 'totals', counts: { pass: 3, fail: 1 } });
    assert.deepEqual(classify('# selftests: filesystems/fuse: fusectl_test'), { type: 'selftest', family: 'filesystems/fuse', binary: 'fusectl_test' });
    assert.deepEqual(classify('Bail out!  no mount '), { type: 'bailout', reason: 'no mount' });
  });
});
