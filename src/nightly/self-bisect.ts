// A nightly that bisects itself: after the cells ran and were compared, each
// tree cell with `bisect:` and a new failure tonight is bisected by kgate's
// own bisect (bisect/driver.ts, with its revert and verify checks) between
// the last night those cases passed (good) and tonight (bad), over only the
// cases that newly fail. Both ends' kernels were built on their nights, so
// the build cache has them; `max-builds` bounds the rest. The bisect runs in
// kgate's scratch repository, as `kgate bisect` does: the user's tree is
// only read. A bisect that fails is said in the cell (and its bisect.txt),
// and the night keeps every result it has.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { isFailure } from '../model.js';
import { forRun, type Emit } from '../events.js';
import type { TargetSpec } from '../runner/target-spec.js';
import { makeSelection } from '../catalog/selection.js';
import { runBisect, type BisectReport } from '../bisect/driver.js';
import type { CellBisect, MatrixCell, MatrixReport } from '../report/matrix.js';
import { readRunResult } from '../session/run-dir.js';
import type { NightlyConfig, PlannedCell } from './config.js';
import { finishedBisect, readHistory, recordBisect, type NightEntry } from './history.js';
import { reportedRegressions } from './regressions.js';

/** What of the night's request a bisect needs (driver.ts's NightlyRequest is one). */
export interface SelfBisectRequest {
  config: Pick<NightlyConfig, 'cells' | 'repeat' | 'reporter'>;
  date: string;
  root: string;
  target: Extract<TargetSpec, { kind: 'qemu' }>;
  buildDir: string;
  argv: string[];
  signal: AbortSignal;
  emit: Emit;
  log: (line: string) => void;
  /** --reporter, else $KGATE_REPORTER, when the config has no reporter:. */
  reporter?: string;
}

/** The cases of a cell that fail tonight and did not last night (new failures and new crashes). */
export function newFailures(cell: MatrixCell): string[] {
  if (cell.state !== 'ran' || !cell.vsLast) return [];
  return cell.vsLast.comparison.changes.filter((c) => c.kind === 'new-failure' || c.kind === 'new-crash').map((c) => c.id);
}

/** The last night before `date` on which every one of `cases` ran and none failed: the bisect's good end. */
export function lastGoodNight(history: NightEntry[], date: string, cases: string[]): NightEntry | undefined {
  return history.filter((e) => e.date < date).reverse().find((e) => {
    const st = new Map(e.cases.map(([id, status]) => [id, status]));
    return cases.every((id) => st.has(id) && !isFailure(st.get(id)!));
  });
}

