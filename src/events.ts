// Typed events every stage emits; the CLI renders them (listr2 on a terminal,
// plain lines in CI) and tests assert on them. Stages never print themselves.
import type { CaseResult } from './model.js';

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
