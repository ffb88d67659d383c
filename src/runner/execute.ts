// runSuite: the built binaries on one or more targets -> CaseResults, whatever
// happens. The harness in each binary handles a case's own timeout; this side
// handles what the harness cannot: a binary that stops reporting, a kernel that
// oopses or panics, a guest or connection that dies. Nothing already obtained is
// lost: every result goes to the sink the moment it is known.
import type { BuiltBinary } from '../gen/manifest.js';
import type { CaseResult, FailureFamily } from '../model.js';
import { KgateError } from '../model.js';
import type { Emit } from '../events.js';
import type { ConsoleEvent, ExecOutcome, SuiteTarget } from './target.js';
import { openCaseStream } from './case-stream.js';
import { CaseLedger, casesReports, kernelEnd, othersReport, taskName, whyStopped, type EarlyStop } from './ledger.js';
import { anySignal, releaseSignal } from '../util/deadline.js';

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
  /**
   * How many machines the targets are (default: one each): a family is cut
   * into at most this many pieces. Lanes of one guest never run one family
   * at once, so that the task a kernel report names tells their cases apart.
   */
  machines?: number;
  items: WorkItem[];
  sink: ResultSink;
  emit: Emit;
  signal: AbortSignal;
  /** Added to the sum of case timeouts for a binary's outer deadline. */
  slackMs?: number;
  env?: Record<string, string>;
  /**
   * Called on the target around each piece of work (kgate run --coverage
   * resets the kernel's counters before and reads them after). A hook that
   * throws stops the run as an infra fault.
   */
  around?: { before(target: SuiteTarget, item: WorkItem, signal: AbortSignal): Promise<void>; after(target: SuiteTarget, item: WorkItem, signal: AbortSignal): Promise<void> };
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
/** How long a dead guest's console may take to deliver the report that explains its death. */
const DEAD_CONSOLE_WAIT_MS = 3000;

/** A crash or a hang leaves a guest that must be replaced before the next case; an ERROR does not. */
function needsRestart(stop: EarlyStop, target: SuiteTarget): boolean {
  return stop.kind === 'crash' || (stop.kind === 'timeout' && target.restart !== undefined) || !target.alive();
}

