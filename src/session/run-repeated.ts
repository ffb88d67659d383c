// The same run made `repeat` times on one kernel (a bisect step's --repeat,
// a gate revision's): the kernel stage runs once, the later runs reuse its
// artifact. A run that could not test the kernel (125) or was interrupted
// (130) ends the series: repeating it would only say the same again.
import type { KernelArtifact, KernelRequest } from '../kernel/index.js';
import { runOnce, type RunOnceRequest, type RunOutcome } from './run-once.js';

export interface RepeatedRequest extends Omit<RunOnceRequest, 'kernel' | 'runId'> {
  kernel: KernelRequest;
  repeat: number;
  /** The run id of the i-th run (0-based); the session's time-based id when absent. */
  runId?: (i: number) => string;
}

export interface RepeatedOutcome {
  runs: RunOutcome[];
  kernel?: KernelArtifact;
  /** What a run threw (a user error found while starting, an interrupt), which ended the series. */
  error?: unknown;
}

export async function runRepeated(req: RepeatedRequest): Promise<RepeatedOutcome> {
  const { repeat, runId, kernel: request, ...once } = req;
  const runs: RunOutcome[] = [];
  let kernel: KernelArtifact | undefined;
  for (let i = 0; i < repeat; i++) {
    try {
      const out = await runOnce({ ...once, kernel: kernel ? { artifact: kernel } : request, ...(runId ? { runId: runId(i) } : {}) });
      runs.push(out);
      kernel ??= out.kernel;
      if (out.exitCode === 125 || out.exitCode === 130) break;
    } catch (error) {
      return { runs, kernel, error };
    }
  }
  return { runs, kernel };
}
