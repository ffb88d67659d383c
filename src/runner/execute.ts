// runSuite: the built binaries on one or more targets -> CaseResults, whatever
// happens. The harness in each binary handles a case's own timeout; this side
// handles what the harness cannot: a binary that stops reporting, a kernel that
// oopses or panics, a guest or connection that dies. Nothing already obtained is
// lost: every result goes to the sink the moment it is known.
import type { BuiltBinary } from '../gen/manifest.js';
import type { CaseResult, FailureFamily } from '../model.js';
import { KgateError } from '../model.js';
import type { Emit } from '../events.js';
import type { SuiteTarget } from './target.js';
import { openCaseStream } from './case-stream.js';

export interface WorkItem { binary: BuiltBinary; caseIds: string[] }

export interface ResultSink {
  add(result: CaseResult): void;          // persists at once (results.json)
  ktap(shard: string, line: string): void; // raw KTAP log
  problem(message: string): void;
}

export interface RunSuiteRequest {
  targets: SuiteTarget[];                 // one per shard, already started
  items: WorkItem[];
  sink: ResultSink;
  emit: Emit;
  signal: AbortSignal;
  /** Added to the sum of case timeouts for a binary's outer deadline. */
  slackMs?: number;
  env?: Record<string, string>;
}

export interface RunSuiteResult {
  abort?: { family: FailureFamily; reason: string };
  restarts: number;
}

/** Spread work over shards, heaviest family first, so shards finish close together. */
export function shardItems(items: WorkItem[], shards: number): WorkItem[][] {
  const out: WorkItem[][] = Array.from({ length: Math.max(1, shards) }, () => []);
  const load = out.map(() => 0);
  const cost = (it: WorkItem) => it.caseIds.length;
  // A family with many cases is split so one slow family does not hold back the run.
  const pieces: WorkItem[] = [];
  const total = items.reduce((n, it) => n + cost(it), 0);
  const maxPiece = Math.max(1, Math.ceil(total / out.length));
  for (const it of items) {
    for (let i = 0; i < it.caseIds.length; i += maxPiece) {
      pieces.push({ binary: it.binary, caseIds: it.caseIds.slice(i, i + maxPiece) });
    }
  }
  pieces.sort((a, b) => cost(b) - cost(a));
  for (const p of pieces) {
    let best = 0;
    for (let i = 1; i < out.length; i++) if (load[i] < load[best]) best = i;
    out[best].push(p);
    load[best] += cost(p);
  }
  return out.filter((s) => s.length > 0);
}

function caseTimeoutMs(binary: BuiltBinary, id: string): number {
  return (binary.cases.find((c) => c.id === id)?.timeoutSec ?? 30) * 1000;
}

/** How long to wait after a binary ends for the console to deliver an oops it caused. */
const CONSOLE_SETTLE_MS = 400;
const MAX_RESTARTS_WITHOUT_PROGRESS = 2;

