// metadata.json of a run: written when the run starts, updated as the kernel
// and target are known, completed at the end, so a run killed at any point
// still says what it was. Its reproducer pins what the defaults resolved to
// (the exact Debian package version, the tree commit), so running it again
// tests the same kernel.
import { join } from 'node:path';
import type { KernelIdentity, RunResult } from '../model.js';
import { writeFileAtomic } from '../util/atomic.js';
import { shellLine } from '../util/shell.js';
import { kgateVersion } from '../util/version.js';

export const METADATA_JSON = 'metadata.json';

/** argv with --kernel set to the pinned spec (added when the default was used). */
export function pinnedArgv(argv: string[], kernel: KernelIdentity | undefined): string[] {
  if (!kernel?.pinned) return argv;
  const out: string[] = [];
  let replaced = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--kernel' && i + 1 < argv.length) { out.push('--kernel', kernel.pinned); i++; replaced = true; continue; }
    if (argv[i].startsWith('--kernel=')) { out.push(`--kernel=${kernel.pinned}`); replaced = true; continue; }
    out.push(argv[i]);
  }
  if (!replaced && (out[0] === 'run' || out[0] === undefined) && !out.some((a, i) => a === '--target' && out[i + 1] !== 'qemu')) out.push('--kernel', kernel.pinned);
  return out;
}

export class MetadataFile {
  private data: Record<string, unknown>;
  /**
   * `start`: what is known before any stage ran (the kernel asked for, the cases selected); `save` runs each
   * later write (the run's sink guards them: a full disk stops the run, it does not throw into it).
   */
  constructor(private dir: string, run: RunResult, private argv: string[], start: Record<string, unknown> = {},
    private save: (write: () => void) => void = (write) => write()) {
    this.data = { runId: run.runId, state: 'running', startedAt: run.startedAt, target: run.target, ...start, kgate: kgateVersion(),
      argv, reproducer: shellLine(['kgate', ...argv]) };
    this.write();
  }
  update(fields: Record<string, unknown>): void {
    Object.assign(this.data, fields);
    if (fields.kernel) this.data.reproducer = shellLine(['kgate', ...pinnedArgv(this.argv, fields.kernel as KernelIdentity)]);
    this.save(() => this.write());
  }
  finish(fields: Record<string, unknown>): void {
    this.update({ ...fields, state: 'finished', finishedAt: new Date().toISOString() });
  }
  private write(): void {
    writeFileAtomic(join(this.dir, METADATA_JSON), JSON.stringify(this.data, null, 2) + '\n');
  }
}
