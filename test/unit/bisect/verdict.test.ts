import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BISECT_EXIT, decideStep } from '../../../src/bisect/verdict.js';
import { parseBisectOutput } from '../../../src/bisect/driver.js';
import { mailText, wrapLine } from '../../../src/report/mail.js';

// git-bisect(1), "Bisect run": 0 good; 1..127 except 125 bad; 125 skip;
// anything else (128 and up) aborts the bisect.
const gitReads = (code: number) => (code === 0 ? 'good' : code === 125 ? 'skip' : code >= 1 && code <= 127 ? 'bad' : 'abort');

test('each step verdict comes out as the exit code git bisect run reads the same way', () => {
  assert.equal(gitReads(decideStep([{ exitCode: 0 }]).exit), 'good');
  assert.equal(gitReads(decideStep([{ exitCode: 1 }]).exit), 'bad');
  assert.equal(gitReads(decideStep([{ exitCode: 125 }]).exit), 'skip', 'build or boot failure: skip the commit');
  assert.equal(decideStep([{ exitCode: 125, why: 'build of x failed: fs/fuse/inode.c:3:1: error: y\nmore' }]).why, 'cannot test this commit: build of x failed: fs/fuse/inode.c:3:1: error: y', 'the step says why it skipped');
  assert.equal(gitReads(decideStep([{ error: 'infra', message: 'build of x failed: fs/fuse/file.c:1: error' }]).exit), 'skip');
  assert.equal(gitReads(decideStep([{ error: 'bug', message: 'TypeError' }]).exit), 'abort', 'a bug of kgate must never be a skip');
  assert.equal(gitReads(decideStep([{ error: 'user', message: 'unknown case U99' }]).exit), 'abort', 'a usage error must never be read as bad');
  assert.equal(gitReads(decideStep([{ exitCode: 2 }]).exit), 'abort');
  assert.equal(decideStep([{ exitCode: 130 }]).exit, 130);
  for (const code of Object.values(BISECT_EXIT) as number[]) assert.ok(code !== 126 && code !== 127);
});

test('flake threshold: bad only when the failure reproduces in enough runs, flaky steps skipped with their counts', () => {
  const runs = (...codes: number[]) => codes.map((exitCode) => ({ exitCode }));
  assert.equal(decideStep(runs(1, 1, 1)).verdict, 'bad');
  assert.equal(decideStep(runs(0, 0, 0)).verdict, 'good');
  const flaky = decideStep(runs(1, 0, 1));
  assert.equal(flaky.verdict, 'flaky');
  assert.equal(flaky.exit, 125);
  assert.match(flaky.why, /failed in 2 of 3 runs/);
  // With a threshold of 2 of 3, the same counts are bad.
  assert.equal(decideStep(runs(1, 0, 1), 2).verdict, 'bad');
  assert.equal(decideStep(runs(1, 0, 0), 2).verdict, 'flaky');
  // An untestable run makes the step untestable, whatever the others said.
  assert.equal(decideStep(runs(1, 125)).verdict, 'skip');
});

test('parseBisectOutput: the first bad commit, the set skipped commits leave, or nothing yet', () => {
  const h = (c: string) => c.repeat(40);
  assert.deepEqual(parseBisectOutput(`${h('a')} is the first bad commit\ncommit ${h('a')}\n`), { first: h('a'), candidates: [] });
  assert.deepEqual(parseBisectOutput(`There are only 'skip'ped commits left to test.\nThe first bad commit could be any of:\n${h('b')}\n${h('c')}\nWe cannot bisect more!\n`),
    { candidates: [h('b'), h('c')] });
  assert.equal(parseBisectOutput('Bisecting: 2 revisions left to test after this (roughly 1 step)\n[abc] x\n'), undefined);
});

test('mail text: no line over 72 columns, no escapes, wrapped under its indentation', () => {
  const text = mailText(['  ' + 'word '.repeat(40), '\x1b[31mred\x1b[0m\tand a tab', 'x'.repeat(80)]);
  for (const l of text.split('\n').filter((x) => !/^x+$/.test(x))) assert.ok(l.length <= 72, l);
  assert.doesNotMatch(text, /\x1b|\t/);
  assert.ok(wrapLine('  ' + 'word '.repeat(40)).slice(1).every((l) => l.startsWith('    ')));
});

test('mail text: a trailer or a regzbot command stays one line, however long', () => {
  const fixes = 'Fixes: 9b1204cb9148 ("fuse: passthrough: accept any backing file type again")';
  assert.deepEqual(wrapLine(fixes), [fixes]);
  assert.deepEqual(wrapLine('#regzbot introduced: 04e7bccbd3ec..9cf8ef8438e8 and some words to make it long enough'), ['#regzbot introduced: 04e7bccbd3ec..9cf8ef8438e8 and some words to make it long enough']);
  assert.ok(wrapLine(`Not a trailer: ${'word '.repeat(20)}`).length > 1);
});

test('the reporter trailer names who was given, else says how to give one; --reporter is checked', async () => {
  const { reporterTrailer } = await import('../../../src/report/mail.js');
  assert.equal(reporterTrailer('Reported-by', 'A Developer <dev@example.org>'), 'Reported-by: A Developer <dev@example.org>');
  assert.match(reporterTrailer('Tested-by', undefined), /^Tested-by: <.*--reporter.*KGATE_REPORTER>$/);
  const { TreeJobOpts, parseOpts } = await import('../../../src/cli/inputs.js');
  const base = { case: [], family: [], api: [], configFragment: [], accel: 'tcg', mem: 1024, bootTimeout: 60, results: '/r', buildDir: '/b' };
  assert.equal(parseOpts(TreeJobOpts, { ...base, reporter: 'A Developer <dev@example.org>' }).reporter, 'A Developer <dev@example.org>');
  assert.throws(() => parseOpts(TreeJobOpts, { ...base, reporter: 'dev@example.org' }), /--reporter \(or \$KGATE_REPORTER\) must be "Name <address>"/);
});
