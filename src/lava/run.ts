// A LAVA job's outcome -> a kgate run directory, the same files a local run
// writes (results.json, junit.xml, ktap.log, console.log, metadata.json), so
// every report reads it unchanged; plus job.yaml, lava-plan.json and the job's
// own log (lava-job.log) as LAVA gave it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from '../model.js';
import { exitCodeOf, summarise } from '../model.js';
import { writeJUnit, writeResultsJson } from '../report/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { METADATA_JSON } from '../session/metadata.js';
import { parseLavaLog, type LavaResultEntry } from './log.js';
import { resultsFromConsole } from './results.js';
import { lavaCaseName } from './job.js';
import { readPlan, type LavaPlan } from './prepare.js';

export const JOB_LOG = 'lava-job.log';

export interface LavaOutcome { run: RunResult; dir: string; exitCode: number; line?: string }

export interface FinishRequest {
  dir: string;
  plan: LavaPlan;
  logText: string;
  /** The job's end as the server reports it; lava-run's log says it itself. */
  jobId?: number;
  health?: string;
  jobError?: { type?: string; message: string };
  /** The server's test cases (REST); the log's results entries otherwise. */
  lavaResults?: LavaResultEntry[];
  target?: string;
  timings?: Record<string, number>;
  /** Problems met while fetching (a log that could not be had, a retry). */
  problems?: string[];
}

export function finishLavaRun(req: FinishRequest): LavaOutcome {
  const { dir, plan } = req;
  const log = parseLavaLog(req.logText);
  const error = req.jobError ?? log.error;
  const failed = req.health !== undefined ? req.health !== 'Complete' : error !== undefined;
  const errorText = error ? `${error.type ? `${error.type}: ` : ''}${error.message}` : undefined;
  const cr = resultsFromConsole(log.target, plan, { jobError: failed ? errorText : undefined });
  const meta = readMeta(dir);
  const jobName = req.jobId !== undefined ? `LAVA job ${req.jobId}` : 'the LAVA job';
  const run: RunResult = {
    runId: path.basename(dir),
    startedAt: typeof meta.startedAt === 'string' ? meta.startedAt : new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    target: req.target ?? 'lava',
    kernel: { ...plan.kernel, ...(cr.release ? { release: cr.release } : {}) },
    cases: cr.cases,
    problems: [...(req.problems ?? []), ...cr.problems],
    summary: summarise(cr.cases),
  };
  if (log.unreadable > 0) run.problems.push(`${log.unreadable} line(s) of the job log were not LAVA log entries`);
  // LAVA's view beside kgate's: each reported case should be a LAVA test case too.
  const lavaResults = (req.lavaResults ?? log.results).filter((r) => r.suite !== 'lava');
  const lavaNames = new Set(lavaResults.map((r) => `${r.suite}.${r.case}`));
  for (const c of run.cases) {
    if (c.status !== 'MISS' && c.tap.length > 0 && !lavaNames.has(`${c.family}.${lavaCaseName(c.id)}`)) run.problems.push(`${c.family}.${c.id}: in the console's KTAP but not among LAVA's test cases`);
  }
  const missing = run.cases.filter((c) => c.status === 'MISS').length;
  if (failed) {
    run.abort = { family: 'infra', reason: `${jobName} ended ${req.health ?? 'Incomplete'}${errorText ? `: ${errorText}` : ''}${missing ? ` (${missing} of ${run.cases.length} cases MISS)` : ''}` };
  } else if (cr.abort) {
    run.abort = cr.abort;
  } else if (missing > 0) {
    run.abort = { family: 'infra', reason: `${jobName} returned ${run.cases.length - missing} of ${run.cases.length} cases; ${missing} MISS` };
  }
  if (run.abort) run.problems.push(run.abort.reason);
  writeFileAtomic(path.join(dir, JOB_LOG), req.logText);
  writeFileAtomic(path.join(dir, 'console.log'), log.target.join('\n') + '\n');
  writeFileAtomic(path.join(dir, 'ktap.log'), cr.ktap.length ? cr.ktap.join('\n') + '\n'
    : `KTAP version 1\n# kgate: the LAVA job printed no result\n1..${run.cases.length}\nBail out! ${run.abort?.reason ?? 'no result'}\n`);
  writeResultsJson(dir, run);
  writeJUnit(dir, run);
  writeMeta(dir, { ...meta, state: 'finished', finishedAt: run.finishedAt, kernel: run.kernel, summary: run.summary, abort: run.abort,
    lava: { ...(meta.lava as object ?? {}), jobId: req.jobId, health: req.health ?? (failed ? 'Incomplete' : 'Complete'), error, lavaTestCases: lavaResults.length },
    timings: { ...(meta.timings as object ?? {}), ...(req.timings ?? {}) } });
  return { run, dir, exitCode: exitCodeOf(run), ...(run.abort ? { line: run.abort.reason.split('\n')[0] } : {}) };
}

function readMeta(dir: string): Record<string, unknown> {
  try { return JSON.parse(readFileSync(path.join(dir, METADATA_JSON), 'utf8')); } catch { return {}; }
}
function writeMeta(dir: string, data: Record<string, unknown>): void {
  writeFileAtomic(path.join(dir, METADATA_JSON), JSON.stringify(data, null, 2) + '\n');
}

/** `kgate lava fetch --dir DIR --dispatcher-output LOG`: the log lava-run wrote, into the run directory kgate lava job made. */
export async function importDispatcherRun(o: { dir: string; log: string; argv: string[] }): Promise<LavaOutcome> {
  const plan = readPlan(o.dir);
  if (!existsSync(o.log)) {
    const { KgateError } = await import('../model.js');
    throw new KgateError('user', `no dispatcher log ${o.log}`);
  }
  return finishLavaRun({ dir: o.dir, plan, logText: readFileSync(o.log, 'utf8'), target: 'lava-run' });
}

export async function submitToLava(_: unknown): Promise<LavaOutcome> { throw new Error('todo'); }
export async function fetchFromLava(_: unknown): Promise<LavaOutcome> { throw new Error('todo'); }
