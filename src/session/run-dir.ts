// results/<run>/: one directory per run, claimed exclusively; the names of
// its files, and RunDir, which owns what writes into it during a run.
import { mkdirp } from '../util/fs.js';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KgateError, summarise, type RunResult } from '../model.js';
import { JUNIT_XML, RESULTS_JSON, writeJUnit } from '../report/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { RunSink } from '../runner/sink.js';
import { machineFault, type MachineFault } from '../util/machine-fault.js';
import { METADATA_JSON, MetadataFile, type RunMetadata } from './metadata.js';
import type { RunContext } from './context.js';

export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Made exclusively: two runs started in the same second (a nightly over
 * several kernels) get <id> and <id>-2, never one directory.
 */
export function claimRunDir(root: string, id: string): { dir: string; runId: string } {
  try {
    mkdirp(root);
    for (let n = 1; ; n++) {
      const runId = n === 1 ? id : `${id}-${n}`;
      try {
        mkdirSync(join(root, runId));
        return { dir: join(root, runId), runId };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  } catch (e) {
    throw new KgateError('user', `cannot write results to ${root}: ${errnoText(e)} (choose another --results)`);
  }
}

/** "ENOENT (no such file or directory)": the code to search for and the words to read. */
function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!err.code) return String(e);
  const words = /^[A-Z]+: ([^,]+)/.exec(err.message ?? '')?.[1];
  return words ? `${err.code} (${words})` : err.code;
}

/** The files of a run directory, by what they hold: every reader and writer names them from here. */
export const RUN_FILES = Object.freeze({
  results: RESULTS_JSON,
  metadata: METADATA_JSON,
  /** The KTAP the suite printed (ktap-N.log for the Nth shard's guest), with kgate's Bail out! when it printed nothing. */
  ktap: 'ktap.log',
  /** The guest's serial console (console-N.log for the Nth guest). */
  console: 'console.log',
  junit: JUNIT_XML,
  /** The exact .config of a kernel the run built: what a report to the list attaches. */
  kernelConfig: 'kernel.config',
});

/** A run directory's results.json, or undefined where there is none it can read. */
export function readRunResult(dir: string): RunResult | undefined {
  try { return JSON.parse(readFileSync(join(dir, RUN_FILES.results), 'utf8')) as RunResult; } catch { return undefined; }
}

/** A run directory's console logs (console.log, console-N.log of the other guests), in order; none where there is no directory. */
export function consoleLogs(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^console.*\.log$/.test(f)).sort().map((f) => join(dir, f)) : [];
}

/** A run directory's metadata.json as far as it can be read ({} where it cannot). */
export function readRunMetadata(dir: string): Partial<RunMetadata> {
  try { return JSON.parse(readFileSync(join(dir, RUN_FILES.metadata), 'utf8')) as Partial<RunMetadata>; } catch { return {}; }
}

/**
 * One run's directory, claimed exclusively, with what writes into it while the
 * run is under way: the sink (results.json as each case lands, ktap.log) and
 * metadata.json (written now, completed at the end, so a killed run still says
 * what it was). A run made elsewhere (a LAVA job) writes its console, KTAP and
 * results through it too, into a directory it opened or reopens.
 */
export class RunDir {
  private constructor(readonly dir: string, readonly run: RunResult, readonly sink: RunSink, readonly meta: MetadataFile) {}

  get runId(): string { return this.run.runId; }

  /** The path of one of its files. */
  file(name: keyof typeof RUN_FILES): string { return join(this.dir, RUN_FILES[name]); }

  /**
   * Claims root/<id> and starts its results.json and metadata.json. A write the
   * machine refuses later goes to `onFault` (the run stops and says it); one
   * refused now is the user's to fix (exit 2): nothing ran yet.
   */
  static open(root: string, id: string, o: { target: string; shard?: RunResult['shard']; argv: string[]; pinKernel?: RunContext['pinKernel']; start?: Partial<RunMetadata>; onFault: (f: MachineFault) => void }): RunDir {
    const { dir, runId } = claimRunDir(root, id);
    const run: RunResult = { runId, startedAt: new Date().toISOString(), target: o.target, cases: [], problems: [], summary: summarise([]), ...(o.shard ? { shard: o.shard } : {}) };
    try {
      const sink = new RunSink(dir, run, o.onFault);
      const meta = new MetadataFile(dir, run, o, o.start, (write) => sink.save(write));
      return new RunDir(dir, run, sink, meta);
    } catch (e) {
      throw machineFault(e, undefined, 'user') ?? e;
    }
  }

  /**
   * A directory opened earlier, to be finished now (a LAVA job's results
   * fetched after kgate lava job or submit): its metadata.json reopened, the run
   * begun again from what that says, and what an earlier finish wrote
   * (results, ktap.log) written anew.
   */
  static reopen(dir: string, o: { onFault: (f: MachineFault) => void }): RunDir {
    // Its writes guarded by the run's sink, as an opened one's are.
    const meta = MetadataFile.reopen(dir, (write) => sink.save(write));
    const run: RunResult = { runId: basename(dir), startedAt: meta.current.startedAt ?? new Date().toISOString(), target: meta.current.target ?? 'lava', cases: [], problems: [], summary: summarise([]) };
    for (const f of readdirSync(dir)) if (/^ktap(-\d+)?\.log$/.test(f)) rmSync(join(dir, f), { force: true });
    const sink = new RunSink(dir, run, o.onFault);
    return new RunDir(dir, run, sink, meta);
  }

  /** A file of the run's own beside the common ones (a LAVA job's definition, its log), written whole; its path. */
  keep(name: string, data: string): string {
    const file = join(this.dir, name);
    this.sink.save(() => writeFileAtomic(file, data));
    return file;
  }

  /** The guest's serial console as a whole (a run whose console came back at its end, as a LAVA job's does). */
  console(lines: readonly string[]): void {
    this.keep(RUN_FILES.console, lines.join('\n') + '\n');
  }

  /**
   * The run's end: ktap.log's Bail out! where the suite printed no KTAP at
   * all, results.json and junit.xml final, and metadata.json finished with
   * `fields` beside the summary, the abort and the kernel. A write the machine
   * refuses now is the run's abort too.
   */
  finish(planned: number, fields: Partial<RunMetadata> = {}): void {
    const { run, sink } = this;
    if (run.abort) sink.bailOutIfEmpty(run.abort.reason.split('\n')[0], planned);
    run.finishedAt = new Date().toISOString();
    sink.flush();
    sink.save(() => writeJUnit(this.dir, run));
    // The last writes may be the first the disk refused: the results are then not all saved, and the run says so.
    if (sink.fault && !run.abort) run.abort = machineAbort(sink.fault);
    this.meta.finish({ ...fields, summary: run.summary, abort: run.abort, ...(run.kernel ? { kernel: run.kernel } : {}) });
  }
}

/** A write the machine refused: exit 125 (the kernel was not judged), said in one line, no console tail. */
export function machineAbort(f: MachineFault): NonNullable<RunResult['abort']> {
  return { family: 'infra', reason: f.message, fault: 'machine' };
}
