// What one bisect step tells git: git bisect run reads 0 as good, 1-127
// (but 125) as bad, 125 as "cannot test, skip", and anything else (128 and
// up) as "stop the bisect". So kgate's own faults must never come out as 125
// (git would skip the commit and name a wrong one) nor as 1-124 (a wrong
// "bad"): they stop the bisect with 255, after one line saying why.
import type { FailureFamily } from '../model.js';

export const BISECT_EXIT = { good: 0, bad: 1, skip: 125, abort: 255, interrupted: 130 } as const;

export type StepVerdict = 'good' | 'bad' | 'skip' | 'flaky' | 'abort' | 'interrupted';

/** What one run of the step's cases gave: its exit code (0, 1, 125) or a thrown error's family. */
/** `why`: a run that could not test the kernel says why (the compiler's error line, the boot failure). */
export type RunVerdict = { exitCode: number; why?: string } | { error: FailureFamily; message: string };

export interface StepDecision {
  verdict: StepVerdict;
  exit: number;
  /** One line for the log: why this verdict, with the counts of a repeated step. */
  why: string;
  runs: number;
  failed: number;
}

/**
 * The flake rule: a step is bad when the failure shows in at least
 * `threshold` of its runs (default: every run), good when it shows in none,
 * and flaky otherwise; a flaky step is skipped (125), never called good or
 * bad. Any run that could not test the kernel (build failure, a config that
 * lost a needed option, boot failure: exit 125) skips the step.
 */
export function decideStep(runs: RunVerdict[], threshold = runs.length): StepDecision {
  const n = runs.length;
  for (const r of runs) {
    if ('error' in r) {
      if (r.error === 'interrupt') return { verdict: 'interrupted', exit: BISECT_EXIT.interrupted, why: 'interrupted', runs: n, failed: 0 };
      if (r.error === 'infra') return { verdict: 'skip', exit: BISECT_EXIT.skip, why: `cannot test this commit: ${r.message}`, runs: n, failed: 0 };
      // A user's mistake (an unknown case) or a bug of kgate's: the same at every commit, so stop.
      return { verdict: 'abort', exit: BISECT_EXIT.abort, why: `${r.error === 'user' ? '' : 'kgate internal error: '}${r.message}`, runs: n, failed: 0 };
    }
  }
  const codes = runs.map((r) => (r as { exitCode: number }).exitCode);
  if (codes.includes(130)) return { verdict: 'interrupted', exit: BISECT_EXIT.interrupted, why: 'interrupted', runs: n, failed: 0 };
  const untestable = codes.filter((c) => c === 125).length;
  if (untestable > 0) {
    const reason = (runs.find((r) => 'exitCode' in r && r.exitCode === 125) as { why?: string }).why?.split('\n')[0];
    return { verdict: 'skip', exit: BISECT_EXIT.skip, why: `cannot test this commit${reason ? `: ${reason}` : ''}${n > 1 ? ` (${untestable} of ${n} runs could not run)` : ''}`, runs: n, failed: 0 };
  }
  const odd = codes.find((c) => c !== 0 && c !== 1);
  if (odd !== undefined) return { verdict: 'abort', exit: BISECT_EXIT.abort, why: `kgate internal error: a run exited ${odd}`, runs: n, failed: 0 };
  const failed = codes.filter((c) => c === 1).length;
  const t = Math.min(Math.max(1, threshold), n);
  if (failed === 0) return { verdict: 'good', exit: BISECT_EXIT.good, why: n > 1 ? `as expected in all ${n} runs` : 'as expected', runs: n, failed };
  if (failed >= t) return { verdict: 'bad', exit: BISECT_EXIT.bad, why: n > 1 ? `failed in ${failed} of ${n} runs (threshold ${t})` : 'failed', runs: n, failed };
  return { verdict: 'flaky', exit: BISECT_EXIT.skip, why: `flaky: failed in ${failed} of ${n} runs (bad needs ${t}); skipped`, runs: n, failed };
}
