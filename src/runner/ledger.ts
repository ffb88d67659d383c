// How a binary's cases end, for every place that runs them (the local runner,
// a LAVA job's console, a run that stopped before its targets came up): the
// ledger of the cases still owed, the judging of each reported case, the
// result of the case a stopped binary was running, and MISS for the rest, in
// one vocabulary.
//
// The rules. A case the binary reported is judged by what it printed, unless
// the kernel reported something on the console while it ran. A binary that
// stopped before reporting a case is asked why, in this order: the console
// (CRASH), kgate's deadline (TIMEOUT), a dead guest or link (an infra fault:
// the run stops, the case is not blamed), else the binary's own exit (ERROR).
import type { CaseResult, KernelIdentity, Status } from '../model.js';
import { judgeResult } from '../verdict/judge.js';
import type { ConsoleEvent, ExecOutcome } from './target.js';

/** A kernel oops/WARN on the console while the case ran makes it CRASH, whatever it printed. */
export function withConsoleCrash(r: CaseResult, events: ConsoleEvent[]): CaseResult {
  if (events.length === 0) return r;
  return { ...r, status: 'CRASH', reason: `kernel ${events[0].kind} while the case ran: ${events[0].line}`, console: events.flatMap((e) => e.excerpt) };
}

/** A case's time on the kernel's clock, in µs: after the previous case's end (`from`), up to its own (`to`). */
export interface ReportWindow { from?: number; to?: number }

/**
 * The kernel reports of one case: by their own printk time where the harness
 * gave the case's end on the kernel's clock (KGATE_CASE_MARKS: `kte`), so that
 * the next case's report, which the serial console can bring before this
 * case's `ok` over SSH, is not this case's; else, and for a report without a
 * printk stamp, by when kgate got it (`since`).
 */
export function casesReports(events: ConsoleEvent[], w: ReportWindow | undefined, since: number, beside?: Neighbours): ConsoleEvent[] {
  return events.filter((e) => (w && e.ts !== undefined
    ? (w.from === undefined || e.ts > w.from) && (w.to === undefined || e.ts <= w.to)
    : e.at >= since) && !(beside && othersReport(e, beside)));
}

/**
 * Binaries running at once in one kernel (lanes of a guest): their windows
 * overlap, so a report's time does not tell which case it is. The task the
 * report names does, when it is one of the suite's binaries (a case's
 * processes and its FUSE servers keep the binary's name): a report in another
 * binary's task is that binary's. One in a kernel thread or an interrupt
 * names none of them and stays with every case whose window holds it.
 */
export interface Neighbours {
  /** This binary's task name, as the kernel keeps it (taskName). */
  mine: string;
  /** Every binary's of the suite. */
  suite: ReadonlySet<string>;
}

/** A program's task name as the kernel keeps it (TASK_COMM_LEN 16: 15 characters). */
export function taskName(program: string): string {
  return program.slice(0, 15);
}

/** A report that names another suite binary's task: not this binary's case's. */
export function othersReport(e: ConsoleEvent, n: Neighbours): boolean {
  return e.task !== undefined && e.task !== n.mine && n.suite.has(e.task);
}

/** A case's end on the kernel's clock, from its diagnostics (`kte=`, the harness's KGATE_CASE_MARKS). */
export function kernelEnd(r: CaseResult): number | undefined {
  const v = Number(r.details?.kte);
  return r.details?.kte !== undefined && Number.isFinite(v) ? v : undefined;
}

export type EarlyStop =
  | { kind: 'crash'; events: ConsoleEvent[] }
  | { kind: 'timeout' }
  | { kind: 'lost'; why: string }
  | { kind: 'exited'; code: number | null; signal?: string | null };

export function whyStopped(o: { events: ConsoleEvent[]; outcome?: ExecOutcome; alive: boolean; execError?: unknown }): EarlyStop {
  if (o.events.length > 0) return { kind: 'crash', events: o.events };
  if (o.outcome?.killed === 'timeout') return { kind: 'timeout' };
  if (!o.alive || o.execError) return { kind: 'lost', why: o.execError instanceof Error ? o.execError.message : 'the guest stopped' };
  return { kind: 'exited', code: o.outcome?.code ?? null, signal: o.outcome?.signal };
}

export interface StopContext {
  binary: string;
  timeoutMs: number;
  consoleTail: () => string[];
  /** Who killed it at the deadline, where the runner can say more than "no result within N s". */
  timeoutReason?: string;
}

