// src/tap: the `parseLog` stage (docs/design.md "Stages"): log text in, cases +
// summary + problems out. Never throws; `kgate parse FILE|-` is a thin shell
// over parseLog + formatParseSummary.
import type { CaseResult, RunResult, RunSummary } from '../model.js';
import { STATUS_FACTS, STATUS_ORDER, speaksLine, summarise } from '../model.js';
import { KtapStream, type LogSource } from './stream.js';
import { selftestName } from './lines.js';
import { runnerVerdicts, toCaseResults, topToCases, type KtapDocument, type RunnerVerdict, type TapCase, type TapProblem, type ToCaseContext } from './cases.js';
import { textLines } from '../util/lines.js';

export { KtapNormaliser, normaliseLines } from './normalise.js';
export type { NormLine, LineKind } from './normalise.js';
export { KtapStream, parseKtap } from './stream.js';
export type { KtapStreamOptions, LogSource } from './stream.js';
export { parseResultLine } from './lines.js';
export type { DirectiveKind } from './lines.js';
export { runnerVerdicts, toCaseResults, topToCases, treeStatus } from './cases.js';
export type { TapCase, TapProblem, KtapDocument, ParsedKtap, ToCaseContext, RunnerVerdict } from './cases.js';

export interface ParsedLog {
  cases: CaseResult[];
  /** Over `cases`: every nested case (what a RunResult of these cases summarises). */
  summary: RunSummary;
  /**
   * The log's own top level: kselftest's runner counts one result per binary
   * (what the runner and CI dashboards count), so where a runner level exists
   * each of its binaries is one result here, its nested cases counted in
   * `summary` beside; elsewhere the same as `summary`.
   */
  top: RunSummary;
  problems: TapProblem[];
  /** The parsed tree, for callers that want more than the flat cases. */
  tests: TapCase[];
  documents: KtapDocument[];
  /**
   * kselftest runner output: what the runner decided per binary (counted in
   * `top`). `cases` (and `summary` and the exit status) count the nested
   * cases, plus each binary whose own verdict none of its cases explains (a
   * non-zero exit after every case passed, a timeout before any plan).
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
  const runner = runnerVerdicts(tap.tests);
  const summary = summarise(cases);
  const top = runner.length === 0 ? summary
    : summarise(tap.tests.flatMap<Pick<CaseResult, 'status'>>((t) => (selftestName(t.name) ? [t] : topToCases(t, tap.documents[t.document], ctx))));
  return { cases, summary, top, problems: tap.problems, tests: tap.tests, documents: tap.documents, runner };
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

/**
 * kunit.py's closing line, "Testing complete. Ran N tests: passed: X, failed: Y",
 * listing only the statuses that occurred (passed always), then the problems.
 */
export function formatParseSummary(parsed: Pick<ParsedLog, 'summary' | 'problems'> & { top?: RunSummary; runner?: RunnerVerdict[]; cases?: CaseResult[] }): string {
  const { summary } = parsed;
  const runner = parsed.runner ?? [];
  // kselftest's runner: the first line counts what the runner counts, one result per binary.
  const top = runner.length > 0 ? parsed.top ?? summary : summary;
  const parts = (counts: RunSummary['counts']) => STATUS_ORDER.filter((s) => s === 'PASS' || (counts[s] ?? 0) > 0)
    .map((s) => `${STATUS_FACTS[s].label}: ${counts[s] ?? 0}`).join(', ');
  const lines = [`Testing complete. Ran ${top.total} test${top.total === 1 ? '' : 's'}: ${parts(top.counts)}`];
  const speaks = speaksLine(parsed.cases?.find((c) => c.kernel?.speaks)?.kernel);
  if (speaks) lines.push(`On ${parsed.cases!.find((c) => c.kernel?.speaks)!.kernel!.release}, the ${speaks}.`);
  if (runner.length > 0) {
    // Two levels: say which one the line above counted, the nested cases beside, and what the runner said per binary.
    lines.push(`Counted per binary, as kselftest's runner does (${runner.length} binaries). Nested test cases: ran ${summary.total}: ${parts(summary.counts)}`);
    for (const v of runner) if (v.status !== 'PASS' && v.status !== 'SKIP') lines.push(`  ${v.status.padEnd(7)} ${v.family}:${v.binary}${v.reason ? `  ${v.reason}` : ''}`);
  }
  if (parsed.problems.length > 0) {
    lines.push(`Parser problems (${parsed.problems.length}):`);
    for (const p of problemStrings(parsed.problems)) lines.push(`  ${p}`);
  }
  return lines.join('\n');
}
