// Crash detection on a kernel console, live (the guest's serial port) or
// afterwards (a saved console log, a LAVA job log): every line goes through one
// table of report shapes (the order matters: the specific BUG: KASAN before the
// generic BUG:). A report's excerpt runs from its first line to its end marker,
// a cap, the next report, or flush() (the guest died or the case ended).
import { stripPrintk } from './printk.js';
import { textLines } from '../util/lines.js';

export type CrashKind =
  | 'panic' | 'kasan' | 'kfence' | 'kmsan' | 'kcsan' | 'ubsan' | 'lockup' | 'oops'
  | 'lockdep' | 'warning' | 'hung_task' | 'rcu_stall' | 'kunit' | 'trace';

/** A kernel report seen on a console. */
export interface CrashEvent {
  kind: CrashKind;
  /** The line that started the report, printk prefix removed. */
  line: string;
  /** The report's lines, printk prefix removed, first line included. */
  excerpt: string[];
  at: number;
  /** The report's time on the kernel's own clock, in µs: its first line's printk stamp, when it has one. */
  ts?: number;
  /** The task the kernel names in the report (`Comm:`, a hung task's name), as the kernel keeps it: at most 15 characters. */
  task?: string;
}

/**
 * The task a report names: the dump's `CPU: N ... PID: P Comm: NAME` line, a
 * hung task's `INFO: task NAME:PID blocked`, KASAN's `by task NAME/PID`. In
 * an interrupt or a kernel thread that is not the process that caused it.
 */
export function reportTask(excerpt: readonly string[]): string | undefined {
  for (const l of excerpt) {
    const m = /\bPID: \d+ Comm: (\S+)/.exec(l) ?? /^INFO: task (.+):\d+ blocked/.exec(l) ?? /\bby task (\S+)\/\d+\s*$/.exec(l);
    if (m) return m[1];
  }
  return undefined;
}

/** A console line's printk stamp ("[    3.310000] ...") in µs. */
export function printkTime(raw: string): number | undefined {
  const m = /^\s*(?:<\d+>)?\[\s*(\d+)\.(\d{6})\]/.exec(raw);
  return m ? Number(m[1]) * 1e6 + Number(m[2]) : undefined;
}

/**
 * The one table of kernel report shapes: [shape, kind, opens]. A shape is
 * written without anchors; classifyLine anchors it at the start of a line
 * whose printk prefix is gone (the live console, a saved log), crashMarker
 * finds it anywhere in a raw line (a kernel message interleaved with
 * userspace TAP on one serial line). First match wins, so the specific
 * "BUG: KASAN:" comes before the generic "BUG:". `opens: false` marks a line
 * that only belongs inside a report (a bare "Call Trace:" is a crash marker
 * in a log whose header was lost, never a report of its own on a live console).
 */
const SHAPES: ReadonlyArray<readonly [string, CrashKind, boolean]> = Object.freeze([
  ['Kernel panic - not syncing', 'panic', true],
  ['BUG: KASAN: ', 'kasan', true],
  ['BUG: KFENCE: ', 'kfence', true],
  ['BUG: KMSAN: ', 'kmsan', true],
  ['BUG: KCSAN: ', 'kcsan', true],
  ['UBSAN: ', 'ubsan', true],
  ['(?:watchdog: )?BUG: soft lockup - CPU#\\d+ stuck', 'lockup', true],
  ['Watchdog detected hard LOCKUP on cpu', 'lockup', true],
  ['(?:BUG: |Oops: |Oops\\[#|Oops - |kernel BUG at |general protection fault|Unable to handle kernel |Internal error: .*Oops)', 'oops', true],
  ['(?:KFENCE|KCSAN|KMSAN): ', 'oops', true],
  ['WARNING: (?:possible|inconsistent|suspicious) .*(?:lock|RCU)', 'lockdep', true],
  ['WARNING: CPU: \\d+ PID: \\d+ at ', 'warning', true],
  ['WARNING: .+ at .+\\+0x[0-9a-f]+/0x[0-9a-f]+', 'warning', true],
  ['INFO: task .+ blocked for more than \\d+ seconds', 'hung_task', true],
  ['(?:rcu: )?INFO: rcu_(?:sched|preempt|bh)(?: self-)? detected (?:stalls|stall|expedited stalls)', 'rcu_stall', true],
  ['(?:rcu: )?INFO: rcu_(?:sched|preempt) self-detected stall', 'rcu_stall', true],
  ['(?:rcu: )?INFO: .* detected stalls', 'rcu_stall', true],
  ['kunit test case crashed!', 'kunit', true],
  ['\\s*Call Trace:\\s*$', 'trace', false],
]);
const ANCHORED = SHAPES.map(([src, kind, opens]) => ({ re: new RegExp(`^(?:${src})`), kind, opens }));
// Anywhere in a raw line, but not inside a word ("DEBUG: " is no "BUG: ").
const ANYWHERE = SHAPES.map(([src]) => new RegExp(`(?<![A-Za-z0-9_])(?:${src}).*`));

