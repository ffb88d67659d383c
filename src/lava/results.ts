// A LAVA job's console -> kgate's cases, by the rules the local runner
// applies (src/runner/ledger.ts), with time replaced by line position: the
// serial console is one ordered stream, so a kernel report belongs to the case
// whose lines surround it. Every line goes through the one crash table
// (src/kmsg/crash.ts); the KTAP between a family's markers goes through the
// runner's case stream and the verdict, as a local guest's SSH output does.
//
//   a case reported, no kernel report since the previous case ended -> judged as locally
//   a case reported after a kernel report                             -> CRASH (withConsoleCrash)
//   the binary ended (end marker) before a case                      -> CRASH if the console
//       reported something, TIMEOUT if kgate's deadline killed it (rc 137), else ERROR
//   the console ended inside a family (the guest died, the job ended) -> CRASH if the
//       console reported something, else an infra fault; the rest MISS
//   a case of the plan never reached                                  -> MISS, never dropped
import type { CaseResult, KernelIdentity, RunResult } from '../model.js';
import { CrashDetector, type CrashEvent } from '../kmsg/crash.js';
import { PRINTK_PREFIX_RE } from '../kmsg/printk.js';
import { openCaseStream } from '../runner/case-stream.js';
import { CaseLedger, missCase, type EarlyStop } from '../runner/ledger.js';
import { MARK } from './guest.js';
import type { LavaPlan } from './prepare.js';

export interface ConsoleResults {
  cases: CaseResult[];
  problems: string[];
  /** The KTAP the binaries printed, as ktap.log holds it for a local run. */
  ktap: string[];
  /** The release the guest said it ran (the suite marker), when it got that far. */
  release?: string;
  /** Set when the console ended inside a family without a kernel report: nobody's result. */
  abort?: RunResult['abort'];
}

const KILLED_RC = 137; // busybox timeout -s KILL: 128 + 9

export function resultsFromConsole(lines: string[], plan: Pick<LavaPlan, 'items' | 'kernel'>, opts: { jobError?: string } = {}): ConsoleResults {
  const detector = new CrashDetector();
  const events: CrashEvent[] = [];
  const cases: CaseResult[] = [];
  const problems: string[] = [];
  const ktap: string[] = [];
  let release: string | undefined;
  let abort: ConsoleResults['abort'];
  const kernel = (): KernelIdentity => ({ ...plan.kernel, ...(release ? { release } : {}) });
  const since = (n: number) => [...events, ...(detector.current() ? [detector.current()!] : [])].filter((e) => e.at >= n);
  const done = new Set<string>();

  type Open = { item: LavaPlan['items'][number]; ledger: CaseLedger; caseStart: number; stream: ReturnType<typeof openCaseStream> };
  let open: Open | undefined;
  const begun = new Set<string>();

  const deliver = (r: CaseResult) => { cases.push(r); done.add(r.id); };
  const openFamily = (family: string, at: number) => {
    const item = plan.items.find((i) => i.family === family && !begun.has(i.binary));
    if (!item) { problems.push(`console line ${at + 1}: family ${family}, which the job did not ask for`); return; }
    begun.add(item.binary);
    const ledger = new CaseLedger({ name: item.binary, family: item.family, api: item.api }, item.caseIds, deliver, (m) => problems.push(m));
    const o: Open = { item, ledger, caseStart: at, stream: undefined as never };
    o.stream = openCaseStream({ family: item.family, api: item.api, onCase: (r) => {
      if (ledger.reported(r, kernel(), since(o.caseStart))) o.caseStart = current;
    } });
    open = o;
  };
  /** The binary stopped (end marker) or the console ended, with cases still owed. */
  const closeFamily = (how: { rc?: number; eof: boolean }) => {
    const o = open!;
    open = undefined;
    o.stream.end();
    if (o.ledger.owed.length === 0) return;
    const first = o.ledger.owed[0];
    const crash = since(o.caseStart);
    const stop: EarlyStop = crash.length > 0 ? { kind: 'crash', events: crash }
      : how.eof ? { kind: 'lost', why: opts.jobError ?? 'the console ended' }
      : how.rc === KILLED_RC ? { kind: 'timeout' }
      : { kind: 'exited', code: how.rc ?? null };
    const r = o.ledger.stopped(stop, { kernel: kernel() }, {
      timeoutMs: o.item.caseIds.length * 30_000,
      consoleTail: () => lines.slice(Math.max(o.caseStart, current - 40), current),
      timeoutReason: `no result before kgate's deadline for ${o.item.binary} (killed, exit ${KILLED_RC}); the harness did not end it either`,
    });
    if (!r) abort = { family: 'infra', reason: `the LAVA job's console ended while ${o.item.binary} ran ${first} (${(stop as { why: string }).why})` };
    o.ledger.missRest(r ? { kind: 'stopped', binary: o.item.binary, at: first, status: r.status } : { kind: 'aborted', reason: abort!.reason }, kernel());
  };

  let current = 0;
  for (; current < lines.length; current++) {
    const raw = lines[current].replace(/\r/g, '');
    for (const e of detector.push(raw, current)) events.push(e);
    if (raw.startsWith(MARK.suite + ' ')) { release = raw.slice(MARK.suite.length + 1).split(' ')[0]; continue; }
    if (raw.startsWith(MARK.begin + ' ')) {
      if (open) closeFamily({ eof: false });
      openFamily(raw.slice(MARK.begin.length + 1).trim(), current);
      continue;
    }
    if (raw.startsWith(MARK.end + ' ')) {
      const rc = /\brc=(\d+)/.exec(raw);
      if (open) closeFamily({ rc: rc ? Number(rc[1]) : undefined, eof: false });
      continue;
    }
    if (raw.startsWith('kgate-lava: ')) continue;
    // Kernel messages go to the crash table only; everything else of the binary's is its KTAP.
    if (!open || PRINTK_PREFIX_RE.test(raw)) continue;
    ktap.push(raw);
    (open as Open).stream.push(raw);
  }
  for (const e of detector.flush()) events.push(e);
  if (open) closeFamily({ eof: true });
  for (const item of plan.items) {
    for (const id of item.caseIds) {
      if (done.has(id)) continue;
      const reason = abort?.reason ?? opts.jobError;
      deliver(missCase(id, item, reason !== undefined ? { kind: 'aborted', reason } : { kind: 'unreported' }, kernel()));
    }
  }
  // A kernel report before any family began belongs to no case, but must be seen.
  const firstBegin = lines.findIndex((l) => l.startsWith(MARK.begin + ' '));
  for (const e of events) if (firstBegin < 0 || e.at < firstBegin) problems.push(`kernel ${e.kind} while booting, before any case: ${e.line}`);
  return { cases: order(cases, plan), problems, ktap, ...(release ? { release } : {}), ...(abort ? { abort } : {}) };
}

/** Cases in the plan's order (the catalog's), as a local run of one guest lists them. */
function order(cases: CaseResult[], plan: Pick<LavaPlan, 'items'>): CaseResult[] {
  const pos = new Map<string, number>();
  let n = 0;
  for (const i of plan.items) for (const id of i.caseIds) pos.set(id, n++);
  return [...cases].sort((a, b) => (pos.get(a.id) ?? n) - (pos.get(b.id) ?? n));
}
