// Two runs compared case by case, keyed by case id on (status, observed): what
// gate (a revision against base and against the previous one), nightly (a
// night against the last) and bisect (good against bad) report.
import type { CaseResult, RunResult, Status } from '../model.js';
import { failsTheKernel, isFailure } from '../model.js';

export type ChangeKind =
  | 'new-failure'   // passed (or was not failing) before, fails, times out or errors now
  | 'new-crash'     // the kernel crashed while it ran, and did not before
  | 'fixed'         // failed before, passes now
  | 'changed'       // same pass/fail side, but another observed errno/token or status
  | 'new-skip'      // ran before, SKIPs now (a feature lost)
  | 'unskipped'     // SKIPped before, runs now
  | 'flaky'         // disagreed with itself across repeats on the new side
  | 'added'         // only in the new run
  | 'removed';      // only in the old run

export interface CaseChange {
  id: string;
  family: string;
  kind: ChangeKind;
  before?: { status: Status; observed?: string; expected?: string; reason?: string };
  after?: { status: Status; observed?: string; expected?: string; reason?: string; console?: string[]; trace?: string[] };
}

export interface Comparison {
  changes: CaseChange[];
  /** Cases present on both sides with the same status and observed outcome. */
  unchanged: number;
  /** A regression in the sense of a gate's verdict: a case that passed before now FAILs, TIMEOUTs or CRASHes. */
  regressed: boolean;
}

const passing = (s: Status) => s === 'PASS' || s === 'XFAIL' || s === 'DONE';
const side = (c: CaseResult) => ({
  status: c.status,
  ...(c.observed !== undefined ? { observed: c.observed } : {}),
  ...(c.expected !== undefined ? { expected: c.expected } : {}),
  ...(c.reason !== undefined ? { reason: c.reason } : {}),
});

/** The change of one case, or undefined when (status, observed) is the same on both sides. */
export function classifyChange(before: CaseResult | undefined, after: CaseResult | undefined): ChangeKind | undefined {
  if (!before && !after) return undefined;
  if (!before) return 'added';
  if (!after) return 'removed';
  const a = before.status;
  const b = after.status;
  if (a === b && before.observed === after.observed) return undefined;
  if (b === 'CRASH' && a !== 'CRASH') return 'new-crash';
  if (b === 'SKIP' && a !== 'SKIP') return 'new-skip';
  if (a === 'SKIP' && b !== 'SKIP') return isFailure(b) ? 'new-failure' : 'unskipped';
  if (isFailure(b) && !isFailure(a)) return 'new-failure';
  if (isFailure(a) && passing(b)) return 'fixed';
  return 'changed';
}

/**
 * Compare `before` with `after`. `repeats` are further runs of the after side
 * (--repeat N): a case whose (status, observed) differs among them is flaky,
 * whatever the first run said.
 */
export function compareRuns(before: Pick<RunResult, 'cases'>, after: Pick<RunResult, 'cases'>, repeats: Pick<RunResult, 'cases'>[] = []): Comparison {
  const old = new Map(before.cases.map((c) => [c.id, c]));
  const now = new Map(after.cases.map((c) => [c.id, c]));
  const ids = [...new Set([...now.keys(), ...old.keys()])];
  const changes: CaseChange[] = [];
  let unchanged = 0;
  let regressed = false;
  for (const id of ids) {
    const a = old.get(id);
    const b = now.get(id);
    const others = repeats.map((r) => r.cases.find((c) => c.id === id)).filter((c): c is CaseResult => c !== undefined);
    const flaky = b !== undefined && others.some((o) => o.status !== b.status || o.observed !== b.observed);
    const kind = flaky ? 'flaky' : classifyChange(a, b);
    if (!kind) { unchanged++; continue; }
    const change: CaseChange = { id, family: (b ?? a)!.family, kind };
    if (a) change.before = side(a);
    if (b) change.after = { ...side(b), ...(b.console?.length ? { console: b.console.slice(0, 20) } : {}), ...(b.trace?.length ? { trace: b.trace } : {}) };
    changes.push(change);
    if (kind !== 'flaky' && a && b && passing(a.status) && failsTheKernel(b.status)) regressed = true;
  }
  return { changes, unchanged, regressed };
}

const LABEL: Record<ChangeKind, string> = {
  'new-failure': 'new failure', 'new-crash': 'new crash', fixed: 'fixed', changed: 'changed',
  'new-skip': 'new skip', unskipped: 'runs again', flaky: 'flaky', added: 'added', removed: 'removed',
};

/** One line per change, for a mail: "U03.dir  new failure  PASS EISDIR -> FAIL ok". */
export function formatChanges(cmp: Comparison, indent = '  '): string[] {
  if (cmp.changes.length === 0) return [`${indent}no change (${cmp.unchanged} cases the same)`];
  const out: string[] = [];
  const w = Math.max(...cmp.changes.map((c) => c.id.length));
  for (const c of cmp.changes) {
    const s = (x?: CaseChange['before']) => (x ? `${x.status}${x.observed !== undefined ? ` ${x.observed}` : ''}` : '-');
    out.push(`${indent}${c.id.padEnd(w)}  ${LABEL[c.kind]}: ${s(c.before)} -> ${s(c.after)}`);
  }
  return out;
}
