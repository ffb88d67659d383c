// `kgate lava job`: the stages of a run up to the boot (the kernel and suite
// stages, as runOnce composes them; the initramfs), then the job definition
// instead of a guest. Everything the job
// needs is written to one directory (the run directory a fetch later fills):
//
//   job.yaml          the LAVA job, validated by LAVA's schema
//   artifacts/        bzImage and initrd.cpio, which the job names by URL
//   lava-plan.json    the work items (binary, family, case ids) and the kernel
//                     identity, for turning the job's log back into results
//   metadata.json     as a run's: argv, kernel, timings, state
import { copyFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KernelIdentity } from '../model.js';
import { KgateError } from '../model.js';
import type { Selection } from '../catalog/selection.js';
import { forRun } from '../events.js';
import { kernelOfRun, type KernelArtifact, type KernelRequest } from '../kernel/index.js';
import { suiteStage } from '../session/suite.js';
import type { RunContext } from '../session/context.js';
import { RunDir, newRunId } from '../session/run-dir.js';
import type { WorkItem } from '../runner/execute.js';
import { cacheDir } from '../util/cache.js';
import { mkdirp } from '../util/fs.js';
import { buildLavaInitrd } from './guest.js';
import { jobYaml, lavaJob } from './job.js';
import { assertValidJob } from './validate.js';

export const JOB_YAML = 'job.yaml';
export const PLAN_JSON = 'lava-plan.json';

export interface LavaPlan {
  version: 1;
  /** The work as submitted: every case here must come back, or it is MISS. */
  items: { binary: string; family: string; api: string; caseIds: string[] }[];
  kernel: KernelIdentity;
  selection: string;
  job: string;
  /** Set once submitted. */
  server?: { url: string; jobId: number };
}

/** What one LAVA job tests; where it goes and what stops it is the RunContext's. */
export interface PrepareRequest {
  kernel: KernelRequest | { artifact: KernelArtifact };
  selection: Selection;
  runId?: string;
  memMB?: number;
  bootTimeoutSec?: number;
  /** How the lab reaches artifacts/ (an http(s) URL); file:// of the directory by default (lava-run on this host). */
  artifactUrl?: string;
}

export interface PreparedJob {
  dir: string;
  runId: string;
  jobPath: string;
  yaml: string;
  plan: LavaPlan;
  items: WorkItem[];
  kernel: KernelArtifact;
  timings: Record<string, number>;
  /** The run directory, whose metadata.json the job's submission completes. */
  runDir: RunDir;
}

export async function prepareLavaJob(req: PrepareRequest, ctx: RunContext): Promise<PreparedJob> {
  const t0 = Date.now();
  // Nothing runs on: a write the machine refuses stops the job's preparation.
  const runDir = RunDir.open(ctx.resultsRoot, req.runId ?? newRunId(), { target: 'lava', argv: ctx.argv, pinKernel: ctx.pinKernel, onFault: (f) => { throw f; } });
  const { dir, runId, meta } = runDir;
  const emit = forRun(runId, ctx.emit);
  const timings: Record<string, number> = {};
  try {
    const [kernel, built] = await Promise.all([
      kernelOfRun(req.kernel, { emit, signal: ctx.signal, logDir: dir, configTo: runDir.file('kernelConfig') }).then((k) => { if (!('artifact' in req.kernel)) timings.kernelMs = Date.now() - t0; return k; }),
      suiteStage(req.selection, { buildDir: ctx.buildDir, emit }, ctx.signal).then((b) => { timings.buildMs = Date.now() - t0; return b; }),
    ]);
    meta.update({ kernel: kernel.identity, kernelHow: kernel.how, cc: built.manifest.cc });
    const { items } = built;
    const art = path.join(dir, 'artifacts');
    mkdirp(art);
    const t1 = Date.now();
    await copyFile(kernel.bzImage, path.join(art, 'bzImage'));
    const initrd = await buildLavaInitrd({ kernel, items, imageDir: cacheDir('images'), outPath: path.join(art, 'initrd.cpio'), env: ctx.env, signal: ctx.signal });
    timings.imageMs = Date.now() - t1;
    const base = (req.artifactUrl ?? pathToFileURL(art).href).replace(/\/+$/, '');
    const t2 = Date.now();
    const job = lavaJob({
      name: `kgate ${kernel.release} ${req.selection.ids.length} cases (${req.selection.describe})`,
      kernelUrl: `${base}/bzImage`, initrdUrl: `${base}/initrd.cpio`, items,
      memMB: req.memMB, bootTimeoutSec: req.bootTimeoutSec,
    });
    const yaml = jobYaml(job);
    await assertValidJob(yaml);
    const jobPath = runDir.keep(JOB_YAML, yaml);
    timings.jobMs = Date.now() - t2;
    const plan: LavaPlan = {
      version: 1, kernel: kernel.identity, selection: req.selection.describe, job: JOB_YAML,
      items: items.map((i) => ({ binary: i.binary.name, family: i.binary.family, api: i.binary.api, caseIds: [...i.caseIds] })),
    };
    writePlan(runDir, plan);
    meta.update({ lava: { job: jobPath, initrdBytes: initrd.bytes, imageCached: initrd.imageCached }, timings });
    return { dir, runId, jobPath, yaml, plan, items, kernel, timings, runDir };
  } catch (e) {
    meta.finish({ error: e instanceof Error ? e.message : String(e) });
    throw e;
  }
}

export function writePlan(runDir: RunDir, plan: LavaPlan): void {
  runDir.keep(PLAN_JSON, JSON.stringify(plan, null, 2) + '\n');
}

export function readPlan(dir: string): LavaPlan {
  const f = path.join(dir, PLAN_JSON);
  if (!existsSync(f)) throw new KgateError('user', `${dir} is not a directory kgate lava job wrote (no ${PLAN_JSON})`);
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as LavaPlan;
  } catch (e) {
    throw new KgateError('user', `${f}: ${(e as Error).message}`);
  }
}
