// The exported programs' verdict (templates/c/verdict.c.hbs, compiled alone
// with a small driver) against src/verdict's placeVersion, for every known
// outcome of the catalog on a table of kernel releases: the C side must place
// each release where kgate does, or the export's statuses would drift from
// kgate run's. Plus the export's pure parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../../src/util/paths.js';
import { renderTemplate } from '../../../src/gen/render.js';
import { CASES } from '../../../src/catalog/index.js';
import { exportFilter, ksftRange, programName, settingsTimeout } from '../../../src/export/index.js';
import { parseFixedIn, parseKernelVersion, parseRange, placeVersion } from '../../../src/verdict/version.js';

const RELEASES = [
  '4.2.0', '6.1.0-50-cloud-amd64', '6.8.12', '6.9.0-rc3', '6.9.0', '6.9.12', '6.10.9', '6.10.10', '6.10.11',
  '6.11.0', '6.12.0-rc1', '6.12.0-12-cloud-amd64', '6.12.47', '6.12.48', '6.12.118+', '6.16.0', '6.16.7', '6.16.8',
  '6.17.0-rc4', '6.17.0-rc5', '6.17.1', '6.18.0', '6.18-rc3', '7.3.4',
];

test('the C verdict places every release as src/verdict does, for every known outcome of the catalog', async () => {
  const ranges = new Map<string, { range: string; fixedIn: string[] }>();
  for (const c of CASES) for (const k of c.known) ranges.set(ksftRange(k), { range: k.range, fixedIn: k.fixedIn ?? [] });
  const inits = [...ranges.keys()];
  const verdict = renderTemplate(readFileSync(join(projectRoot(), 'templates/c/verdict.c.hbs'), 'utf8'), {});
  const driver = [
    '#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>', '#include <sys/utsname.h>',
    verdict,
    `static const struct kg_range ranges[] = {\n${inits.map((r) => `\t${r},`).join('\n')}\n};`,
    `static const char *releases[] = { ${RELEASES.map((r) => JSON.stringify(r)).join(', ')} };`,
    'int main(void)',
    '{',
    '\tkg_read_kver();   /* links, and runs on this host */',
    '\tfor (unsigned int i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)',
    '\t\tfor (unsigned int j = 0; j < sizeof(releases) / sizeof(releases[0]); j++) {',
    '\t\t\tstruct kg_ver v;',
    '',
    '\t\t\tif (kg_parse_ver(releases[j], &v) < 0)',
    '\t\t\t\treturn 2;',
    '\t\t\tprintf("%u %u %c\\n", i, j, kg_place(&ranges[i], &v));',
    '\t\t}',
    '\treturn 0;',
    '}',
    '',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'kgate-verdict-c-'));
  try {
    writeFileSync(join(dir, 'v.c'), driver);
    const cc = await execa('cc', ['-O2', '-Wall', '-Werror', '-o', join(dir, 'v'), join(dir, 'v.c')], { reject: false, all: true });
    assert.equal(cc.exitCode, 0, cc.all);
    const out = (await execa(join(dir, 'v'))).stdout.trim().split('\n');
    assert.equal(out.length, inits.length * RELEASES.length);
    const differ: string[] = [];
    for (const line of out) {
      const [i, j, got] = line.split(' ');
      const { range, fixedIn } = ranges.get(inits[Number(i)])!;
      const r = parseRange(range);
      const v = parseKernelVersion(RELEASES[Number(j)])!;
      const want = placeVersion(r, parseFixedIn(r, fixedIn), v).where[0];
      if (got !== want) differ.push(`${range} [${fixedIn.join(' ')}] on ${RELEASES[Number(j)]}: C ${got}, src/verdict ${want}`);
    }
    assert.deepEqual(differ, []);
    // the table reaches every placement
    assert.deepEqual(new Set(out.map((l) => l.split(' ')[2])), new Set(['i', 'a', 'b', 'u']));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export: older generations only when asked; names, ranges and timeout', () => {
  assert.deepEqual(exportFilter({}), { apis: ['upstream'] });
  assert.deepEqual(exportFilter({ families: ['older-a2'] }), { families: ['older-a2'] });
  assert.deepEqual(exportFilter({ cases: ['A1'] }), { cases: ['A1'] });
  assert.equal(programName('ioctl-open'), 'ioctl_open_test');
  assert.equal(ksftRange({ outcome: 'ok', range: '6.9-rc', what: '', fix: 'v6.9' }), '{ 1, { 6, 9, 0, 0, 1 }, { 6, 9, 0, 0, 1 }, { { 0 } }, 0 }');
  assert.equal(ksftRange({ outcome: 'ok', range: '6.12-6.16', what: '', fix: 'x', fixedIn: ['6.12.48', '6.16.8'] }),
    '{ 0, { 6, 12, 0, 0, 1 }, { 6, 16, 0, 0, 1 }, { { 6, 12, 48, 0, 1 }, { 6, 16, 8, 0, 1 } }, 2 }');
  const c = CASES.filter((x) => x.family === 'ioctl-close');
  assert.equal(settingsTimeout([{ cases: c }]), c.reduce((n, x) => n + x.timeoutSec, 0) + 30);
});
