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
import { anySignal } from '../util/deadline.js';

export interface WorkItem { binary: BuiltBinary; caseIds: string[] }

export interface ResultSink {
  add(result: CaseResult): void;          // persists at once (results.json)
  ktap(shard: string, line: string): void; // raw KTAP log
  problem(message: string): void;
}

export interface RunSuiteRequest {
  /**
   * One per shard. A target may still be starting: it joins the run when it is
   * up, so the first guest starts work while the others boot.
   */
  targets: (SuiteTarget | Promise<SuiteTarget>)[];
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

/**
 * The work as a queue of pieces, in catalog order. Targets take the next piece
 * when they are free, so a fast or early guest does more; a family larger than
 * an even share is cut so one family cannot hold back the end of the run.
 */
export function workPieces(items: WorkItem[], shards: number): WorkItem[] {
  const total = items.reduce((n, it) => n + it.caseIds.length, 0);
  const maxPiece = Math.max(1, Math.ceil(total / Math.max(1, shards)));
  const pieces: WorkItem[] = [];
  for (const it of items) {
    for (let i = 0; i < it.caseIds.length; i += maxPiece) {
      pieces.push({ binary: it.binary, caseIds: it.caseIds.slice(i, i + maxPiece) });
    }
  }
  return pieces;
}

function caseTimeoutMs(binary: BuiltBinary, id: string): number {
  return (binary.cases.find((c) => c.id === id)?.timeoutSec ?? 30) * 1000;
}

/** How long to wait after a binary ends for the console to deliver an oops it caused. */
const CONSOLE_SETTLE_MS = 400;
const MAX_RESTARTS_WITHOUT_PROGRESS = 2;

export async function runSuite(req: RunSuiteRequest): Promise<RunSuiteResult> {
  const queue = workPieces(req.items, req.targets.length);
  let restarts = 0;
  let abort: RunSuiteResult['abort'];
  const controller = new AbortController();
  const signal = anySignal([req.signal, controller.signal]);

  let ready = 0;
  const runShard = async (pending: SuiteTarget | Promise<SuiteTarget>) => {
    let target: SuiteTarget;
    try {
      target = await pending;
      ready++;
    } catch (e) {
      // One extra guest that did not come up costs speed, not results.
      if (req.targets.length > 1) {
        req.sink.problem(`a guest did not start, the others took its share: ${e instanceof Error ? e.message : e}`);
        return;
      }
      throw e;
    }
    while (queue.length > 0 && !abort && !signal.aborted) {
      const item = queue.shift()!;
      // Its binary now, the next one's in the background while this one runs.
      await target.prepare(queue.length > 0 ? [item.binary, queue[0].binary] : [item.binary], signal);
      await runItem(target, [item.binary], item);
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

  const results = await Promise.allSettled(req.targets.map((t) => runShard(t)));
  for (const r of results) {
    if (r.status === 'rejected' && !abort) {
      const e = r.reason;
      abort = e instanceof KgateError ? { family: e.family, reason: e.message }
        : { family: 'infra', reason: e instanceof Error ? e.message : String(e) };
    }
  }
  if (ready === 0 && !abort) abort = { family: 'infra', reason: 'no target came up' };
  if (abort) controller.abort();
  return { abort, restarts };
}
