// The one result model (docs/design.md "Data flow"). Every stage, writer and verdict
// reads and writes these shapes; nothing else carries results between stages.

/** KCIDB's statuses plus kgate's own detail. */
export const STATUSES = ['FAIL', 'ERROR', 'MISS', 'PASS', 'DONE', 'SKIP', 'XFAIL', 'TIMEOUT', 'CRASH'] as const;
export type Status = (typeof STATUSES)[number];

/** What each status is, wherever it is shown or counted: every status fact in this one table. */
export interface StatusFacts {
  /**
   * Order used to summarise a group: the group takes the worst status of its members.
   * KCIDB's FAIL > ERROR > MISS > PASS > DONE > SKIP; CRASH and TIMEOUT are failures
   * of their own kind (ranked with FAIL), XFAIL summarises like PASS.
   */
  rank: number;
  /** It makes a run exit 1. */
  failure: boolean;
  /** kunit.py's closing line ("passed: 3, failed: 1"). */
  label: string;
  /** The summary table's column. */
  column: string;
  /** A history mark's letter (report.html), so a mark is not colour alone. */
  letter: string;
  /** Where the summary table lists it among the cases that did not pass: what to look at first. */
  severity: number;
  /** JUnit knows pass/failure/error/skipped: a case that did not run to a verdict is an error; XFAIL must not turn CI red. */
  junit: 'pass' | 'failure' | 'error' | 'skipped';
  /** KCIDB's status that says the same about the tested code (report/kcidb.ts says why for kgate's own three). */
  kcidb: 'FAIL' | 'ERROR' | 'MISS' | 'PASS' | 'DONE' | 'SKIP';
}

/** In the order the summary table's columns and kunit.py's closing line list them. */
export const STATUS_FACTS: Readonly<Record<Status, Readonly<StatusFacts>>> = Object.freeze({
  PASS: { rank: 4, failure: false, label: 'passed', column: 'pass', letter: 'P', severity: 8, junit: 'pass', kcidb: 'PASS' },
  FAIL: { rank: 8, failure: true, label: 'failed', column: 'fail', letter: 'F', severity: 1, junit: 'failure', kcidb: 'FAIL' },
  CRASH: { rank: 9, failure: true, label: 'crashed', column: 'crash', letter: 'C', severity: 0, junit: 'error', kcidb: 'FAIL' },
  TIMEOUT: { rank: 7, failure: true, label: 'timed out', column: 'timeout', letter: 'T', severity: 2, junit: 'error', kcidb: 'FAIL' },
  ERROR: { rank: 6, failure: true, label: 'errors', column: 'error', letter: 'E', severity: 3, junit: 'error', kcidb: 'ERROR' },
  MISS: { rank: 5, failure: true, label: 'missing', column: 'miss', letter: 'M', severity: 4, junit: 'error', kcidb: 'MISS' },
  XFAIL: { rank: 4, failure: false, label: 'expected failures', column: 'xfail', letter: 'X', severity: 5, junit: 'pass', kcidb: 'PASS' },
  SKIP: { rank: 2, failure: false, label: 'skipped', column: 'skip', letter: 'S', severity: 6, junit: 'skipped', kcidb: 'SKIP' },
  DONE: { rank: 3, failure: false, label: 'done', column: 'done', letter: 'D', severity: 7, junit: 'pass', kcidb: 'DONE' },
});
/** The statuses in the table's order. */
export const STATUS_ORDER = Object.keys(STATUS_FACTS) as Status[];

export function worstStatus(statuses: Iterable<Status>): Status {
  let worst: Status | undefined;
  for (const s of statuses) if (worst === undefined || STATUS_FACTS[s].rank > STATUS_FACTS[worst].rank) worst = s;
  return worst ?? 'SKIP';
}
/** Statuses that make a run exit 1. */
export function isFailure(s: Status): boolean {
  return STATUS_FACTS[s].failure;
}
/** A verdict that the tested kernel failed (KCIDB's FAIL: FAIL, CRASH, TIMEOUT), not only that a case could not be judged: it stands even in a run that stopped. */
export function failsTheKernel(s: Status): boolean {
  return STATUS_FACTS[s].kcidb === 'FAIL';
}

