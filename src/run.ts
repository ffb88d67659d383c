// `kgate run`: build the suite, bring up the targets, run, write, judge.
// Each stage is a function of its own (gen, build, startGuest, runSuite,
// writers); this file only composes them and decides the exit code.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult, RunResult } from './model.js';
import { EXIT, KgateError, isFailure, summarise } from './model.js';
import type { Emit } from './events.js';
import type { BuildManifest } from './gen/manifest.js';
import type { SuiteTarget } from './runner/target.js';
import { runSuite, type WorkItem } from './runner/execute.js';
import { anySignal } from './util/deadline.js';
import { writeFileAtomic } from './util/atomic.js';
import { shellLine } from './util/shell.js';
import { RunSink } from './runner/sink.js';
import { localTarget } from './runner/local.js';
import { writeJUnit, writeResultsJson } from './report/index.js';

export type TargetSpec =
  | { kind: 'local' }
  | { kind: 'qemu'; kernel: string; modules?: string; accel: 'auto' | 'kvm' | 'tcg'; memMB: number; smp: number; jobs: number; bootTimeoutSec: number }
  | { kind: 'ssh'; user: string; host: string; port: number; identity?: string };

export interface RunRequest {
  target: TargetSpec;
  /**
   * The built suite and the case ids to run per binary. A promise, so the
   * build (2-3 s cold) runs while the guest boots (4 s) instead of before it.
   */
  suite: Promise<{ manifest: BuildManifest; selection: WorkItem[]; buildMs?: number }>;
  resultsRoot: string;
  runId: string;
  argv: string[];             // the reproducer: what was typed
  signal: AbortSignal;
  emit: Emit;
  env?: Record<string, string>;
}

export interface RunOutcome { run: RunResult; dir: string; exitCode: number; timings: Record<string, number> }

export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function startTargets(spec: TargetSpec, dir: string, req: RunRequest, signal: AbortSignal): Promise<SuiteTarget>[] {
  if (spec.kind === 'local') return [Promise.resolve().then(() => localTarget())];
  if (spec.kind === 'ssh') return [import('./runner/remote-target.js').then((m) => m.sshTarget(spec, signal, req.emit))];
  const guests = import('./runner/guest-target.js').then((m) => m.startGuestTargets(spec, dir, signal, req.emit));
  const jobs = spec.jobs;
  return Array.from({ length: jobs }, (_, i) => guests.then((g) => g[i]));
}

/**
 * results/<run>/, made exclusively: two runs started in the same second (a
 * nightly over several kernels) get <id> and <id>-2, never one directory.
 */
