import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { renderMatrixHtml, writeMatrixHtml } from '../../../src/report/html.js';
import { matrixCaseIds } from '../../../src/report/matrix.js';
import { bigMatrix, smallMatrix, NASTY_REASON } from './matrix-fixture.js';

const boxes = (html: string) => html.match(/class="cell[ "]/g)?.length ?? 0;
const statusesOf = (html: string) => [...html.matchAll(/class="cell [^"]*" data-status="([^"]*)"/g)].map((x) => x[1]);

test('renderMatrixHtml: one box per case per cell, each with its status as text and data-status', () => {
  const m = smallMatrix();
  const html = renderMatrixHtml(m);
  assert.equal(boxes(html), matrixCaseIds(m).length * m.cells.length);
  assert.equal(boxes(html), 14);
  const st = statusesOf(html);
  assert.equal(st.length, 14);
  for (const s of ['PASS', 'FAIL', 'XFAIL', 'CRASH', 'SKIP', 'TIMEOUT']) assert.ok(st.includes(s), s);
  // The status text is in the box, not only its colour.
  assert.match(html, /data-status="CRASH"><details><summary><span class="st CRASH">CRASH<\/span>/);
  assert.match(html, /data-status="PASS"><span class="st PASS">PASS<\/span>/);
  // Non-PASS boxes expand; PASS boxes do not.
  assert.equal(html.match(/<td class="cell [^"]*" data-status="(?!PASS)[^"]*"><details>/g)?.length, st.filter((s) => s !== 'PASS').length);
  // History: one mark per point, its title date, kernel, status, observed.
  // (consecutive equal points share the title of the span around their marks).
  assert.equal(html.match(/<div class="h">.*?<\/div>/g)?.join('').match(/<b>[A-Z]<\/b>/g)?.length, 14 * 3);
  assert.match(html, /<div class="h"><span class="PASS" title="2026-12-01 to 2026-12-02 \(2 nights\) · 6\.12\.117\+deb12-cloud-amd64 5e1f0a2b3c4d · PASS · EISDIR"><b>P<\/b><b>P<\/b><\/span><span class="FAIL" title="2026-12-03 · 6\.12\.118\+deb12-cloud-amd64 7161a0db0a38 · FAIL · ok"><b>F<\/b><\/span><\/div>/);
  // Two outcomes on one kernel: flaky, though tonight is no change.
  assert.equal(html.match(/class="fl"/g)?.length, 1);
  assert.match(html, /<span class="FAIL" title="2026-12-02 · 6\.12\.57-kgate 0123456789ab · FAIL · EIO"><b>F<\/b><\/span><span class="PASS" title="2026-12-03 [^"]*"><b>P<\/b><\/span> <span class="fl"/);
  // Column heads: name, release, counts.
  assert.match(html, /6\.12\.57-kgate/);
  assert.match(html, /<span class="st CRASH">CRASH 1<\/span>/);
  assert.match(html, /expected <code>EISDIR<\/code>, observed <code>ok<\/code>/);
});

test('renderMatrixHtml: every text from a run is escaped', () => {
  const m = smallMatrix();
  m.title = 'night <b>&</b>';
  m.cells[0].run!.cases[1].tap.push('# diag <tag attr="x"> & more');
  m.cells[0].history['U03.dir'][0].observed = '"><script>x</script>';
  const html = renderMatrixHtml(m);
  assert.ok(!html.includes(NASTY_REASON), 'the raw reason must not appear');
  assert.ok(html.includes('saw &lt;script&gt;alert("x")&lt;/script&gt; &amp; more'));
  assert.equal(html.match(/<script>/g)?.length, 1, 'only kgate\'s own print script');
  assert.ok(html.includes('fuse: &lt;bad&gt; &amp; "quoted"'));
  assert.ok(html.includes('# diag &lt;tag attr="x"&gt; &amp; more'));
  assert.ok(html.includes('<title>night &lt;b&gt;&amp;&lt;/b&gt;</title>'));
  assert.ok(html.includes('&quot;&gt;&lt;script&gt;x&lt;/script&gt;'), 'attribute values escape quotes');
  assert.ok(!html.includes('<b>&</b>'));
});

test('renderMatrixHtml: nothing from the network', () => {
  const html = renderMatrixHtml(bigMatrix());
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.doesNotMatch(html, /<link\b/i);
});

test('renderMatrixHtml: comparison per cell, first night, unchanged and failed cells', () => {
  const small = renderMatrixHtml(smallMatrix());
  const changes = small.slice(small.indexOf('<section id="changes">'), small.indexOf('<section id="matrix">'));
  assert.deepEqual([...changes.matchAll(/<tr data-case="([^"]*)" data-kind="([^"]*)"/g)].map((x) => `${x[1]}:${x[2]}`).sort(),
    ['K1.hang:new-failure', 'K2.panic:new-crash', 'U03.dir:new-failure', 'U05.fifo:fixed']);
  assert.match(changes, /observed <code>EISDIR<\/code> expected <code>EISDIR<\/code>.*&rarr;.*FAIL<\/span> observed <code>ok<\/code>/);
  assert.match(changes, /2 new failures since 2026-12-02/);
  const m = bigMatrix();
  const html = renderMatrixHtml(m);
  assert.equal(boxes(html), 105 * 4);
  assert.match(html, /<div class="cmp" data-cell="cell1">.*first night/);
  assert.match(html, /<div class="cmp" data-cell="cell2">.*skipped as unchanged/);
  assert.match(html, /<div class="cmp" data-cell="cell3">.*no result tonight: make: \*\*\* \[Makefile:1234: vmlinux\] Error 2 &lt;in fs\/fuse\/passthrough\.c&gt;/);
  assert.equal(statusesOf(html).filter((s) => s === 'none').length, 105, 'the failed cell has an empty box per case');
  const noChange = smallMatrix();
  noChange.cells[0].vsLast!.comparison = { changes: [], unchanged: 7, regressed: false };
  assert.match(renderMatrixHtml(noChange), /no change since 2026-12-02 \(run 20261202T020000Z\): 7 cases the same/);
});

test('renderMatrixHtml: a nightly of 105 cases x 4 cells stays small, and prints', () => {
  const html = renderMatrixHtml(bigMatrix());
  assert.ok(Buffer.byteLength(html) < 300_000, `report.html is ${Buffer.byteLength(html)} bytes`);
  const print = html.slice(html.indexOf('@media print{'), html.indexOf('</style>'));
  assert.ok(print.includes('.st,.h b{background:none!important;color:#000!important'), 'no colour needed on paper');
  assert.match(html, /details::details-content\{content-visibility:visible;display:block\}/);
});

test('writeMatrixHtml writes dir/report.html with no temporary file left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-html-'));
  try {
    const m = smallMatrix();
    const path = writeMatrixHtml(dir, m);
    assert.equal(path, join(dir, 'report.html'));
    assert.equal(readFileSync(path, 'utf8'), renderMatrixHtml(m));
    assert.deepEqual(readdirSync(dir), ['report.html']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a nightly\'s own bisect and its regressions: the culprit, its checks, the list\'s lines and each regression\'s life, escaped', () => {
  const m = smallMatrix();
  const cell = m.cells[0];
  const good = 'a'.repeat(40);
  const bad = 'b'.repeat(40);
  const culprit = 'c'.repeat(40);
  cell.bisect = {
    cases: ['U03.dir'], good: { date: '2026-11-30', commit: good }, bad: { date: m.date, commit: bad, describe: 'v6.13-rc1' },
    outcome: 'found', culprit: { commit: culprit, subject: 'fuse: <accept> any & every file', verified: true, revert: 'PASS', verify: 'PASS', why: [] },
    dir: 'bisect/x', builds: 1, steps: 6,
  };
  m.reporter = 'A Maintainer <m@example.org>';
  m.regressions = [
    { cell: cell.name, case: 'U03.dir', appeared: m.date, lastSeen: m.date, open: true, lastPassed: { date: '2026-11-30', commit: good }, bisect: { ...cell.bisect, date: m.date } },
    { cell: cell.name, case: 'U05.opath_dir', appeared: '2026-11-01', lastSeen: '2026-11-02', open: false, closed: m.date, lastPassed: { date: '2026-10-31' } },
  ];
  const html = renderMatrixHtml(m);
  const bis = /<div class="bis ok" data-outcome="found">(.*?)<\/div>/s.exec(html)?.[1] ?? '';
  assert.match(bis, /first bad commit \(verified\)<\/strong>: <code>c{12}<\/code> fuse: &lt;accept&gt; any &amp; every file/);
  assert.match(bis, /Checks: revert: PASS, verify: PASS/);
  assert.match(bis, /^Fixes: c{12} \("fuse: &lt;accept&gt; any &amp; every file"\)$/m);
  assert.match(bis, /^#regzbot introduced: c{12}<\/pre>/m);
  assert.match(bis, /^Reported-by: A Maintainer &lt;m@example\.org&gt;$/m);
  assert.match(bis, /<a href="bisect\/x\/bisect\.txt">/);
  const rows = [...html.matchAll(/<tr data-case="([^"]*)" data-open="(true|false)">(.*?)<\/tr>/gs)];
  assert.deepEqual(rows.map((r) => [r[1], r[2]]), [['U03.dir', 'true'], ['U05.opath_dir', 'false']]);
  assert.match(rows[0][3], /<strong>still fails<\/strong>.*<code>c{12}<\/code>.*\(verified\)/s);
  assert.match(rows[1][3], /passes again since .*not bisected/s);
  // Unverified: no Fixes:, regzbot gets the range.
  cell.bisect.culprit!.verified = false;
  const un = renderMatrixHtml(m);
  assert.doesNotMatch(un, /^Fixes: /m);
  assert.match(un, /^#regzbot introduced: a{12}\.\.b{12}<\/pre>/m);
  assert.match(un, /<div class="bis" data-outcome="found">/);
});
