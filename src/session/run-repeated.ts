// The same run made `repeat` times on one kernel (a bisect step's --repeat,
// a gate revision's, a nightly cell's): the kernel stage runs once, the later
// runs reuse its artifact. A run that could not test the kernel (125) or was
// interrupted (130) ends the series: repeating it would only say the same
// again. Where a run is made is the backend's: a local guest (runOnce), or
// a LAVA one (lava/backend.ts), into the same run directory.
import type { KernelArtifact, KernelRequest } from '../kernel/index.js';
import { EXIT } from '../model.js';
import type { RunContext } from './context.js';
import { runOnce, type RunOnceRequest, type RunOutcome } from './run-once.js';

export interface RepeatedRequest extends Omit<RunOnceRequest, 'kernel' | 'runId'> {
  kernel: KernelRequest | { artifact: KernelArtifact };
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

/** Makes one run: runOnce, or a LAVA job's run into the same kind of directory. */
export type RunBackend = (req: RunOnceRequest, ctx: RunContext) => Promise<RunOutcome>;

export async function runRepeated(req: RepeatedRequest, ctx: RunContext, backend: RunBackend = runOnce): Promise<RepeatedOutcome> {
  const { repeat, runId, kernel: request, ...once } = req;
  const runs: RunOutcome[] = [];
  let kernel: KernelArtifact | undefined = 'artifact' in request ? request.artifact : undefined;
  for (let i = 0; i < repeat; i++) {
    try {
      const out = await backend({ ...once, kernel: kernel ? { artifact: kernel } : request, ...(runId ? { runId: runId(i) } : {}) }, ctx);
      runs.push(out);
      kernel ??= out.kernel;
      if (out.exitCode === EXIT.untestable || out.exitCode === EXIT.interrupted) break;
    } catch (error) {
      return { runs, kernel, error };
    }
  }
  return { runs, kernel };
}
