// A matrix of runs: cells (one kernel and case selection each) by cases, with
// each cell's comparison against its last run and each case's history. A
// nightly fills it; the HTML, KCIDB, JUnit and mail writers read only this,
// so any job that has several runs to show (a gate, a merged set of shards)
// can use the same writers.
import type { RunResult, Status } from '../model.js';
import type { Comparison } from './compare.js';
import { culpritTrailers } from './mail.js';

/** One past (or tonight's) outcome of one case in one cell. */
export interface HistoryPoint {
  date: string;            // the night, YYYY-MM-DD
  kernel: string;          // the kernel's identity key (release + commit/config): flaky when it is the same and the outcome is not
  status: Status;
  observed?: string;
}

export interface MatrixCell {
  name: string;
  /** What the cell's kernel is, as the config said it ("debian:6.12", "tree:/src/linux@master"). */
  kernel: string;
  selection: string;
  /** ran: tonight's run is `run`; unchanged: skipped by --skip-unchanged, `run` is the last night's; failed: no run (build or boot failure). */
  state: 'ran' | 'unchanged' | 'failed';
  /** The run directory, relative to the report's directory where it is below it. */
  dir?: string;
  run?: RunResult;
  exitCode: number;
  /** Why the cell has no result (its build error, a boot failure), one line. */
  error?: string;
  /** The comparison with the last night that ran this cell; absent on a cell's first night. */
  vsLast?: { date: string; runId: string; comparison: Comparison };
  /** Per case id, oldest first, tonight last. */
  history: Record<string, HistoryPoint[]>;
  /** Wall time of the cell (kernel, boot, suite). */
  ms?: number;
  /** The cell's own bisect of tonight's new failures (a tree kernel with bisect: on). */
  bisect?: CellBisect;
}

/**
 * A nightly's bisect of a cell's new failures between the last night they
 * passed (good) and tonight (bad), with kgate bisect's checks of the culprit.
 */
export interface CellBisect {
  /** The cases bisected: the ones that newly failed tonight. */
  cases: string[];
  good: { date: string; commit: string };
  bad: { date: string; commit: string; describe?: string };
  /** found: a first bad commit (verified or not); narrowed: skipped commits leave a set; stopped: no answer (error); not-run: why in error. */
  outcome: 'found' | 'narrowed' | 'stopped' | 'not-run';
  culprit?: { commit: string; subject: string; verified: boolean; revert?: string; verify?: string; why: string[] };
  candidates?: { commit: string; subject: string }[];
  /** The bisect's directory (bisect.json, bisect.txt), relative to the night's. */
  dir?: string;
  builds?: number;
  steps?: number;
  wallMs?: number;
  error?: string;
}

/** One case of one cell that passed and then failed on another kernel: its life over the nights, until it passes again. */
export interface Regression {
  cell: string;
  case: string;
  /** The first night it failed. */
  appeared: string;
  /** The last night it passed before that, and that night's commit (a tree kernel's). */
  lastPassed: { date: string; commit?: string };
  /** The last night that ran the case. */
  lastSeen: string;
  /** It failed on lastSeen; closed: the night it passed again. */
  open: boolean;
  closed?: string;
  /** The cell's bisect that covered this case, once one ran (the night it ran: `date`). */
  bisect?: CellBisect & { date: string };
}

export interface MatrixReport {
  title: string;           // "kgate nightly 2026-12-03"
  date: string;            // YYYY-MM-DD
  startedAt: string;
  finishedAt?: string;
  /** The config file (or what made the matrix). */
  source: string;
  cells: MatrixCell[];
  /** Set when this report holds one shard of a plan: "2/4". */
  shard?: string;
  /** The command that makes this report again. */
  reproducer: string;
  exitCode: number;
  /** Each open regression (and those closed tonight), from the cells' histories. */
  regressions?: Regression[];
  /** "Name <address>" of the Reported-by: under a culprit (the config's reporter:, else $KGATE_REPORTER). */
  reporter?: string;
  /** The job's wall time and the part of it spent in the cells (kernel, boot, suite); the rest is planning, comparison, reports. */
  timings?: { wallMs: number; cellsMs: number };
}

/** Every case id of the matrix, in first-seen order (the catalog's, as runs list them). */
export function matrixCaseIds(m: Pick<MatrixReport, 'cells'>): string[] {
  const ids = new Set<string>();
  for (const c of m.cells) for (const r of c.run?.cases ?? []) ids.add(r.id);
  return [...ids];
}

/** A cell's bisect's lines for the list (report/mail.ts culpritTrailers). */
export function trailersOf(b: CellBisect, reporter: string | undefined): string[] {
  return culpritTrailers({
    ...(b.culprit ? { culprit: b.culprit } : {}), good: b.good.commit || undefined, bad: b.bad.commit || undefined,
    ...(b.bad.describe ? { badDescribe: b.bad.describe } : {}), ...(reporter ? { reporter } : {}),
  });
}
