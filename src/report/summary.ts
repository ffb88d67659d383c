// The summary table printed at the end of a run and in CI logs: plain text,
// fixed-width columns, no colour (it is read in log viewers), a totals line,
// then every case that did not pass with its reason.
import type { CaseResult, RunResult, Status } from '../model.js';
import { crashQuote } from './oops.js';
import { STATUS_FACTS, STATUS_ORDER, byFamily, isFailure, speaksLine, summarise, worstStatus } from '../model.js';

/** Columns in the status table's order; DONE only appears when some case has it. */
const COLUMNS: [Status, string][] = STATUS_ORDER.map((s) => [s, STATUS_FACTS[s].column]);

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function table(rows: string[][], rightFrom: number): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => pad(cell, widths[i], i >= rightFrom)).join('  ').trimEnd());
}

export function formatSummaryTable(run: Pick<RunResult, 'cases'> & Partial<Pick<RunResult, 'problems' | 'abort' | 'kernel' | 'runId'>>): string {
  const families = byFamily(run.cases);
  const total = summarise(run.cases);
  const cols = COLUMNS.filter(([s]) => s !== 'DONE' || (total.counts.DONE ?? 0) > 0);
  const header = ['family', 'total', ...cols.map(([, l]) => l), 'result'];
  const row = (name: string, cases: CaseResult[]): string[] => {
    const s = summarise(cases);
    return [name, String(s.total), ...cols.map(([st]) => (s.counts[st] ? String(s.counts[st]) : '-')), cases.length ? worstStatus(cases.map((c) => c.status)) : '-'];
  };
  const rows = [header, ...[...families].map(([f, cs]) => row(f, cs))];
  const totals = row('TOTAL', run.cases);
  const body = table([...rows, totals], 1);
  const rule = '-'.repeat(Math.max(...body.map((l) => l.length)));
  const out: string[] = [];
  if (run.runId || run.kernel?.release) {
    out.push(`kgate run ${run.runId ?? ''}${run.kernel?.release ? ` on ${run.kernel.release}` : ''}`.trim());
  }
  out.push(body[0], rule, ...body.slice(1, -1), rule, body[body.length - 1]);

  // Every case that did not pass is listed on its own line, except SKIPs: a
  // kernel without the feature skips dozens for one reason, said once per reason.
  const notPassed = run.cases.filter((c) => c.status !== 'PASS' && c.status !== 'SKIP')
    .sort((a, b) => STATUS_FACTS[a.status].severity - STATUS_FACTS[b.status].severity);
  if (notPassed.length > 0) {
    out.push('', `Not passed (${notPassed.length}):`);
    const lines = table(notPassed.map((c) => [c.status, c.family, c.id, c.reason ?? detailOf(c)]), 99);
    for (const l of lines) out.push(`  ${l}`);
  }
  // Where kgate had the kernel's vmlinux, each crash is placed in the source (decode_stacktrace.sh of its tree).
  const decoded = run.cases.filter((c) => c.trace?.length);
  if (decoded.length > 0) {
    out.push('', `Crashes decoded (${decoded.length}, the tree's scripts/decode_stacktrace.sh):`);
    for (const c of decoded) out.push(`  ${c.id}:`, ...crashQuote(c).lines.map((l) => `    ${l}`));
  }
  const skipped = run.cases.filter((c) => c.status === 'SKIP');
  if (skipped.length > 0) {
    const byReason = new Map<string, CaseResult[]>();
    for (const c of skipped) {
      const r = c.reason ?? '(no reason given)';
      byReason.set(r, [...(byReason.get(r) ?? []), c]);
    }
    out.push('', `Skipped (${skipped.length}):`);
    const rows = [...byReason].sort((a, b) => b[1].length - a[1].length).map(([reason, cs]) => {
      const fams = new Map<string, number>();
      for (const c of cs) fams.set(c.family, (fams.get(c.family) ?? 0) + 1);
      const where = cs.length <= 3 ? cs.map((c) => c.id).join(', ') : [...fams].map(([f, n]) => `${f} ${n}`).join(', ');
      return [String(cs.length), reason, `(${where})`];
    });
    for (const l of table(rows, 99)) out.push(`  ${l}`);
  }
  if (run.abort) out.push('', `Run aborted (${run.abort.family}): ${run.abort.reason.split('\n')[0]}`);
  if (run.problems && run.problems.length > 0) {
    out.push('', `Problems (${run.problems.length}):`);
    for (const p of run.problems) out.push(`  ${p}`);
  }
  const failed = run.cases.filter((c) => isFailure(c.status)).length;
  const speaks = speaksLine(run.kernel ?? run.cases.find((c) => c.kernel?.speaks)?.kernel);
  const on = speaks ? `; ${speaks}` : '';
  if (run.abort) out.push('', `Verdict: ABORTED (${run.abort.family}): ${failed} of ${total.total} cases did not pass as expected${on}`);
  else if (failed > 0) out.push('', `Verdict: ${total.status}: ${failed} of ${total.total} cases did not pass as expected${on}`);
  else out.push('', `Verdict: PASS: ${total.total} cases as expected${on}`);
  return out.join('\n');
}

function detailOf(c: CaseResult): string {
  if (c.observed !== undefined || c.expected !== undefined) return `observed ${c.observed ?? '?'}, expected ${c.expected ?? '?'}`;
  return '';
}
