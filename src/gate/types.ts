// The gate report's shapes, shared by the driver and the report writer.
import type { RunResult } from '../model.js';
import type { Comparison } from '../report/compare.js';
import type { CoverLetter, PatchInfo } from './series.js';

export interface GateRun {
  label: string;            // "base", "V1", "V2 patch 2/3"
  commit: string;
  describe: string;
  build: 'cached' | 'built' | 'failed';
  buildMs?: number;
  /** The compiler's error line when the revision did not build. */
  buildError?: string;
  dir: string;              // its run directory
  runs: RunResult[];        // the first, plus --repeat's further runs
  exitCode: number;
}

export interface GateRevision {
  label: string;
  source: string;
  /** The series' cover letter (0/N, or b4's cover commit): what the revision is called on the list. */
  cover?: CoverLetter;
  patches: PatchInfo[];
  run: GateRun;
  vsBase?: Comparison;
  vsPrevious?: Comparison;
  /** --per-patch: each patch of the newest revision, against the patch before it (or base). */
  perPatch?: { patch: PatchInfo; run: GateRun; vsPrevious?: Comparison }[];
}

export interface GateReport {
  id: string;
  dir: string;
  tree: string;
  base: { ref: string; commit: string; describe: string; run: GateRun };
  revisions: GateRevision[];
  selection: string;
  verdict: 'regressed' | 'clean' | 'untestable';
  exitCode: number;
  reproducer: string;
  wallMs: number;
  /** --reporter: who a clean revision's Tested-by: names. */
  reporter?: string;
}
