// The bisect report's shapes, shared by the driver and the report writer.
import type { Comparison } from '../report/compare.js';
import type { StepVerdict } from './verdict.js';
import type { CulpritChecks } from './verify.js';

export interface BisectStep {
  n: number;
  /** revert: the culprit reverted on bad; verify: the culprit or its parent once more. */
  role: 'good' | 'bad' | 'step' | 'revert' | 'verify';
  commit: string;
  subject: string;
  verdict: StepVerdict;
  why: string;
  build: 'cached' | 'built' | 'failed' | 'none';
  buildMs?: number;
  testMs: number;
  runs: string[];            // run directories
}

export interface BisectReport {
  id: string;
  dir: string;
  tree: string;
  good: { ref: string; commit: string };
  /** describe: git describe of bad, which was tested and failed (the report says it still fails there). */
  bad: { ref: string; commit: string; describe?: string };
  selection: string;
  repeat: number;
  commitsInRange: number;
  steps: BisectStep[];
  builds: number;
  /** The first bad commit, when git could name one. */
  firstBad?: { commit: string; subject: string; author: string; date: string; files: string[] };
  /** The first bad commit's checks (revert on bad, culprit and parent again). */
  checks?: CulpritChecks;
  /** When skipped commits leave git a set instead of one commit. */
  candidates?: { commit: string; subject: string }[];
  skipped: { commit: string; subject: string; why: string }[];
  /** The cases whose outcome differs between good and bad (expected vs observed on each side). */
  changed: Comparison['changes'];
  log: string;
  reproducer: string;
  /** --reporter: who the report's Reported-by: names. */
  reporter?: string;
  outcome: 'found' | 'narrowed' | 'stopped';
  wallMs: number;
}
