// A tree build (src/kernel/tree) as the kernel stage's KernelArtifact.
import { KgateError } from '../model.js';
import type { KernelArtifact, KernelRequest, KernelStageOptions } from './artifact.js';
import type { KernelSpec } from './spec.js';

export async function treeKernel(spec: Extract<KernelSpec, { kind: 'tree' }>, _req: KernelRequest, _opts: KernelStageOptions): Promise<KernelArtifact> {
  throw new KgateError('user', `${spec.text}: kgate cannot build kernel trees yet (the tree build stage, src/kernel/tree, has not landed); build it yourself and pass the bzImage path`);
}
