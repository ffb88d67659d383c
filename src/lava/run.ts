// A LAVA job's outcome -> a kgate run directory, the same files a local run
// writes (results.json, junit.xml, ktap.log, console.log, metadata.json), so
// every report reads it unchanged; plus job.yaml, lava-plan.json and the job's
// own log (lava-job.log) as LAVA gave it.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from '../model.js';
import { KgateError, exitCodeOf } from '../model.js';
import type { RunContext } from '../session/context.js';
import { RunDir } from '../session/run-dir.js';
import { parseLavaLog } from './log.js';
import { resultsFromConsole } from './results.js';
import { lavaCaseName } from './job.js';
import { PLAN_JSON, prepareLavaJob, readPlan, writePlan, type LavaPlan, type PrepareRequest } from './prepare.js';
import { LavaClient, fetchJobEnd, type JobEnd, type LavaServer } from './rest.js';

export const JOB_LOG = 'lava-job.log';

export interface LavaOutcome { run?: RunResult; dir: string; exitCode: number; line?: string }

export interface FinishRequest extends JobEnd {
  /** The run directory kgate lava job opened, or one reopened to fetch its job again. */
  runDir: RunDir;
  plan: LavaPlan;
  /** The job's id on the server; lava-run's log says its end itself. */
  jobId?: number;
  target?: string;
  timings?: Record<string, number>;
}

/** The job's log and results into the run directory; its own time is the run's parseMs. */
export function finishLavaRun(req: FinishRequest): LavaOutcome {
  const t0 = Date.now();
  const { runDir, plan } = req;
  const log = parseLavaLog(req.logText);
  const error = req.jobError ?? log.error;
  const failed = req.health !== undefined ? req.health !== 'Complete' : error !== undefined;
  const errorText = error ? `${error.type ? `${error.type}: ` : ''}${error.message}` : undefined;
  const cr = resultsFromConsole(log.target, plan, { jobError: failed ? errorText : undefined });
  const { run, meta, dir } = runDir;
  if (req.target) run.target = req.target;
  const jobName = req.jobId !== undefined ? `LAVA job ${req.jobId}` : 'the LAVA job';
  run.kernel = { ...plan.kernel, ...(cr.release ? { release: cr.release } : {}) };
  run.cases = cr.cases;
  run.problems = [...(req.problems ?? []), ...cr.problems];
  if (log.unreadable > 0) run.problems.push(`${log.unreadable} line(s) of the job log were not LAVA log entries`);
  // LAVA's view beside kgate's: each reported case should be a LAVA test case too.
  const lavaResults = (req.lavaResults ?? log.results).filter((r) => r.suite !== 'lava');
  const lavaNames = new Set(lavaResults.map((r) => `${r.suite}.${r.case}`));
  for (const c of run.cases) {
    if (c.status !== 'MISS' && c.tap.length > 0 && !lavaNames.has(`${c.family}.${lavaCaseName(c.id)}`)) run.problems.push(`${c.family}.${c.id}: in the console's KTAP but not among LAVA's test cases`);
  }
  const missing = run.cases.filter((c) => c.status === 'MISS').length;
  if (req.fault) {
    run.abort = { family: req.fault.family, reason: `${req.fault.message}${missing ? ` (${missing} of ${run.cases.length} cases MISS)` : ''}` };
  } else if (failed) {
    run.abort = { family: 'infra', reason: `${jobName} ended ${req.health ?? 'Incomplete'}${errorText ? `: ${errorText}` : ''}${missing ? ` (${missing} of ${run.cases.length} cases MISS)` : ''}` };
  } else if (cr.abort) {
    run.abort = cr.abort;
  } else if (missing > 0) {
    run.abort = { family: 'infra', reason: `${jobName} returned ${run.cases.length - missing} of ${run.cases.length} cases; ${missing} MISS` };
  }
  if (run.abort) run.problems.push(run.abort.reason);
  // A refused token or a bad URL is the user's (2) even when no case ran: the fault is the run's abort, and exitCodeOf maps its family.
  const exitCode = exitCodeOf(run);
  runDir.keep(JOB_LOG, req.logText);
  runDir.console(log.target);
  for (const line of cr.ktap) runDir.sink.ktap('-', line);
  runDir.finish(run.cases.length, {
    lava: { ...(meta.current.lava ?? {}), jobId: req.jobId, health: req.health ?? (failed ? 'Incomplete' : 'Complete'), error, lavaTestCases: lavaResults.length },
    timings: { ...(meta.current.timings ?? {}), ...(req.timings ?? {}), parseMs: Date.now() - t0 },
  });
  return { run, dir, exitCode, ...(run.abort ? { line: run.abort.reason.split('\n')[0] } : {}) };
}

/** A directory kgate lava job made, reopened to be finished by a fetch; nothing runs on, so a write the machine refuses is the fetch's error. */
function reopen(dir: string): RunDir {
  return RunDir.reopen(dir, { onFault: (f) => { throw f; } });
}

