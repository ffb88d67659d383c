// The kernel stage: a parsed --kernel -> one KernelArtifact, once per run,
// before any guest boots. Debian packages are fetched (or found in the cache),
// paths are read, trees are built (src/kernel/tree).
import { copyFileSync, existsSync } from 'node:fs';
import { KgateError } from '../model.js';
import { timedStage, type Emit } from '../events.js';
import type { KernelArtifact, KernelRequest, KernelStageOptions } from './artifact.js';
import { resolveDebianKernel, resolvePathKernel } from './debian.js';

export type { KernelArtifact, KernelRequest, KernelStageOptions } from './artifact.js';
export { parseKernelSpec, KERNEL_FORMS, type KernelSpec } from './spec.js';

/**
 * The kernel stage: a --kernel resolved (fetched, found in the cache or built)
 * with its start/note/done/fail events, as every composer runs it (run,
 * nightly cell, kgate kernel build).
 */
export function kernelStage(req: KernelRequest, o: { emit: Emit; signal?: AbortSignal; logDir?: string; failDetail?: (e: unknown) => string | undefined }): Promise<KernelArtifact> {
  return timedStage(o.emit, 'kernel', { detail: req.spec.text, done: (k) => `${k.release} (${k.how})`, failDetail: o.failDetail },
    (note) => resolveKernel(req, { signal: o.signal, logDir: o.logDir, log: note }));
}

/**
 * The kernel a run (or a LAVA job) tests: the artifact given, or the kernel
 * stage's. A built kernel's exact .config is copied to `configTo` (the run's
 * kernel.config, what a report to the list attaches).
 */
export async function kernelOfRun(kernel: KernelRequest | { artifact: KernelArtifact }, o: { emit: Emit; signal?: AbortSignal; logDir: string; configTo: string }): Promise<KernelArtifact> {
  if ('artifact' in kernel) return kernel.artifact;
  const k = await kernelStage(kernel, { emit: o.emit, signal: o.signal, logDir: o.logDir });
  if (k.config && existsSync(k.config)) copyFileSync(k.config, o.configTo);
  return k;
}

export async function resolveKernel(req: KernelRequest, opts: KernelStageOptions = {}): Promise<KernelArtifact> {
  const { spec } = req;
  if (spec.kind !== 'path' && req.modules !== undefined) throw new KgateError('user', `--modules is for a bzImage path, not --kernel ${spec.text}`);
  if (spec.kind !== 'tree' && (req.baseConfig !== undefined || (req.fragments?.length ?? 0) > 0)) {
    throw new KgateError('user', `--base-config and --config-fragment are for --kernel tree:..., not ${spec.text}`);
  }
  if (spec.kind !== 'tree' && req.coverage) throw new KgateError('user', coverageNeedsTree(spec.text));
  switch (spec.kind) {
    case 'debian': return resolveDebianKernel(spec, opts);
    case 'path': return resolvePathKernel(spec.bzImage, req.modules);
    case 'tree': {
      const { buildTreeKernel } = await import('./tree/index.js');
      return buildTreeKernel(spec, req, opts);
    }
  }
}

/** --coverage on a kernel kgate does not build: the one line that says why. */
export function coverageNeedsTree(kernel: string): string {
  return `--coverage needs --kernel tree:PATH[@REF]: kgate measures coverage with a gcov build of fs/fuse it makes itself, and ${kernel} is a kernel it does not build`;
}

/** The kernel of `tree` at `ref` (the work tree as it is without one), with the tree-build options a job was given. */
export function treeKernelRequest(tree: string, ref: string | undefined, o: { baseConfig?: string; fragments?: string[]; objectsFrom?: string } = {}): KernelRequest {
  const req: KernelRequest = { spec: ref === undefined ? { kind: 'tree', path: tree, text: `tree:${tree}` } : { kind: 'tree', path: tree, ref, text: `tree:${tree}@${ref}` } };
  if (o.baseConfig) req.baseConfig = o.baseConfig;
  if (o.fragments?.length) req.fragments = o.fragments;
  if (o.objectsFrom) req.objectsFrom = o.objectsFrom;
  return req;
}
