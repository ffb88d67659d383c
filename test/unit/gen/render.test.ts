import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CASES, FAMILIES, getFamily, selectCases } from '../../../src/catalog/index.js';
import { cIdent, cString, loadTemplates, renderFamily, renderSuite, renderTemplate } from '../../../src/gen/render.js';
import { KgateError } from '../../../src/model.js';

async function haveCc(): Promise<boolean> {
  try { await execa('cc', ['--version']); return true; } catch { return false; }
}

test('no HTML escaping: <, &, " and \' survive', () => {
  const out = renderTemplate('#include {{h}}\nif (a {{op}} b) s = {{s}};', { h: '<stdio.h>', op: '&&', s: '"x\'y"' });
  assert.equal(out, '#include <stdio.h>\nif (a && b) s = "x\'y";');
});

test('strict mode rejects a missing variable', () => {
  assert.throws(() => renderTemplate('int x = {{missing}};', {}), (e: unknown) =>
    e instanceof KgateError && /missing/.test(e.message));
});

test('cString escapes quotes, backslashes and non-ASCII', () => {
  assert.equal(cString('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(cString('é'), '"\\303\\251"');
  assert.equal(cIdent('U03.dir'), 'U03_dir');
});

test('every family template defines every case of its family', () => {
  const t = loadTemplates();
  for (const f of FAMILIES) {
    const cases = CASES.filter((c) => c.family === f.name);
    const src = renderFamily(f, cases, t);
    for (const c of cases) assert.ok(src.includes(`{ "${c.id}", case_${cIdent(c.id)}, "${c.expected}", ${c.timeoutSec},`), c.id);
    assert.ok(!/&lt;|&gt;|&amp;|&quot;|&#x27;/.test(src), `${f.name}: HTML entity in C`);
  }
});

test('known outcomes are rendered into the case table', () => {
  const src = renderFamily(getFamily('ioctl-open'), selectCases({ cases: ['U03.dir'] }), loadTemplates());
  assert.match(src, /\{ "ok", "6\.12-6\.16", "directory accepted as a backing file before the regular-only check", "e9c8da670e74" \}/);
});

test('a family template missing a case fails with a clear message', () => {
  const t = loadTemplates();
  const bogus = { ...CASES[0], id: 'U01.nope' };
  assert.throws(() => renderFamily(getFamily('ioctl-open'), [bogus], t), /has no CASE\(U01_nope\)/);
});

test('renderSuite writes one source per family, only when changed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kgate-render-'));
  try {
    const a = await renderSuite({ srcDir: dir, families: ['selftest', 'init'] });
    assert.deepEqual(a.sources.map((s) => s.name), ['kgate-init', 'kgate-selftest']);
    assert.ok(a.sources.every((s) => s.changed));
    const m1 = (await stat(a.sources[0].path)).mtimeMs;
    const b = await renderSuite({ srcDir: dir, families: ['selftest', 'init'] });
    assert.ok(b.sources.every((s) => !s.changed));
    assert.equal((await stat(b.sources[0].path)).mtimeMs, m1);
    const c = await renderSuite({ srcDir: dir, cases: ['U12'] });
    assert.equal(c.sources.length, 1);
    assert.ok(c.sources[0].changed);
    assert.deepEqual(c.sources[0].cases.map((x) => x.id), CASES.filter((x) => x.row === 'U12').map((x) => x.id));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an up-to-date source is taken as it is, and rendered again when a template, the cases or the file itself changed', async () => {
  const { cp, writeFile } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'kgate-render-'));
  try {
    const templatesDir = join(dir, 'templates');
    await cp(join(process.cwd(), 'templates', 'c'), templatesDir, { recursive: true });
    const srcDir = join(dir, 'src');
    const first = await renderSuite({ srcDir, templatesDir, families: ['init'] });
    const path = first.sources[0].path;
    const again = await renderSuite({ srcDir, templatesDir, families: ['init'] });
    assert.deepEqual([again.sources[0].changed, again.sources[0].sha256], [false, first.sources[0].sha256]);
    // A template edited: the source follows it.
    const tmpl = join(templatesDir, 'harness_main.c.hbs');
    await writeFile(tmpl, (await readFile(tmpl, 'utf8')) + '\n/* edited */\n');
    const edited = await renderSuite({ srcDir, templatesDir, families: ['init'] });
    assert.ok(edited.sources[0].changed && (await readFile(path, 'utf8')).includes('/* edited */'), 'a template change reaches the source');
    // The source edited by hand: it is rendered again, not trusted.
    await writeFile(path, 'int main(void) { return 0; }\n');
    const restored = await renderSuite({ srcDir, templatesDir, families: ['init'] });
    assert.ok(restored.sources[0].changed && (await readFile(path, 'utf8')).includes('/* edited */'), 'a hand-edited source is replaced');
    assert.equal(restored.sources[0].sha256, edited.sources[0].sha256);
    // Other cases of the family: another source.
    const fewer = await renderSuite({ srcDir, templatesDir, cases: ['U12.no_flag'] });
    assert.ok(fewer.sources[0].changed && !(await readFile(path, 'utf8')).includes('U12.no_flag_open'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rendered C compiles with cc -Wall -Werror (every family)', { timeout: 300_000 }, async (t) => {
  if (!(await haveCc())) return t.skip('no cc');
  const dir = await mkdtemp(join(tmpdir(), 'kgate-cc-'));
  try {
    const r = await renderSuite({ srcDir: dir, includeHidden: true });
    assert.equal(r.sources.length, FAMILIES.length);
    // -c: every -O2 diagnostic (format-truncation needs the optimiser), without the static link
    await Promise.all(r.sources.map(async (s) => {
      const cc = await execa('cc', ['-c', '-o', '/dev/null', '-O2', '-Wall', '-Werror', '-pthread', s.path], { reject: false, all: true });
      assert.equal(cc.exitCode, 0, `${s.name}:\n${cc.all}`);
    }));
    assert.match(await readFile(r.sources[0].path, 'utf8'), /^\/\/ SPDX-License-Identifier: GPL-2.0\n\/\* kgate-ioctl-open: generated by kgate/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