/** `kgate lava fetch --dir DIR --dispatcher-output LOG`: the log lava-run wrote, into the run directory kgate lava job made. */
export async function importDispatcherRun(o: { dir: string; log: string; argv: string[] }): Promise<LavaOutcome> {
  const plan = readPlan(o.dir);
  if (!existsSync(o.log)) throw new KgateError('user', `no dispatcher log ${o.log}`);
  return finishLavaRun({ runDir: reopen(o.dir), plan, logText: readFileSync(o.log, 'utf8'), target: 'lava-run' });
}

export interface SubmitRequest extends PrepareRequest {
  server: LavaServer;
  wait: boolean;
  pollTimeoutSec: number;
  /** First poll delay (tests make it short). */
  pollFirstMs?: number;
}

/** A fault of the submission (unreachable, a refused token): the run directory still says what was made, with the fault as its abort; any other error is thrown on. */
function submitFault(e: unknown): JobEnd {
  if (!(e instanceof KgateError)) throw e;
  return { logText: '', fault: e };
}

/** LAVA's own notes (submitted, the job's state) as notes of the run's suite stage. */
export function lavaNotes(ctx: Pick<RunContext, 'emit'>, runId: string): (line: string) => void {
  return (line) => ctx.emit({ type: 'stage', stage: 'suite', state: 'note', detail: line, run: runId });
}

/** `kgate lava submit`: the job prepared as `kgate lava job` does, submitted, and with wait, polled and fetched. */
export async function submitToLava(req: SubmitRequest, ctx: RunContext): Promise<LavaOutcome> {
  // The client reads the token (and refuses a missing file) before anything is built.
  const client = new LavaClient(req.server, ctx.signal);
  const prepared = await prepareLavaJob(req, ctx);
  const log = lavaNotes(ctx, prepared.runId);
  const { dir, plan, runDir } = prepared;
  const timings: Record<string, number> = { ...prepared.timings };
  const target = `lava ${client.base}`;
  let jobId: number | undefined;
  let end: JobEnd;
  try {
    const t0 = Date.now();
    jobId = await client.submit(prepared.yaml);
    timings.submitMs = Date.now() - t0;
    plan.server = { url: client.base, jobId };
    writePlan(runDir, plan);
    log(`submitted LAVA job ${jobId}: ${client.base}/scheduler/job/${jobId}`);
    // Said at once, waited for or not: a wait killed later still names its job.
    runDir.meta.update({ lava: { ...(runDir.meta.current.lava ?? {}), jobId, url: client.base }, timings });
    if (!req.wait) return { dir, exitCode: 0 };
    end = await fetchJobEnd(client, jobId, { timeoutMs: req.pollTimeoutSec * 1000, firstMs: req.pollFirstMs, signal: ctx.signal, log, timings });
  } catch (e) {
    end = submitFault(e);
  }
  return finishLavaRun({ runDir, plan, jobId, target, timings, ...end });
}

/** Where kgate lava submit left LAVA job N under a results root (the plan names the job). */
function findRunDir(root: string, jobId: number, url: string): string | undefined {
  if (!existsSync(root)) return undefined;
  for (const d of readdirSync(root).sort().reverse()) {
    const f = path.join(root, d, PLAN_JSON);
    if (!existsSync(f)) continue;
    try {
      const p = JSON.parse(readFileSync(f, 'utf8')) as LavaPlan;
      if (p.server?.jobId === jobId && p.server.url === url.replace(/\/+$/, '')) return path.join(root, d);
    } catch { /* not ours */ }
  }
  return undefined;
}

/** `kgate lava fetch [JOB] [--dir DIR]`: a job kgate submitted, fetched again (polled first if it has not finished). */
export async function fetchFromLava(o: { job?: string; dir?: string; resultsRoot: string; server: LavaServer; argv: string[]; signal?: AbortSignal; log?: (l: string) => void; pollTimeoutSec: number; pollFirstMs?: number }): Promise<LavaOutcome> {
  if (o.job !== undefined && !/^\d+$/.test(o.job)) throw new KgateError('user', `a LAVA job id is a number, not '${o.job}'`);
  let dir = o.dir;
  if (!dir) {
    if (o.job === undefined) throw new KgateError('user', 'kgate lava fetch needs a job id or --dir');
    dir = findRunDir(o.resultsRoot, Number(o.job), o.server.url);
    if (!dir) throw new KgateError('user', `no run directory of LAVA job ${o.job} from ${o.server.url} under ${o.resultsRoot} (give --dir, or --results)`);
  }
  const plan = readPlan(dir);
  const jobId = o.job !== undefined ? Number(o.job) : plan.server?.jobId;
  if (jobId === undefined) throw new KgateError('user', `${dir}: the job was never submitted (no job id in ${path.basename(dir)}/${PLAN_JSON}); give the id`);
  const client = new LavaClient(o.server, o.signal);
  const target = `lava ${client.base}`;
  const timings: Record<string, number> = {};
  const end = await fetchJobEnd(client, jobId, { timeoutMs: o.pollTimeoutSec * 1000, firstMs: o.pollFirstMs, signal: o.signal, log: o.log, timings });
  return finishLavaRun({ runDir: reopen(dir), plan, jobId, target, timings, ...end });
}
