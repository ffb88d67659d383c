// results/bisect/<id>/: bisect.json (every step, machine-readable) and
// bisect.txt, plain text to paste into a mail to linux-fsdevel: no escapes,
// no line over 72 columns, the reproducer at the end.
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { mailText, reporterTrailer } from '../report/mail.js';
import { crashQuote } from '../report/oops.js';
import type { BisectReport } from './types.js';

const s = (ms?: number) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

export function formatBisectText(r: BisectReport, error?: string): string {
  const L: string[] = [];
  const short = (c: string) => c.slice(0, 12);
  if (r.firstBad) {
    const verified = r.checks?.verified ?? false;
    L.push(`kgate bisect: first bad commit${r.checks ? (verified ? ' (verified)' : ' (UNVERIFIED)') : ''}`, '', `  ${short(r.firstBad.commit)} ${r.firstBad.subject}`, `  Author: ${r.firstBad.author}`, `  Date:   ${r.firstBad.date}`, '  Files:');
    for (const f of r.firstBad.files) L.push(`    ${f}`);
    if (r.checks) {
      L.push('', `Checks: revert: ${r.checks.revert}, verify: ${r.checks.verify}`);
      for (const w of r.checks.why) L.push(`  unverified: ${w}`);
    }
    // The lines a reply to the list carries: Fixes only for a culprit the checks confirmed.
    L.push('');
    if (r.bad.describe) L.push(`Still fails at ${r.bad.describe} (${short(r.bad.commit)}), tested in this bisect.`);
    L.push(reporterTrailer('Reported-by', r.reporter), 'Closes: <the link of your report on lore, once it is sent>');
    if (verified) L.push(`Fixes: ${short(r.firstBad.commit)} ("${r.firstBad.subject}")`, `#regzbot introduced: ${short(r.firstBad.commit)}`);
    else L.push(`#regzbot introduced: ${short(r.good.commit)}..${short(r.bad.commit)}`);
  } else if (r.candidates) {
    L.push('kgate bisect: skipped commits leave a set; the first bad commit', 'is one of:', '');
    for (const c of r.candidates) L.push(`  ${short(c.commit)} ${c.subject}`);
  } else {
    L.push(`kgate bisect: stopped: ${error ?? 'no answer'}`);
  }
  L.push('', `Range: ${r.good.ref} (${short(r.good.commit)}) .. ${r.bad.ref} (${short(r.bad.commit)}), ${r.commitsInRange} commits`);
  L.push(`Cases: ${r.selection}, ${r.repeat} run${r.repeat > 1 ? 's' : ''} per step`);
  if (r.changed.length) {
    L.push('', 'Cases that changed, good -> bad:');
    for (const c of r.changed) {
      L.push(`  ${c.id}: ${c.before?.status ?? '-'} -> ${c.after?.status ?? '-'}`);
      L.push(`    expected ${c.after?.expected ?? c.before?.expected ?? '?'}; observed ${c.before?.observed ?? '?'} at good, ${c.after?.observed ?? '?'} at bad`);
      if (c.after?.reason) L.push(`    ${c.after.reason}`);
      // A crash at bad, placed in the source where kgate kept the kernel's vmlinux.
      if (c.after?.status === 'CRASH' && (c.after.trace?.length || c.after.console?.length)) {
        const q = crashQuote(c.after);
        if (q.decoded) L.push('    decoded (the tree\'s scripts/decode_stacktrace.sh):');
        L.push(...q.lines.map((l) => `    | ${l}`));
      }
    }
  }
  L.push('', 'Steps:', '  #  role   commit        verdict      build           test');
  for (const st of r.steps) {
    const build = st.build === 'cached' ? 'cached' : st.build === 'built' ? `built ${s(st.buildMs)}` : st.build;
    L.push(`  ${String(st.n).padEnd(2)} ${st.role.padEnd(6)} ${short(st.commit)}  ${st.verdict.padEnd(11)}  ${build.padEnd(14)}  ${s(st.testMs)}`);
    L.push(`     ${st.subject}`);
    if (st.verdict !== 'good' && st.verdict !== 'bad') L.push(`     ${st.why}`);
  }
  if (r.skipped.length) {
    L.push('', 'Skipped (could not be tested):');
    for (const k of r.skipped) L.push(`  ${short(k.commit)} ${k.subject}`, `    ${k.why}`);
  }
  L.push('', `Kernel builds: ${r.builds} (the rest from kgate's build cache); wall time ${s(r.wallMs)}`);
  if (r.log.trim()) {
    L.push('', 'git bisect log:');
    for (const l of r.log.trim().split('\n')) L.push(`  ${l}`);
  }
  L.push('', 'Reproduce:', `  ${r.reproducer}`);
  return mailText(L);
}

export function writeBisectReport(r: BisectReport, error?: string): void {
  writeFileAtomic(join(r.dir, 'bisect.json'), JSON.stringify({ ...r, ...(error ? { error } : {}) }, null, 2) + '\n');
  writeFileAtomic(join(r.dir, 'bisect.txt'), formatBisectText(r, error));
}
