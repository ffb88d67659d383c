// report.html: one self-contained page for a MatrixReport (a nightly, a gate,
// merged shards). No network: inline CSS, one line of script (open every
// <details> for printing), no fonts or images. On top, each cell's comparison
// with its last night; below, the matrix: a row per case, a column per cell,
// each box a status in text and colour, non-PASS boxes expandable with
// expected/observed, reason, KTAP and console, and a row of history marks.
// Everything that comes from a run is escaped (xml.ts: & < > " and controls).
import { join } from 'node:path';
import type { CaseResult, Status } from '../model.js';
import { STATUSES, STATUS_FACTS, speaksLine } from '../model.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { CaseChange, ChangeKind } from './compare.js';
import type { CellBisect, HistoryPoint, MatrixCell, MatrixReport, Regression } from './matrix.js';
import { matrixCaseIds, trailersOf } from './matrix.js';
import { xmlAttr as attr, xmlText as text } from './xml.js';

export const REPORT_HTML = 'report.html';


// Colours by status (--bg/--fg on the box, the mark, the count); dark text on light boxes, white on dark.
const CSS = `
:root{font:14px/1.35 system-ui,sans-serif;color:#111}
body{margin:1em 1.5em}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.2em 0 .4em}h3{font-size:1em;margin:.8em 0 .3em}
.meta{color:#444;margin:.1em 0}code,pre{font:12px/1.3 ui-monospace,monospace}
.PASS{--bg:#2e7d32;--fg:#fff}.XFAIL{--bg:#c8e6c9;--fg:#1b5e20}.SKIP{--bg:#c7c7c7;--fg:#222}.DONE{--bg:#bbdefb;--fg:#0d47a1}
.FAIL{--bg:#c62828;--fg:#fff}.CRASH{--bg:#5b1a6e;--fg:#fff}.TIMEOUT{--bg:#f57c00;--fg:#000}.ERROR,.MISS{--bg:#fdd835;--fg:#000}
.st{background:var(--bg,#eee);color:var(--fg,#111);padding:0 .35em;border-radius:3px;font-weight:600;font-size:12px;white-space:nowrap}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:2px 4px;vertical-align:top;text-align:left}
#matrix thead th{position:sticky;top:0;background:#f6f6f6;z-index:1}
.col .kr{font:11px ui-monospace,monospace;color:#333}.col .cnt{font-weight:400;font-size:11px}.note{font-weight:400;font-size:11px;color:#7a4b00;max-width:22em}
.err{color:#b00020}.cid{font:12px ui-monospace,monospace;white-space:nowrap}.fam{white-space:nowrap}
.cell{min-width:7em}.cell summary{cursor:pointer}.cell.none{color:#888}
.d{font-size:12px;max-width:48em;margin:.2em 0}.d p{margin:.15em 0}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:3px;margin:.2em 0;max-height:16em;overflow:auto;white-space:pre-wrap;word-break:break-all}
.h{line-height:8px;margin-top:2px}.h b{display:inline-block;font-weight:400;width:8px;height:8px;margin-right:1px;font-size:7px;line-height:8px;text-align:center;overflow:hidden;background:var(--bg);color:var(--fg)}
.fl{font-size:11px;color:#7a4b00}
.chg td{font-size:13px}.chg .k{white-space:nowrap;font-weight:600}
.bis{margin:.4em 0 .6em;padding:.3em .6em;border-left:4px solid #c62828;background:#fdf3f3}.bis.ok{border-color:#2e7d32;background:#f1f8f1}.bis p{margin:.15em 0}
.reg td{font-size:13px}.reg .dt{white-space:nowrap}
@media print{
 :root{font-size:9pt}body{margin:0}
 .st,.h b{background:none!important;color:#000!important;border:1px solid #000}
 #matrix thead th{position:static}thead{display:table-header-group}tr{break-inside:avoid}
 pre{max-height:none;overflow:visible;background:none}details>summary{list-style:none}
}
@media print{details::details-content{content-visibility:visible;display:block}}
`.trim();

