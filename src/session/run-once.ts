// runOnce: "run this suite on this kernel", as a function. `kgate run` calls it
// once; bisect, gate and nightly call it per step, revision or cell and
// compare the RunResults. It opens the run directory (RunDir: the sink,
// metadata.json) and finishes it; it composes the stages (kernel, suite
// build, target, suite, each timed by events.ts timedStage) and never prints:
// the caller renders its events.
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { RunResult } from '../model.js';
import { KgateError, exitCodeOf } from '../model.js';
import { forRun, timedStage, whyStageFailed, type Emit } from '../events.js';
import type { BuildManifest } from '../gen/manifest.js';
import type { Selection } from '../catalog/selection.js';
import { kernelOfRun, type KernelArtifact, type KernelRequest } from '../kernel/index.js';
import type { SuiteTarget } from '../runner/target.js';
import type { SuiteFile } from '../runner/image.js';
import { targetName, type TargetSpec } from '../runner/target-spec.js';
import { runSuite, type WorkItem } from '../runner/execute.js';
import { localTarget } from '../runner/local.js';
import { anySignal as anySignalOf, releaseSignal } from '../util/deadline.js';
import { RunDir, machineAbort, newRunId } from './run-dir.js';
import type { RunContext } from './context.js';
import { addMissing, suiteStage, type BuiltSuite } from './suite.js';
import { machineFault } from '../util/machine-fault.js';
import type { CoverageRun, Granularity } from '../coverage/index.js';
import { decodeCrashCases } from '../kmsg/decode.js';

/** What one run tests; where it goes and what stops it is the RunContext's. */
export interface RunOnceRequest {
  /** The kernel to test (qemu targets); local and ssh:// targets test the kernel they run. */
  kernel?: KernelRequest | { artifact: KernelArtifact };
  target: TargetSpec;
  selection: Selection;
  runId?: string;
  /** --shard: recorded in results.json for kgate merge (the selection is already this shard's). */
  shard?: RunResult['shard'];
  /** --coverage: the kernel is a gcov build (kernel.coverage asked for it); counters read per family or per case. */
  coverage?: Granularity;
}

export interface RunOutcome { run: RunResult; dir: string; exitCode: number; timings: Record<string, number>; kernel?: KernelArtifact }


/** The kernel a run's guests boot: none for local and ssh:// targets, the one given, or the kernel stage's. */
/** The binaries the selection runs, once each: what a guest boots with, or an ssh:// machine gets as one archive. */
function suiteFilesOf(suite: Promise<BuiltSuite>): Promise<SuiteFile[]> {
  const files = suite.then((b) => [...new Map(b.items.map((w) => [w.binary.name, { name: w.binary.name, path: w.binary.path, sha256: w.binary.sha256 }])).values()]);
  files.catch(() => {}); // the build's failure is reported by the build stage
  return files;
}

function startTargets(spec: TargetSpec, kernel: KernelArtifact | undefined, dir: string, emit: Emit, signal: AbortSignal, suite: Promise<BuiltSuite>): Promise<SuiteTarget>[] {
  if (spec.kind === 'local') return [Promise.resolve().then(() => localTarget())];
  const files = suiteFilesOf(suite);
  if (spec.kind === 'ssh') return [import('../runner/remote-target.js').then((m) => m.sshTarget(spec, signal, emit, files))];
  if (!kernel) throw new KgateError('bug', 'a qemu target without a kernel');
  const guests = import('../runner/guest-target.js').then((m) => m.startGuestTargets(spec, kernel, dir, signal, emit, files));
  return Array.from({ length: spec.jobs * spec.lanes }, (_, i) => guests.then((g) => g[i]));
}