/** The shapes as anchored regexes with their kinds, for documentation and tests. */
export const CRASH_SHAPES: ReadonlyArray<readonly [RegExp, CrashKind]> = Object.freeze(ANCHORED.map((s) => [s.re, s.kind] as const));

/** Lines that close a report. */
const END_SHAPES: ReadonlyArray<RegExp> = Object.freeze([
  /^---\[ end trace [0-9a-f]+ \]---/,
  /^---\[ end Kernel panic/,
  /^={30,}$/,
]);

const MAX_EXCERPT = 80;

/** The kind of report a line (printk prefix removed) starts or continues. */
export function classifyLine(stripped: string): CrashKind | undefined {
  for (const s of ANCHORED) if (s.re.test(stripped)) return s.kind;
  return undefined;
}

/** A crash marker anywhere in a raw console line: the text from the marker to the end of the line. */
export function crashMarker(raw: string): string | undefined {
  for (const re of ANYWHERE) {
    const m = re.exec(raw);
    if (m) return m[0].trim();
  }
  return undefined;
}

const OPENS = new Set(ANCHORED.filter((s) => s.opens).map((s) => s.kind));

/** Kinds a line of which, seen inside an open report of the key kind, belongs to that report. */
const ABSORBS: Partial<Record<CrashKind, ReadonlySet<CrashKind>>> = {
  // "BUG: unable to handle page fault" is followed by "Oops: 0000 [#1]" of the same oops.
  oops: new Set<CrashKind>(['oops']),
  // A soft lockup report prints its own "Kernel panic" only with softlockup_panic; keep separate.
  kasan: new Set<CrashKind>(['oops', 'warning']),
  kfence: new Set<CrashKind>(['oops', 'warning']),
  ubsan: new Set<CrashKind>(['oops']),
};

export class CrashDetector {
  private open?: CrashEvent;

  /** Feed one console line; returns the reports this line completed. */
  push(raw: string, at = Date.now()): CrashEvent[] {
    const line = stripPrintk(raw);
    const done: CrashEvent[] = [];
    const kind = classifyLine(line);
    if (this.open) {
      if (kind && OPENS.has(kind) && !ABSORBS[this.open.kind]?.has(kind)) {
        done.push(this.close());
      } else {
        this.open.excerpt.push(line);
        // KASAN/KFENCE/UBSAN open with a "=====" rule before the BUG: line and close with one.
        if (END_SHAPES.some((re) => re.test(line)) || this.open.excerpt.length >= MAX_EXCERPT) done.push(this.close());
        return done;
      }
    }
    if (kind && OPENS.has(kind)) {
      const ts = printkTime(raw);
      this.open = { kind, line, excerpt: [line], at, ...(ts !== undefined ? { ts } : {}) };
    }
    return done;
  }

  /** The report being collected, if any (for a caller that must act before it ends). */
  current(): CrashEvent | undefined {
    return this.open;
  }

  flush(): CrashEvent[] {
    return this.open ? [this.close()] : [];
  }

  private close(): CrashEvent {
    const e = this.open!;
    this.open = undefined;
    const task = reportTask(e.excerpt);
    if (task !== undefined) e.task = task;
    return e;
  }
}

/** Every report in a whole console log. */
export function detectCrashes(text: string): CrashEvent[] {
  const d = new CrashDetector();
  const out: CrashEvent[] = [];
  for (const l of textLines(text)) out.push(...d.push(l, 0));
  out.push(...d.flush());
  return out;
}
