// src/tap: the `parseLog` stage (STYLE.md point 1): log text in, cases +
// summary + problems out. Never throws; `kgate parse FILE|-` is a thin shell
// over parseLog + formatParseSummary.
import type { CaseResult, RunResult, RunSummary, Status } from '../model.js';
import { summarise } from '../model.js';
import { parseKtap, toCaseResults, type KtapDocument, type TapCase, type TapProblem, type ToCaseContext } from './parse.js';

export { KtapNormaliser, normaliseLines } from './normalise.js';
export type { NormLine, LineKind } from './normalise.js';
export { KtapStream, parseKtap, parseResultLine, toCaseResults, topToCases, treeStatus } from './parse.js';
export type { TapCase, TapProblem, KtapDocument, ParsedKtap, KtapStreamOptions, ToCaseContext, DirectiveKind } from './parse.js';

export interface ParsedLog {
  cases: CaseResult[];
  summary: RunSummary;
  problems: TapProblem[];
  /** The parsed tree, for callers that want more than the flat cases. */
  tests: TapCase[];
  documents: KtapDocument[];
}

/** Parse a captured log (console, SSH output, a KUnit or kselftest log). */
export function parseLog(input: string, ctx: ToCaseContext = {}): ParsedLog {
  const tap = parseKtap(input);
  const cases = toCaseResults(tap, ctx);
  return { cases, summary: summarise(cases), problems: tap.problems, tests: tap.tests, documents: tap.documents };
}

/** Problems as RunResult.problems strings. */
export function problemStrings(problems: TapProblem[]): string[] {
  return problems.map((p) => (p.line > 0 ? `line ${p.line}: ${p.message}` : p.message));
}

/** A RunResult for a parsed log, for the report writers (kgate parse --junit/--json). */
export function parsedLogToRun(parsed: ParsedLog, init: Partial<Pick<RunResult, 'runId' | 'startedAt' | 'target' | 'kernel'>> = {}): RunResult {
  const kernel = init.kernel ?? parsed.cases.find((c) => c.kernel)?.kernel;
  const run: RunResult = {
    runId: init.runId ?? 'parse',
    startedAt: init.startedAt ?? new Date().toISOString(),
    target: init.target ?? 'log',
    cases: parsed.cases,
    problems: problemStrings(parsed.problems),
    summary: parsed.summary,
  };
  if (kernel) run.kernel = kernel;
  return run;
}

const LABELS: [Status, string][] = [
  ['PASS', 'passed'], ['FAIL', 'failed'], ['CRASH', 'crashed'], ['TIMEOUT', 'timed out'],
  ['ERROR', 'errors'], ['MISS', 'missing'], ['XFAIL', 'expected failures'], ['SKIP', 'skipped'], ['DONE', 'done'],
];

/**
 * kunit.py's closing line, "Testing complete. Ran N tests: passed: X, failed: Y",
 * listing only the statuses that occurred (passed always), then the problems.
 */
export function formatParseSummary(parsed: Pick<ParsedLog, 'summary' | 'problems'>): string {
  const { summary } = parsed;
  const parts = LABELS.filter(([s]) => s === 'PASS' || (summary.counts[s] ?? 0) > 0)
    .map(([s, label]) => `${label}: ${summary.counts[s] ?? 0}`);
  const lines = [`Testing complete. Ran ${summary.total} test${summary.total === 1 ? '' : 's'}: ${parts.join(', ')}`];
  if (parsed.problems.length > 0) {
    lines.push(`Parser problems (${parsed.problems.length}):`);
    for (const p of problemStrings(parsed.problems)) lines.push(`  ${p}`);
  }
  return lines.join('\n');
}
