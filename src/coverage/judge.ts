// Hit or not, for one error exit, from a tracefile's counts. At -Os gcc folds
// many `return -E...;` into a shared block, so the exit's line has no count of
// its own: it is then judged by what left its condition for it: a condition
// of exactly two arcs, both taken (or neither); else the times the condition
// ran less the times control fell through to the next counted line (which a
// loop after it, a wait_event, can outcount: then the arcs decide).
import type { ErrorExit } from './exits.js';
import type { FileCoverage } from './info.js';

export interface Judgement {
  hit: boolean | undefined;
  /** How many times (counts are not atomic with 2 vCPUs: off by one at worst; hit or not holds). */
  count?: number;
  /** line: the exit's own line count; block: a counted line of its own block; arc: condition less fall-through; label: the gotos to the label it is under; none: no record to judge by. */
  by: 'line' | 'block' | 'arc' | 'label' | 'none';
}

export function judgeExit(e: ErrorExit, cov: FileCoverage | undefined): Judgement {
  if (!cov) return { hit: undefined, by: 'none' };
  const shares = e.guard && e.line <= e.guard.condTo;
  const own = shares ? undefined : cov.lines.get(e.line);
  if (own !== undefined) return { hit: own > 0, count: own, by: 'line' };
  if (e.guard && !shares) {
    for (let l = e.line - 1; l > e.guard.condTo; l--) {
      const c = cov.lines.get(l);
      if (c !== undefined) return { hit: c > 0, count: c, by: 'block' };
    }
  }
  if (e.guard?.kind === 'if') {
    // A condition with exactly two arcs: one leaves for the exit. Both taken: the exit was; neither: it was not.
    const arcs: number[] = [];
    for (let l = e.guard.condFrom; l <= e.guard.condTo; l++) for (const a of cov.branches.get(l) ?? []) arcs.push(a.taken ?? 0);
    if (arcs.length === 2 && arcs.every((t) => t > 0)) return { hit: true, count: Math.min(...arcs), by: 'arc' };
    if (arcs.length === 2 && arcs.every((t) => t === 0)) return { hit: false, count: 0, by: 'arc' };
    let ran: number | undefined;
    for (let l = e.guard.condFrom; l <= e.guard.condTo; l++) {
      const c = cov.lines.get(l);
      if (c !== undefined) ran = Math.max(ran ?? 0, c);
    }
    let fell: number | undefined;
    for (let l = e.guard.end + 1; l <= e.funcEnd && fell === undefined; l++) fell = cov.lines.get(l);
    if (ran !== undefined && fell !== undefined) {
      const count = Math.max(0, ran - fell);
      return { hit: count > 0, count, by: 'arc' };
    }
    if (ran === 0) return { hit: false, count: 0, by: 'arc' };
  }
  return { hit: undefined, by: 'none' };
}

/**
 * An exit judged over the run's sum and its units (one case or one family
 * each). The fall-through rule adds up every way into the next counted line:
 * when other paths reach that line too (the end of an enclosing block: 7.3's
 * backing_file_open checks append-only last inside `if (not read-only) {}`,
 * and the read-only opens join after it), the sum hides the exit. A unit's
 * own counts, where those paths need not have run, still show it; the rule
 * can only miss exits, never invent one, so a unit that says hit is believed.
 */
export function judgeOverUnits(judge: (cov: FileCoverage | undefined) => Judgement, total: FileCoverage | undefined, units: (FileCoverage | undefined)[]): { judgement: Judgement; hitBy: number[] } {
  const sum = judge(total);
  const each = units.map(judge);
  const hitBy = each.flatMap((j, i) => (j.hit ? [i] : []));
  if (sum.by === 'arc' && sum.hit === false && hitBy.length > 0) {
    return { judgement: { hit: true, count: hitBy.reduce((n, i) => n + (each[i].count ?? 0), 0), by: 'arc' }, hitBy };
  }
  return { judgement: sum, hitBy: sum.hit ? hitBy : [] };
}
