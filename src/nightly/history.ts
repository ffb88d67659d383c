// history/<cell>.jsonl beside the nights: one line per night a cell ran, with
// the kernel's identity key and every case's (status, observed). It is what
// the report's rows of marks show and how a night finds "the last night that
// ran this cell" without reading every old results.json. Tonight's run of a
// cell is recorded here and judged against that last night (withHistory).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isFailure, type KernelIdentity, type RunResult, type Status } from '../model.js';
import type { CellBisect, HistoryPoint, MatrixCell } from '../report/matrix.js';
import { compareRuns, type Comparison } from '../report/compare.js';
import { readRunResult } from '../session/run-dir.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { PlannedCell } from './config.js';

export interface NightEntry {
  date: string;
  /** The run directory, relative to the nightly root. */
  dir: string;
  runId: string;
  kernel: string;
  release?: string;
  /** A tree kernel's commit: where a bisect of a later night's new failure starts (good). */
  commit?: string;
  cases: [id: string, status: Status, observed?: string][];
  /** The night's own bisect of this cell's new failures (its dir relative to that night's directory). */
  bisect?: CellBisect;
}

/**
 * Which kernel this is, as far as a night can tell: the same key means the
 * same kernel, so an outcome that changed under it is flaky, not a regression.
 */
export function kernelKey(k: KernelIdentity | undefined): string {
  if (!k) return 'unknown';
  const parts = [k.release, k.packageVersion, k.commit, k.dirtyHash, k.configHash].filter((x): x is string => !!x);
  return parts.join(' ');
}

const file = (root: string, cell: string) => path.join(root, 'history', `${cell}.jsonl`);

export function readHistory(root: string, cell: string): NightEntry[] {
  const f = file(root, cell);
  if (!existsSync(f)) return [];
  const out: NightEntry[] = [];
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try { out.push(JSON.parse(line) as NightEntry); } catch { /* a line cut by a crash: the others still count */ }
  }
  return out.sort((a, b) => a.date.localeCompare(b.date));
}

/**
 * Tonight's line for the cell, and the cell's history with it; a rerun of the
 * same night (a second run that day) replaces it. The same run again (a cell
 * --resume kept) keeps the bisect the interrupted night recorded on it.
 */
export function recordNight(root: string, cell: string, date: string, dir: string, run: RunResult): { entry: NightEntry; history: NightEntry[] } {
  const before = readHistory(root, cell);
  const same = before.find((e) => e.date === date && e.runId === run.runId);
  const entry: NightEntry = {
    date, dir: path.relative(root, dir), runId: run.runId, kernel: kernelKey(run.kernel),
    ...(run.kernel?.release ? { release: run.kernel.release } : {}),
    ...(run.kernel?.commit ? { commit: run.kernel.commit } : {}),
    cases: run.cases.map((c) => (c.observed !== undefined ? [c.id, c.status, c.observed] : [c.id, c.status])),
    ...(same?.bisect ? { bisect: same.bisect } : {}),
  };
  const history = [...before.filter((e) => e.date !== date), entry].sort((a, b) => a.date.localeCompare(b.date));
  writeFileAtomic(file(root, cell), history.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return { entry, history };
}

/** The cell's bisect of the night `date`, kept on that night's line (the night must have been recorded). */
export function recordBisect(root: string, cell: string, date: string, bisect: CellBisect): void {
  const history = readHistory(root, cell);
  const night = history.find((e) => e.date === date);
  if (!night) return;
  night.bisect = bisect;
  writeFileAtomic(file(root, cell), history.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

/**
 * The bisect of these cases the night `date` already finished (an interrupted
 * night's, kept by --resume): undefined when none, or when it was interrupted.
 */
export function finishedBisect(history: NightEntry[], date: string, cases: readonly string[]): CellBisect | undefined {
  const b = history.find((e) => e.date === date)?.bisect;
  const same = b && [...b.cases].sort().join(',') === [...cases].sort().join(',');
  return same && !(b.outcome === 'stopped' && b.error === 'interrupted') ? b : undefined;
}

/** The last night before `date` that ran the cell. */
export function lastNightBefore(history: NightEntry[], date: string): NightEntry | undefined {
  return history.filter((e) => e.date < date).at(-1);
}

/** Per case, its marks over the nights (oldest first), for the report. */
export function casePoints(history: NightEntry[], limit = 30): Record<string, HistoryPoint[]> {
  const out: Record<string, HistoryPoint[]> = {};
  for (const e of history.slice(-limit)) {
    for (const [id, status, observed] of e.cases) {
      (out[id] ??= []).push({ date: e.date, kernel: e.kernel, status, ...(observed !== undefined ? { observed } : {}) });
    }
  }
  return out;
}

/** Tonight's run of a cell into its history, and compared with the last night that ran it: the report's cell. */
export function withHistory(night: { root: string; date: string }, cell: PlannedCell, run: RunResult, dir: string, state: MatrixCell['state'], repeats: RunResult[] = []): MatrixCell {
  const { entry: tonight, history } = recordNight(night.root, cell.name, night.date, path.join(dir, cell.name), run);
  const last = lastNightBefore(history, night.date);
  // A run that ended before any case reported (its guest never came up) is a cell without results.
  const noResult = run.abort !== undefined && run.cases.every((c) => c.status === 'MISS');
  const out: MatrixCell = {
    name: cell.name, kernel: cell.kernelText, selection: cell.selection.describe, state, run, dir: cell.name,
    exitCode: noResult ? 125 : run.cases.some((c) => isFailure(c.status)) ? 1 : 0,
    history: casePoints(history),
  };
  if (noResult) { out.state = 'failed'; out.error = run.abort!.reason.split('\n')[0]; }
  const lastRun = last && readRunResult(path.join(night.root, last.dir));
  if (last && lastRun) out.vsLast = { date: last.date, runId: last.runId, comparison: flakyWhenSameKernel(compareRuns(lastRun, run, repeats), last.kernel === tonight.kernel) };
  return out;
}

/** An outcome that changed while the kernel did not is the test's or the machine's, not the kernel's: call it flaky. */
function flakyWhenSameKernel(cmp: Comparison, sameKernel: boolean): Comparison {
  if (!sameKernel) return cmp;
  const changes = cmp.changes.map((c) => (c.kind === 'added' || c.kind === 'removed' ? c : { ...c, kind: 'flaky' as const }));
  return { ...cmp, changes, regressed: false };
}
