// A nightly that bisects itself, end to end on the test tree
// (scripts/test-tree.sh): night 1 builds fix-build, night 2 unrelated-3,
// three commits later, where revert-regular broke U03.dir and
// U05.opath_dir. The tree cell has `bisect: on`, so night 2 bisects its new
// failures by itself between the two nights' commits, verifies the culprit
// (revert on bad, culprit and parent again) and names it in every report.
// Night 3 is fix-build again: the regressions pass again and are closed.
// Every kernel but the revert's is a night's or a bisect step's, so kgate's
// build cache holds them after the first run.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import type { MatrixReport } from '../../src/report/matrix.js';
import { validateKcidb } from '../../src/report/kcidb.js';
import { kgateBin, tempDir } from './helpers.js';
import { interruptKgate, testTree, treeSkip, treeState } from './tree-helpers.js';
import { orphanQemus, qemuPids } from './procs.js';
import { chromium, chromiumSkip, textOf } from './chromium.js';
import { pathToFileURL } from 'node:url';

const skip = treeSkip;
let tree = '';
let work = '';
const rev = (ref: string) => execaSync('git', ['-C', tree, 'rev-parse', ref]).stdout;
const config = (ref: string) => `kernels:
  - { name: tiny, tree: ${tree}, ref: ${ref}, bisect: on }
selections:
  - { name: backing, cases: [U03, U05] }
defaults: { accel: tcg }
reporter: "A Maintainer <maint@example.org>"
`;
before(async () => {
  if (skip) return;
  tree = await testTree();
  work = tempDir('kgate-nightly-bisect-');
});

const readJson = <T>(f: string) => JSON.parse(readFileSync(f, 'utf8')) as T;

async function night(ref: string, date: string, results: string): Promise<{ exitCode?: number; stderr: string; ms: number }> {
  const cfg = join(work, `${date}.yaml`);
  writeFileSync(cfg, config(ref));
  const t0 = Date.now();
  // The file's reporter: wins over $KGATE_REPORTER: the report must name the file's.
  const r = await execa('node', [kgateBin, 'nightly', '--config', cfg, '--date', date, '--results', results], { reject: false, env: { CI: '1', KGATE_REPORTER: 'Not This One <env@example.org>' } });
  return { exitCode: r.exitCode, stderr: String(r.stderr), ms: Date.now() - t0 };
}

