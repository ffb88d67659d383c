// Typed events every stage emits; the CLI renders them (listr2 on a terminal,
// plain lines in CI) and tests assert on them. Stages never print themselves.
import type { CaseResult } from './model.js';
import type { BuildEvent } from './gen/build.js';

export type KgateEvent =
  | { type: 'stage'; stage: string; state: 'start' | 'done' | 'fail' | 'note'; detail?: string; ms?: number }
  | { type: 'family'; family: string; shard: string; state: 'start' | 'done'; total: number; detail?: string }
  | { type: 'case'; shard: string; result: CaseResult };

export type Emit = (e: KgateEvent) => void;
export const silent: Emit = () => {};

/** The compiler's progress as notes of the build stage (one per binary actually compiled). */
export function buildEventsTo(emit: Emit): (e: BuildEvent) => void {
  return (e) => {
    if (e.type === 'compile-end' && !e.cached) {
      emit({ type: 'stage', stage: 'build', state: 'note', detail: `compiled ${e.name} in ${(e.durationMs / 1000).toFixed(2)} s` });
    }
  };
}
