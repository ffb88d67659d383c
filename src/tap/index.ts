// src/tap: the `parseLog` stage (STYLE.md point 1): log text in, cases +
// summary + problems out. Never throws; `kgate parse FILE|-` is a thin shell
// over parseLog + formatParseSummary.
import type { CaseResult, RunResult, RunSummary, Status } from '../model.js';
import { speaksLine, summarise } from '../model.js';
import { KtapStream, runnerVerdicts, toCaseResults, type KtapDocument, type LogSource, type RunnerVerdict, type TapCase, type TapProblem, type ToCaseContext } from './parse.js';
import { textLines } from '../util/lines.js';

export { KtapNormaliser, normaliseLines } from './normalise.js';
export type { NormLine, LineKind } from './normalise.js';
export { KtapStream, parseKtap, parseResultLine, runnerVerdicts, toCaseResults, topToCases, treeStatus } from './parse.js';
export type { TapCase, TapProblem, KtapDocument, ParsedKtap, KtapStreamOptions, ToCaseContext, DirectiveKind, LogSource, RunnerVerdict } from './parse.js';

export interface ParsedLog {
  cases: CaseResult[];
  summary: RunSummary;
  problems: TapProblem[];
  /** The parsed tree, for callers that want more than the flat cases. */
  tests: TapCase[];
  documents: KtapDocument[];
  /**
   * kselftest runner output: what the runner decided per binary. `cases` (and
   * the summary and exit status) count the nested cases, plus each binary
   * whose own verdict none of its cases explains (a non-zero exit after every
   * case passed) or that timed out.
   */
  runner: RunnerVerdict[];
}

export interface ParseOptions extends ToCaseContext {
  /** Default 'saved-log' (kgate parse); kgate's own suite run is 'kgate-suite'. See LogSource. */
  source?: LogSource;
}

/** Parse a captured log (console, SSH output, a KUnit or kselftest log). */
export function parseLog(input: string, opts: ParseOptions = {}): ParsedLog {
  const { source, ...ctx } = opts;
  const stream = new KtapStream({ source: source ?? 'saved-log' });
  for (const l of textLines(input)) stream.push(l);
  const tap = stream.end();
  const cases = toCaseResults(tap, ctx);
  return { cases, summary: summarise(cases), problems: tap.problems, tests: tap.tests, documents: tap.documents, runner: runnerVerdicts(tap.tests) };
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
export function formatParseSummary(parsed: Pick<ParsedLog, 'summary' | 'problems'> & { runner?: RunnerVerdict[]; cases?: CaseResult[] }): string {
  const { summary } = parsed;
  const parts = (counts: RunSummary['counts']) => LABELS.filter(([s]) => s === 'PASS' || (counts[s] ?? 0) > 0)
    .map(([s, label]) => `${label}: ${counts[s] ?? 0}`).join(', ');
  const lines = [`Testing complete. Ran ${summary.total} test${summary.total === 1 ? '' : 's'}: ${parts(summary.counts)}`];
  const speaks = speaksLine(parsed.cases?.find((c) => c.kernel?.speaks)?.kernel);
  if (speaks) lines.push(`On ${parsed.cases!.find((c) => c.kernel?.speaks)!.kernel!.release}, the ${speaks}.`);
  const runner = parsed.runner ?? [];
  if (runner.length > 0) {
    // Two levels: say which one the line above counted, and what the runner said per binary.
    const counts: RunSummary['counts'] = {};
    for (const v of runner) counts[v.status] = (counts[v.status] ?? 0) + 1;
    lines.push(`Counted per nested test case (and per binary where the runner's verdict says more). kselftest runner, per binary: ran ${runner.length}: ${parts(counts)}`);
    for (const v of runner) if (v.status !== 'PASS' && v.status !== 'SKIP') lines.push(`  ${v.status.padEnd(7)} ${v.family}:${v.binary}${v.reason ? `  ${v.reason}` : ''}`);
  }
  if (parsed.problems.length > 0) {
    lines.push(`Parser problems (${parsed.problems.length}):`);
    for (const p of problemStrings(parsed.problems)) lines.push(`  ${p}`);
  }
  return lines.join('\n');
}