export async function runSuite(req: RunSuiteRequest): Promise<RunSuiteResult> {
  const queue = workPieces(req.items, req.machines ?? req.targets.length);
  const suiteTasks = new Set(req.items.map((it) => taskName(it.binary.name)));
  /** Kernel reports some case took (lanes of a guest see the same ones). */
  const counted = new Set<ConsoleEvent>();
  let restarts = 0;
  let abort: RunSuiteResult['abort'];
  const controller = new AbortController();
  const signal = anySignal([req.signal, controller.signal]);
  const deliver = (target: SuiteTarget, r: CaseResult) => {
    req.sink.add(r);
    req.emit({ type: 'case', shard: target.name, result: r });
  };

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
    // The piece after this one is this target's already (unless hooks run
    // between pieces): its command can be sent ahead while this one runs.
    let next: WorkItem | undefined;
    while ((next || queue.length > 0) && !abort && !signal.aborted) {
      const item = next ?? queue.shift()!;
      // Not the last pieces, though: each other target (a lane beside it) gets one of those.
      next = req.around || queue.length < req.targets.length ? undefined : queue.shift();
      // Its binary now, the next one's in the background while this one runs.
      const after = next ?? queue[0];
      await target.prepare(after ? [item.binary, after.binary] : [item.binary], signal);
      await req.around?.before(target, item, signal);
      await runItem(target, item, next);
      if (target.alive() && !signal.aborted) await req.around?.after(target, item, signal);
    }
  };

  /** Restart a target after a crash or a hang; false (and the run's abort set) when that is impossible. */
  const restart = async (target: SuiteTarget, binary: BuiltBinary, after: string): Promise<boolean> => {
    if (!target.restart) {
      abort ??= { family: 'infra', reason: `${target.name} cannot be restarted after ${after}` };
      return false;
    }
    req.emit({ type: 'stage', stage: 'restart', state: 'start', detail: `${target.name} after ${after}` });
    try {
      // false: another lane of its guest had restarted it already (one restart, counted once).
      if (await target.restart(signal) !== false) restarts++;
      await target.prepare([binary], signal);
      req.emit({ type: 'stage', stage: 'restart', state: 'done', detail: target.name });
      return true;
    } catch (e) {
      // Its lanes share the restart, and its failure: said once, of the guest.
      abort ??= { family: 'infra', reason: `restart of ${target.machine ?? target.name} failed: ${e instanceof Error ? e.message : e}` };
      return false;
    }
  };

  /** A lane's guest restarted under it by another lane (a restart begun within a while, and over): false once the run aborts. */
  const replacedUnder = async (target: SuiteTarget): Promise<boolean> => {
    if (!target.replacedUnder) return false;
    for (let waited = 0; !abort && !signal.aborted; waited += 100) {
      if (await target.replacedUnder()) return true;
      if (waited >= DEAD_CONSOLE_WAIT_MS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };

  /** Run the binary for the cases still owed, as often as it takes: each pass ends with a result or a reason for every case. */
  const runItem = async (target: SuiteTarget, item: WorkItem, next?: WorkItem) => {
    const { binary } = item;
    const ledger = new CaseLedger(binary, item.caseIds, (r) => deliver(target, r), (m) => req.sink.problem(m));
    const itemStart = Date.now();
    // Lanes of one guest: a report in another lane's binary is not this one's.
    const beside = target.machine !== undefined ? { mine: taskName(binary.name), suite: suiteTasks } : undefined;
    let lastEnd: number | undefined;
    const remaining = ledger.owed;
    let stalls = 0;
    let accelRetried = false;
    req.emit({ type: 'family', family: binary.family, shard: target.name, state: 'start', total: remaining.length });
    while (remaining.length > 0 && !abort && !signal.aborted) {
      let caseStart = Date.now();
      let pieceStart = caseStart;
      let prevEnd: number | undefined; // the last case's end on the kernel's clock, in this run of the binary
      const reports = (w: { from?: number; to?: number } | undefined) => casesReports(target.consoleEventsSince(pieceStart), w, caseStart, beside);
      const stream = openCaseStream({ family: binary.family, api: binary.api, onCase: (r) => {
        const end = kernelEnd(r);
        const mine = reports(end !== undefined ? { from: prevEnd, to: end } : undefined);
        if (!ledger.reported(r, target.kernel, mine)) return;
        for (const e of mine) counted.add(e);
        if (end !== undefined) { prevEnd = end; lastEnd = end; }
        caseStart = Date.now();
        stalls = 0;
      } });
      const timeoutMs = remaining.reduce((n, id) => n + caseTimeoutMs(binary, id), 0) + (req.slackMs ?? 15_000);
      let outcome: ExecOutcome | undefined;
      let execError: unknown;
      try {
        outcome = await target.exec({
          binary,
          caseIds: [...remaining],
          onLine: (line) => { req.sink.ktap(target.name, line); stream.push(line); },
          signal,
          timeoutMs,
          env: req.env,
          ...(next ? { next: { binary: next.binary, caseIds: next.caseIds } } : {}),
          onStarted: (at) => { caseStart = at; pieceStart = Math.min(pieceStart, at); },
        });
      } catch (e) {
        execError = e;
      }
      stream.end();
      if (remaining.length === 0) break;
      if (signal.aborted || outcome?.killed === 'abort') break;

      // The binary stopped before reporting `current`: find out why.
      await new Promise((r) => setTimeout(r, CONSOLE_SETTLE_MS));
      // A guest that died says why on its console; under TCG the panic's last lines can lag its death.
      const current = remaining[0];
      // What stopped it came after the last case it reported.
      const after = prevEnd !== undefined ? { from: prevEnd } : undefined;
      for (let waited = 0; waited < DEAD_CONSOLE_WAIT_MS && !target.alive() && reports(after).length === 0; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // KVM itself failed under the guest (nested KVM does, mid-run): the case is not to blame; again on TCG, once per binary.
      const kvm = target.acceleratorFailed?.();
      if (kvm && !accelRetried && target.restart) {
        accelRetried = true;
        req.sink.problem(`${target.name}: KVM failed while ${binary.name} ran ${current} (${kvm}); restarted under TCG and ran it again`);
        if (!(await restart(target, binary, `KVM failed (${kvm})`))) break;
        continue;
      }
      const events = reports(after);
      // Another lane's crash or hang restarted the guest under this binary: its cases run again on the new boot.
      if (events.length === 0 && (execError !== undefined || !target.alive()) && await replacedUnder(target)) {
        req.emit({ type: 'stage', stage: 'suite', state: 'note', detail: `${target.name}: ${binary.name} stopped at ${current} by a restart of its guest for another lane; running its ${remaining.length} case(s) again` });
        await target.prepare([binary], signal);
        continue;
      }
      for (const e of events) counted.add(e);
      const stop = whyStopped({ events, outcome, alive: target.alive(), execError });
      const r = ledger.stopped(stop, { kernel: target.kernel, durationMs: Date.now() - caseStart }, { timeoutMs, consoleTail: () => target.consoleLinesSince(caseStart).slice(-40) });
      if (!r) {
        // No kernel message and no answer: an infrastructure fault, not a test result.
        // The guest's, whichever of its lanes saw it first: said once.
        if (!abort) {
          abort = { family: 'infra', reason: `connection to ${target.machine ?? target.name} lost while running ${binary.name} (${(stop as { why: string }).why})` };
          req.sink.problem(abort.reason);
        }
        break;
      }
      if (stop.kind === 'exited' && ++stalls > MAX_RESTARTS_WITHOUT_PROGRESS) break;
      if (needsRestart(stop, target) && !(await restart(target, binary, current))) break;
    }
    // A report from within these cases' time that reached kgate after the result of the case it fell in: said, never dropped.
    for (const e of target.consoleEventsSince(itemStart)) {
      if (e.ts !== undefined && lastEnd !== undefined && e.ts <= lastEnd && !counted.has(e) && !(beside && othersReport(e, beside))) {
        req.sink.problem(`kernel ${e.kind} while ${binary.name} ran, seen on the console after the result of the case it fell in: ${e.line}`);
      }
    }
    ledger.missRest(abort ? { kind: 'aborted', reason: abort.reason }
      : signal.aborted ? { kind: 'aborted', reason: signal.reason instanceof KgateError ? signal.reason.message : 'interrupted' }
      : { kind: 'unreported' }, target.kernel);
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
  releaseSignal(signal);
  return { abort, restarts };
}