export function claimRunDir(root: string, id: string): { dir: string; runId: string } {
  try {
    mkdirSync(root, { recursive: true });
    for (let n = 1; ; n++) {
      const runId = n === 1 ? id : `${id}-${n}`;
      try {
        mkdirSync(join(root, runId));
        return { dir: join(root, runId), runId };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  } catch (e) {
    throw new KgateError('user', `cannot write results to ${root}: ${(e as NodeJS.ErrnoException).code ?? e} (choose another --results)`);
  }
}

export function exitCodeOf(run: RunResult): number {
  if (run.cases.some((c) => c.status === 'FAIL' || c.status === 'CRASH' || c.status === 'TIMEOUT')) return EXIT.fail;
  if (run.abort?.family === 'interrupt') return EXIT.interrupted;
  if (run.abort) return run.abort.family === 'user' ? EXIT.usage : EXIT.untestable;
  return run.cases.some((c) => isFailure(c.status)) ? EXIT.fail : EXIT.ok;
}

export async function runCommand(req: RunRequest): Promise<RunOutcome> {
  const { dir, runId } = claimRunDir(req.resultsRoot, req.runId);
  const t0 = Date.now();
  const run: RunResult = {
    runId,
    startedAt: new Date(t0).toISOString(),
    target: req.target.kind === 'ssh' ? `ssh://${req.target.user}@${req.target.host}:${req.target.port}` : req.target.kind,
    cases: [],
    problems: [],
    summary: summarise([]),
  };
  const sink = new RunSink(dir, run);
  const timings: Record<string, number> = {};
  let notes: Record<string, string> = {};
  const targets: SuiteTarget[] = [];
  let pending: Promise<SuiteTarget>[] = [];
  let stopBoots = () => {};
  let manifest: BuildManifest | undefined;
  let selection: WorkItem[] = [];
  try {
    const tTargets = Date.now();
    req.emit({ type: 'stage', stage: 'target', state: 'start', detail: run.target });
    // Guests still booting when the suite is done are not waited for.
    const boots = new AbortController();
    stopBoots = () => boots.abort();
    pending = startTargets(req.target, dir, req, anySignal([req.signal, boots.signal])).map((p) => p.then((t) => { targets.push(t); return t; }));
    // The first target and the build are awaited together: a build failure must not leave a booting guest behind.
    const [started, suite] = await Promise.allSettled([pending[0], req.suite]);
    if (suite.status === 'fulfilled') {
      ({ manifest, selection } = suite.value);
      if (suite.value.buildMs !== undefined) timings.buildMs = suite.value.buildMs;
    }
    if (suite.status === 'rejected') throw suite.reason;
    if (started.status === 'rejected') throw started.reason;
    const first = started.value;
    timings.targetMs = Date.now() - tTargets;
    run.kernel = first.kernel;
    run.accel = first.accel;
    Object.assign(timings, first.timings ?? {});
    notes = first.notes ?? {};
    req.emit({ type: 'stage', stage: 'target', state: 'done', ms: timings.targetMs,
      detail: `${run.kernel.release}${run.accel ? ` (${run.accel})` : ''}` });
    // A WARN or oops before any case ran belongs to no case, but the user must see it.
    for (const e of first.consoleEventsSince(0)) run.problems.push(`kernel ${e.kind} while booting, before any case: ${e.line}`);
    sink.flush();
    const tRun = Date.now();
    // The time to the first result is what a bisecting user waits for: keep it.
    const emit: Emit = (e) => {
      if (e.type === 'case' && timings.firstResultMs === undefined) timings.firstResultMs = Date.now() - t0;
      req.emit(e);
    };
    const r = await runSuite({ targets: pending, items: selection, sink, emit, signal: req.signal, env: req.env });
    timings.runMs = Date.now() - tRun;
    if (r.abort) run.abort = r.abort;
    if (req.signal.aborted && !run.abort) run.abort = { family: 'interrupt', reason: 'interrupted' };
  } catch (e) {
    // Bad input found while starting (an unknown kernel, a missing file) is the user's: one line, exit 2.
    // (finally still stops what was started)
    if (e instanceof KgateError && e.family === 'user' && run.cases.length === 0) throw e;
    run.abort = req.signal.aborted ? { family: 'interrupt', reason: 'interrupted' }
      : e instanceof KgateError ? { family: e.family, reason: e.message }
      : { family: 'bug', reason: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    if (e instanceof KgateError && e.detail) run.problems.push(e.detail);
  } finally {
    stopBoots();
    await Promise.allSettled(pending);
    await Promise.allSettled(targets.map((t) => t.stop()));
  }
  // Every case asked for shows up, even those a dead target never reached.
  const seen = new Set(run.cases.map((c) => c.id));
  for (const item of selection) {
    for (const id of item.caseIds) {
      if (seen.has(id)) continue;
      const miss: CaseResult = { id, family: item.binary.family, api: item.binary.api, status: 'MISS', tap: [],
        reason: run.abort ? `not run: ${run.abort.reason.split('\n')[0]}` : 'never reported' };
      run.cases.push(miss);
      req.emit({ type: 'case', shard: '-', result: miss });
    }
  }
  run.finishedAt = new Date().toISOString();
  run.summary = summarise(run.cases);
  writeResultsJson(dir, run);
  writeJUnit(dir, run);
  timings.totalMs = Date.now() - t0;
  writeMetadata(dir, { run, timings, notes, argv: req.argv, cc: manifest?.cc });
  return { run, dir, exitCode: exitCodeOf(run), timings };
}

function writeMetadata(dir: string, m: { run: RunResult; timings: Record<string, number>; notes: Record<string, string>; argv: string[]; cc?: string }) {
  const meta = {
    runId: m.run.runId,
    kernel: m.run.kernel,
    accel: m.run.accel,
    target: m.run.target,
    cc: m.cc,
    ...m.notes,
    timings: m.timings,
    reproducer: shellLine(['kgate', ...m.argv]),
    summary: m.run.summary,
  };
  writeFileAtomic(join(dir, 'metadata.json'), JSON.stringify(meta, null, 2) + '\n');
}
