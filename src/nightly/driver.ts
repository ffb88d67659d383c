// `kgate nightly --config nightly.yaml`: every cell of the plan (a kernel by a
// case selection) run as an ordinary run in <root>/<date>/<cell>/, compared
// with the last night that ran the same cell, and written as one matrix
// report. A cell whose kernel does not build or boot is recorded and the
// night goes on; --resume keeps the cells a killed night already finished.
import { createHash } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KgateError, type RunResult } from '../model.js';
import { forRun, type Emit } from '../events.js';
import { makeSelection } from '../catalog/selection.js';
import { kernelStage, type KernelArtifact } from '../kernel/index.js';
import type { TargetSpec } from '../runner/target-spec.js';
import { runOnce } from '../session/run-once.js';
import { runRepeated } from '../session/run-repeated.js';
import type { RunContext } from '../session/context.js';
import { lavaBackend } from '../lava/backend.js';
import { readRunResult } from '../session/run-dir.js';
import type { MatrixCell, MatrixReport } from '../report/matrix.js';
import { shellLine } from '../util/shell.js';
import { mkdirp } from '../util/fs.js';
import { shareOf, shardText, type Shard } from '../util/shard.js';
import type { NightlyConfig, PlannedCell } from './config.js';
import { casePoints, kernelKey, lastNightBefore, readHistory, withHistory } from './history.js';
import { writeNightlyReport, readNightlyJson, type NightlyJson } from './report.js';
import { bisectNewFailures } from './self-bisect.js';

export interface NightlyRequest {
  config: NightlyConfig;
  /** The night, YYYY-MM-DD (today, UTC, unless given). */
  date: string;
  /** The nightly root: <root>/<date>/ and <root>/history/. */
  root: string;
  skipUnchanged: boolean;
  resume: boolean;
  shard?: Shard;
  target: Extract<TargetSpec, { kind: 'qemu' }>;
  buildDir: string;
  argv: string[];
  env?: Record<string, string>;
  signal: AbortSignal;
  emit: Emit;
  log: (line: string) => void;
  /** --reporter, else $KGATE_REPORTER: the Reported-by: of a culprit when the config has no reporter:. */
  reporter?: string;
}

export interface NightlyOutcome { report: MatrixReport; dir: string; wallMs: number; cellsMs: number }

/** The plan's fingerprint: shards of different plans cannot be merged, a resumed night must be the same plan. */
export function planHash(config: NightlyConfig): string {
  const cells = config.cells.map((c) => ({ n: c.name, k: c.kernelText, b: c.kernel.baseConfig, f: c.kernel.fragments, m: c.kernel.modules, s: c.selection.ids, be: c.backend }));
  return createHash('sha256').update(JSON.stringify({ cells, repeat: config.repeat })).digest('hex').slice(0, 16);
}

/** This shard's cells: whole cells when there are enough to go round, else every cell's cases split. */
export function shardCells(cells: PlannedCell[], shard: Shard | undefined): PlannedCell[] {
  if (!shard || shard.total === 1) return cells;
  if (cells.length >= shard.total) return shareOf(cells, shard);
  return cells.flatMap((c) => {
    const ids = shareOf(c.selection.ids, shard);
    return ids.length ? [{ ...c, selection: makeSelection({ cases: ids }) }] : [];
  });
}

export function nightDirOf(root: string, date: string, shard?: Shard): string {
  return path.join(root, shard && shard.total > 1 ? `${date}.shard-${shard.index}-of-${shard.total}` : date);
}

export async function runNightly(req: NightlyRequest): Promise<NightlyOutcome> {
  const t0 = Date.now();
  const dir = nightDirOf(req.root, req.date, req.shard);
  const plan = planHash(req.config);
  const previous = existsSync(path.join(dir, 'nightly.json')) ? readNightlyJson(dir) : undefined;
  if (previous && !req.resume) throw new KgateError('user', `${dir} already holds the night of ${req.date}: give --resume to finish it, or another --date`);
  if (previous && previous.plan !== plan) throw new KgateError('user', `--resume: ${dir} was made from another plan (${previous.plan}, now ${plan}): the config changed since`);
  mkdirp(dir);
  const cells = shardCells(req.config.cells, req.shard);
  const startedAt = new Date(t0).toISOString();
  const report: MatrixReport = {
    title: `kgate nightly ${req.date}${req.shard && req.shard.total > 1 ? ` (shard ${shardText(req.shard)})` : ''}`,
    date: req.date, startedAt, source: req.config.file, cells: [],
    ...(req.shard && req.shard.total > 1 ? { shard: shardText(req.shard) } : {}),
    reproducer: shellLine(['kgate', ...req.argv]), exitCode: 0,
  };
  let cellsMs = 0;
  let kcidbSaid = false;
  const save = (finished: boolean) => {
    const exitCode = req.signal.aborted ? 130 : nightExitCode(report.cells);
    const timings = { wallMs: Date.now() - t0, cellsMs };
    const j = writeNightlyReport(dir, { plan, report: { ...report, exitCode, timings, ...(finished ? { finishedAt: new Date().toISOString() } : {}) } });
    if (j.kcidbError && !kcidbSaid) { kcidbSaid = true; req.log(`kcidb.json not written: ${j.kcidbError}`); }
    return j;
  };
  // Written at once and after every cell: a killed night still says what it did.
  save(false);
  for (const [i, cell] of cells.entries()) {
    if (req.signal.aborted) break;
    const tc = Date.now();
    req.log(`cell ${i + 1} of ${cells.length}: ${cell.name} (${cell.kernelText}, ${cell.selection.describe})`);
    const done = req.resume ? finishedCell(dir, cell.name) : undefined;
    const result = done ? withHistory(req, cell, done, dir, 'ran') : await runCell(req, cell, dir);
    if (done) req.log(`  ${cell.name}: finished by the interrupted night, kept`);
    result.ms = Date.now() - tc;
    cellsMs += result.ms;
    report.cells.push(result);
    save(false);
    if (result.error === 'interrupted') break;
  }
  // After the cells ran and were compared: a tree cell's new failures bisected, and every open regression's life.
  await bisectNewFailures(req, report, dir, () => save(false));
  const json = save(!req.signal.aborted);
  return { report: json.report, dir, wallMs: Date.now() - t0, cellsMs };
}