/** Bisects each bisect: cell's new failures, puts the answer in its matrix cell and history line, then every cell's regressions in the report. */
export async function bisectNewFailures(req: SelfBisectRequest, report: MatrixReport, nightDir: string, save: () => void): Promise<void> {
  const reporter = req.config.reporter ?? req.reporter;
  if (reporter) report.reporter = reporter;
  for (const planned of req.config.cells) {
    const cell = report.cells.find((c) => c.name === planned.name);
    if (!planned.bisect || !cell || req.signal.aborted) continue;
    const cases = newFailures(cell);
    if (cases.length === 0) continue;
    const kept = finishedBisect(readHistory(req.root, cell.name), req.date, cases);
    if (kept) {
      // --resume: the interrupted night had bisected them already.
      cell.bisect = kept;
      req.log(`${cell.name}: bisected by the interrupted night, kept: ${bisectLine(kept)}`);
      continue;
    }
    req.log(`${cell.name}: ${cases.length} new failure(s) since ${cell.vsLast!.date} (${cases.join(', ')}): bisecting`);
    try {
      cell.bisect = await bisectCell(req, planned, cell, cases, nightDir, reporter);
      recordBisect(req.root, cell.name, req.date, cell.bisect);
    } catch (e) {
      // Whatever failed, the night keeps its cells and says the bisect's end.
      const error = req.signal.aborted ? 'interrupted' : e instanceof Error ? e.message.split('\n')[0] : String(e);
      cell.bisect ??= { cases, good: { date: cell.vsLast!.date, commit: '' }, bad: { date: req.date, commit: cell.run?.kernel?.commit ?? '' }, outcome: 'stopped', error };
    }
    req.log(`${cell.name}: bisect: ${bisectLine(cell.bisect)}`);
    save();
  }
  try {
    report.regressions = report.cells.flatMap((c) => reportedRegressions(c.name, readHistory(req.root, c.name), req.date));
  } catch (e) {
    req.log(`regressions not read from the history: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/** One line of what a cell's bisect found, for the log. */
export function bisectLine(b: CellBisect): string {
  if (b.culprit) return `${b.culprit.verified ? 'verified' : 'UNVERIFIED'} culprit ${b.culprit.commit.slice(0, 12)} ("${b.culprit.subject}")`;
  if (b.candidates) return `skipped commits leave ${b.candidates.length} candidates`;
  return `${b.outcome}: ${b.error ?? 'no answer'}`;
}

async function bisectCell(req: SelfBisectRequest, planned: PlannedCell, cell: MatrixCell, cases: string[], nightDir: string, reporter: string | undefined): Promise<CellBisect> {
  const spec = planned.kernel.spec;
  const bad = { date: req.date, commit: cell.run?.kernel?.commit ?? '' };
  const notRun = (why: string, good = { date: cell.vsLast!.date, commit: '' }): CellBisect => ({ cases, good, bad, outcome: 'not-run', error: why });
  if (spec.kind !== 'tree') return notRun('not a tree kernel');
  if (!bad.commit) return notRun('tonight\'s kernel has no commit');
  if (cell.run?.kernel?.dirtyHash) return notRun('tonight\'s kernel was built with uncommitted changes: only commits can be bisected');
  const last = lastGoodNight(readHistory(req.root, cell.name), req.date, cases);
  if (!last) return notRun('no earlier night passed these cases');
  const goodCommit = last.commit ?? readRunResult(path.join(req.root, last.dir))?.kernel?.commit;
  const good = { date: last.date, commit: goodCommit ?? '' };
  if (!goodCommit) return notRun(`the night of ${last.date} kept no commit`, good);
  if (goodCommit === bad.commit) return notRun(`the commit did not change since ${last.date} (${bad.commit.slice(0, 12)}): nothing to bisect`, good);

  const rel = path.join('bisect', cell.name);
  // Tonight's own: a resumed night bisects again from nothing.
  rmSync(path.join(nightDir, rel), { recursive: true, force: true });
  let answer: BisectReport | undefined;
  let error: string | undefined;
  try {
    answer = await runBisect({
      tree: spec.path, good: goodCommit, bad: bad.commit, runId: cell.name,
      selection: makeSelection({ cases }), repeat: req.config.repeat,
      ...(planned.kernel.baseConfig ? { baseConfig: planned.kernel.baseConfig } : {}),
      ...(planned.kernel.fragments?.length ? { fragments: planned.kernel.fragments } : {}),
      ...(planned.bisect?.maxBuilds !== undefined ? { maxBuilds: planned.bisect.maxBuilds } : {}),
      target: req.target, buildDir: req.buildDir, resultsRoot: nightDir, argv: req.argv,
      signal: req.signal, emit: forRun(`${cell.name}.bisect`, req.emit),
      log: (l) => req.log(`  ${cell.name} bisect: ${l}`), ...(reporter ? { reporter } : {}),
    });
  } catch (e) {
    error = req.signal.aborted ? 'interrupted' : e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
  const r = answer ?? readBisectJson(path.join(nightDir, rel));
  const out: CellBisect = { cases, good, bad, outcome: 'stopped', dir: rel };
  if (r) {
    if (r.bad.describe) out.bad.describe = r.bad.describe;
    Object.assign(out, { builds: r.builds, steps: r.steps.length, wallMs: r.wallMs });
    if (r.firstBad) {
      out.culprit = {
        commit: r.firstBad.commit, subject: r.firstBad.subject, verified: r.checks?.verified ?? false,
        ...(r.checks ? { revert: r.checks.revert, verify: r.checks.verify } : {}), why: r.checks?.why ?? [],
      };
      // Stopped in the checks: the culprit is named, unverified, and why is said.
      if (error) out.culprit.why.push(error);
    }
    if (r.candidates) out.candidates = r.candidates;
    out.outcome = r.firstBad ? 'found' : r.candidates ? 'narrowed' : 'stopped';
  }
  if (error) out.error = error;
  return out;
}

function readBisectJson(dir: string): BisectReport | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'bisect.json'), 'utf8')) as BisectReport;
  } catch {
    return undefined;
  }
}
