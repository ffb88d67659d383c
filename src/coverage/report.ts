// coverage.txt (and coverage.json, its data): per function of the scope, line
// and branch coverage, then every error exit with hit or not hit and the
// units (families or cases) that hit it. Pure: sources and tracefiles in,
// text out.
import { blank, errorExits, functions as functionsOf, type ErrorExit } from './exits.js';
import { fileOf, totals, type Totals, type Tracefile } from './info.js';
import { judgeExit, judgeOverUnits, type Judgement } from './judge.js';
import { inScope, SCOPE } from './scope.js';

export interface Unit { name: string; cases: string[]; tracefile: Tracefile }

export interface ExitRow extends ErrorExit { file: string; judgement: Judgement; hitBy: string[] }

export interface FunctionRow { file: string; name: string; line: number; totals: Totals; exits: [number, number] }

export interface CoverageData {
  granularity: 'family' | 'case';
  totals: Totals;
  exits: ExitRow[];
  functions: FunctionRow[];
  /** Units every one of which hit an exit: the harness's own start (mount, INIT, the generation probe), not a case. */
  everyUnit: string[];
}

export interface CoverageInput {
  /** Source text of each scope file present in this kernel (fs/fuse/passthrough.c -> text). */
  sources: Map<string, string>;
  total: Tracefile;
  units: Unit[];
  granularity: 'family' | 'case';
}

const add = (a: Totals, b: Totals): Totals => ({
  lines: [a.lines[0] + b.lines[0], a.lines[1] + b.lines[1]],
  branches: [a.branches[0] + b.branches[0], a.branches[1] + b.branches[1]],
  functions: [a.functions[0] + b.functions[0], a.functions[1] + b.functions[1]],
});
const ZERO: Totals = { lines: [0, 0], branches: [0, 0], functions: [0, 0] };

export function coverageData(input: CoverageInput): CoverageData {
  const exits: ExitRow[] = [];
  const functions: FunctionRow[] = [];
  let sum = ZERO;
  for (const scope of SCOPE) {
    const src = input.sources.get(scope.file);
    if (src === undefined) continue;
    const cov = fileOf(input.total, scope.file);
    const found = errorExits(src, (f) => inScope(scope, f));
    const { functions: fns } = cov ?? { functions: new Map<string, { line: number; count: number }>() };
    // Function spans from the source (the tracefile has start lines only).
    const spans = new Map(functionsOf(blank(src)).map((f) => [f.name, f.endLine] as const));
    const named = scope.functions ?? [...fns.keys()];
    for (const name of named) {
      const fn = fns.get(name);
      if (!fn) continue;
      const end = spans.get(name) ?? nextStart(fns, fn.line);
      const t = cov ? totals(cov, fn.line, end) : ZERO;
      sum = add(sum, t);
      const mine = found.filter((e) => e.func === name);
      const rows = mine.map((e) => {
        const judge = (c: typeof cov) => byLabel(e, mine, c) ?? judgeExit(e, c);
        const { judgement, hitBy } = judgeOverUnits(judge, cov, input.units.map((u) => fileOf(u.tracefile, scope.file)));
        return { ...e, file: scope.file, judgement, hitBy: hitBy.map((i) => input.units[i].name) };
      });
      exits.push(...rows);
      functions.push({ file: scope.file, name, line: fn.line, totals: t, exits: [rows.filter((r) => r.judgement.hit).length, rows.length] });
    }
  }
  const everyUnit = input.units.length > 1 ? input.units.map((u) => u.name) : [];
  return { granularity: input.granularity, totals: sum, exits, functions, everyUnit };
}

/** An exit with no count of its own under a label: hit when a goto to the label was (its error path, `fail: return -EIO;`). */
function byLabel(e: ErrorExit, all: ErrorExit[], cov: Parameters<typeof judgeExit>[1]): Judgement | undefined {
  if (!e.under) return undefined;
  const own = judgeExit(e, cov);
  if (own.by !== 'none') return undefined;
  const gotos = all.filter((g) => g.label === e.under);
  if (gotos.length === 0) return undefined;
  const js = gotos.map((g) => judgeExit(g, cov));
  if (js.every((j) => j.hit === undefined)) return undefined;
  const count = js.reduce((n, j) => n + (j.count ?? 0), 0);
  return { hit: js.some((j) => j.hit), count, by: 'label' };
}