export interface KernelIdentity {
  release: string;           // uname -r of the kernel that ran the case
  version?: string;          // uname -v
  /** The upstream version it is: "6.12.117" (Debian package), "6.12.57" (tree Makefile); the verdict judges by it. */
  kernelVersion?: string;
  configHash?: string;       // sha256 of the .config, where known
  commit?: string;           // git commit of a tree build, where known
  describe?: string;         // git describe of that commit
  dirtyHash?: string;        // sha256 of the uncommitted changes built with it
  baseConfig?: string;       // tree builds: tiny, defconfig, debian or a file
  fragments?: string[];      // tree builds: config fragments applied
  package?: string;          // Debian package name
  packageVersion?: string;   // Debian package version it resolved to
  source?: string;           // what --kernel said: "debian:6.12", "local", a path
  /** The --kernel that gives exactly this kernel again ("debian:6.12.117", "tree:/src/linux@<commit>"). */
  pinned?: string;
  /** The FUSE passthrough API generation(s) the kernel answered, as its suite's header says: "a1 (ioctl 127)". */
  speaks?: string;
}

/** "kernel speaks a1 (ioctl 127)": the words every verdict line uses, or undefined when no suite said. */
export function speaksLine(k: KernelIdentity | undefined): string | undefined {
  return k?.speaks ? `kernel speaks ${k.speaks}` : undefined;
}

export interface CaseResult {
  id: string;                // catalog id, e.g. "U03.dir"
  family: string;
  api?: string;              // API generation of the case: upstream, a1, a2, r8
  status: Status;
  reason?: string;           // SKIP/XFAIL/TIMEOUT/CRASH/FAIL reason, one line
  expected?: string;         // expected outcome token, e.g. "EISDIR"
  observed?: string;         // observed outcome token
  details?: Record<string, string>; // request counts, bytes, etc. (key=value diagnostics)
  durationMs?: number;
  kernel?: KernelIdentity;
  tap: string[];             // the KTAP lines of this case (diagnostics + result line)
  console?: string[];        // console lines captured while it ran (guest targets)
  /** A CRASH's console report decoded to file:line by the tree's scripts/decode_stacktrace.sh (a tree kernel kgate built). */
  trace?: string[];
}

export interface RunSummary {
  total: number;
  counts: Partial<Record<Status, number>>;
  status: Status;            // worstStatus over all cases
}

export interface RunResult {
  runId: string;
  startedAt: string;         // ISO time
  finishedAt?: string;
  target: string;            // "local", "qemu", "ssh://..."
  kernel?: KernelIdentity;
  accel?: string;
  cases: CaseResult[];
  problems: string[];        // parser problems, infra notes; never thrown away
  summary: RunSummary;
  /** --shard I/N: this run holds one share of the cases; `plan` names the whole (kgate merge refuses shards of different plans). */
  shard?: { index: number; total: number; plan: string };
  /** Set when the run could not finish: an infra fault (exit 125) or interruption. */
  abort?: { family: FailureFamily; reason: string; /** a write the machine refused (a full disk), not the kernel's fault nor the guest's */ fault?: 'machine' };
}

/** Every failure keeps its reason and its family; exit codes are mapped in one place. */
export type FailureFamily = 'user' | 'infra' | 'test' | 'bug' | 'interrupt';
export class KgateError extends Error {
  constructor(public family: FailureFamily, message: string, public detail?: string) {
    super(message);
  }
}
export const EXIT = { ok: 0, fail: 1, usage: 2, untestable: 125, interrupted: 130, terminated: 143 } as const;
export function exitCodeFor(family: FailureFamily): number {
  switch (family) {
    case 'user': return EXIT.usage;
    case 'infra': return EXIT.untestable;
    case 'test': return EXIT.fail;
    case 'interrupt': return EXIT.interrupted;
    case 'bug': return EXIT.untestable; // never 126/127/128+: those abort git bisect run
  }
}

/**
 * The exit code of a run, the one mapping every command uses (docs/design.md
 * "Exit codes"): a failed, crashed or timed-out case is 1 even when the run
 * was cut short later; a run stopped by an infra fault before that is 125
 * (git bisect run skips the commit); the user's mistake is 2; Ctrl-C is 130
 * (SIGTERM 143, see cli/run-command's interruptible);
 * a case that was never run or errored is 1.
 */
export function exitCodeOf(run: Pick<RunResult, 'cases' | 'abort'>): number {
  if (run.cases.some((c) => failsTheKernel(c.status))) return EXIT.fail;
  if (run.abort) return exitCodeFor(run.abort.family);
  return run.cases.some((c) => isFailure(c.status)) ? EXIT.fail : EXIT.ok;
}

export function summarise(cases: ReadonlyArray<Pick<CaseResult, 'status'>>): RunSummary {
  const counts: Partial<Record<Status, number>> = {};
  for (const c of cases) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return { total: cases.length, counts, status: worstStatus(cases.map((c) => c.status)) };
}

/** Cases by family, in the order families first appear (writers list them so). */
export function byFamily(cases: CaseResult[]): Map<string, CaseResult[]> {
  const out = new Map<string, CaseResult[]>();
  for (const c of cases) out.set(c.family, [...(out.get(c.family) ?? []), c]);
  return out;
}
