// results/gate/<id>/: gate.json, gate.txt (plain text for a cover letter or
// a reply on the list: 72 columns, no escapes, the reproducer) and
// gate-junit.xml (one testsuite per revision, for a CI job gating pushes).
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { formatChanges, type Comparison } from '../report/compare.js';
import { mailText, reporterTrailer } from '../report/mail.js';
import { crashQuote } from '../report/oops.js';
import { xmlAttr, xmlText } from '../report/xml.js';
import type { GateReport, GateRun } from './types.js';

const secs = (ms?: number) => (ms === undefined ? '' : ` in ${(ms / 1000).toFixed(1)} s`);

function runLine(r: GateRun): string {
  const s = r.runs[0]?.summary;
  const build = r.build === 'failed' ? `did not build: ${r.buildError ?? 'see its run directory'}` : r.build === 'cached' ? 'built (cached)' : `built${secs(r.buildMs)}`;
  return `${build}; ${s ? `${s.total} cases, ${s.status}` : 'not run'}`;
}

function changes(title: string, cmp: Comparison | undefined): string[] {
  if (!cmp) return [];
  const out = [`  ${title}:`, ...formatChanges(cmp, '    ')];
  for (const c of cmp.changes) {
    if (c.after?.expected !== undefined && (c.kind === 'new-failure' || c.kind === 'changed' || c.kind === 'fixed')) {
      out.push(`      ${c.id}: expected ${c.after.expected}${c.after.reason ? `; ${c.after.reason}` : ''}`);
    }
    if (c.kind === 'new-crash' && (c.after?.trace?.length || c.after?.console?.length)) {
      const q = crashQuote(c.after);
      if (q.decoded) out.push('      decoded (the tree\'s scripts/decode_stacktrace.sh):');
      out.push(...q.lines.map((l) => `      | ${l}`));
    }
  }
  return out;
}

export function formatGateText(r: GateReport): string {
  const L: string[] = [];
  const verdict = r.verdict === 'regressed' ? `REGRESSED: ${r.revisions.at(-1)!.label} fails cases that pass on base`
    : r.verdict === 'untestable' ? `UNTESTABLE: ${r.revisions.at(-1)!.label} did not build` : 'no regression against base';
  L.push(`kgate gate: ${verdict}`, '');
  L.push(`Base: ${r.base.describe} (${r.base.commit.slice(0, 12)})`, `  ${runLine(r.base.run)}`);
  L.push(`Cases: ${r.selection}`);
  for (const rev of r.revisions) {
    L.push('', `${rev.label}: ${rev.patches.length} patch${rev.patches.length === 1 ? '' : 'es'} from ${rev.source}`);
    if (rev.cover) L.push(`  [PATCH${rev.cover.version ? ` ${rev.cover.version}` : ''} 0/${rev.patches.length}] ${rev.cover.subject}`);
    for (const p of rev.patches) {
      L.push(`  ${p.n}/${rev.patches.length} ${p.subject}`);
      if (p.messageId) L.push(`      <${p.messageId}>`);
    }
    L.push(`  applied on ${r.base.describe}, ${runLine(rev.run)}`);
    L.push(...changes('against base', rev.vsBase));
    // What the revision's author may add to its next posting: it built, ran, and broke nothing base passed.
    if (rev.run.build !== 'failed' && rev.vsBase && !rev.vsBase.regressed) L.push('  no regression against base; for its next posting:', reporterTrailer('Tested-by', r.reporter));
    L.push(...changes(`against ${r.revisions[r.revisions.indexOf(rev) - 1]?.label ?? 'the previous revision'}`, rev.vsPrevious));
    for (const pp of rev.perPatch ?? []) {
      L.push(`  after patch ${pp.patch.n} (${pp.patch.subject}): ${runLine(pp.run)}`);
      L.push(...changes('against the patch before', pp.vsPrevious).map((l) => `  ${l}`));
    }
  }
  L.push('', `Wall time${secs(r.wallMs)}.`, '', 'Reproduce:', `  ${r.reproducer}`);
  return mailText(L);
}

/** One testsuite per revision; a testcase per case, failing where the revision regressed it against base. */
export function formatGateJUnit(r: GateReport): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="kgate gate ${xmlAttr(r.id)}">`];
  for (const rev of r.revisions) {
    const cases = rev.run.runs[0]?.cases ?? [];
    const bad = new Map((rev.vsBase?.changes ?? []).filter((c) => c.kind === 'new-failure' || c.kind === 'new-crash').map((c) => [c.id, c]));
    const failures = rev.run.build === 'failed' ? 1 : bad.size;
    out.push(`  <testsuite name="${xmlAttr(rev.label)}" tests="${Math.max(cases.length, 1)}" failures="${failures}">`);
    if (rev.run.build === 'failed') {
      out.push(`    <testcase classname="${xmlAttr(rev.label)}" name="build"><failure message="${xmlAttr(rev.run.buildError ?? 'build failed')}"/></testcase>`);
    }
    for (const c of cases) {
      const ch = bad.get(c.id);
      out.push(`    <testcase classname="${xmlAttr(`${rev.label}.${c.family}`)}" name="${xmlAttr(c.id)}">${ch
        ? `<failure message="${xmlAttr(`${ch.before?.status} ${ch.before?.observed ?? ''} on base -> ${ch.after?.status} ${ch.after?.observed ?? ''}`)}">${xmlText(c.reason ?? '')}</failure>` : ''}</testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

export function writeGateReport(r: GateReport): void {
  writeFileAtomic(join(r.dir, 'gate.json'), JSON.stringify(r, null, 2) + '\n');
  writeFileAtomic(join(r.dir, 'gate.txt'), formatGateText(r));
  writeFileAtomic(join(r.dir, 'gate-junit.xml'), formatGateJUnit(r));
}