/** 1: a cell got a new failure or crash since its last night (or fails on its first); 125: a cell could not be tested; else 0. */
function nightExitCode(cells: MatrixCell[]): number {
  const regressed = cells.some((c) => c.state === 'ran' && (c.vsLast ? c.vsLast.comparison.changes.some((ch) => ch.kind === 'new-failure' || ch.kind === 'new-crash') : c.exitCode === 1));
  if (regressed) return 1;
  return cells.some((c) => c.state === 'failed') ? 125 : 0;
}

/** A run directory of tonight's that a finished run left (results.json with an end and no interrupt). */
function finishedCell(dir: string, cell: string): RunResult | undefined {
  const run = readRunResult(path.join(dir, cell));
  return run?.finishedAt && run.abort?.family !== 'interrupt' ? run : undefined;
}

async function runCell(req: NightlyRequest, cell: PlannedCell, dir: string): Promise<MatrixCell> {
  const emit = forRun(cell.name, req.emit);
  const base = { name: cell.name, kernel: cell.kernelText, selection: cell.selection.describe, history: {} };
  // A cell a killed night left half done starts again from nothing.
  for (const d of [cell.name, `${cell.name}.kernel`]) rmSync(path.join(dir, d), { recursive: true, force: true });
  const logDir = path.join(dir, `${cell.name}.kernel`);
  let artifact: KernelArtifact;
  const whyNoKernel = (e: unknown) => (req.signal.aborted ? 'interrupted' : e instanceof Error ? e.message.split('\n')[0] : String(e));
  try {
    artifact = await kernelStage(cell.kernel, { emit, signal: req.signal, logDir, failDetail: whyNoKernel });
  } catch (e) {
    const why = whyNoKernel(e);
    req.log(`  ${cell.name}: no kernel: ${why}`);
    return { ...base, state: 'failed', exitCode: e instanceof KgateError && e.family === 'user' ? 2 : req.signal.aborted ? 130 : 125, error: why, ...(existsSync(logDir) ? { dir: path.relative(dir, logDir) } : {}) };
  }
  const key = kernelKey(artifact.identity);
  const last = lastNightBefore(readHistory(req.root, cell.name), req.date);
  if (req.skipUnchanged && last && last.kernel === key) {
    const lastRun = readRunResult(path.join(req.root, last.dir));
    if (lastRun) {
      rmSync(logDir, { recursive: true, force: true });
      req.log(`  ${cell.name}: kernel unchanged since ${last.date} (${artifact.release}): not run (--skip-unchanged)`);
      return {
        ...base, state: 'unchanged', run: lastRun, dir: path.relative(dir, path.join(req.root, last.dir)), exitCode: 0,
        vsLast: { date: last.date, runId: last.runId, comparison: { changes: [], unchanged: lastRun.cases.length, regressed: false } },
        history: casePoints(readHistory(req.root, cell.name)),
      };
    }
  }
  // The cell's runs, each a run directory of tonight's, keyed by the cell on the event stream.
  const ctx: RunContext = { buildDir: req.buildDir, resultsRoot: dir, argv: req.argv, signal: req.signal, emit, env: req.env };
  const { runs: outs, error } = await runRepeated({
    kernel: { artifact }, target: req.target, selection: cell.selection, repeat: req.config.repeat,
    runId: (i) => (i === 0 ? cell.name : `${cell.name}.r${i + 1}`), ...(cell.kernel.coverage ? { coverage: 'family' as const } : {}),
  }, ctx, cell.backend ? lavaBackend(cell.backend, { memMB: req.config.mem, bootTimeoutSec: req.config.bootTimeout }) : runOnce);
  if (outs.length === 0) return { ...base, state: 'failed', exitCode: 2, error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  const first = outs[0];
  // The build log belongs with the run it made the kernel for.
  const buildLog = path.join(logDir, 'kernel-build.log');
  if (existsSync(buildLog)) renameSync(buildLog, path.join(first.dir, 'kernel-build.log'));
  rmSync(logDir, { recursive: true, force: true });
  if (first.exitCode === 130) return { ...base, state: 'ran', run: first.run, dir: path.relative(dir, first.dir), exitCode: 130, error: 'interrupted' };
  return withHistory(req, cell, first.run, dir, 'ran', outs.slice(1).map((o) => o.run));
}

export type { NightlyJson };
