// metadata.json of a run: written when the run starts, updated as the kernel
// and target are known, completed at the end, so a run killed at any point
// still says what it was. Its reproducer pins what the defaults resolved to
// (the exact Debian package version, the tree commit), so running it again
// tests the same kernel: the command line with --kernel pinned comes from the
// option table (RunContext.pinKernel), never by patching argv. MetadataFile
// is its one writer, through RunDir: a LAVA job fetched later (kgate lava fetch) reopens it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelIdentity, RunResult, RunSummary } from '../model.js';
import type { RunContext } from './context.js';
import { writeFileAtomic } from '../util/atomic.js';
import { shellLine } from '../util/shell.js';
import { kgateVersion } from '../util/version.js';

export const METADATA_JSON = 'metadata.json';

/** What metadata.json says of a run. */
export interface RunMetadata {
  runId: string;
  state: 'running' | 'finished';
  startedAt: string;
  finishedAt?: string;
  target: string;
  /** kgate's version. */
  kgate: string;
  /** The command line that made the run, from the option table (cli/options.ts). */
  argv: string[];
  /** argv as one shell line, with --kernel pinned to what its default resolved to. */
  reproducer: string;
  /** The --kernel of a qemu run (pinned where it was given as an artifact). */
  kernelSpec?: string;
  selection?: { describe: string; cases: readonly string[] };
  kernel?: KernelIdentity;
  /** How the kernel was had: fetched, cached, built. */
  kernelHow?: string;
  accel?: RunResult['accel'];
  /** The compiler of the suite. */
  cc?: string;
  suite?: { sha256: string; binaries: Record<string, string> };
  /** Per-stage durations (ms), bench/ reads them. */
  timings?: Record<string, number>;
  summary?: RunSummary;
  abort?: RunResult['abort'];
  /** Bad input found while starting: the one line the user saw. */
  error?: string;
  /** A LAVA run: the job, its id, its health. */
  lava?: Record<string, unknown>;
  /** A target's own notes (the QEMU command line, the guest's image). */
  [note: string]: unknown;
}

export class MetadataFile {
  private data: RunMetadata;
  /**
   * `start`: what is known before any stage ran (the kernel asked for, the cases selected); `save` runs each
   * later write (the run's sink guards them: a full disk stops the run, it does not throw into it).
   */
  private pinKernel?: RunContext['pinKernel'];
  constructor(private dir: string, run: Pick<RunResult, 'runId' | 'startedAt' | 'target'>, line: Pick<RunContext, 'argv' | 'pinKernel'>, start: Partial<RunMetadata> = {},
    private save: (write: () => void) => void = (write) => write()) {
    this.pinKernel = line.pinKernel;
    this.data = { runId: run.runId, state: 'running', startedAt: run.startedAt, target: run.target, ...start, kgate: kgateVersion(),
      argv: line.argv, reproducer: shellLine(['kgate', ...line.argv]) };
    this.write();
  }

  /** An existing run directory's metadata.json, to complete it (a LAVA job's results fetched later); an unreadable one starts empty. */
  static reopen(dir: string, save: (write: () => void) => void = (write) => write()): MetadataFile {
    let data: RunMetadata | undefined;
    try { data = JSON.parse(readFileSync(join(dir, METADATA_JSON), 'utf8')) as RunMetadata; } catch { /* written anew below */ }
    const f = Object.create(MetadataFile.prototype) as MetadataFile;
    Object.assign(f, { dir, save, data: data ?? {} });
    return f;
  }

  /** What it says now. */
  get current(): Readonly<RunMetadata> { return this.data; }

  update(fields: Partial<RunMetadata>): void {
    Object.assign(this.data, fields);
    if (fields.kernel?.pinned && this.pinKernel) this.data.reproducer = shellLine(['kgate', ...this.pinKernel(fields.kernel.pinned)]);
    this.save(() => this.write());
  }
  finish(fields: Partial<RunMetadata>): void {
    this.update({ ...fields, state: 'finished', finishedAt: new Date().toISOString() });
  }
  private write(): void {
    writeFileAtomic(join(this.dir, METADATA_JSON), JSON.stringify(this.data, null, 2) + '\n');
  }
}
