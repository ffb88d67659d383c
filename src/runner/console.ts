// Crash detection on the guest's serial console: every line goes through one
// table of report shapes (the order matters: the specific BUG: KASAN before the
// generic BUG:). A report's excerpt runs from its first line to its end marker,
// a cap, the next report, or flush() (the guest died or the case ended).
import type { ConsoleEvent } from './target.js';

export type CrashKind =
  | 'panic' | 'kasan' | 'kfence' | 'kmsan' | 'kcsan' | 'ubsan' | 'lockup' | 'oops'
  | 'lockdep' | 'warning' | 'hung_task' | 'rcu_stall';

export interface CrashEvent extends ConsoleEvent {
  kind: CrashKind;
  /** The line that started the report, printk prefix removed. */
  line: string;
  /** The report's lines, printk prefix removed, first line included. */
  excerpt: string[];
  at: number;
}

/** [line shape, kind]; first match wins. */
export const CRASH_SHAPES: ReadonlyArray<readonly [RegExp, CrashKind]> = Object.freeze([
  [/^Kernel panic - not syncing/, 'panic'],
  [/^BUG: KASAN: /, 'kasan'],
  [/^BUG: KFENCE: /, 'kfence'],
  [/^BUG: KMSAN: /, 'kmsan'],
  [/^BUG: KCSAN: /, 'kcsan'],
  [/^UBSAN: /, 'ubsan'],
  [/(?:^|: )BUG: soft lockup - CPU#\d+ stuck/, 'lockup'],
  [/^Watchdog detected hard LOCKUP on cpu/, 'lockup'],
  [/^(?:BUG: |Oops: |Oops\[#|kernel BUG at |general protection fault|Unable to handle kernel )/, 'oops'],
  [/^WARNING: (?:possible|inconsistent|suspicious) .*(?:lock|RCU)/, 'lockdep'],
  [/^WARNING: CPU: \d+ PID: \d+ at /, 'warning'],
  [/^WARNING: .+ at .+\+0x[0-9a-f]+\/0x[0-9a-f]+/, 'warning'],
  [/^INFO: task .+ blocked for more than \d+ seconds/, 'hung_task'],
  [/^(?:rcu: )?INFO: rcu_(?:sched|preempt|bh)(?: self-)? detected (?:stalls|stall|expedited stalls)/, 'rcu_stall'],
  [/^(?:rcu: )?INFO: rcu_(?:sched|preempt) self-detected stall/, 'rcu_stall'],
]);

/** Lines that close a report. */
const END_SHAPES: ReadonlyArray<RegExp> = Object.freeze([
  /^---\[ end trace [0-9a-f]+ \]---/,
  /^---\[ end Kernel panic/,
  /^={30,}$/,
]);

const MAX_EXCERPT = 80;

/** printk time "[   12.345678] " and caller id "[  T123] " / "[    C1] ", syslog level "<4>". */
export function stripPrintk(line: string): string {
  return line
    .replace(/\r$/, '')
    .replace(/^<\d>/, '')
    .replace(/^\[\s*\d+\.\d+\]\s?/, '')
    .replace(/^\[\s*[TC]\d+\]\s?/, '');
}

export function classifyLine(stripped: string): CrashKind | undefined {
  for (const [re, kind] of CRASH_SHAPES) if (re.test(stripped)) return kind;
  return undefined;
}

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
      if (kind && !ABSORBS[this.open.kind]?.has(kind)) {
        done.push(this.close());
      } else {
        this.open.excerpt.push(line);
        // KASAN/KFENCE/UBSAN open with a "=====" rule before the BUG: line and close with one.
        if (END_SHAPES.some((re) => re.test(line)) || this.open.excerpt.length >= MAX_EXCERPT) done.push(this.close());
        return done;
      }
    }
    if (kind) this.open = { kind, line, excerpt: [line], at };
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
    return e;
  }
}

/** Every report in a whole console log. */
export function detectCrashes(text: string): CrashEvent[] {
  const d = new CrashDetector();
  const out: CrashEvent[] = [];
  for (const l of text.split('\n')) out.push(...d.push(l, 0));
  out.push(...d.flush());
  return out;
}
