// The suite stage of a run: the suite built whole (hidden families too, so one
// build serves every selection) and the selection's work items taken from it.
// runOnce and a LAVA job compose it alike.
import { buildStage } from '../gen/index.js';
import type { BuildManifest } from '../gen/manifest.js';
import type { Selection } from '../catalog/selection.js';
import type { WorkItem } from '../runner/execute.js';
import type { RunContext } from './context.js';

export interface BuiltSuite { manifest: BuildManifest; items: WorkItem[]; buildMs: number }

/** The manifest's binaries, each with the selected case ids in catalog order. */
export function workItems(manifest: BuildManifest, selection: Selection): WorkItem[] {
  const wanted = new Set(selection.ids);
  return manifest.binaries
    .map((binary) => ({ binary, caseIds: binary.cases.map((c) => c.id).filter((id) => wanted.has(id)) }))
    .filter((i) => i.caseIds.length > 0);
}

/** `signal` is the stage's own (a run stops its build when the kernel or a boot failed first). */
export async function suiteStage(selection: Selection, ctx: Pick<RunContext, 'buildDir' | 'emit'>, signal: AbortSignal): Promise<BuiltSuite> {
  const t0 = Date.now();
  const built = await buildStage({ filter: {}, buildDir: ctx.buildDir, all: true, signal }, ctx.emit,
    { failDetail: (e) => (signal.aborted ? 'stopped' : e instanceof Error ? e.message : String(e)) });
  return { manifest: built.manifest, items: workItems(built.manifest, selection), buildMs: Date.now() - t0 };
}
