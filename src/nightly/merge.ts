// `kgate merge DIR... --out DIR`: the shards of one plan joined into one night
// (nightly.json and every report) or one run (results.json, junit.xml), the
// same case by case as the unsharded run. Shards of different plans, or two
// copies of one shard, are refused in one line: a merged report must never mix
// two nights or two kernels.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CASES } from '../catalog/index.js';
import { KgateError, exitCodeOf, summarise, type CaseResult, type RunResult } from '../model.js';
import type { CaseChange, Comparison } from '../report/compare.js';
import type { MatrixCell, MatrixReport, Regression } from '../report/matrix.js';
import { writeJUnit, writeResultsJson } from '../report/index.js';
import { mkdirp } from '../util/fs.js';
import { readNightlyJson, writeNightlyReport, type NightlyJson } from './report.js';
import { kernelKey } from './history.js';
import { RUN_FILES } from '../session/run-dir.js';

const order = new Map(CASES.map((c, i) => [c.id, i]));
const byCatalog = (a: { id: string }, b: { id: string }) => (order.get(a.id) ?? 1e9) - (order.get(b.id) ?? 1e9);

function shardsAgree(dirs: string[], shards: ({ index: number; total: number; plan: string } | undefined)[], what: string): void {
  const unsharded = shards.findIndex((s) => !s);
  if (unsharded >= 0) throw new KgateError('user', `merge: ${dirs[unsharded]} is not a shard (made without --shard)`);
  const plans = new Set(shards.map((s) => s!.plan));
  if (plans.size > 1) throw new KgateError('user', `merge: these are shards of different ${what} (${[...plans].join(', ')}): ${dirs.join(' ')}`);
  const seen = new Map<number, string>();
  for (const [i, s] of shards.entries()) {
    if (!s) continue;
    if (s.total !== shards[0]!.total) throw new KgateError('user', `merge: ${dirs[i]} is shard ${s.index}/${s.total}, the others are of ${shards[0]!.total}`);
    if (seen.has(s.index)) throw new KgateError('user', `merge: ${seen.get(s.index)} and ${dirs[i]} are both shard ${s.index}/${s.total}`);
    seen.set(s.index, dirs[i]);
  }
  const total = shards[0]!.total;
  if (seen.size < total) {
    const missing = Array.from({ length: total }, (_, i) => i + 1).filter((i) => !seen.has(i));
    throw new KgateError('user', `merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${total}`).join(', ')} missing`);
  }
}

export interface MergeOutcome { kind: 'nightly' | 'run'; dir: string; exitCode: number; report?: MatrixReport; run?: RunResult }

export function mergeShards(dirs: string[], out: string): MergeOutcome {
  if (dirs.length < 2) throw new KgateError('user', 'merge needs two or more shard directories');
  for (const d of dirs) if (!existsSync(d)) throw new KgateError('user', `merge: ${d} does not exist`);
  const nightly = dirs.map((d) => existsSync(path.join(d, 'nightly.json')));
  if (nightly.every(Boolean)) return mergeNights(dirs, out);
  if (nightly.some(Boolean)) throw new KgateError('user', 'merge: some directories are nightlies, some are runs');
  return mergeRuns(dirs, out);
}

function mergeNights(dirs: string[], out: string): MergeOutcome {
  const nights: NightlyJson[] = dirs.map(readNightlyJson);
  shardsAgree(dirs, nights.map((n) => (n.report.shard ? { index: Number(n.report.shard.split('/')[0]), total: Number(n.report.shard.split('/')[1]), plan: n.plan } : undefined)), 'plans');
  const dates = new Set(nights.map((n) => n.report.date));
  if (dates.size > 1) throw new KgateError('user', `merge: these shards are of different nights (${[...dates].join(', ')})`);
  mkdirp(out);
  const cells = new Map<string, MatrixCell>();
  for (const [i, n] of nights.entries()) {
    for (const c of n.report.cells) {
      const at = c.dir ? path.relative(out, path.resolve(dirs[i], c.dir)) : undefined;
      const prev = cells.get(c.name);
      cells.set(c.name, prev ? joinCells(prev, c) : { ...c, ...(at ? { dir: at } : {}) });
    }
  }
  const first = nights[0].report;
  const report: MatrixReport = {
    ...first, title: first.title.replace(/ \(shard [^)]*\)$/, ''), cells: [...cells.values()],
    startedAt: nights.map((n) => n.report.startedAt).sort()[0],
    reproducer: nights.map((n) => n.report.reproducer).join(' ; '),
    exitCode: Math.max(...nights.map((n) => n.report.exitCode)),
  };
  delete report.shard;
  // Each shard read its own cells' regressions from the history: all of them, once each (a bisected one first).
  const regressions = new Map<string, Regression>();
  for (const r of nights.flatMap((n) => n.report.regressions ?? [])) {
    const key = `${r.cell}\0${r.case}`;
    const prev = regressions.get(key);
    if (!prev || (!prev.bisect && r.bisect)) regressions.set(key, r);
  }
  if (regressions.size) report.regressions = [...regressions.values()];
  else delete report.regressions;
  const finished = nights.map((n) => n.report.finishedAt);
  if (finished.every(Boolean)) report.finishedAt = (finished as string[]).sort().at(-1)!;
  else delete report.finishedAt;
  writeNightlyReport(out, { plan: nights[0].plan, report });
  return { kind: 'nightly', dir: out, exitCode: report.exitCode, report };
}

/** One cell whose cases two shards split. */
function joinCells(a: MatrixCell, b: MatrixCell): MatrixCell {
  const run = a.run && b.run ? joinRuns([a.run, b.run]) : a.run ?? b.run;
  const cmp = (x?: Comparison, y?: Comparison): Comparison | undefined => (x && y
    ? { changes: [...x.changes, ...y.changes].sort(byCatalog) as CaseChange[], unchanged: x.unchanged + y.unchanged, regressed: x.regressed || y.regressed } : x ?? y);
  const vs = a.vsLast && b.vsLast ? { ...a.vsLast, comparison: cmp(a.vsLast.comparison, b.vsLast.comparison)! } : a.vsLast ?? b.vsLast;
  return {
    ...a, ...(run ? { run } : {}), ...(vs ? { vsLast: vs } : {}),
    state: a.state === 'failed' || b.state === 'failed' ? 'failed' : a.state,
    exitCode: Math.max(a.exitCode, b.exitCode), history: { ...a.history, ...b.history },
    ms: (a.ms ?? 0) + (b.ms ?? 0), selection: a.selection === b.selection ? a.selection : `${a.selection} + ${b.selection}`,
  };
}

function joinRuns(runs: RunResult[]): RunResult {
  const cases: CaseResult[] = runs.flatMap((r) => r.cases).sort(byCatalog);
  const merged: RunResult = {
    ...runs[0], runId: runs[0].runId.replace(/\.shard-\d+-of-\d+$/, ''), cases, problems: runs.flatMap((r) => r.problems), summary: summarise(cases),
    startedAt: runs.map((r) => r.startedAt).sort()[0],
  };
  const ends = runs.map((r) => r.finishedAt);
  if (ends.every(Boolean)) merged.finishedAt = (ends as string[]).sort().at(-1)!;
  const abort = runs.find((r) => r.abort)?.abort;
  if (abort) merged.abort = abort; else delete merged.abort;
  delete merged.shard;
  return merged;
}

function mergeRuns(dirs: string[], out: string): MergeOutcome {
  const runs = dirs.map((d) => {
    const f = path.join(d, RUN_FILES.results);
    try { return JSON.parse(readFileSync(f, 'utf8')) as RunResult; } catch (e) {
      throw new KgateError('user', `merge: ${d} has no readable results.json or nightly.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  });
  shardsAgree(dirs, runs.map((r) => r.shard), 'runs');
  const kernels = new Set(runs.map((r) => kernelKey(r.kernel)));
  if (kernels.size > 1) throw new KgateError('user', `merge: these shards ran on different kernels (${[...kernels].join('; ')})`);
  const run = joinRuns(runs);
  mkdirp(out);
  writeResultsJson(out, run);
  writeJUnit(out, run);
  return { kind: 'run', dir: out, exitCode: exitCodeOf(run), run };
}
