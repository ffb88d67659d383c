// `kgate coverage diff RUN_A RUN_B`: the error exits newly hit and no longer
// hit between two coverage runs (two commits, two suites). An exit is named by
// file, function, kind and errno (and its rank among equal ones), not by its
// line: a commit that moves code shifts every line below it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KgateError } from '../model.js';
import type { ExitRow } from './report.js';

type Row = Pick<ExitRow, 'file' | 'func' | 'kind' | 'errno' | 'line' | 'init' | 'hitBy'> & { judgement: { hit?: boolean } };

export interface CoverageDiff { newlyHit: Row[]; noLongerHit: Row[]; onlyA: Row[]; onlyB: Row[] }

function keyed(rows: Row[]): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const base = `${r.file} ${r.func} ${r.kind} ${r.errno}`;
    let n = 1;
    while (out.has(`${base} #${n}`)) n++;
    out.set(`${base} #${n}`, r);
  }
  return out;
}

export function diffExits(a: Row[], b: Row[]): CoverageDiff {
  const ka = keyed(a), kb = keyed(b);
  const d: CoverageDiff = { newlyHit: [], noLongerHit: [], onlyA: [], onlyB: [] };
  for (const [k, rb] of kb) {
    const ra = ka.get(k);
    if (!ra) { d.onlyB.push(rb); continue; }
    if (rb.judgement.hit && !ra.judgement.hit) d.newlyHit.push(rb);
    if (ra.judgement.hit && !rb.judgement.hit) d.noLongerHit.push(rb);
  }
  for (const [k, ra] of ka) if (!kb.has(k)) d.onlyA.push(ra);
  return d;
}

/** A run directory's coverage.json (or the file itself): one line when it is not there. */
export function readCoverageRows(dirOrFile: string): Row[] {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, 'coverage', 'coverage.json');
  if (!existsSync(file)) throw new KgateError('user', `${dirOrFile}: no coverage/coverage.json (a run of kgate run --coverage writes it)`);
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { exits?: Row[] };
    if (!Array.isArray(j.exits)) throw new Error('no exits');
    return j.exits;
  } catch (e) {
    throw new KgateError('user', `${file}: not a coverage.json of kgate (${e instanceof Error ? e.message : e})`);
  }
}

export function renderDiff(d: CoverageDiff, a: string, b: string): string {
  const line = (r: Row) => `  ${r.file.split('/').pop()}:${r.line} ${r.func} ${r.kind} ${r.errno}${r.hitBy.length ? ` by ${r.hitBy.join(', ')}` : ''}`;
  const out = [`coverage diff: ${a} -> ${b}`, `newly hit: ${d.newlyHit.length}`, ...d.newlyHit.map(line), `no longer hit: ${d.noLongerHit.length}`, ...d.noLongerHit.map(line)];
  if (d.onlyB.length) out.push(`exits only in ${b} (new code): ${d.onlyB.length}`, ...d.onlyB.map(line));
  if (d.onlyA.length) out.push(`exits only in ${a} (code gone): ${d.onlyA.length}`, ...d.onlyA.map(line));
  return out.join('\n');
}
