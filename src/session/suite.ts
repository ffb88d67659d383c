// The suite stage of a run: the suite built whole (hidden families too, so one
// build serves every selection) and the selection's work items taken from it.
// runOnce and a LAVA job compose it alike. And the other end of a run: every
// case the selection asked for shows up, MISS where nothing reported it.
import type { RunResult } from '../model.js';
import type { Emit } from '../events.js';
import { buildStage, binaryName } from '../gen/index.js';
import { getCase } from '../catalog/index.js';
import { missCase } from '../runner/ledger.js';
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

/** The selection as work items of the catalog alone (the binary's name and family, no path): for a run stopped before its build ended. */
function catalogItems(selection: Selection): WorkItem[] {
  const byFamily = new Map<string, WorkItem>();
  for (const id of selection.ids) {
    const c = getCase(id);
    let item = byFamily.get(c.family);
    if (!item) {
      item = { binary: { name: binaryName(c.family), path: '', family: c.family, api: c.api, cases: [], sha256: '' }, caseIds: [] };
      byFamily.set(c.family, item);
    }
    item.caseIds.push(id);
  }
  return [...byFamily.values()];
}

/**
 * Every case asked for shows up, even those a dead target never reached: the
 * built suite's work items, or the catalog's where the run stopped before its
 * build ended.
 */
export function addMissing(run: RunResult, selection: Selection, built: WorkItem[] | undefined, emit: Emit): void {
  const items = built ?? catalogItems(selection);
  const seen = new Set(run.cases.map((c) => c.id));
  for (const item of items) {
    for (const id of item.caseIds) {
      if (seen.has(id)) continue;
      const miss = missCase(id, item.binary, run.abort ? { kind: 'aborted', reason: run.abort.reason } : { kind: 'unreported' });
      run.cases.push(miss);
      emit({ type: 'case', shard: '-', result: miss });
    }
  }
}
