// `kgate bisect --tree PATH --good REF --bad REF`: git bisect driven in a
// scratch repository of kgate's own (util/git borrowingRepo: it reads the
// user's objects, writes only its own refs), never in the user's checkout.
// Bisect runs there with --no-checkout (BISECT_HEAD, no work tree), and each
// step's kernel is built by the kernel stage from the user's tree at that
// commit. So the user's HEAD, index, work tree, refs and worktree list are
// never written, whatever happens; the scratch repository is removed at the end.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { KgateError, isFailure } from '../model.js';
import { resolveKernel, treeKernelRequest, type KernelArtifact } from '../kernel/index.js';
import { anySignal } from '../util/deadline.js';
import type { TreeJob } from '../session/tree-job.js';
import { shellLine } from '../util/shell.js';
import { compareRuns } from '../report/compare.js';
import { assertGitTree, borrowingRepo, git, resolveRef } from '../util/git.js';
import { claimRunDir, newRunId } from '../session/run-dir.js';
import { runStep, type StepResult } from './step.js';
import { checksOf, revertOn, sameFile } from './verify.js';
import { makeSelection, type Selection } from '../catalog/selection.js';
import { writeBisectReport } from './report.js';
import type { BisectReport, BisectStep } from './types.js';
export type { BisectReport, BisectStep } from './types.js';

export interface BisectRequest extends TreeJob {
  tree: string;
  good: string;
  bad: string;
  threshold?: number;
  /** Stop, said, before a step or check once this many kernels were built (good and bad are always tested); a nightly's bisect: { max-builds: N }. */
  maxBuilds?: number;
  /** The bisect's directory under <resultsRoot>/bisect/ (a nightly names it after the cell); default a new run id. */
  runId?: string;
}

