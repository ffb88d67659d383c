// One bisect step: build this commit's kernel (cached and incremental, by the
// kernel stage), run the chosen cases `repeat` times on it, and decide. Used
// by `kgate bisect-step` (under git bisect run) and by the bisect driver.
import { KgateError } from '../model.js';
import type { Emit } from '../events.js';
import type { Selection } from '../catalog/selection.js';
import type { KernelArtifact, KernelRequest } from '../kernel/index.js';
import type { TargetSpec } from '../runner/target-spec.js';
import { runOnce, type RunOutcome } from '../session/run-once.js';
import { decideStep, type RunVerdict, type StepDecision } from './verdict.js';

export interface StepRequest {
  kernel: KernelRequest;
  target: Extract<TargetSpec, { kind: 'qemu' }>;
  selection: Selection;
  repeat: number;
  threshold?: number;
  buildDir: string;
  resultsRoot: string;
  argv: string[];
  signal: AbortSignal;
  emit: Emit;
  env?: Record<string, string>;
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

export async function runStep(req: StepRequest): Promise<StepResult> {
  const verdicts: RunVerdict[] = [];
  const runs: RunOutcome[] = [];
  let kernel: KernelArtifact | undefined;
  const t0 = Date.now();
  let kernelMs = 0;
  for (let i = 0; i < req.repeat; i++) {
    try {
      const out = await runOnce({
        kernel: kernel ? { artifact: kernel } : req.kernel, target: req.target, selection: req.selection,
        buildDir: req.buildDir, resultsRoot: req.resultsRoot, argv: req.argv, signal: req.signal, emit: req.emit, env: req.env,
      });
      runs.push(out);
      kernel ??= out.kernel;
      if (i === 0) kernelMs = out.timings.kernelMs ?? 0;
      verdicts.push({ exitCode: out.exitCode });
      // A commit that cannot be tested once cannot be tested again.
      if (out.exitCode === 125 || out.exitCode === 130) break;
    } catch (e) {
      verdicts.push(e instanceof KgateError ? { error: e.family, message: e.message } : { error: 'bug', message: e instanceof Error ? e.message : String(e) });
      break;
    }
  }
  const first = runs[0];
  const failedKernel = first?.run.abort && !first.kernel;
  return {
    decision: decideStep(verdicts, req.threshold),
    runs,
    kernel,
    ...(kernel ? { cached: kernel.how === 'cached', buildMs: kernel.how === 'built' ? kernel.ms ?? kernelMs : 0 } : {}),
    testMs: Date.now() - t0 - (failedKernel ? 0 : kernelMs),
  };
}
