// The CLI's view of the gen stage: one build directory (src/ and bin/ under
// it), a filter, and a one-line summary to print.
import { join } from 'node:path';
import type { CaseFilter } from '../catalog/index.js';
import { buildSuite, type BuildRequest, type BuildResult } from './build.js';
import { renderSuite, type RenderResult } from './render.js';
import { timedStage, type Emit } from '../events.js';

export interface GenRequest {
  filter?: CaseFilter;   // --case/--family/--api
  buildDir?: string;     // default <root>/build: sources in src/, binaries in bin/
  all?: boolean;         // every case of the catalog, hidden families included (filter ignored)
  root?: string;
  jobs?: number;
  force?: boolean;
  signal?: AbortSignal;
  onEvent?: BuildRequest['onEvent'];
}

function dirs(req: GenRequest): { srcDir?: string; binDir?: string } {
  return req.buildDir ? { srcDir: join(req.buildDir, 'src'), binDir: join(req.buildDir, 'bin') } : {};
}
const filterOf = (req: GenRequest): CaseFilter => (req.all ? { includeHidden: true } : req.filter ?? {});
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** `kgate gen`: render the selected cases to C sources. */
export async function generate(req: GenRequest = {}): Promise<RenderResult & { summary: string }> {
  const r = await renderSuite({ ...filterOf(req), ...dirs(req), root: req.root });
  const cases = r.sources.reduce((n, x) => n + x.cases.length, 0);
  const changed = r.sources.filter((x) => x.changed).length;
  return { ...r, summary: `rendered ${cases} cases into ${r.sources.length} sources (${changed} changed) in ${r.srcDir} in ${s(r.durationMs)}` };
}

/** `kgate build` (and `kgate run`): render, compile incrementally, write manifest.json. */
export async function generateAndBuild(req: GenRequest = {}): Promise<BuildResult & { summary: string }> {
  const r = await buildSuite({
    ...filterOf(req), ...dirs(req), root: req.root, jobs: req.jobs, force: req.force, signal: req.signal, onEvent: req.onEvent,
  });
  const built = r.steps.filter((x) => !x.cached).length;
  const cases = r.manifest.binaries.reduce((n, b) => n + b.cases.length, 0);
  return {
    ...r,
    summary: `${r.steps.length} binaries (${built} compiled, ${r.steps.length - built} up to date), ${cases} cases, in ${r.binDir} in ${s(r.durationMs)}`,
  };
}

/** The compiler's progress as notes of the build stage (one per binary actually compiled). */
export function buildEventsTo(emit: Emit): NonNullable<BuildRequest['onEvent']> {
  return (e) => {
    if (e.type === 'compile-end' && !e.cached) {
      emit({ type: 'stage', stage: 'build', state: 'note', detail: `compiled ${e.name} in ${(e.durationMs / 1000).toFixed(2)} s` });
    }
  };
}

/**
 * The suite build as a stage (start, the compiler's notes, done, fail), as
 * every composer runs it: `kgate build`, a run, a LAVA job. `done` says what
 * the done event carries (the summary by default).
 */
export function buildStage(req: Omit<GenRequest, 'onEvent'>, emit: Emit, o: { done?: (b: { summary: string }) => string | undefined; failDetail: (e: unknown) => string | undefined }): Promise<BuildResult & { summary: string }> {
  return timedStage(emit, 'build', { done: o.done ?? ((b) => b.summary), failDetail: o.failDetail },
    () => generateAndBuild({ ...req, onEvent: buildEventsTo(emit) }));
}