export async function runBisect(req: BisectRequest): Promise<BisectReport> {
  const t0 = Date.now();
  const tree = path.resolve(req.tree);
  await assertGitTree(tree);
  const good = await resolveRef(tree, req.good, '--good');
  const bad = await resolveRef(tree, req.bad, '--bad');
  if ((await git(tree, ['merge-base', '--is-ancestor', good, bad], { allowFail: true })).code !== 0) {
    throw new KgateError('user', `--good ${req.good} is not an ancestor of --bad ${req.bad}: git bisect needs good before bad`);
  }
  const commitsInRange = Number((await git(tree, ['rev-list', '--count', `${good}..${bad}`])).stdout.trim());
  const { dir, runId: id } = claimRunDir(path.join(req.resultsRoot, 'bisect'), req.runId ?? newRunId());
  const stepsRoot = path.join(dir, 'steps');
  const scratch = await borrowingRepo(tree, 'kgate-bisect-');
  const report: BisectReport = {
    id, dir, tree, good: { ref: req.good, commit: good }, bad: { ref: req.bad, commit: bad },
    selection: req.selection.describe, repeat: req.repeat, commitsInRange, steps: [], builds: 0, skipped: [], changed: [],
    log: '', reproducer: shellLine(['kgate', ...req.argv]), outcome: 'stopped', wallMs: 0,
    ...(req.reporter ? { reporter: req.reporter } : {}),
  };
  const subjects = new Map<string, string>();
  const subjectOf = async (c: string) => {
    if (!subjects.has(c)) subjects.set(c, (await git(tree, ['show', '-s', '--format=%s', c])).stdout.trim());
    return subjects.get(c)!;
  };
  const results = new Map<string, StepResult>();
  const test = async (commit: string, role: BisectStep['role'], prebuilt?: KernelArtifact, o: { selection?: Selection; objectsFrom?: string; subject?: string } = {}): Promise<StepResult> => {
    const n = report.steps.length + 1;
    // good and bad are always tested (a nightly's ends are its nights' kernels, in the cache): the bound is on what lies between and the checks.
    if (req.maxBuilds !== undefined && role !== 'good' && role !== 'bad' && report.builds >= req.maxBuilds) {
      throw new KgateError('infra', `stopped before ${role === 'step' ? 'the next step' : `the ${role} check`} (${commit.slice(0, 12)}): ${report.builds} kernel(s) built, the most max-builds allows`);
    }
    const subject = o.subject ?? await subjectOf(commit);
    const left = Math.ceil(Math.log2(Math.max(2, commitsInRange)));
    req.log(role === 'step' ? `step ${n - 2} of about ${left}: ${commit.slice(0, 12)} ${subject}` : `checking ${role} ${commit.slice(0, 12)} ${subject}`);
    const r = await runStep({
      kernel: treeKernelRequest(tree, commit, { ...req, ...(o.objectsFrom ? { objectsFrom: o.objectsFrom } : {}) }), target: req.target,
      selection: o.selection ?? req.selection, repeat: req.repeat, threshold: req.threshold,
      buildDir: req.buildDir, resultsRoot: stepsRoot, argv: req.argv, signal: req.signal, emit: req.emit,
    });
    // Built ahead (bad's kernel, while good was tested): this step's build, though the run found it cached.
    if (prebuilt?.how === 'built' && r.kernel?.how === 'cached') Object.assign(r, { kernel: prebuilt, cached: false, buildMs: prebuilt.ms ?? 0 });
    results.set(commit, r);
    const build: BisectStep['build'] = r.kernel ? (r.kernel.how === 'cached' ? 'cached' : 'built') : r.runs.length ? 'failed' : 'none';
    if (r.kernel?.how === 'built') report.builds++;
    report.steps.push({ n, role, commit, subject, verdict: r.decision.verdict, why: r.decision.why, build,
      ...(r.buildMs !== undefined ? { buildMs: r.buildMs } : {}), testMs: r.testMs, runs: r.runs.map((o) => o.dir) });
    req.log(`  ${r.decision.verdict}: ${r.decision.why}${build === 'cached' ? ' (kernel cached)' : r.buildMs ? ` (built in ${(r.buildMs / 1000).toFixed(1)} s)` : ''}`);
    if (r.decision.verdict === 'abort') throw new KgateError('user', r.decision.why);
    if (r.decision.verdict === 'interrupted') throw new KgateError('interrupt', 'interrupted');
    return r;
  };
  // Bad's kernel builds while good is tested (good's is most often cached): the two checks cost about one wait.
  const ahead = new AbortController();
  const badKernel = resolveKernel(treeKernelRequest(tree, bad, req), {
    signal: anySignal([req.signal, ahead.signal]), logDir: path.join(stepsRoot, 'bad-kernel'), log: (l) => req.log(`  bad's kernel, ahead: ${l}`),
  }).then((k) => k, () => undefined); // a failure is met again, and said, when bad is tested
  try {
    // Good must be good and bad bad, or the answer would be a wrong commit.
    const g = await test(good, 'good');
    if (g.decision.verdict !== 'good') {
      throw new KgateError(g.decision.verdict === 'skip' ? 'infra' : 'user',
        `--good ${req.good} (${good.slice(0, 12)}) is not good: ${g.decision.verdict === 'bad' ? failingCases(g) : g.decision.why}`);
    }
    const b = await test(bad, 'bad', await badKernel);
    if (b.decision.verdict !== 'bad') {
      throw new KgateError(b.decision.verdict === 'skip' ? 'infra' : 'user',
        `--bad ${req.bad} (${bad.slice(0, 12)}) is not bad: ${b.decision.verdict === 'good' ? 'every selected case behaves as expected there' : b.decision.why}`);
    }
    report.changed = compareRuns(g.runs[0].run, b.runs[0].run).changes;
    report.bad.describe = (await git(tree, ['describe', '--always', '--tags', bad], { allowFail: true })).stdout.trim() || bad.slice(0, 12);

    await git(scratch, ['update-ref', '--no-deref', 'HEAD', bad]);
    let out = await bisectCmd(scratch, ['start', '--no-checkout', bad, good], req.signal);
    for (;;) {
      const done = parseBisectOutput(out);
      if (done) {
        if (done.first) {
          const c = done.first;
          const show = (await git(tree, ['show', '-s', '--format=%H%n%s%n%an <%ae>%n%aI', c])).stdout.split('\n');
          const files = (await git(tree, ['diff-tree', '--no-commit-id', '--name-only', '-r', c])).stdout.split('\n').filter(Boolean);
          report.firstBad = { commit: show[0], subject: show[1], author: show[2], date: show[3], files };
          report.outcome = 'found';
        } else {
          report.candidates = await Promise.all(done.candidates.map(async (c) => ({ commit: c, subject: await subjectOf(c) })));
          report.outcome = 'narrowed';
        }
        break;
      }
      const commit = (await git(scratch, ['rev-parse', 'BISECT_HEAD'])).stdout.trim();
      const r = results.get(commit) ?? await test(commit, 'step');
      const mark = r.decision.verdict === 'good' ? 'good' : r.decision.verdict === 'bad' ? 'bad' : 'skip';
      if (mark === 'skip') report.skipped.push({ commit, subject: await subjectOf(commit), why: r.decision.why });
      out = await bisectCmd(scratch, [mark, commit], req.signal);
    }
    report.log = (await git(scratch, ['bisect', 'log'], { allowFail: true })).stdout;
    if (report.firstBad) {
      const c = report.firstBad.commit;
      const parent = (await git(tree, ['rev-parse', `${c}^`], { allowFail: true })).stdout.trim();
      // The revert is a commit of the scratch repository, fetched from there by hash by the kernel stage.
      await git(scratch, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
      const again = await test(c, 'verify');
      const before = parent ? await test(parent, 'verify') : undefined;
      // The revert must bring back what the culprit broke: the cases that fail at it and not at its parent (bad may
      // hold later regressions of other commits, which the revert cannot undo); good -> bad's changes when the re-runs gave none.
      const broke = before?.runs[0] && again.runs[0]
        ? compareRuns(before.runs[0].run, again.runs[0].run).changes.filter((x) => x.after && isFailure(x.after.status)).map((x) => x.id) : [];
      const cases = broke.length ? broke : report.changed.map((x) => x.id);
      const rev = await revertOn(scratch, bad, c, report.firstBad.subject, req.signal);
      const revert = rev.ok
        ? await test(rev.commit, 'revert', undefined, { objectsFrom: scratch, subject: `Revert "${report.firstBad.subject}" on bad`, ...(cases.length ? { selection: makeSelection({ cases }) } : {}) })
        : undefined;
      report.checks = checksOf({
        revert: rev.ok ? { applied: true, commit: rev.commit, verdict: revert!.decision.verdict, why: revert!.decision.why } : { applied: false, why: rev.why },
        culprit: { verdict: again.decision.verdict, why: again.decision.why },
        parent: before ? { verdict: before.decision.verdict, why: before.decision.why } : { verdict: 'skip', why: 'a root commit has no parent' },
        identicalKernel: Boolean(again.kernel && before?.kernel && sameFile(again.kernel.bzImage, before.kernel.bzImage)),
      });
      req.log(report.checks.verified ? `culprit verified: revert: ${report.checks.revert}, verify: ${report.checks.verify}` : `culprit unverified: ${report.checks.why.join('; ')}`);
    }
  } catch (e) {
    report.log ||= (await git(scratch, ['bisect', 'log'], { allowFail: true }).catch(() => ({ stdout: '' }))).stdout;
    report.wallMs = Date.now() - t0;
    writeBisectReport(report, e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    ahead.abort();
    await badKernel;
    await rm(scratch, { recursive: true, force: true });
  }
  report.wallMs = Date.now() - t0;
  writeBisectReport(report);
  return report;
}

/** git bisect's words; it exits non-zero when skipped commits leave it a set, which is an answer, not a failure. */
async function bisectCmd(scratch: string, args: string[], signal: AbortSignal): Promise<string> {
  const r = await git(scratch, ['bisect', ...args], { signal, allowFail: true });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0 && !parseBisectOutput(out)) throw new KgateError('bug', `git bisect ${args.join(' ')} failed: ${r.stderr.trim().split('\n').at(-1) ?? r.code}`);
  return out;
}

function failingCases(r: StepResult): string {
  const bad = r.runs[0]?.run.cases.filter((c) => isFailure(c.status)) ?? [];
  const names = bad.slice(0, 5).map((c) => `${c.id} ${c.status}${c.observed ? ` (observed ${c.observed}, expected ${c.expected})` : ''}`);
  return `${bad.length} case(s) fail there: ${names.join(', ')}${bad.length > 5 ? ', ...' : ''}`;
}

/** git bisect's answer, once it has one: the first bad commit, or the set skipped commits leave. */
export function parseBisectOutput(out: string): { first?: string; candidates: string[] } | undefined {
  const first = /^([0-9a-f]{40}) is the first bad commit/m.exec(out);
  if (first) return { first: first[1], candidates: [] };
  if (/There are only 'skip'ped commits left to test/.test(out)) {
    return { candidates: [...out.matchAll(/^([0-9a-f]{40})$/gm)].map((m) => m[1]) };
  }
  return undefined;
}