/** The result an early stop gives the case that was running; undefined for an infra fault (nobody's result). */
export function stopResult(stop: EarlyStop, base: Omit<CaseResult, 'status'>, ctx: StopContext): CaseResult | undefined {
  switch (stop.kind) {
    case 'crash':
      return { ...base, status: 'CRASH', reason: `kernel ${stop.events[0].kind}: ${stop.events[0].line}`, console: stop.events.flatMap((e) => e.excerpt) };
    case 'timeout':
      return { ...base, status: 'TIMEOUT', reason: ctx.timeoutReason ?? `no result within ${Math.round(ctx.timeoutMs / 1000)} s; the harness did not end it either`, console: ctx.consoleTail() };
    case 'lost':
      return undefined;
    case 'exited':
      return { ...base, status: 'ERROR', reason: `${ctx.binary} exited (code ${stop.code ?? '?'}${stop.signal ? `, signal ${stop.signal}` : ''}) before reporting this case` };
  }
}

/** Why a case asked for has no result: the one vocabulary of MISS. */
export type MissCause =
  /** The run stopped (an infra fault, an interrupt, a LAVA job's error) before it. */
  | { kind: 'aborted'; reason: string }
  /** Its binary stopped at an earlier case (with that case's status). */
  | { kind: 'stopped'; binary: string; at: string; status: Status }
  /** Nothing went wrong that kgate saw; it just never came. */
  | { kind: 'unreported' };

export function missReason(cause: MissCause): string {
  switch (cause.kind) {
    case 'aborted': return `not run: ${cause.reason.split('\n')[0]}`;
    case 'stopped': return `not run: ${cause.binary} stopped at ${cause.at} (${cause.status})`;
    case 'unreported': return 'never reported';
  }
}

export interface CaseOwner { family: string; api?: string }

/** The MISS of a case asked for. */
export function missCase(id: string, owner: CaseOwner, cause: MissCause, kernel?: KernelIdentity): CaseResult {
  const r: CaseResult = { id, family: owner.family, api: owner.api, status: 'MISS', tap: [], reason: missReason(cause) };
  if (kernel) r.kernel = kernel;
  return r;
}

/**
 * The cases one binary owes, in the order asked for. Every case it was asked
 * for ends here exactly once: reported (judged), stopped at, or MISS.
 */
export class CaseLedger {
  private readonly owedIds: string[];

  constructor(
    private readonly binary: CaseOwner & { name: string },
    caseIds: readonly string[],
    private readonly deliver: (r: CaseResult) => void,
    private readonly problem: (message: string) => void,
  ) {
    this.owedIds = [...caseIds];
  }

  /** The cases still owed, the one a stopped binary was running first. */
  get owed(): readonly string[] { return this.owedIds; }

  /**
   * A case the binary reported. The harness judged by token; the catalog and
   * the kernel's version decide (a regression is FAIL, not XFAIL); a kernel
   * report on the console while it ran makes it CRASH. False for a case not asked for.
   */
  reported(r: CaseResult, kernel: KernelIdentity | undefined, consoleEvents: ConsoleEvent[]): boolean {
    const i = this.owedIds.indexOf(r.id);
    if (i < 0) {
      this.problem(`${this.binary.name}: result for ${r.id}, which was not asked for`);
      return false;
    }
    this.owedIds.splice(i, 1);
    const judged = withConsoleCrash(judgeResult(r, kernel), consoleEvents);
    judged.kernel ??= kernel;
    this.deliver(judged);
    return true;
  }

  /** The binary stopped before reporting the first case owed: that case's result, or undefined for an infra fault (it stays owed). */
  stopped(stop: EarlyStop, at: { kernel?: KernelIdentity; durationMs?: number }, ctx: Omit<StopContext, 'binary'>): CaseResult | undefined {
    const id = this.owedIds[0];
    const base: Omit<CaseResult, 'status'> = { id, family: this.binary.family, api: this.binary.api, kernel: at.kernel, tap: [] };
    if (at.durationMs !== undefined) base.durationMs = at.durationMs;
    const r = stopResult(stop, base, { ...ctx, binary: this.binary.name });
    if (r) {
      this.owedIds.shift();
      this.deliver(r);
    }
    return r;
  }

  /** Whatever is still owed stays visible as MISS, with why. */
  missRest(cause: MissCause, kernel?: KernelIdentity): void {
    for (const id of this.owedIds.splice(0)) this.deliver(missCase(id, this.binary, cause, kernel));
  }
}
