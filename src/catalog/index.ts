// Lookups and filters over the catalog. Bad names fail with the list of known
// ones (tuxmake style), as KgateError('user') so the CLI exits 2.
import { KgateError } from '../model.js';
import { CASES, FAMILIES } from './cases.js';
import { APIS, type Api, type CaseDef, type FamilyDef } from './types.js';

export { CASES, FAMILIES, APIS };
export type { Api, CaseDef, FamilyDef, KnownOutcome } from './types.js';

export const ID_RE = /^[A-Z][0-9]+(\.[a-z0-9_]+)?$/;
// "6.12-6.16", "6.9-6.11", "6.9-rc", "6.9-6.10", "6.16.y"
export const RANGE_RE = /^\d+\.\d+(\.y)?(-rc|-\d+\.\d+(\.y)?)?$/;
/** A commit (12+ hex), or the release (v6.18) where the commit id is not known here. */
export const FIX_RE = /^([0-9a-f]{12,40}|v\d+\.\d+)$/;

function unknown(kind: string, name: string, known: Iterable<string>): KgateError {
  return new KgateError('user', `unknown ${kind} '${name}'; known: ${[...known].join(', ')}`);
}

export function getCase(id: string): CaseDef {
  const c = CASES.find((x) => x.id === id);
  if (!c) {
    const row = CASES.filter((x) => x.row === id.split('.')[0]);
    throw unknown('case', id, (row.length ? row : CASES).map((x) => x.id));
  }
  return c;
}

export function getFamily(name: string): FamilyDef {
  const f = FAMILIES.find((x) => x.name === name);
  if (!f) throw unknown('family', name, FAMILIES.map((x) => x.name));
  return f;
}

export function parseApi(name: string): Api {
  if (!(APIS as readonly string[]).includes(name)) throw unknown('api', name, APIS);
  return name as Api;
}

/** Cases of a row ("U03") or the one case of an id ("U03.dir"). */
export function casesMatching(idOrRow: string): CaseDef[] {
  const hits = CASES.filter((x) => x.id === idOrRow || x.row === idOrRow);
  if (hits.length === 0) {
    // a known row with a bad variant lists that row's ids; anything else, the rows
    const row = CASES.filter((x) => x.row === idOrRow.split('.')[0]);
    throw unknown('case', idOrRow, row.length ? row.map((x) => x.id) : new Set(CASES.map((x) => x.row)));
  }
  return hits;
}

export interface CaseFilter {
  cases?: string[];      // --case: ids or rows
  families?: string[];   // --family
  apis?: string[];       // --api
  includeHidden?: boolean; // also hidden families (selftest) without naming them
}

/**
 * The cases a filter selects, in catalog order. Filters intersect. Hidden
 * families (selftest) come in only when named by --family or --case.
 * Throws KgateError('user') on an unknown name, or when nothing is left.
 */
export function selectCases(f: CaseFilter = {}): CaseDef[] {
  const byCase = f.cases?.length ? new Set(f.cases.flatMap((n) => casesMatching(n).map((x) => x.id))) : undefined;
  const byFamily = f.families?.length ? new Set(f.families.map((n) => getFamily(n).name)) : undefined;
  const byApi = f.apis?.length ? new Set(f.apis.map(parseApi)) : undefined;
  const hidden = new Set(FAMILIES.filter((x) => x.hidden).map((x) => x.name));
  const out = CASES.filter((x) =>
    (byCase ? byCase.has(x.id) : true)
    && (byFamily ? byFamily.has(x.family) : !byCase && !f.includeHidden ? !hidden.has(x.family) : true)
    && (byApi ? byApi.has(x.api) : true));
  if (out.length === 0) throw new KgateError('user', `no case matches ${describeFilter(f)}`);
  return out;
}

export function describeFilter(f: CaseFilter): string {
  const parts = [
    ...(f.cases ?? []).map((x) => `--case ${x}`),
    ...(f.families ?? []).map((x) => `--family ${x}`),
    ...(f.apis ?? []).map((x) => `--api ${x}`),
  ];
  return parts.length ? parts.join(' ') : 'the default selection';
}

/** Cases grouped by family, families in catalog order. */
export function groupByFamily(cases: readonly CaseDef[]): { family: FamilyDef; cases: CaseDef[] }[] {
  return FAMILIES.map((family) => ({ family, cases: cases.filter((x) => x.family === family.name) }))
    .filter((g) => g.cases.length > 0);
}

/** Verdict for an observed token, the same rule the C harness applies. */
export function judge(c: CaseDef, observed: string): { status: 'PASS' | 'XFAIL' | 'FAIL'; reason?: string } {
  if (observed === c.expected) return { status: 'PASS' };
  const k = c.known.find((x) => x.outcome === observed);
  if (k) return { status: 'XFAIL', reason: `${k.range}: ${k.what} (${k.fix})` };
  return { status: 'FAIL', reason: `observed ${observed}, expected ${c.expected}` };
}