function nextStart(fns: Map<string, { line: number }>, line: number): number {
  let next = Infinity;
  for (const f of fns.values()) if (f.line > line && f.line < next) next = f.line;
  return next - 1;
}

const pct = ([h, n]: [number, number]) => (n === 0 ? '-' : `${((100 * h) / n).toFixed(1)} %`);
const frac = (x: [number, number]) => `${x[0]}/${x[1]}`;

/** Who hit it, said briefly: every unit (the harness's start), or the units with their cases. */
export function hitByText(row: ExitRow, data: CoverageData, casesOf: (unit: string) => string[]): string {
  if (row.hitBy.length === 0) return '';
  if (data.everyUnit.length > 1 && row.hitBy.length === data.everyUnit.length) return `every ${data.granularity} (the harness's start: mount, INIT, generation probe)`;
  if (data.granularity === 'case') return row.hitBy.join(', ');
  return row.hitBy.map((u) => {
    const cases = casesOf(u);
    return cases.length <= 4 ? `${u} (${cases.join(', ')})` : `${u} (${cases.length} cases)`;
  }).join(', ');
}

/** hit of judged (not __init, and with a count to judge by), and all the finder found. */
export function exitTotals(exits: ExitRow[]): { hit: number; judged: number; all: number; boot: number; unjudged: number } {
  const live = exits.filter((e) => !e.init);
  const judged = live.filter((e) => e.judgement.hit !== undefined);
  return { hit: judged.filter((e) => e.judgement.hit).length, judged: judged.length, all: exits.length, boot: exits.length - live.length, unjudged: live.length - judged.length };
}

export function renderCoverage(data: CoverageData, head: string[], casesOf: (unit: string) => string[]): string {
  const ex = exitTotals(data.exits);
  const out: string[] = [...head, '',
    `lines ${frac(data.totals.lines)} (${pct(data.totals.lines)}), branches ${frac(data.totals.branches)} (${pct(data.totals.branches)}), functions ${frac(data.totals.functions)}, error exits hit ${ex.hit}/${ex.judged}`
      + ` (of ${ex.all} found: ${ex.unjudged} with no code in this build (N/J), ${ex.boot} in __init code run at boot before the counters were reset (BOOT))`,
    '',
    'An error exit is a `return -E...`, a guarded goto whose error variable holds an error, an error assigned and returned,',
    'or a guarded return of the error a callee gave (errno "from <call>"). Judged by: line (its own count), block (a counted',
    'line of its own block), arc (its condition ran N times and fell through M times: at -Os gcc folds `return -E...;`',
    'blocks, so the exit has no line of its own), label (an exit under a label: the gotos to it), none (N/J: no count to',
    'judge by, the compiler left no code for it in this config, e.g. `if (!IS_ENABLED(...))`).', ''];
  for (const file of [...new Set(data.functions.map((f) => f.file))]) {
    out.push(`== ${file}`, '');
    out.push(`  ${'function'.padEnd(34)} ${'lines'.padStart(13)} ${'branches'.padStart(13)}  exits hit`);
    for (const f of data.functions.filter((x) => x.file === file)) {
      out.push(`  ${f.name.padEnd(34)} ${frac(f.totals.lines).padStart(7)} ${pct(f.totals.lines).padStart(7)} ${frac(f.totals.branches).padStart(6)} ${pct(f.totals.branches).padStart(7)}  ${f.exits[1] ? frac(f.exits) : '-'}`);
    }
    out.push('');
    const rows = data.exits.filter((e) => e.file === file);
    if (rows.length) out.push('  error exits:');
    for (const e of rows) {
      const j = e.judgement;
      const state = e.init ? 'BOOT' : j.hit === undefined ? 'N/J ' : j.hit ? 'HIT ' : 'MISS';
      const by = hitByText(e, data, casesOf);
      out.push(`  ${state} ${file.split('/').pop()}:${e.line} ${e.func} ${e.kind} ${e.errno} [${j.by}${j.count !== undefined ? ` ${j.count}x` : ''}]${by ? ` by ${by}` : ''}`);
      out.push(`       ${e.text}`);
    }
    out.push('');
  }
  return out.join('\n');
}