export async function runOnce(req: RunOnceRequest, ctx: RunContext): Promise<RunOutcome> {
  // The run's own composites of the caller's signal, released when it ends (a nightly's signal outlives hundreds of runs).
  const composites: AbortSignal[] = [];
  const anySignal = (signals: AbortSignal[]) => { const s = anySignalOf(signals); composites.push(s); return s; };
  // A write the machine refuses once the run is under way (a full disk) stops it: exit 125, the results in memory said.
  const faulted = new AbortController();
  const t0 = Date.now();
  const runDir = RunDir.open(ctx.resultsRoot, req.runId ?? newRunId(), {
    target: targetName(req.target), shard: req.shard, argv: ctx.argv, pinKernel: ctx.pinKernel, onFault: (f) => faulted.abort(f),
    start: {
      ...(req.kernel && req.target.kind === 'qemu' ? { kernelSpec: 'artifact' in req.kernel ? req.kernel.artifact.identity.pinned ?? req.kernel.artifact.source : req.kernel.spec.text } : {}),
      selection: { describe: req.selection.describe, cases: req.selection.ids },
    },
  });
  const { dir, run, sink, meta } = runDir;
  const emit = forRun(run.runId, ctx.emit);
  const signal = anySignal([ctx.signal, faulted.signal]);
  const timings: Record<string, number> = {};
  const targets: SuiteTarget[] = [];
  let pending: Promise<SuiteTarget>[] = [];
  let stopBoots = () => {};
  let manifest: BuildManifest | undefined;
  let selection: WorkItem[] = [];
  let kernel: KernelArtifact | undefined;
  let coverage: CoverageRun | undefined;
  const stopBuild = new AbortController();
  // A failed suite build stops the kernel stage and the boots at once: without
  // it a --build-dir that cannot be written waited for a whole boot to end.
  const buildFailed = new AbortController();
  let buildError: unknown;
  let suite: Promise<BuiltSuite> | undefined;
  try {
    // The suite builds (2-3 s cold) while the kernel is fetched or built and the guest boots.
    const building = suite = suiteStage(req.selection, { buildDir: ctx.buildDir, emit }, anySignal([signal, stopBuild.signal]));
    building.catch((e) => { buildError = e; buildFailed.abort(); }); // awaited below; never an unhandled rejection if the run stops first
    const tKernel = Date.now();
    kernel = req.target.kind === 'qemu' && req.kernel ? await kernelOfRun(req.kernel, { emit, signal: anySignal([signal, buildFailed.signal]), logDir: dir, configTo: runDir.file('kernelConfig') }) : undefined;
    if (kernel) {
      timings.kernelMs = Date.now() - tKernel;
      run.kernel = kernel.identity;
      meta.update({ kernel: kernel.identity, kernelHow: kernel.how });
    }
    const tTargets = Date.now();
    // Guests still booting when the suite is done are not waited for.
    const boots = new AbortController();
    stopBoots = () => boots.abort();
    const first = await timedStage(emit, 'target', {
      detail: run.target, done: (t) => `${t.kernel.release}${t.accel ? ` (${t.accel})` : ''}`,
      failDetail: (e) => (buildFailed.signal.aborted ? 'stopped: the suite did not build' : whyStageFailed(e)),
    }, async () => {
      // --coverage reads the counters around each piece: one lane, one piece at a time.
      const spec = req.coverage && req.target.kind === 'qemu' ? { ...req.target, lanes: 1 } : req.target;
      pending = startTargets(spec, kernel, dir, emit, anySignal([signal, boots.signal, buildFailed.signal]), building).map((p) => p.then((t) => { targets.push(t); return t; }));
      // The first target and the build are awaited together: a build failure must not leave a booting guest behind.
      const [started, built] = await Promise.allSettled([pending[0], building]);
      if (built.status === 'rejected') throw built.reason;
      ({ manifest, items: selection } = built.value);
      sink.orderAs(selection.flatMap((w) => w.caseIds));
      timings.buildMs = built.value.buildMs;
      if (started.status === 'rejected') throw started.reason;
      return started.value;
    });
    timings.targetMs = Date.now() - tTargets;
    run.kernel = first.kernel;
    run.accel = first.accel;
    Object.assign(timings, first.timings ?? {});
    meta.update({ kernel: run.kernel, accel: run.accel, cc: manifest?.cc, ...(manifest ? { suite: suiteIdentity(manifest) } : {}), ...(first.notes ?? {}) });
    // A WARN or oops before any case ran belongs to no case, but the user must see it.
    for (const e of first.consoleEventsSince(0)) run.problems.push(`kernel ${e.kind} while booting, before any case: ${e.line}`);
    sink.flush();
    const tRun = Date.now();
    // The time to the first result is what a bisecting user waits for: keep it.
    const onEvent: Emit = (e) => {
      if (e.type === 'case' && timings.firstResultMs === undefined) timings.firstResultMs = Date.now() - t0;
      emit(e);
    };
    if (req.coverage) {
      if (!kernel?.coverage) throw new KgateError('bug', '--coverage without a gcov kernel');
      const { CoverageRun } = await import('../coverage/index.js');
      coverage = new CoverageRun(kernel.coverage, dir, req.coverage, emit);
    }
    await timedStage(emit, 'suite', { done: () => undefined, failed: (abort) => abort?.reason.split('\n')[0] }, async () => {
      const r = await runSuite({ targets: pending, machines: req.target.kind === 'qemu' ? req.target.jobs : undefined, items: coverage ? coverage.items(selection) : selection, sink, emit: onEvent, signal, env: ctx.env, ...(coverage ? { around: coverage.around } : {}) });
      timings.runMs = Date.now() - tRun;
      if (r.abort) run.abort = r.abort;
      if (ctx.signal.aborted && !run.abort) run.abort = interrupted(ctx.signal);
      else if (sink.fault) run.abort = machineAbort(sink.fault);
      return run.abort;
    });
  } catch (caught) {
    // What the build said, not the abort it caused in the kernel stage or a boot.
    const e = buildError !== undefined && !ctx.signal.aborted ? buildError : caught;
    // Bad input found while starting (an unknown kernel, a missing file) is the user's: one line, exit 2.
    // (finally still stops what was started)
    if (e instanceof KgateError && e.family === 'user' && run.cases.length === 0) {
      stopBuild.abort();
      await Promise.allSettled([suite]);
      await stopAll();
      meta.finish({ error: e.message });
      throw e;
    }
    const fault = sink.fault ?? machineFault(e);
    run.abort = ctx.signal.aborted ? interrupted(ctx.signal)
      : fault ? machineAbort(fault)
      : e instanceof KgateError ? { family: e.family, reason: e.message }
      : { family: 'bug', reason: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    if (e instanceof KgateError && e.detail) run.problems.push(e.detail);
  }
  await stopAll();
  // A crash in a tree kernel kgate built reads as file:line: its cache entry keeps vmlinux and decode_stacktrace.sh.
  if (kernel?.stacktrace && run.cases.some((c) => c.status === 'CRASH')) run.problems.push(...await decodeCrashCases(run.cases, kernel.stacktrace, ctx.signal).catch(() => []));
  if (coverage && !run.abort) await coverageStage(coverage, run, kernel, emit, ctx.signal, timings);
  // Stopped before the suite was built: the cases asked for still show up, from the catalog.
  addMissing(run, req.selection, manifest ? selection : undefined, emit);
  timings.totalMs = Date.now() - t0;
  // run.kernel learnt what the kernel speaks from the suite (RunSink.add)
  runDir.finish(req.selection.ids.length, { timings });
  return { run, dir, exitCode: exitCodeOf(run), timings, kernel };

  async function stopAll() {
    stopBoots();
    await Promise.allSettled(pending);
    await Promise.allSettled(targets.map((t) => t.stop()));
    for (const c of composites) releaseSignal(c);
  }
}

/** After the guests are gone: the counters read during the run, as tracefiles, HTML and coverage.txt. A failure here is the run's (exit 125): coverage was asked for. */
async function coverageStage(coverage: CoverageRun, run: RunResult, kernel: KernelArtifact | undefined, emit: Emit, signal: AbortSignal, timings: Record<string, number>): Promise<void> {
  const t0 = Date.now();
  emit({ type: 'stage', stage: 'coverage', state: 'start' });
  try {
    const k = run.kernel ?? kernel?.identity;
    const s = await coverage.finish(run, [`kgate coverage of run ${run.runId}: ${k ? `${k.describe ?? k.commit ?? ''} ${k.release}`.trim() : 'kernel ?'}, ${run.cases.length} cases, ${run.cases.filter((c) => c.status === 'PASS').length} PASS`], signal);
    timings.coverageMs = Date.now() - t0;
    emit({ type: 'stage', stage: 'coverage', state: 'done', ms: timings.coverageMs, detail: `${s.line}: ${path.join(s.dir, 'coverage.txt')}` });
  } catch (e) {
    const reason = `coverage: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    run.abort = signal.aborted ? interrupted(signal) : { family: e instanceof KgateError ? e.family : 'infra', reason };
    emit({ type: 'stage', stage: 'coverage', state: 'fail', detail: reason });
  }
}

/** Which suite ran: its binaries by name and sha256, and one hash over them (the same build gives the same hash). */
function suiteIdentity(m: BuildManifest): { sha256: string; binaries: Record<string, string> } {
  const binaries = Object.fromEntries(m.binaries.map((b) => [b.name, b.sha256]));
  return { sha256: createHash('sha256').update(JSON.stringify(binaries)).digest('hex'), binaries };
}

/** The interrupt's own words (interrupted by SIGINT or SIGTERM, from cli/run-command), else 'interrupted'. */
function interrupted(signal: AbortSignal): { family: 'interrupt'; reason: string } {
  const r: unknown = signal.reason;
  return { family: 'interrupt', reason: r instanceof KgateError && r.family === 'interrupt' ? r.message : 'interrupted' };
}
