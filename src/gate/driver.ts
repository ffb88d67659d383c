// `kgate gate --tree PATH --base REF --series S1 [--series S2 ...]`: each
// revision applied on base in a scratch repository (never the user's
// checkout), built by the kernel stage (cached, incremental), run, and
// compared with base and with the revision before it.
import path from 'node:path';
import { KgateError } from '../model.js';
import { treeKernelRequest } from '../kernel/index.js';
import type { TreeJob } from '../session/tree-job.js';
import { shellLine } from '../util/shell.js';
import { runRepeated } from '../session/run-repeated.js';
import { claimRunDir, newRunId } from '../session/run-dir.js';
import { compareRuns } from '../report/compare.js';
import { assertGitTree, git, resolveRef } from '../util/git.js';
import { readSeries, type Series } from './series.js';
import { ScratchRepo } from './apply.js';
import { writeGateReport } from './report.js';
import type { GateReport, GateRevision, GateRun } from './types.js';
export type { GateReport, GateRevision, GateRun } from './types.js';

export interface GateRequest extends TreeJob {
  tree: string;
  /** Unset: the base the series names (base-commit:, or a range's start). */
  base?: string;
  series: string[];
  perPatch: boolean;
}




/**
 * --base, else what the series says it applies to: the first revision that
 * names a base (git format-patch --base / b4's base-commit:, or a range's
 * start). A base the tree lacks is the user's to fetch: one line, exit 2.
 */
async function baseOf(tree: string, given: string | undefined, series: Series[], log: (l: string) => void): Promise<{ ref: string; commit: string }> {
  if (given) return { ref: given, commit: await resolveRef(tree, given, '--base') };
  const named = series.find((s) => s.baseCommit);
  if (!named) throw new KgateError('user', `kgate gate needs --base: no --series names its base (no base-commit: line; git format-patch --base=REF or b4 write one)`);
  const ref = `base-commit of ${named.label}`;
  const commit = await resolveRef(tree, named.baseCommit!, `${ref} (${named.source})`);
  for (const s of series) {
    if (s.baseCommit && s !== named && !commit.startsWith(s.baseCommit) && (await resolveRef(tree, s.baseCommit, s.source).catch(() => '')) !== commit) {
      log(`${s.label} names base ${s.baseCommit.slice(0, 12)}, not ${commit.slice(0, 12)}: every revision is applied on ${named.label}'s (give --base to choose)`);
    }
  }
  log(`base: ${commit.slice(0, 12)}, the ${ref}`);
  return { ref, commit };
}

export async function runGate(req: GateRequest): Promise<GateReport> {
  const t0 = Date.now();
  const tree = path.resolve(req.tree);
  await assertGitTree(tree);
  if (req.series.length === 0) throw new KgateError('user', 'kgate gate needs at least one --series');
  // Every input is read and checked before anything is built.
  const series: Series[] = [];
  for (const [i, s] of req.series.entries()) series.push(await readSeries(s, i, tree));
  const { ref: baseRef, commit: base } = await baseOf(tree, req.base, series, req.log);
  const labels = new Set<string>();
  for (const s of series) {
    if (labels.has(s.label) || s.label === 'base') throw new KgateError('user', `--series ${s.source}: the name ${s.label} is used twice`);
    labels.add(s.label);
  }
  const { dir, runId: id } = claimRunDir(path.join(req.resultsRoot, 'gate'), newRunId());
  const repo = await ScratchRepo.create(tree, [...new Set(series.flatMap((s) => s.files))]);
  const describe = async (c: string, where = tree) => (await git(where, ['describe', '--always', '--tags', c], { allowFail: true })).stdout.trim() || c.slice(0, 12);
  try {
    // Apply every revision first: a series that does not apply is found before a 3-minute build.
    const applied = [];
    for (const s of series) applied.push(await repo.apply(base, s, req.signal));

    const test = async (label: string, commit: string, objectsFrom?: string): Promise<GateRun> => {
      req.log(`${label}: ${commit.slice(0, 12)}`);
      const { runs: outs, error } = await runRepeated({
        kernel: treeKernelRequest(tree, commit, { ...req, objectsFrom }), repeat: req.repeat, target: req.target, selection: req.selection,
        runId: (i) => `${label.replace(/\W+/g, '-')}-${commit.slice(0, 12)}${i ? `-r${i + 1}` : ''}`,
      }, { buildDir: req.buildDir, resultsRoot: path.join(dir, 'runs'), argv: req.argv, signal: req.signal, emit: req.emit });
      if (error !== undefined) throw error;
      const first = outs[0];
      if (first.exitCode === 130) throw new KgateError('interrupt', 'interrupted');
      const k = first.kernel;
      const run: GateRun = {
        label, commit, describe: await describe(commit, objectsFrom ?? tree),
        build: k ? (k.how === 'cached' ? 'cached' : 'built') : 'failed', dir: first.dir, runs: outs.map((o) => o.run), exitCode: first.exitCode,
      };
      if (k?.how === 'built' && k.ms !== undefined) run.buildMs = k.ms;
      if (!k) run.buildError = first.run.abort?.reason.split('\n')[0];
      req.log(`  ${run.build}${run.buildMs ? ` in ${(run.buildMs / 1000).toFixed(1)} s` : ''}; ${first.run.summary.total} cases, ${first.run.summary.status}`);
      return run;
    };

    const baseRun = await test('base', base);
    if (baseRun.build === 'failed') throw new KgateError('infra', `base ${req.base} does not build or boot: ${baseRun.buildError}`);
    const revisions: GateRevision[] = [];
    for (const [i, s] of series.entries()) {
      const run = await test(s.label, applied[i].head, repo.dir);
      const rev: GateRevision = { label: s.label, source: s.source, patches: s.patches, run, ...(s.cover ? { cover: s.cover } : {}) };
      if (run.build !== 'failed') {
        rev.vsBase = compareRuns(baseRun.runs[0], run.runs[0], run.runs.slice(1));
        const prev = revisions.at(-1);
        if (prev && prev.run.build !== 'failed') rev.vsPrevious = compareRuns(prev.run.runs[0], run.runs[0], run.runs.slice(1));
      }
      revisions.push(rev);
    }
    const newest = revisions.at(-1)!;
    if (req.perPatch && newest.patches.length > 1 && newest.run.build !== 'failed') {
      const commits = applied.at(-1)!.commits;
      newest.perPatch = [];
      let prev = baseRun;
      for (const [k, c] of commits.entries()) {
        const patch = newest.patches[k];
        const run = k === commits.length - 1 ? newest.run : await test(`${newest.label} patch ${k + 1}/${commits.length}`, c, repo.dir);
        newest.perPatch.push({ patch, run, ...(run.build !== 'failed' && prev.build !== 'failed' ? { vsPrevious: compareRuns(prev.runs[0], run.runs[0]) } : {}) });
        prev = run;
      }
    }
    const verdict = newest.run.build === 'failed' ? 'untestable' : newest.vsBase?.regressed ? 'regressed' : 'clean';
    const report: GateReport = {
      id, dir, tree, base: { ref: baseRef, commit: base, describe: await describe(base), run: baseRun }, revisions,
      selection: req.selection.describe, verdict, exitCode: verdict === 'regressed' ? 1 : verdict === 'untestable' ? 125 : 0,
      reproducer: shellLine(['kgate', ...req.argv]), wallMs: Date.now() - t0, ...(req.reporter ? { reporter: req.reporter } : {}),
    };
    writeGateReport(report);
    return report;
  } finally {
    await repo.dispose();
  }
}
