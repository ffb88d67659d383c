// What the suite runner needs from a place to run binaries: the host itself,
// a QEMU guest kgate booted, or a machine already up over SSH.
import type { KernelIdentity } from '../model.js';
import type { BuiltBinary } from '../gen/manifest.js';
import type { CrashEvent } from '../kmsg/crash.js';

export interface ExecOutcome {
  code: number | null;
  signal?: string | null;
  /** Set when the command did not finish by itself: its deadline passed or the caller aborted. */
  killed?: 'timeout' | 'abort';
}

export interface ExecRequest {
  binary: BuiltBinary;
  caseIds: string[];
  onLine: (line: string) => void;
  signal: AbortSignal;
  timeoutMs: number;
  env?: Record<string, string>;
  /**
   * What will most likely run after this on the same target, if this ends
   * normally: a target may send it ahead so that it starts without a round trip.
   */
  next?: { binary: BuiltBinary; caseIds: string[] };
  /**
   * Called when the command is known to have started at another time than the
   * call (Date.now() clock): it was sent ahead and started earlier, or it waited
   * behind another. Kernel messages count for its cases from then.
   */
  onStarted?: (at: number) => void;
}

/** A console problem seen while the suite ran (guest targets only): a kernel report. */
export type ConsoleEvent = CrashEvent;

export interface SuiteTarget {
  readonly name: string;            // "local", "qemu#1", "ssh://root@box:22"
  kernel: KernelIdentity;
  accel?: string;
  /** Stage durations of bringing it up (kernel, image, boot, ssh ...), for metadata.json. */
  timings?: Record<string, number>;
  /** Anything else worth keeping about it (QEMU version, accel fallback note). */
  notes?: Record<string, string>;
  /** Put the binaries where exec can run them (upload, chmod). */
  prepare(binaries: BuiltBinary[], signal: AbortSignal): Promise<void>;
  exec(req: ExecRequest): Promise<ExecOutcome>;
  /** Console events since the given time (guest targets); [] elsewhere. */
  consoleEventsSince(t: number): ConsoleEvent[];
  /** Console lines since the given time, for a crash excerpt. */
  consoleLinesSince(t: number): string[];
  /** Whether the target can still run something (a guest that panicked cannot). */
  alive(): boolean;
  /**
   * Set on a lane of a machine that runs other lanes at once (runner/guest-target.ts
   * GuestLane): their names share it. Their reports are told apart by task
   * (ledger.ts Neighbours).
   */
  readonly machine?: string;
  /** Bring up a fresh instance after a crash or a hang; prepare() is redone by the runner. A lane's restart is its machine's, once for all its lanes. */
  restart?(signal: AbortSignal): Promise<void | false>;
  /**
   * A lane whose command stopped with its machine: whether another lane
   * restarted the machine under it (resolved once that restart is over).
   * Its cases are not to blame and run again.
   */
  replacedUnder?(): Promise<boolean>;
  /** Set when the target's accelerator (KVM) failed under it: not the case's fault; a restart goes to TCG. */
  acceleratorFailed?(): string | undefined;
  stop(): Promise<void>;
  /** A shell command on the target, its stdout as lines (guest targets: what --coverage reads debugfs with). */
  shell?(cmd: string, signal: AbortSignal, timeoutMs?: number): Promise<{ code: number | null; lines: string[] }>;
}