// Chrome only shows a closed <details>' content in print through ::details-content; this opens them for any browser.
const SCRIPT = `let shut=[];addEventListener('beforeprint',()=>{shut=[...document.querySelectorAll('details:not([open])')];for(const d of shut)d.open=true});addEventListener('afterprint',()=>{for(const d of shut)d.open=false});`;

const KIND: Record<ChangeKind, { label: string; plural: string; order: number }> = {
  'new-crash': { label: 'new crash', plural: 'new crashes', order: 0 },
  'new-failure': { label: 'new failure', plural: 'new failures', order: 1 },
  flaky: { label: 'flaky', plural: 'flaky', order: 2 },
  changed: { label: 'changed', plural: 'changed', order: 3 },
  fixed: { label: 'fixed', plural: 'fixed', order: 4 },
  'new-skip': { label: 'new skip', plural: 'new skips', order: 5 },
  unskipped: { label: 'runs again', plural: 'run again', order: 6 },
  added: { label: 'added', plural: 'added', order: 7 },
  removed: { label: 'removed', plural: 'removed', order: 8 },
};

// Statuses come from results.json files: escaped like any other text.
const st = (s: Status) => `<span class="st ${attr(s)}">${text(s)}</span>`;
const pre = (cls: string, lines: string[] | undefined) => (lines && lines.length > 0 ? `<pre class="${cls}">${text(lines.join('\n'))}</pre>` : '');

function release(c: MatrixCell): string {
  const r = c.run?.kernel?.release ?? c.run?.cases.find((x) => x.kernel)?.kernel?.release ?? '';
  const speaks = speaksLine(c.run?.kernel ?? c.run?.cases.find((x) => x.kernel?.speaks)?.kernel);
  return r && speaks ? `${r}, ${speaks}` : r;
}

function counts(c: MatrixCell): string {
  const n = c.run?.summary.counts ?? {};
  return STATUSES.filter((s) => n[s]).map((s) => `<span class="st ${s}">${s} ${n[s]}</span>`).join(' ');
}

/** What the cell's state says beside its results, or '' for a cell that ran. */
function stateNote(c: MatrixCell): string {
  if (c.state === 'failed') return `<div class="note err">no result: ${text(c.error ?? 'the cell failed')}</div>`;
  if (c.state === 'unchanged') {
    const when = c.run ? ` (results of run ${text(c.run.runId)})` : '';
    return `<div class="note">skipped as unchanged: same kernel and suite as its last run${when}</div>`;
  }
  if (c.run?.abort) return `<div class="note err">run cut short (${text(c.run.abort.family)}): ${text(c.run.abort.reason)}</div>`;
  return '';
}

// ---- comparison with the last night

function side(x: CaseChange['before']): string {
  if (!x) return '<span class="meta">-</span>';
  const parts = [st(x.status)];
  if (x.observed !== undefined) parts.push(`observed <code>${text(x.observed)}</code>`);
  if (x.expected !== undefined) parts.push(`expected <code>${text(x.expected)}</code>`);
  if (x.reason) parts.push(`<span class="meta">${text(x.reason)}</span>`);
  return parts.join(' ');
}

function changeRow(ch: CaseChange): string {
  const con = ch.kind === 'new-crash' && ch.after?.console?.length
    ? `<details><summary>console</summary>${pre('con', ch.after.console)}</details>` : '';
  return `<tr data-case="${attr(ch.id)}" data-kind="${ch.kind}"><td class="cid"><a href="#${attr(`case-${ch.id}`)}">${text(ch.id)}</a></td>`
    + `<td>${text(ch.family)}</td><td class="k">${KIND[ch.kind].label}</td><td>${side(ch.before)}</td><td class="arrow">&rarr;</td><td>${side(ch.after)}${con}</td></tr>`;
}