test('night 2 bisects its new failures by itself: the verified culprit in summary.txt, nightly.json, report.html and the history; night 3 closes the regressions', { skip, timeout: 45 * 60_000 }, async () => {
  const state = treeState(tree);
  const qemus = qemuPids();
  const results = join(work, 'results');
  const n1 = await night('fix-build', '2026-11-30', results);
  assert.equal(n1.exitCode, 0, n1.stderr.split('\n').slice(-5).join('\n'));
  const n2 = await night('unrelated-3', '2026-12-01', results);
  assert.equal(n2.exitCode, 1, `new failures: ${n2.stderr.split('\n').slice(-8).join('\n')}`);
  const dir = join(results, 'nightly', '2026-12-01');
  const m = readJson<{ report: MatrixReport }>(join(dir, 'nightly.json')).report;
  const tiny = m.cells[0];
  const newlyFailing = tiny.vsLast!.comparison.changes.filter((c) => c.kind === 'new-failure').map((c) => c.id).sort();
  assert.ok(newlyFailing.includes('U03.dir') && newlyFailing.includes('U05.opath_dir'), `the reverted check fails: ${newlyFailing}`);

  // The bisect: between the two nights' commits, only the new failures, the culprit verified as kgate bisect verifies it.
  const b = tiny.bisect!;
  assert.ok(b, `the cell was bisected: ${n2.stderr.split('\n').slice(-8).join('\n')}`);
  assert.deepEqual([...b.cases].sort(), newlyFailing);
  assert.equal(b.good.commit, rev('fix-build'));
  assert.equal(b.bad.commit, rev('unrelated-3'));
  assert.equal(b.outcome, 'found', JSON.stringify(b));
  assert.equal(b.culprit!.commit, rev('revert-regular'));
  assert.deepEqual({ verified: b.culprit!.verified, revert: b.culprit!.revert, verify: b.culprit!.verify }, { verified: true, revert: 'PASS', verify: 'PASS' }, JSON.stringify(b.culprit));
  const bj = readJson<{ steps: { role: string; commit: string; runs: string[] }[]; firstBad: { commit: string } }>(join(dir, b.dir!, 'bisect.json'));
  assert.equal(bj.firstBad.commit, rev('revert-regular'));
  assert.deepEqual(bj.steps.map((s) => s.role).filter((r) => r !== 'step'), ['good', 'bad', 'verify', 'verify', 'revert']);
  for (const s of bj.steps) {
    const cases = readJson<{ cases: { id: string }[] }>(join(s.runs[0], 'results.json')).cases.map((c) => c.id).sort();
    assert.deepEqual(cases, s.role === 'revert' ? cases.filter((id) => newlyFailing.includes(id)) : newlyFailing, `step ${s.role} ${s.commit.slice(0, 12)} ran only the new failures`);
  }

  // The mail: the culprit, its checks and the trailers, one line each.
  const culprit = rev('revert-regular').slice(0, 12);
  const text = readFileSync(join(dir, 'summary.txt'), 'utf8');
  assert.match(text, new RegExp(`^  bisected U03\\.dir, U05\\.opath_dir\n    good 2026-11-30 ${rev('fix-build').slice(0, 12)}, bad tonight ${rev('unrelated-3').slice(0, 12)}$`, 'm'));
  assert.match(text, new RegExp(`^  first bad commit \\(verified\\):\n    ${culprit} fuse: passthrough: accept any backing file type again$`, 'm'));
  assert.match(text, /^  Checks: revert: PASS, verify: PASS$/m);
  assert.match(text, new RegExp(`^Fixes: ${culprit} \\("fuse: passthrough: accept any backing file type again"\\)$`, 'm'));
  assert.match(text, new RegExp(`^#regzbot introduced: ${culprit}$`, 'm'));
  assert.match(text, /^Reported-by: A Maintainer <maint@example\.org>$/m);
  assert.match(text, /^Closes: /m);
  assert.match(text, new RegExp(`^Still fails at unrelated-3 \\(${rev('unrelated-3').slice(0, 12)}\\)`, 'm'));
  assert.match(text, new RegExp(`^  tiny U03\\.dir: still fails\n    appeared 2026-12-01, last passed 2026-11-30 \\(${rev('fix-build').slice(0, 12)}\\)\n    culprit ${culprit} \\(verified\\)$`, 'm'));
  for (const l of text.split('\n')) assert.ok(l.length <= 72 || /^(Fixes: |#regzbot |Reported-by: )/.test(l), `summary.txt under 72 columns: ${l}`);

  // kcidb.json: the culprit an issue of the code, the new failures its incidents, and it validates.
  const kcidb = readJson<{ tests: { id: string; misc?: { case_id?: string } }[]; issues?: { id: string; culprit?: object; misc?: { commit?: string; verified?: boolean } }[]; incidents?: { issue_id: string; test_id: string }[] }>(join(dir, 'kcidb.json'));
  assert.deepEqual(validateKcidb(kcidb), []);
  assert.deepEqual(kcidb.issues?.map((i) => [i.misc?.commit, i.misc?.verified, i.culprit]), [[rev('revert-regular'), true, { code: true, tool: false, harness: false }]]);
  assert.deepEqual(kcidb.incidents!.map((i) => kcidb.tests.find((t) => t.id === i.test_id)?.misc?.case_id).sort(), newlyFailing);

  // The regressions' life in nightly.json, and the bisect kept in the history.
  const reg = m.regressions!.find((r) => r.case === 'U03.dir')!;
  assert.deepEqual({ appeared: reg.appeared, lastPassed: reg.lastPassed, open: reg.open, culprit: reg.bisect?.culprit?.commit },
    { appeared: '2026-12-01', lastPassed: { date: '2026-11-30', commit: rev('fix-build') }, open: true, culprit: rev('revert-regular') });
  assert.deepEqual(m.regressions!.map((r) => r.case).sort(), newlyFailing);
  const hist = readFileSync(join(results, 'nightly', 'history', 'tiny.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(hist[1].bisect?.culprit?.commit, rev('revert-regular'));

  // What the HTML report shows, in a real browser.
  if (!chromiumSkip) {
    const { stdout: dom } = await chromium(join(work, 'profile'), ['--dump-dom'], pathToFileURL(join(dir, 'report.html')).href);
    const page = textOf(dom);
    assert.match(page, new RegExp(`${culprit}`));
    assert.match(page, /verified/);
    assert.match(page, /U03\.dir/);
  }

  // Night 3: fix-build again; the regressions pass again and are closed.
  const n3 = await night('fix-build', '2026-12-02', results);
  assert.equal(n3.exitCode, 0, n3.stderr.split('\n').slice(-5).join('\n'));
  const m3 = readJson<{ report: MatrixReport }>(join(results, 'nightly', '2026-12-02', 'nightly.json')).report;
  assert.equal(m3.cells[0].bisect, undefined, 'nothing newly fails: no bisect');
  const closed = m3.regressions!.find((r) => r.case === 'U03.dir')!;
  assert.deepEqual({ open: closed.open, closed: closed.closed, culprit: closed.bisect?.culprit?.commit }, { open: false, closed: '2026-12-02', culprit: rev('revert-regular') });
  assert.match(readFileSync(join(results, 'nightly', '2026-12-02', 'summary.txt'), 'utf8'), /^Closed tonight \(2\):\n  tiny U03\.dir: passes again since 2026-12-02\n    appeared 2026-12-01, last passed 2026-11-30 \([0-9a-f]{12}\)\n    culprit [0-9a-f]{12} \(verified\)$/m);

  // Night 4 breaks again and is interrupted in its bisect: it still writes the night (its cell's results,
  // the bisect said interrupted), exits 130, and leaves no guest.
  const cfg4 = join(work, '2026-12-03.yaml');
  writeFileSync(cfg4, config('unrelated-3'));
  const n4 = await interruptKgate(['nightly', '--config', cfg4, '--date', '2026-12-03', '--results', results], /tiny bisect: checking good/, 'the bisect\'s first check');
  assert.equal(n4.exitCode, 130, n4.stderr.split('\n').slice(-5).join('\n'));
  const m4 = readJson<{ report: MatrixReport }>(join(results, 'nightly', '2026-12-03', 'nightly.json')).report;
  assert.equal(m4.exitCode, 130);
  assert.deepEqual(m4.cells[0].run!.cases.map((c) => c.status), ['FAIL', 'FAIL'], 'the cell\'s results are kept');
  assert.deepEqual({ outcome: m4.cells[0].bisect?.outcome, error: m4.cells[0].bisect?.error }, { outcome: 'stopped', error: 'interrupted' });
  assert.match(readFileSync(join(results, 'nightly', '2026-12-03', 'summary.txt'), 'utf8'), /^  bisect stopped: interrupted$/m);

  process.stderr.write(`nightly-bisect e2e: night 1 ${(n1.ms / 1000).toFixed(0)} s, night 2 ${(n2.ms / 1000).toFixed(0)} s (bisect ${((b.wallMs ?? 0) / 1000).toFixed(0)} s, ${b.steps} steps, ${b.builds} kernel builds), night 3 ${(n3.ms / 1000).toFixed(0)} s\n`);
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched by the nightly\'s bisect');
  assert.deepEqual(orphanQemus(qemus), [], 'no guest left');
});

/**
 * A kgate cache of its own that shares everything with the real one but the
 * finished kernels of `exclude`'s source tree: a bisect that needs that kernel
 * builds it (incrementally, in the shared build directories), once.
 */
function cacheWithout(exclude: string): string {
  const real = join(process.env.KGATE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kgate'));
  const own = tempDir('kgate-cache-');
  for (const area of readdirSync(real)) if (area !== 'builds') symlinkSync(join(real, area), join(own, area));
  mkdirSync(join(own, 'builds'));
  const treeOf = (c: string) => execaSync('git', ['-C', tree, 'rev-parse', '--verify', '--quiet', `${c}^{tree}`], { reject: false }).stdout;
  const skipTree = treeOf(exclude);
  for (const e of readdirSync(join(real, 'builds'))) {
    let commit = '';
    try { commit = readJson<{ identity: { commit?: string } }>(join(real, 'builds', e, 'identity.json')).identity.commit ?? ''; } catch { continue; }
    if (commit && treeOf(commit) === skipTree) continue;
    symlinkSync(join(real, 'builds', e), join(own, 'builds', e));
  }
  return own;
}

test('max-builds bounds the bisect: the kernel of the good night missing from the cache is built, then the bisect stops, said, and the night keeps its results', { skip, timeout: 30 * 60_000 }, async () => {
  const state = treeState(tree);
  const qemus = qemuPids();
  const results = join(work, 'bounded');
  const n1 = await night('fix-build', '2026-11-30', results);
  assert.equal(n1.exitCode, 0, n1.stderr.split('\n').slice(-5).join('\n'));
  const cfg = join(work, 'bounded.yaml');
  // No reporter: in the file: the Reported-by: comes from $KGATE_REPORTER.
  writeFileSync(cfg, config('unrelated-3').replace('bisect: on', 'bisect: { max-builds: 1 }').replace(/^reporter: .*\n/m, ''));
  const cache = cacheWithout('fix-build');
  const t0 = Date.now();
  const n2 = await execa('node', [kgateBin, 'nightly', '--config', cfg, '--date', '2026-12-01', '--results', results], { reject: false, env: { CI: '1', KGATE_CACHE: cache, KGATE_REPORTER: 'An Env Reporter <env@example.org>' } });
  const ms = Date.now() - t0;
  assert.equal(n2.exitCode, 1, `the new failures, whatever the bisect did: ${n2.stderr.split('\n').slice(-8).join('\n')}`);
  const dir = join(results, 'nightly', '2026-12-01');
  const m = readJson<{ report: MatrixReport }>(join(dir, 'nightly.json')).report;
  const b = m.cells[0].bisect!;
  assert.deepEqual(m.cells[0].run!.cases.map((c) => c.status), ['FAIL', 'FAIL'], 'the cell\'s results are kept');
  assert.equal(b.outcome, 'stopped', JSON.stringify(b));
  assert.equal(b.builds, 1, 'the good night\'s kernel, built once');
  assert.match(b.error ?? '', /^stopped before the next step \([0-9a-f]{12}\): 1 kernel\(s\) built, the most max-builds allows$/);
  const text = readFileSync(join(dir, 'summary.txt'), 'utf8');
  assert.match(text, /^  bisect stopped: stopped before the next step/m);
  assert.match(text, new RegExp(`^#regzbot introduced: ${rev('fix-build').slice(0, 12)}\\.\\.${rev('unrelated-3').slice(0, 12)}$`, 'm'));
  assert.doesNotMatch(text, /^Fixes: /m);
  assert.match(text, /^Reported-by: An Env Reporter <env@example\.org>$/m);
  const bj = readJson<{ error: string; steps: { role: string; build: string }[] }>(join(dir, b.dir!, 'bisect.json'));
  assert.deepEqual(bj.steps.map((s) => `${s.role} ${s.build}`), ['good built', 'bad cached']);
  process.stderr.write(`nightly-bisect e2e, max-builds 1: night 2 ${(ms / 1000).toFixed(0)} s (bisect ${((b.wallMs ?? 0) / 1000).toFixed(0)} s, 1 kernel built)\n`);
  assert.deepEqual(treeState(tree), state);
  assert.deepEqual(orphanQemus(qemus), [], 'no guest left');
});
