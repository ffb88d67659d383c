// What a night leaves in <root>/<date>/: nightly.json (the matrix, what merge
// and --resume read), junit.xml (a testsuite per cell), summary.txt (for a mail
// to the list), report.html and kcidb.json (validated against KCIDB's schema).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KgateError } from '../model.js';
import { formatChanges } from '../report/compare.js';
import { writeMatrixHtml } from '../report/html.js';
import { formatMatrixJUnit } from '../report/junit.js';
import { writeKcidb } from '../report/kcidb.js';
import { mailText } from '../report/mail.js';
import { trailersOf, type CellBisect, type MatrixReport, type Regression } from '../report/matrix.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface NightlyJson { plan: string; report: MatrixReport; kcidbError?: string }

export function readNightlyJson(dir: string): NightlyJson {
  const f = path.join(dir, 'nightly.json');
  try {
    const j = JSON.parse(readFileSync(f, 'utf8')) as NightlyJson;
    if (typeof j.plan !== 'string' || !Array.isArray(j.report?.cells)) throw new Error('not a nightly.json');
    return j;
  } catch (e) {
    throw new KgateError('user', `${f}: not a readable nightly report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function writeNightlyReport(dir: string, j: NightlyJson): NightlyJson {
  writeFileAtomic(path.join(dir, 'nightly.json'), JSON.stringify(j, null, 2) + '\n');
  writeFileAtomic(path.join(dir, 'junit.xml'), formatMatrixJUnit(j.report));
  writeFileAtomic(path.join(dir, 'summary.txt'), formatNightlyText(j.report));
  writeMatrixHtml(dir, j.report);
  // Checked against KCIDB's schema before it is written: an export a bug of kgate's made invalid is said, and the night keeps its other reports.
  try {
    writeKcidb(dir, j.report);
  } catch (e) {
    if (!(e instanceof KgateError)) throw e;
    return { ...j, kcidbError: e.message };
  }
  return j;
}

/** The mail: per cell its kernel, counts, and what changed since the last night. */
export function formatNightlyText(m: MatrixReport): string {
  const lines: string[] = [m.title, ''];
  const changed = m.cells.filter((c) => c.vsLast && c.vsLast.comparison.changes.length > 0);
  const compared = m.cells.filter((c) => c.vsLast).length;
  lines.push(compared === 0 ? 'The first night of every cell: nothing to compare with.'
    : changed.length === 0 ? `No case changed since the last night (${compared} of ${m.cells.length} cells compared).`
    : `Changed since the last night: ${changed.map((c) => c.name).join(', ')}`, '');
  for (const c of m.cells) {
    const release = c.run?.kernel?.release ?? '';
    lines.push(`${c.name}: ${c.kernel}${release ? ` (${release})` : ''}`);
    if (c.state === 'failed') { lines.push(`  not tested: ${c.error ?? 'unknown'}`, ''); continue; }
    const counts = c.run ? Object.entries(c.run.summary.counts).map(([s, n]) => `${n} ${s}`).join(', ') : '';
    lines.push(`  ${c.run?.summary.total ?? 0} cases: ${counts}${c.state === 'unchanged' ? ' (kernel unchanged: last night\'s results)' : ''}`);
    if (!c.vsLast) lines.push('  first night of this cell');
    else lines.push(`  against ${c.vsLast.date}:`, ...formatChanges(c.vsLast.comparison, '    '));
    lines.push('');
    if (c.bisect) lines.push(...formatCellBisect(c.bisect, m.date, m.reporter), '');
  }
  lines.push(...formatRegressions(m.regressions ?? [], m.date));
  lines.push(`Reproduce: ${m.reproducer}`);
  return mailText(lines);
}

const short = (c: string) => c.slice(0, 12);

/**
 * A cell's own bisect: the range, the culprit and its checks, and the lines a
 * reply to the list carries (unindented: tools read them one line each).
 * Fixes: only for a verified culprit; regzbot gets the range otherwise.
 */
export function formatCellBisect(b: CellBisect, date: string, reporter: string | undefined): string[] {
  const L = [`  bisected ${b.cases.join(', ')}`,
    `    good ${b.good.date}${b.good.commit ? ` ${short(b.good.commit)}` : ''}, bad ${b.bad.date === date ? 'tonight' : b.bad.date}${b.bad.commit ? ` ${short(b.bad.commit)}` : ''}`];
  if (b.outcome === 'not-run') return [...L, `  not bisected: ${b.error ?? 'unknown'}`];
  const c = b.culprit;
  if (c) {
    L.push(`  first bad commit${c.verified ? ' (verified)' : ' (UNVERIFIED)'}:`, `    ${short(c.commit)} ${c.subject}`);
    if (c.revert || c.verify) L.push(`  Checks: revert: ${c.revert ?? '-'}, verify: ${c.verify ?? '-'}`);
    for (const w of c.why) L.push(`  unverified: ${w}`);
  } else if (b.candidates) {
    L.push('  skipped commits leave a set; the first bad commit is one of:', ...b.candidates.map((x) => `    ${short(x.commit)} ${x.subject}`));
  }
  if (b.error && !c) L.push(`  bisect stopped: ${b.error}`);
  L.push(`  ${b.steps ?? 0} steps, ${b.builds ?? 0} kernel builds${b.wallMs !== undefined ? `, ${(b.wallMs / 1000).toFixed(0)} s` : ''}${b.dir ? `; ${b.dir}/bisect.txt` : ''}`, '');
  L.push(...trailersOf(b, reporter));
  return L;
}

/** One line per open regression (and per one closed tonight): its life and its culprit once known. */
export function formatRegressions(rs: Regression[], date: string): string[] {
  if (rs.length === 0) return [];
  const open = rs.filter((r) => r.open);
  const closed = rs.filter((r) => !r.open);
  const line = (r: Regression) => {
    const now = r.open ? (r.lastSeen === date ? 'still fails' : `failed when last run, ${r.lastSeen}`) : `passes again since ${r.closed}`;
    const b = r.bisect;
    const culprit = b?.culprit ? [`    culprit ${short(b.culprit.commit)}${b.culprit.verified ? ' (verified)' : ' (unverified)'}`]
      : b ? [`    bisect of ${b.date}: ${b.outcome === 'narrowed' ? 'no single commit' : b.error ?? b.outcome}`] : [];
    return [`  ${r.cell} ${r.case}: ${now}`,
      `    appeared ${r.appeared}, last passed ${r.lastPassed.date}${r.lastPassed.commit ? ` (${short(r.lastPassed.commit)})` : ''}`, ...culprit];
  };
  const L: string[] = [];
  if (open.length) L.push(`Open regressions (${open.length}):`, ...open.flatMap(line), '');
  if (closed.length) L.push(`Closed tonight (${closed.length}):`, ...closed.flatMap(line), '');
  return L;
}