function comparisonOf(c: MatrixCell, m: MatrixReport): string {
  const head = `<h3>${text(c.name)} <span class="meta">${text(c.kernel)}${release(c) ? ` · ${text(release(c))}` : ''}</span></h3>`;
  let body: string;
  if (c.state === 'failed') body = `<p class="err">no result tonight: ${text(c.error ?? 'the cell failed')}</p>`;
  else if (c.state === 'unchanged') body = `<p>skipped as unchanged (same kernel and suite as its last run${c.run ? `, ${text(c.run.runId)}` : ''}): no change</p>`;
  else if (!c.vsLast) body = '<p>first night: nothing to compare with</p>';
  else {
    const { comparison: cmp, date, runId } = c.vsLast;
    const since = `since ${text(date)} (run ${text(runId)})`;
    if (cmp.changes.length === 0) body = `<p>no change ${since}: ${cmp.unchanged} case${cmp.unchanged === 1 ? "" : "s"} the same</p>`;
    else {
      const changes = [...cmp.changes].sort((a, b) => KIND[a.kind].order - KIND[b.kind].order);
      const tally = new Map<ChangeKind, number>();
      for (const ch of changes) tally.set(ch.kind, (tally.get(ch.kind) ?? 0) + 1);
      const summary = [...tally].map(([k, n]) => `${n} ${n === 1 ? KIND[k].label : KIND[k].plural}`).join(', ');
      body = `<p>${summary} ${since}; ${cmp.unchanged} case${cmp.unchanged === 1 ? "" : "s"} the same${cmp.regressed ? '; <strong>regressed</strong>' : ''}</p>`
        + `<table class="chg"><thead><tr><th>case</th><th>family</th><th>change</th><th>before</th><th></th><th>after</th></tr></thead><tbody>`
        + changes.map(changeRow).join('') + '</tbody></table>';
    }
  }
  return `<div class="cmp" data-cell="${attr(c.name)}">${head}${body}${c.bisect ? bisectOf(c.bisect, m.date, m.reporter) : ''}</div>`;
}

// ---- the nightly's own bisect and the regressions' life

const sha = (c: string) => `<code>${text(c.slice(0, 12))}</code>`;

function bisectOf(b: CellBisect, date: string, reporter: string | undefined): string {
  const range = `${text(b.good.date)}${b.good.commit ? ` (${sha(b.good.commit)})` : ''} .. ${b.bad.date === date ? 'tonight' : text(b.bad.date)}${b.bad.commit ? ` (${sha(b.bad.commit)})` : ''}`;
  const p = [`<p>bisected ${b.cases.map((id) => `<a href="#${attr(`case-${id}`)}">${text(id)}</a>`).join(', ')}: ${range}</p>`];
  const c = b.culprit;
  if (b.outcome === 'not-run') p.push(`<p class="err">not bisected: ${text(b.error ?? 'unknown')}</p>`);
  else {
    if (c) {
      p.push(`<p><strong>first bad commit ${c.verified ? '(verified)' : '(UNVERIFIED)'}</strong>: ${sha(c.commit)} ${text(c.subject)}</p>`);
      if (c.revert || c.verify) p.push(`<p>Checks: revert: ${text(c.revert ?? '-')}, verify: ${text(c.verify ?? '-')}</p>`);
      for (const w of c.why) p.push(`<p class="err">unverified: ${text(w)}</p>`);
    } else if (b.candidates) p.push(`<p>skipped commits leave a set: ${b.candidates.map((x) => `${sha(x.commit)} ${text(x.subject)}`).join('; ')}</p>`);
    if (b.error && !c) p.push(`<p class="err">bisect stopped: ${text(b.error)}</p>`);
    p.push(`<p class="meta">${b.steps ?? 0} steps, ${b.builds ?? 0} kernel builds${b.dir ? `; <a href="${attr(b.dir)}/bisect.txt">bisect.txt</a>` : ''}</p>`);
    p.push(pre('trailers', trailersOf(b, reporter)));
  }
  return `<div class="bis${c?.verified ? ' ok' : ''}" data-outcome="${attr(b.outcome)}">${p.join('')}</div>`;
}

