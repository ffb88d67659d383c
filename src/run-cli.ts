// The CLI face of `kgate run`: progress, Ctrl-C, the summary, the exit code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, KgateError } from './model.js';
import { parseKernelSpec } from './kernel/spec.js';
import { assertRoot } from './runner/local.js';
import { makeProgress } from './progress.js';
import { buildEventsTo, type Emit } from './events.js';
import { newRunId, runCommand, type TargetSpec } from './run.js';
import type { WorkItem } from './runner/execute.js';
import type { BuildManifest } from './gen/manifest.js';
import { formatSummaryTable } from './report/index.js';
import { selectCases, type CaseFilter } from './catalog/index.js';
import { generateAndBuild } from './gen/index.js';

export interface RunCliOptions {
  target: string; kernel: string; modules?: string; accel: 'auto' | 'kvm' | 'tcg';
  jobs: number; mem: number; bootTimeout: number; results: string; identity?: string; showCommand?: boolean;
  filter: CaseFilter; buildDir: string; argv: string[];
}

export function targetSpecOf(o: RunCliOptions): TargetSpec {
  if (o.target === 'local') return { kind: 'local' };
  const m = /^ssh:\/\/([^@]+)@([^:]+)(?::(\d+))?$/.exec(o.target);
  if (m) return { kind: 'ssh', user: m[1], host: m[2], port: m[3] ? Number(m[3]) : 22, identity: o.identity };
  return { kind: 'qemu', kernel: o.kernel, modules: o.modules, accel: o.accel, memMB: o.mem, smp: o.jobs > 1 ? 1 : 2, jobs: o.jobs, bootTimeoutSec: o.bootTimeout };
}

/** Switches of the generated suite that kgate passes through to it (docs/suite-protocol.md). */
export function suiteEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['KGATE_ALLOW_PANIC', 'KGATE_FAKE_GENERATION']) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}

/** The manifest's binaries, each with the selected case ids in catalog order. */
export function selectionOf(manifest: BuildManifest, filter: CaseFilter): WorkItem[] {
  const wanted = new Set(selectCases(filter).map((c) => c.id));
  return manifest.binaries
    .map((binary) => ({ binary, caseIds: binary.cases.map((c) => c.id).filter((id) => wanted.has(id)) }))
    .filter((i) => i.caseIds.length > 0);
}

export async function runFromCli(o: RunCliOptions): Promise<number> {
  const spec = targetSpecOf(o);
  if (o.showCommand) {
    if (spec.kind !== 'qemu') throw new KgateError('user', '--show-command needs --target qemu');
    const { showGuestCommand } = await import('./runner/guest-target.js');
    process.stdout.write((await showGuestCommand(spec)) + '\n');
    return EXIT.ok;
  }
  // Validate what can be validated before anything slow happens.
  selectCases(o.filter);
  if (spec.kind === 'local') assertRoot('kgate run --target local');
  if (spec.kind === 'qemu') {
    const k = parseKernelSpec(spec.kernel);
    if (k.kind === 'path' && !existsSync(k.bzImage)) throw new KgateError('user', `kernel image ${k.bzImage} does not exist`);
    if (spec.modules && !existsSync(spec.modules)) throw new KgateError('user', `modules directory ${spec.modules} does not exist`);
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(EXIT.interrupted); // second Ctrl-C: give up on cleanup
    process.stderr.write('\nkgate: interrupted, stopping guests (Ctrl-C again to force)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const progress = makeProgress([
    { key: 'build', title: 'Build suite' },
    { key: 'target', title: spec.kind === 'qemu' ? `Boot ${o.kernel} guest${o.jobs > 1 ? `s (${o.jobs})` : ''}` : `Connect ${o.target}` },
    { key: 'suite', title: 'Run suite' },
  ]);
  const emit: Emit = progress.emit;
  try {
    const tb = Date.now();
    emit({ type: 'stage', stage: 'build', state: 'start' });
    const suite = generateAndBuild({ filter: {}, buildDir: o.buildDir, all: true, signal: controller.signal, onEvent: buildEventsTo(emit) }).then((built) => {
      emit({ type: 'stage', stage: 'build', state: 'done', ms: Date.now() - tb, detail: built.summary });
      return { manifest: built.manifest, selection: selectionOf(built.manifest, o.filter), buildMs: Date.now() - tb };
    }, (e) => {
      emit({ type: 'stage', stage: 'build', state: 'fail', detail: e instanceof Error ? e.message : String(e) });
      throw e;
    });
    suite.catch(() => {}); // awaited by runCommand; never an unhandled rejection if it stops first
    emit({ type: 'stage', stage: 'suite', state: 'start' });
    const out = await runCommand({
      target: spec, suite, resultsRoot: o.results, runId: newRunId(),
      argv: o.argv, signal: controller.signal, emit, env: suiteEnv(),
    });
    emit({ type: 'stage', stage: 'suite', state: out.run.abort ? 'fail' : 'done', detail: out.run.abort?.reason, ms: out.timings.runMs });
    await progress.done();
    process.stdout.write(formatSummaryTable(out.run) + '\n');
    process.stdout.write(`results: ${out.dir}\n`);
    if (out.run.abort) {
      // The one line first, then what the console said last: that is where a boot failure shows.
      process.stderr.write(`kgate: ${out.run.abort.reason.split('\n')[0]}\n`);
      if (out.run.abort.family === 'infra') process.stderr.write(consoleTail(out.dir));
    }
    return out.exitCode;
  } finally {
    await progress.done();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** The last lines the guest's kernel printed (kgate's own notes left out), for an infra failure. */
export function consoleTail(dir: string, n = 15): string {
  const logs = existsSync(dir) ? readdirSync(dir).filter((f) => /^console.*\.log$/.test(f)).sort() : [];
  if (logs.length === 0) return '';
  const file = join(dir, logs.at(-1)!);
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('kgate: ') && !l.startsWith('qemu-system'));
  if (lines.length === 0) return `  console (${file}): empty, the kernel printed nothing\n`;
  return `  console tail (${file}):\n` + lines.slice(-n).map((l) => `  | ${l}`).join('\n') + '\n';
}
