// results.json: the run as the model holds it. Rewritten after every case, so
// a run killed at any point leaves a valid file with what it had.
import { join } from 'node:path';
import type { RunResult } from '../model.js';
import { summarise } from '../model.js';
import { writeFileAtomic } from '../util/atomic.js';

export const RESULTS_JSON = 'results.json';

/** Write dir/results.json atomically; the summary is recomputed from the cases. Returns the path. */
export function writeResultsJson(dir: string, run: RunResult): string {
  const path = join(dir, RESULTS_JSON);
  const out: RunResult = { ...run, summary: summarise(run.cases) };
  writeFileAtomic(path, JSON.stringify(out, null, 2) + '\n');
  return path;
}
