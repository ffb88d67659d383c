// What the stages of a run share, beside each stage's own small request: where
// the suite is built and runs are written, the command line that made them,
// the signal that stops them and where their events go. A job that makes
// many runs (a nightly's cells, a bisect's steps) makes one and hands it on.
import type { Emit } from '../events.js';

export interface RunContext {
  /** Where the suite is rendered and compiled (build/ of the checkout). */
  buildDir: string;
  /** Where each run claims its directory. */
  resultsRoot: string;
  /** The command line that made the run, from the option table (cli/options.ts reproducerArgv). */
  argv: string[];
  /** The same line with --kernel set to what a default resolved to (the exact package, the commit), for a command that takes --kernel; made from the option table too. */
  pinKernel?: (pinned: string) => string[];
  signal: AbortSignal;
  emit: Emit;
  /** The suite's environment in the guest ($KGATE_FAULT). */
  env?: Record<string, string>;
}
