// report.html in a real browser: Debian's chromium, headless, loads the page
// from a file (no network), and its DOM and a screenshot are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeMatrixHtml } from '../../src/report/html.js';
import { matrixCaseIds } from '../../src/report/matrix.js';
import { smallMatrix, SMALL_CHANGES } from '../unit/report/matrix-fixture.js';
import { tempDir } from './helpers.js';
import { pidsWhere } from './procs.js';
import { chromium, chromiumSkip as skip, textOf } from './chromium.js';


test('report.html in headless chromium: the matrix, a failure\'s errno, the changes, a screenshot', { skip, timeout: 180_000 }, async () => {
  const dir = tempDir('kgate-html-e2e-');
  const m = smallMatrix();
  const page = writeMatrixHtml(dir, m);
  const url = pathToFileURL(page).href;

  const { stdout: dom } = await chromium(join(dir, 'profile-dom'), ['--dump-dom'], url);
  assert.match(dom, /<h1>kgate nightly 2026-12-03<\/h1>/, 'the browser rendered the page');

  // One box per case per cell, each with a status.
  const boxes = [...dom.matchAll(/<td class="cell ([^"]*)" data-status="([^"]*)"/g)];
  assert.equal(boxes.length, matrixCaseIds(m).length * m.cells.length);
  assert.equal(boxes.length, 14);
  assert.ok(boxes.every((b) => b[1] === b[2]), 'class and data-status agree');

  // A failing case's errno is in the page text: the tree's U07.pipe observed EISDIR where EINVAL is expected.
  const row = dom.slice(dom.indexOf('<tr id="case-U07.pipe">'), dom.indexOf('</tr>', dom.indexOf('<tr id="case-U07.pipe">')));
  const treeBox = textOf(row.split('<td class="cell ')[2] ?? '');
  assert.match(treeBox, /^FAIL" data-status="FAIL"> FAIL EISDIR /);
  assert.match(treeBox, /expected EINVAL , observed EISDIR/);
  assert.ok(textOf(dom).includes('EISDIR'));
  // Escaped text stays text: the reason's <script> is shown, never run or parsed as markup.
  assert.ok(textOf(dom).includes('saw <script>alert("x")</script> & more'));
  assert.equal(dom.match(/<script>/g)?.length, 1, 'only kgate\'s own print script');

  // The comparison section names exactly the changed cases, per cell.
  const changes = dom.slice(dom.indexOf('<section id="changes">'), dom.indexOf('<section id="matrix">'));
  const named: string[] = [];
  for (const cmp of changes.split('<div class="cmp" ').slice(1)) {
    const cell = /^data-cell="([^"]*)"/.exec(cmp)![1];
    for (const x of cmp.matchAll(/<tr data-case="([^"]*)" data-kind="([^"]*)"><td class="cid"><a [^>]*>([^<]*)<\/a>/g)) {
      assert.equal(x[3], x[1], 'the row shows the case it is for');
      named.push(`${cell}:${x[1]}:${x[2]}`);
    }
  }
  assert.deepEqual(named.sort(), [...SMALL_CHANGES].sort());
  const changedIds = new Set(SMALL_CHANGES.map((x) => x.split(':')[1]));
  for (const id of matrixCaseIds(m)) {
    assert.equal(textOf(changes).includes(` ${id} `), changedIds.has(id), `${id} ${changedIds.has(id) ? 'missing from' : 'named in'} the changes`);
  }

  const png = join(dir, 'report.png');
  await chromium(join(dir, 'profile-shot'), [`--screenshot=${png}`, '--window-size=1400,1000', '--hide-scrollbars'], url);
  assert.ok(existsSync(png), 'the screenshot was written');
  assert.ok(statSync(png).size > 10 * 1024, `the screenshot is ${statSync(png).size} bytes`);
  assert.deepEqual([...readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');

  // Nothing of ours left running: chromium's crashpad handler runs in a session of its own, outside the
  // group, and goes when the browser has gone; give it a few seconds, then kill what is left by its pid.
  const ours = () => pidsWhere(() => true).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir); } catch { return false; }
  });
  for (let i = 0; i < 50 && ours().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  const left = ours();
  for (const p of left) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  assert.deepEqual(left, [], 'chromium processes left behind');
});

const pdfPages = (path: string) => readFileSync(path).toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;

test('report.html printed: every <details> is open on paper', { skip, timeout: 180_000 }, async () => {
  const dir = tempDir('kgate-html-print-');
  const page = writeMatrixHtml(dir, smallMatrix());
  // The same page with every box opened by hand, and with the print style and script taken out.
  const html = readFileSync(page, 'utf8');
  const open = join(dir, 'open.html');
  writeFileSync(open, html.replace(/<details>/g, '<details open>'));
  const bare = join(dir, 'bare.html');
  writeFileSync(bare, html.replace(/<script>.*?<\/script>/s, '').replace(/@media print\{details::details-content\{[^}]*\}\}/, ''));
  const pdf = async (file: string) => {
    const out = `${file}.pdf`;
    await chromium(join(dir, `profile-${file.split('/').pop()}`), [`--print-to-pdf=${out}`, '--no-pdf-header-footer'], pathToFileURL(file).href);
    return { pages: pdfPages(out), bytes: statSync(out).size };
  };
  const [printed, opened, closed] = [await pdf(page), await pdf(open), await pdf(bare)];
  assert.ok(closed.pages > 0);
  assert.equal(printed.pages, opened.pages, 'printing opens every box');
  assert.ok(Math.abs(printed.bytes - opened.bytes) < opened.bytes * 0.02, `${printed.bytes} vs ${opened.bytes} bytes`);
  assert.ok(closed.bytes < opened.bytes, 'without the print style the boxes stay shut (so the check above means something)');
});