function regressionsOf(rs: Regression[], date: string): string {
  if (rs.length === 0) return '';
  const row = (r: Regression) => {
    const b = r.bisect;
    const culprit = b?.culprit ? `${sha(b.culprit.commit)} ${text(b.culprit.subject)} ${b.culprit.verified ? '(verified)' : '(unverified)'}`
      : b ? `bisect of ${text(b.date)}: ${text(b.outcome === 'narrowed' ? 'no single commit' : b.error ?? b.outcome)}` : '<span class="meta">not bisected</span>';
    const now = r.open ? (r.lastSeen === date ? '<strong>still fails</strong>' : `failed when last run, ${text(r.lastSeen)}`) : `passes again since ${text(r.closed ?? '')}`;
    return `<tr data-case="${attr(r.case)}" data-open="${r.open}"><td>${text(r.cell)}</td><td class="cid"><a href="#${attr(`case-${r.case}`)}">${text(r.case)}</a></td>`
      + `<td class="dt">${text(r.appeared)}</td><td class="dt">${text(r.lastPassed.date)}${r.lastPassed.commit ? ` ${sha(r.lastPassed.commit)}` : ''}</td><td>${now}</td><td>${culprit}</td></tr>`;
  };
  return '<section id="regressions"><h2>Regressions</h2><table class="reg"><thead><tr><th>cell</th><th>case</th><th>appeared</th><th>last passed</th><th>now</th><th>culprit</th></tr></thead><tbody>'
    + rs.map(row).join('') + '</tbody></table></section>';
}

// ---- the matrix

/**
 * The history as one mark per point; consecutive points with the same kernel and outcome share one title
 * ("2026-11-20 to 2026-12-02 (13 nights) · kernel · PASS · EINVAL") on a span around their marks, which a
 * mark's tooltip shows: a nightly's weeks of history for 105 cases x 4 cells stay a few hundred bytes a box.
 */
function marks(history: HistoryPoint[]): string {
  const out: string[] = [];
  for (let i = 0; i < history.length;) {
    const p = history[i];
    let j = i + 1;
    while (j < history.length && history[j].kernel === p.kernel && history[j].status === p.status && history[j].observed === p.observed) j++;
    const n = j - i;
    const when = n === 1 ? p.date : `${p.date} to ${history[j - 1].date} (${n} nights)`;
    const title = [when, p.kernel, p.status, p.observed].filter((x) => x !== undefined && x !== '').join(' · ');
    out.push(`<span class="${attr(p.status)}" title="${attr(title)}">${`<b>${STATUS_FACTS[p.status]?.letter ?? '?'}</b>`.repeat(n)}</span>`);
    i = j;
  }
  return out.join('');
}

/** Two outcomes of the same case on the same kernel: flaky, whatever tonight says. */
function flakyIn(history: HistoryPoint[]): boolean {
  const seen = new Map<string, string>();
  for (const p of history) {
    const o = `${p.status} ${p.observed ?? ''}`;
    const was = seen.get(p.kernel);
    if (was !== undefined && was !== o) return true;
    seen.set(p.kernel, o);
  }
  return false;
}

function historyOf(history: HistoryPoint[] | undefined): string {
  if (!history || history.length === 0) return '';
  const fl = flakyIn(history) ? ' <span class="fl" title="differing outcomes on the same kernel">flaky</span>' : '';
  return `<div class="h">${marks(history)}${fl}</div>`;
}

function caseDetail(r: CaseResult): string {
  const p: string[] = [];
  if (r.expected !== undefined || r.observed !== undefined) {
    p.push(`<p>expected <code>${text(r.expected ?? '?')}</code>, observed <code>${text(r.observed ?? '?')}</code></p>`);
  }
  if (r.reason) p.push(`<p>${text(r.reason)}</p>`);
  const det = Object.entries(r.details ?? {}).map(([k, v]) => `${k}=${v}`);
  if (r.durationMs !== undefined) det.push(`ms=${r.durationMs}`);
  if (det.length > 0) p.push(`<p class="meta">${text(det.join(' '))}</p>`);
  return `<div class="d">${p.join('')}${pre('tap', r.tap)}${r.console?.length ? `<p class="meta">console</p>${pre('con', r.console)}` : ''}</div>`;
}

