// One bisect step: build this commit's kernel (cached and incremental, by the
// kernel stage), run the chosen cases `repeat` times on it, and decide. Used
// by `kgate bisect-step` (under git bisect run) and by the bisect driver.
import { KgateError } from '../model.js';
import type { KernelArtifact } from '../kernel/index.js';
import type { RunContext } from '../session/context.js';
import type { RunOutcome } from '../session/run-once.js';
import { runRepeated, type RepeatedRequest } from '../session/run-repeated.js';
import { decideStep, type RunVerdict, type StepDecision } from './verdict.js';

export interface StepRequest extends RepeatedRequest {
  threshold?: number;
}

export interface StepResult {
  decision: StepDecision;
  runs: RunOutcome[];
  kernel?: KernelArtifact;
  /** make's time for this commit; 0 and cached=true when the build cache had it. */
  buildMs?: number;
  cached?: boolean;
  testMs: number;
}

export async function runStep(req: StepRequest, ctx: RunContext): Promise<StepResult> {
  const t0 = Date.now();
  const { threshold, ...repeated } = req;
  const { runs, kernel, error } = await runRepeated(repeated, ctx);
  // A run stopped by a bug of kgate's (or a usage error) must stop the bisect, never skip the commit.
  const verdicts: RunVerdict[] = runs.map((o) => o.run.abort && (o.run.abort.family === 'bug' || o.run.abort.family === 'user')
    ? { error: o.run.abort.family, message: o.run.abort.reason.split('\n')[0] }
    : { exitCode: o.exitCode, ...(o.run.abort ? { why: o.run.abort.reason } : {}) });
  if (error !== undefined) {
    verdicts.push(error instanceof KgateError ? { error: error.family, message: error.message } : { error: 'bug', message: error instanceof Error ? error.message : String(error) });
  }
  const first = runs[0];
  const kernelMs = first?.timings.kernelMs ?? 0;
  const failedKernel = first?.run.abort && !first.kernel;
  return {
    decision: decideStep(verdicts, threshold),
    runs,
    kernel,
    ...(kernel ? { cached: kernel.how === 'cached', buildMs: kernel.how === 'built' ? kernel.ms ?? kernelMs : 0 } : {}),
    testMs: Date.now() - t0 - (failedKernel ? 0 : kernelMs),
  };
}
