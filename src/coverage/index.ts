// kgate run --coverage: the counters reset before each unit of work (a family
// binary, or one case) and read after it, then one tracefile per unit, their
// sum, genhtml's HTML and coverage.txt in results/<run>/coverage/.
//
// Granularity: per family by default (one reset and one read per binary: a
// few seconds for the whole suite); per case on request (each case its own
// run of its binary: every case pays the binary's start, the generation
// probe, and a read of the counters). bench:coverage measures both.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Emit } from '../events.js';
import type { GcovBuild } from '../kernel/artifact.js';
import { KgateError, type RunResult } from '../model.js';
import type { WorkItem } from '../runner/execute.js';
import type { SuiteTarget } from '../runner/target.js';
import { mkdirp } from '../util/fs.js';
import { readyGuest, resetCounters, snapshot } from './guest.js';
import { parseInfo } from './info.js';
import { capture, combine, html } from './lcov.js';
import { coverageData, exitTotals, renderCoverage, type Unit } from './report.js';
import { SCOPE } from './scope.js';

export type Granularity = 'family' | 'case';
export const GRANULARITIES: readonly Granularity[] = ['family', 'case'];

interface Taken { name: string; cases: string[]; gcda: string; files: number }

export interface CoverageSummary { dir: string; text: string; line: string; ms: number }

export class CoverageRun {
  private taken: Taken[] = [];
  private names = new Set<string>();
  private readonly dir: string;
  /** Units whose counters a guest restart cut short: their counts miss what ran before it. */
  readonly notes: string[] = [];

  constructor(private gcov: GcovBuild, runDir: string, readonly granularity: Granularity, private emit: Emit) {
    this.dir = path.join(runDir, 'coverage');
    mkdirp(this.dir);
  }

  /** The work as units: per case, one item per case (the binary runs once for each). */
  items(items: WorkItem[]): WorkItem[] {
    return this.granularity === 'family' ? items : items.flatMap((i) => i.caseIds.map((id) => ({ binary: i.binary, caseIds: [id] })));
  }

  readonly around = {
    before: async (t: SuiteTarget, _item: WorkItem, signal: AbortSignal) => {
      await readyGuest(t, signal);
      await resetCounters(t, signal);
    },
    after: async (t: SuiteTarget, item: WorkItem, signal: AbortSignal) => {
      const base = this.granularity === 'case' ? item.caseIds[0] : item.binary.family;
      let name = base;
      for (let n = 2; this.names.has(name); n++) name = `${base}#${n}`;
      this.names.add(name);
      const gcda = path.join(this.dir, 'gcda', name);
      const t0 = Date.now();
      const files = await snapshot(t, this.gcov.obj, gcda, signal);
      if (files === 0) throw new KgateError('infra', `${t.name}: no .gcda files under /sys/kernel/debug/gcov${this.gcov.obj}: is this the gcov build kgate made?`);
      this.taken.push({ name, cases: item.caseIds, gcda, files });
      this.emit({ type: 'stage', stage: 'coverage', state: 'note', detail: `${name}: ${files} .gcda files read in ${Date.now() - t0} ms` });
    },
  };

  /** Tracefiles, HTML and coverage.txt, once the guests are gone. */
  async finish(run: RunResult, head: string[], signal: AbortSignal): Promise<CoverageSummary> {
    const t0 = Date.now();
    if (this.taken.length === 0) throw new KgateError('infra', 'coverage: no counters were read (no unit of the suite finished)');
    const unitsDir = path.join(this.dir, 'units');
    mkdirp(unitsDir);
    // Two at a time: geninfo is mostly one gcov per file, on a 2-core machine.
    const queue = [...this.taken];
    const units: Unit[] = [];
    const worker = async () => {
      for (let u = queue.shift(); u; u = queue.shift()) {
        const info = path.join(unitsDir, `${u.name.replace(/[^\w.#-]/g, '_')}.info`);
        await capture(u.gcda, this.gcov, info, signal);
        units.push({ name: u.name, cases: u.cases, tracefile: parseInfo(readFileSync(info, 'utf8')) });
        rmSync(u.gcda, { recursive: true, force: true });
      }
    };
    await Promise.all([worker(), worker()]);
    rmSync(path.join(this.dir, 'gcda'), { recursive: true, force: true });
    units.sort((a, b) => this.taken.findIndex((x) => x.name === a.name) - this.taken.findIndex((x) => x.name === b.name));
    const totalInfo = path.join(this.dir, 'coverage.info');
    await combine(units.map((u) => path.join(unitsDir, `${u.name.replace(/[^\w.#-]/g, '_')}.info`)), totalInfo, signal);
    this.emit({ type: 'stage', stage: 'coverage', state: 'note', detail: `${units.length} tracefiles in ${((Date.now() - t0) / 1000).toFixed(1)} s; genhtml` });
    await html(totalInfo, path.join(this.dir, 'html'), `kgate ${run.runId}`, path.join(this.gcov.dir, 'src'), signal);
    const sources = new Map<string, string>();
    for (const s of SCOPE) {
      const f = path.join(this.gcov.dir, 'src', s.file);
      if (existsSync(f)) sources.set(s.file, readFileSync(f, 'utf8'));
    }
    const data = coverageData({ sources, total: parseInfo(readFileSync(totalInfo, 'utf8')), units, granularity: this.granularity });
    const casesOf = (u: string) => units.find((x) => x.name === u)?.cases ?? [];
    const text = renderCoverage(data, [
      ...head,
      `attribution: per ${this.granularity} (counters reset before each ${this.granularity === 'family' ? 'family binary' : 'case, which runs alone'}, read after it); ${units.length} units`,
      ...this.notes,
      `tracefile: coverage.info (lcov), HTML: html/index.html, per unit: units/*.info`,
    ], casesOf);
    writeFileSync(path.join(this.dir, 'coverage.txt'), text + '\n');
    writeFileSync(path.join(this.dir, 'coverage.json'), JSON.stringify({ ...data, units: units.map((u) => ({ name: u.name, cases: u.cases })) }, null, 1) + '\n');
    const ex = exitTotals(data.exits);
    const line = `lines ${data.totals.lines[0]}/${data.totals.lines[1]}, branches ${data.totals.branches[0]}/${data.totals.branches[1]}, error exits hit ${ex.hit}/${ex.judged}`;
    return { dir: this.dir, text, line, ms: Date.now() - t0 };
  }
}
