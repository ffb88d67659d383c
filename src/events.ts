// Typed events every stage emits; the CLI renders them (listr2 on a terminal,
// plain lines in CI) and tests assert on them. Stages never print themselves.
import { KgateError, type CaseResult } from './model.js';
import { machineFault } from './util/machine-fault.js';

/** The closed set of stages a run goes through, in order (restart: a guest brought back after a crash or hang). */
export const STAGES = ['kernel', 'build', 'target', 'suite', 'restart', 'coverage', 'report'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * `run` is the key of the run an event belongs to (its run id), set by the
 * session layer, so the events of several runs at once (a nightly's cells, a
 * bisect's steps) can be told apart on one stream.
 */
export type KgateEvent = { run?: string } & (
  | { type: 'stage'; stage: Stage; state: 'start' | 'done' | 'fail' | 'note'; detail?: string; ms?: number }
  | { type: 'family'; family: string; shard: string; state: 'start' | 'done'; total: number; detail?: string }
  | { type: 'case'; shard: string; result: CaseResult });

export type Emit = (e: KgateEvent) => void;
export const silent: Emit = () => {};

/** Every event of `emit` stamped with a run key. */
export function forRun(run: string, emit: Emit): Emit {
  return (e) => emit({ ...e, run });
}

/**
 * One stage of a run, timed, with its start, notes, done (saying what it made)
 * and fail events from this one place, for every composer of the stages.
 * `failDetail` says why on the fail event; by default the user's mistake gets
 * none (it is said once, by whoever renders the error: the stage only ends).
 */
export async function timedStage<T>(emit: Emit, stage: Stage, o: {
  detail?: string;
  done: (r: T) => string | undefined;
  /** Why a stage that returned failed all the same (a suite whose run stopped): it ends 'fail' with that reason. */
  failed?: (r: T) => string | undefined;
  failDetail?: (e: unknown) => string | undefined;
}, work: (note: (line: string) => void) => Promise<T>): Promise<T> {
  const t0 = Date.now();
  emit({ type: 'stage', stage, state: 'start', ...(o.detail !== undefined ? { detail: o.detail } : {}) });
  try {
    const r = await work((line) => emit({ type: 'stage', stage, state: 'note', detail: line }));
    const why = o.failed?.(r);
    emit({ type: 'stage', stage, state: why !== undefined ? 'fail' : 'done', ms: Date.now() - t0, detail: why ?? o.done(r) });
    return r;
  } catch (e) {
    const detail = (o.failDetail ?? whyStageFailed)(e);
    emit({ type: 'stage', stage, state: 'fail', ...(detail !== undefined ? { detail } : {}) });
    throw e;
  }
}

/** A failed stage's detail: none for the user's mistake, the machine's fault as one line, else the error's first line. */
export function whyStageFailed(e: unknown): string | undefined {
  if (e instanceof KgateError && e.family === 'user') return undefined;
  return machineFault(e)?.message ?? (e instanceof Error ? e.message.split('\n')[0] : String(e));
}