function box(c: MatrixCell, byId: Map<string, CaseResult>, id: string): string {
  const r = byId.get(id);
  if (!r) {
    const why = c.run ? 'not in this cell\'s selection' : 'no result: the cell failed';
    return `<td class="cell none" data-status="none" title="${why}">-</td>`;
  }
  const obs = r.observed !== undefined && r.status !== 'PASS' ? ` <code>${text(r.observed)}</code>` : '';
  const label = r.status === 'PASS'
    ? st('PASS')
    : `<details><summary>${st(r.status)}${obs}</summary>${caseDetail(r)}</details>`;
  return `<td class="cell ${attr(r.status)}" data-status="${attr(r.status)}">${label}${historyOf(c.history[id])}</td>`;
}

function columnHead(c: MatrixCell): string {
  const dir = c.dir ? ` <a href="${attr(c.dir)}/">run</a>` : '';
  return `<th class="col" scope="col"><div>${text(c.name)}${dir}</div><div class="kr">${text(release(c) || c.kernel)}</div>`
    + `<div class="meta">${text(c.kernel)} · ${text(c.selection)}</div><div class="cnt">${counts(c)}</div>${stateNote(c)}</th>`;
}

/** The report as one HTML document. */
export function renderMatrixHtml(m: MatrixReport): string {
  const ids = matrixCaseIds(m);
  const family = new Map<string, string>();
  for (const c of m.cells) for (const r of c.run?.cases ?? []) if (!family.has(r.id)) family.set(r.id, r.family);
  const meta = [
    `night ${text(m.date)}`, `started ${text(m.startedAt)}`, m.finishedAt ? `finished ${text(m.finishedAt)}` : '',
    m.shard ? `shard ${text(m.shard)}` : '', `${m.cells.length} cells, ${ids.length} cases`, `exit ${m.exitCode}`,
  ].filter(Boolean).join(' · ');
  const byId = m.cells.map((c) => new Map((c.run?.cases ?? []).map((r) => [r.id, r])));
  const rows = ids.map((id) => `<tr id="${attr(`case-${id}`)}"><th class="cid" scope="row">${text(id)}</th><td class="fam">${text(family.get(id) ?? '')}</td>`
    + m.cells.map((c, i) => box(c, byId[i], id)).join('') + '</tr>');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${text(m.title)}</title><style>${CSS}</style><script>${SCRIPT}</script></head><body>`,
    `<header><h1>${text(m.title)}</h1><p class="meta">${meta}</p><p class="meta">from ${text(m.source)}; again with <code>${text(m.reproducer)}</code></p></header>`,
    `<section id="changes"><h2>Since the last night</h2>${m.cells.map((c) => comparisonOf(c, m)).join('\n')}</section>`,
    regressionsOf(m.regressions ?? [], m.date),
    '<section id="matrix"><h2>Matrix</h2><table><thead><tr><th scope="col">case</th><th scope="col">family</th>'
      + m.cells.map(columnHead).join('') + '</tr></thead><tbody>',
    rows.join('\n'),
    '</tbody></table></section>',
    `<footer><p class="meta">History marks: oldest first, tonight last; letters ${STATUSES.map((s) => `${STATUS_FACTS[s].letter}=${s}`).join(' ')}.</p></footer>`,
    '</body></html>',
    '',
  ].join('\n');
}

/** Write dir/report.html atomically; returns its path. */
export function writeMatrixHtml(dir: string, m: MatrixReport): string {
  const path = join(dir, REPORT_HTML);
  writeFileAtomic(path, renderMatrixHtml(m));
  return path;
}
