// Writers: results.json, junit.xml, the summary table.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CaseResult, RunResult } from '../../../src/model.js';
import { summarise } from '../../../src/model.js';
import { formatJUnit, formatSummaryTable, writeJUnit, writeResultsJson, xmlAttr, xmlText } from '../../../src/report/index.js';
import { parseLog, parsedLogToRun } from '../../../src/tap/index.js';
import { fixture } from '../tap/fixture-path.js';

const tmp = mkdtempSync(join(tmpdir(), 'kgate-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function run(cases: CaseResult[], extra: Partial<RunResult> = {}): RunResult {
  return { runId: 'r1', startedAt: '2025-01-01T00:00:00.000Z', target: 'qemu', cases, problems: [], summary: summarise(cases), ...extra };
}
const c = (id: string, family: string, status: CaseResult['status'], more: Partial<CaseResult> = {}): CaseResult =>
  ({ id, family, status, tap: [`ok 1 ${id}`], ...more });

/**
 * A small strict XML 1.0 well-formedness check (no dependency): one root,
 * balanced tags, quoted attributes, no raw '<' or bare '&' in text, only
 * valid characters. Returns the elements as [name, attrs, text] in order.
 */
function parseXml(xml: string): { name: string; attrs: Record<string, string>; text: string }[] {
  assert.ok(!/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(xml), 'invalid XML character');
  let s = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  s = s.replace(/<!--([\s\S]*?)-->/g, (_, body: string) => { assert.ok(!body.includes('--'), 'comment with --'); return ''; });
  const out: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const stack: number[] = [];
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let roots = 0;
  let pos = 0;
  while ((m = re.exec(s)) !== null) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      if (stack.length === 0) { assert.match(m[5], /^\s*$/, 'text outside the root'); continue; }
      assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(m[5]), `bare & in ${m[5]}`);
      out[stack[stack.length - 1]].text += m[5];
      continue;
    }
    if (m[1]) {
      const open = stack.pop();
      assert.ok(open !== undefined && out[open].name === m[2], `unbalanced </${m[2]}>`);
      continue;
    }
    if (stack.length === 0) roots++;
    const attrs: Record<string, string> = {};
    for (const a of m[3].matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
      assert.ok(!(a[1] in attrs), `duplicate attribute ${a[1]}`);
      assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(a[2]), `bare & in attribute ${a[2]}`);
      attrs[a[1]] = a[2];
    }
    out.push({ name: m[2], attrs, text: '' });
    if (!m[4]) stack.push(out.length - 1);
  }
  assert.equal(pos, s.length, `unparsed XML at ${pos}: ${s.slice(pos, pos + 40)}`);
  assert.equal(stack.length, 0, 'unclosed elements');
  assert.equal(roots, 1, 'exactly one root');
  return out;
}
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
  .replace(/&#10;/g, '\n').replace(/&#13;/g, '\r').replace(/&#9;/g, '\t').replace(/&amp;/g, '&');

describe('writeResultsJson', () => {
  it('writes results.json atomically, again and again, with a fresh summary and no temp files left', () => {
    const dir = join(tmp, 'json');
    const r = run([]);
    for (let i = 0; i < 5; i++) {
      r.cases.push(c(`A${i}.x`, 'f', i === 3 ? 'FAIL' : 'PASS'));
      writeResultsJson(dir, r);
      const back = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
      assert.equal(back.cases.length, i + 1);
      assert.equal(back.summary.total, i + 1);
    }
    const back = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
    assert.equal(back.summary.status, 'FAIL');
    assert.deepEqual(readdirSync(dir), ['results.json']);
  });
});

describe('JUnit', () => {
  const cases = [
    c('U01.ok', 'ioctl-open', 'PASS', { durationMs: 2 }),
    c('U03.dir', 'ioctl-open', 'FAIL', { reason: 'got <ENOTTY> & "not" EISDIR', expected: 'EISDIR', observed: 'ENOTTY', durationMs: 3,
      console: ['[ 1.0] \u001b[31mred\u001b[0m', 'bad \u0000 byte'] }),
    c('U10.pad', 'ioctl-open', 'XFAIL', { reason: '6.9-rc: x' }),
    c('H1.read', 'read-write', 'CRASH', { reason: 'BUG: kernel NULL pointer dereference' }),
    c('H2.write', 'read-write', 'SKIP', { reason: 'no passthrough' }),
    c('H3.t', 'read-write', 'TIMEOUT', { reason: 'after 10 s' }),
    c('H4.e', 'read-write', 'ERROR'),
    c('#7', 'read-write', 'MISS', { reason: 'never reported' }),
  ];
  const r = run(cases, { kernel: { release: '6.12.38' }, problems: ['line 3: planned 10 -- got 6 & more --->'] });

  it('is well-formed, one testsuite per family, counts right, statuses mapped', () => {
    const els = parseXml(formatJUnit(r));
    const root = els[0];
    assert.equal(root.name, 'testsuites');
    assert.deepEqual([root.attrs.tests, root.attrs.failures, root.attrs.errors, root.attrs.skipped], ['8', '1', '4', '1']);
    const suites = els.filter((e) => e.name === 'testsuite');
    assert.deepEqual(suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures, s.attrs.errors, s.attrs.skipped]),
      [['ioctl-open', '3', '1', '0', '0'], ['read-write', '5', '0', '4', '1']]);
    assert.equal(els.filter((e) => e.name === 'testcase').length, 8);
    assert.deepEqual(els.filter((e) => e.name === 'error').map((e) => e.attrs.type), ['CRASH', 'TIMEOUT', 'ERROR', 'MISS']);
    const failure = els.find((e) => e.name === 'failure')!;
    assert.equal(unescape(failure.attrs.message), 'got <ENOTTY> & "not" EISDIR');
    assert.match(unescape(failure.text), /expected: EISDIR\nobserved: ENOTTY/);
    assert.equal(els.find((e) => e.name === 'skipped')!.attrs.message, 'no passthrough');
    assert.equal(els.find((e) => e.name === 'testcase' && e.attrs.name === 'U03.dir')!.attrs.time, '0.003');
    assert.ok(els.some((e) => e.name === 'property' && e.attrs.name === 'kernel.release' && e.attrs.value === '6.12.38'));
  });

  it('puts TAP and console lines in system-out, with control characters made visible', () => {
    const els = parseXml(formatJUnit(r));
    const out = els.filter((e) => e.name === 'system-out').map((e) => unescape(e.text));
    assert.match(out[1], /--- tap\nok 1 U03\.dir\n--- console\n\[ 1\.0\] \\x1b\[31mred\\x1b\[0m\nbad \\x00 byte/);
    assert.match(out[2], /^status: XFAIL \(6\.9-rc: x\)/);
  });

  it('escapes text and attributes', () => {
    assert.equal(xmlText('a<b>&c'), 'a&lt;b&gt;&amp;c');
    assert.equal(xmlAttr(`"'\n\t<&`), '&quot;&apos;&#10;&#9;&lt;&amp;');
    assert.equal(xmlText('\uD800x'), '\\xd800x');
    assert.equal(xmlText('😀'), '😀');
  });

  it('writes junit.xml for a parsed real log', () => {
    const parsed = parseLog(fixture('kselftest-run.log'));
    const path = writeJUnit(join(tmp, 'junit'), parsedLogToRun(parsed, { runId: 'p' }));
    const els = parseXml(readFileSync(path, 'utf8'));
    assert.equal(els.filter((e) => e.name === 'testcase').length, parsed.cases.length);
    assert.deepEqual(readdirSync(join(tmp, 'junit')), ['junit.xml']);
  });
});

describe('formatSummaryTable', () => {
  it('has a row per family, a totals line, and every non-PASS case with its reason', () => {
    const r = run([
      c('U01.ok', 'ioctl-open', 'PASS'), c('U03.dir', 'ioctl-open', 'FAIL', { reason: 'observed ENOTTY, expected EISDIR' }),
      c('U10.pad', 'ioctl-open', 'XFAIL', { reason: '6.9-rc: padding' }),
      c('H1.read', 'read-write', 'CRASH', { reason: 'BUG: kernel NULL pointer dereference' }), c('H2.write', 'read-write', 'SKIP', { reason: 'no passthrough' }),
      c('H3.t', 'read-write', 'PASS', { expected: 'ok', observed: 'ok' }),
    ], { problems: ['line 9: planned 3 tests, got 2'] });
    const t = formatSummaryTable(r);
    const lines = t.split('\n');
    const header = lines.find((l) => l.startsWith('family'))!;
    assert.match(header, /family\s+total\s+pass\s+fail\s+crash\s+timeout\s+error\s+miss\s+xfail\s+skip\s+result/);
    assert.match(lines.find((l) => l.startsWith('ioctl-open'))!, /^ioctl-open\s+3\s+1\s+1\s+-\s+-\s+-\s+-\s+1\s+-\s+FAIL$/);
    assert.match(lines.find((l) => l.startsWith('read-write'))!, /^read-write\s+3\s+1\s+-\s+1\s+-\s+-\s+-\s+-\s+1\s+CRASH$/);
    assert.match(lines.find((l) => l.startsWith('TOTAL'))!, /^TOTAL\s+6\s+2\s+1\s+1\s+-\s+-\s+-\s+1\s+1\s+CRASH$/);
    const np = t.slice(t.indexOf('Not passed (3):'));
    // Worst first: the crash, then the failure, then expected failures; skips grouped by reason after.
    assert.match(np, /CRASH\s+read-write\s+H1\.read\s+BUG: kernel NULL pointer dereference\n\s+FAIL\s+ioctl-open\s+U03\.dir\s+observed ENOTTY, expected EISDIR\n\s+XFAIL .*\n\nSkipped \(1\):\n\s+1\s+no passthrough\s+\(H2\.write\)/);
    assert.ok(!np.includes('U01.ok'));
    assert.match(t, /Problems \(1\):\n  line 9: planned 3 tests, got 2/);
    assert.match(t, /Verdict: CRASH: 2 of 6 cases did not pass as expected/);
    // Columns line up: every table row is as wide as the header or narrower, no tabs.
    assert.ok(!t.includes('\t'));
  });

  it('groups SKIPs by reason, with a count per family', () => {
    const skips = Array.from({ length: 5 }, (_, i) => c(`A${i + 1}.x`, i < 3 ? 'older-a1' : 'older-r8', 'SKIP', { reason: 'kernel speaks upstream' }));
    const t = formatSummaryTable(run([...skips, c('U01.ok', 'ioctl-open', 'PASS')]));
    assert.match(t, /Skipped \(5\):\n  5\s+kernel speaks upstream\s+\(older-a1 3, older-r8 2\)/);
    assert.ok(!t.includes('Not passed'));
  });

  it('says PASS when everything is as expected, and ABORTED when the run could not finish', () => {
    assert.match(formatSummaryTable(run([c('A.a', 'f', 'PASS'), c('A.b', 'f', 'XFAIL')])), /Verdict: PASS: 2 cases as expected/);
    const aborted = formatSummaryTable(run([c('A.a', 'f', 'PASS')], { abort: { family: 'infra', reason: 'guest did not boot\nlong log' } }));
    assert.match(aborted, /Run aborted \(infra\): guest did not boot$/m);
    assert.match(aborted, /Verdict: ABORTED/);
  });

  it('summarises a parsed KUnit crash log', () => {
    const t = formatSummaryTable(parsedLogToRun(parseLog(fixture('kunit-crash.log'))));
    assert.match(t, /^example\s+2\s+1\s+-\s+1\s/m);
    assert.match(t, /CRASH\s+example\s+example\.example_simple_test/);
  });
});