export async function runSuite(req: RunSuiteRequest): Promise<RunSuiteResult> {
  const shards = shardItems(req.items, req.targets.length);
  let restarts = 0;
  let abort: RunSuiteResult['abort'];
  const controller = new AbortController();
  const signal = AbortSignal.any([req.signal, controller.signal]);

  const runShard = async (target: SuiteTarget, items: WorkItem[]) => {
    const binaries = [...new Map(items.map((i) => [i.binary.name, i.binary])).values()];
    await target.prepare(binaries, signal);
    for (const item of items) {
      if (abort || signal.aborted) break;
      await runItem(target, binaries, item);
    }
  };

  const runItem = async (target: SuiteTarget, binaries: BuiltBinary[], item: WorkItem) => {
    const { binary } = item;
    const remaining = [...item.caseIds];
    let stalls = 0;
    req.emit({ type: 'family', family: binary.family, shard: target.name, state: 'start', total: remaining.length });
    while (remaining.length > 0 && !abort && !signal.aborted) {
      let caseStart = Date.now();
      const record = (r: CaseResult) => {
        const i = remaining.indexOf(r.id);
        if (i < 0) {
          req.sink.problem(`${binary.name}: result for ${r.id}, which was not asked for`);
          return;
        }
        remaining.splice(i, 1);
        // A kernel oops/WARN while the case ran makes it CRASH, whatever it printed.
        const events = target.consoleEventsSince(caseStart);
        if (events.length > 0) {
          r = {
            ...r,
            status: 'CRASH',
            reason: `kernel ${events[0].kind} while the case ran: ${events[0].line}`,
            console: events.flatMap((e) => e.excerpt),
          };
        }
        r.kernel ??= target.kernel;
        req.sink.add(r);
        req.emit({ type: 'case', shard: target.name, result: r });
        caseStart = Date.now();
        stalls = 0;
      };
      const stream = openCaseStream({ family: binary.family, api: binary.api, onCase: record });
      const timeoutMs = remaining.reduce((n, id) => n + caseTimeoutMs(binary, id), 0) + (req.slackMs ?? 15_000);
      let outcome;
      let execError: unknown;
      try {
        outcome = await target.exec({
          binary,
          caseIds: [...remaining],
          onLine: (line) => { req.sink.ktap(target.name, line); stream.push(line); },
          signal,
          timeoutMs,
          env: req.env,
        });
      } catch (e) {
        execError = e;
      }
      stream.end();
      if (remaining.length === 0) break;
      if (signal.aborted || outcome?.killed === 'abort') break;

      // The binary stopped before reporting `current`: find out why.
      await new Promise((r) => setTimeout(r, CONSOLE_SETTLE_MS));
      const current = remaining.shift()!;
      const events = target.consoleEventsSince(caseStart);
      const dead = !target.alive();
      const base = { id: current, family: binary.family, api: binary.api, kernel: target.kernel, tap: [] as string[] };
      let needRestart = dead;
      if (events.length > 0) {
        const r: CaseResult = {
          ...base, status: 'CRASH',
          reason: `kernel ${events[0].kind}: ${events[0].line}`,
          console: events.flatMap((e) => e.excerpt),
          durationMs: Date.now() - caseStart,
        };
        req.sink.add(r);
        req.emit({ type: 'case', shard: target.name, result: r });
        needRestart = true;
      } else if (outcome?.killed === 'timeout') {
        const r: CaseResult = {
          ...base, status: 'TIMEOUT',
          reason: `no result within ${Math.round(timeoutMs / 1000)} s; the harness did not end it either`,
          durationMs: Date.now() - caseStart,
          console: target.consoleLinesSince(caseStart).slice(-40),
        };
        req.sink.add(r);
        req.emit({ type: 'case', shard: target.name, result: r });
        needRestart = target.restart !== undefined;
      } else if (dead || execError) {
        // No kernel message and no answer: an infrastructure fault, not a test result.
        remaining.unshift(current);
        const why = execError instanceof Error ? execError.message : 'the guest stopped';
        abort = { family: 'infra', reason: `connection to ${target.name} lost while running ${binary.name} (${why})` };
        req.sink.problem(abort.reason);
        break;
      } else {
        const r: CaseResult = {
          ...base, status: 'ERROR',
          reason: `${binary.name} exited (code ${outcome?.code ?? '?'}${outcome?.signal ? `, signal ${outcome.signal}` : ''}) before reporting this case`,
          durationMs: Date.now() - caseStart,
        };
        req.sink.add(r);
        req.emit({ type: 'case', shard: target.name, result: r });
        if (++stalls > MAX_RESTARTS_WITHOUT_PROGRESS) break;
      }
      if (needRestart) {
        if (!target.restart) {
          abort = { family: 'infra', reason: `${target.name} cannot be restarted after ${current}` };
          break;
        }
        req.emit({ type: 'stage', stage: 'restart', state: 'start', detail: `${target.name} after ${current}` });
        try {
          await target.restart(signal);
          await target.prepare(binaries, signal);
          restarts++;
          req.emit({ type: 'stage', stage: 'restart', state: 'done', detail: target.name });
        } catch (e) {
          abort = { family: 'infra', reason: `restart of ${target.name} failed: ${e instanceof Error ? e.message : e}` };
          break;
        }
      }
    }
    // Whatever was asked for and never reported stays visible as MISS.
    for (const id of remaining) {
      const r: CaseResult = { id, family: binary.family, api: binary.api, status: 'MISS', tap: [], kernel: target.kernel,
        reason: abort ? `not run: ${abort.reason}` : signal.aborted ? 'not run: interrupted' : 'never reported' };
      req.sink.add(r);
      req.emit({ type: 'case', shard: target.name, result: r });
    }
    req.emit({ type: 'family', family: binary.family, shard: target.name, state: 'done', total: item.caseIds.length });
  };

  const results = await Promise.allSettled(shards.map((items, i) => runShard(req.targets[i], items)));
  for (const r of results) {
    if (r.status === 'rejected' && !abort) {
      const e = r.reason;
      abort = e instanceof KgateError ? { family: e.family, reason: e.message }
        : { family: 'infra', reason: e instanceof Error ? e.message : String(e) };
    }
  }
  if (abort) controller.abort();
  return { abort, restarts };
}
