// The CLI face of `kgate run`: progress, Ctrl-C, the summary, the exit code.
// The run itself is the session's runOnce; this file only maps it to output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, KgateError } from '../model.js';
import { assertRoot } from '../runner/local.js';
import { makeProgress } from './progress.js';
import { runOnce } from '../session/run-once.js';
import type { RunContext } from '../session/context.js';
import { consoleLogs } from '../session/run-dir.js';
import { formatSummaryTable } from '../report/index.js';
import type { RunInputs } from './inputs.js';

/** KGATE_FAULT's names, as the suite's kg_fault (templates/c/server.c.hbs) knows them; test/unit/gen/build.test.ts holds the two together. */
export const SUITE_FAULTS = ['no-passthrough', 'corrupt-backing'] as const;

/** Switches of the generated suite that kgate passes through to it (docs/suite-protocol.md). */
export function suiteEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['KGATE_ALLOW_PANIC', 'KGATE_FAKE_GENERATION', 'KGATE_FAULT']) if (env[k] !== undefined) out[k] = env[k]!;
  // a bad name would end every binary with exit 2 before its first case: say it once, here
  const bad = (out.KGATE_FAULT ?? '').split(',').filter((f) => f && !(SUITE_FAULTS as readonly string[]).includes(f));
  if (bad.length > 0) throw new KgateError('user', `KGATE_FAULT=${out.KGATE_FAULT}: unknown fault '${bad[0]}'; known: ${SUITE_FAULTS.join(', ')}`);
  return out;
}

/**
 * Ctrl-C and SIGTERM (what CI job timeouts and timeout(1) send) take one path:
 * the first aborts the signal, with 'interrupted by SIGINT|SIGTERM' as its
 * reason, and the run stops its guests, keeps its results and writes its
 * metadata; a second one gives up on cleanup. The exit code says which signal
 * it was, 128 + its number: 130 for SIGINT, 143 for SIGTERM (an exit hook
 * turns the 130 of an interrupted run into 143, so every command that runs
 * under this, whoever maps its errors, exits as a terminated process should).
 */
export function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const on = (name: 'SIGINT' | 'SIGTERM') => () => {
    const code = name === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
    if (++interrupts > 1) process.exit(code);
    if (name === 'SIGTERM') process.once('exit', (c) => { if (c === EXIT.interrupted) process.exitCode = EXIT.terminated; });
    process.stderr.write(name === 'SIGINT' ? '\nkgate: interrupted, stopping guests (Ctrl-C again to force)\n'
      : '\nkgate: terminated (SIGTERM), stopping guests (SIGTERM again to force)\n');
    controller.abort(new KgateError('interrupt', `interrupted by ${name}`));
  };
  const onSigint = on('SIGINT');
  const onSigterm = on('SIGTERM');
  // The event loop emptied while the run was still awaited: a promise nothing can
  // settle any more (seen: an SFTP upload whose guest was killed under it). Node
  // would exit 0 with nothing said; say so and exit as what stopped it.
  const onBeforeExit = () => {
    process.stderr.write('kgate: internal error: the run was left waiting on work that can no longer finish\n');
    process.exitCode = interrupts > 0 ? EXIT.interrupted : EXIT.untestable;
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('beforeExit', onBeforeExit);
  return fn(controller.signal).finally(() => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('beforeExit', onBeforeExit);
  });
}

export async function runFromCli(o: RunInputs, line: Pick<RunContext, 'argv' | 'pinKernel'>): Promise<number> {
  const { target } = o;
  if (o.showCommand) {
    if (target.kind !== 'qemu') throw new KgateError('user', '--show-command needs --target qemu');
    const { resolveKernel } = await import('../kernel/index.js');
    const { showGuestCommand } = await import('../runner/guest-target.js');
    process.stdout.write(await showGuestCommand(target, await resolveKernel(o.kernel)) + '\n');
    return EXIT.ok;
  }
  if (target.kind === 'local') assertRoot('kgate run --target local');
  const env = suiteEnv();   // before anything starts: a bad KGATE_FAULT is one line and exit 2

  const progress = makeProgress([
    ...(target.kind === 'qemu' ? [{ key: 'kernel', title: `Kernel ${o.kernel.spec.text}` }] : []),
    { key: 'build', title: 'Build suite' },
    { key: 'target', title: target.kind === 'qemu' ? `Boot guest${target.jobs > 1 ? `s (${target.jobs})` : ''}` : `Connect ${target.kind}` },
    { key: 'suite', title: 'Run suite' },
    ...(o.coverage ? [{ key: 'coverage', title: 'Coverage' }] : []),
  ]);
  try {
    const out = await interruptible((signal) => runOnce({
      kernel: o.kernel, target, selection: o.selection, ...(o.shard ? { shard: o.shard } : {}), ...(o.coverage ? { coverage: o.coverage } : {}),
    }, { buildDir: o.buildDir, resultsRoot: o.results, argv: line.argv, ...(target.kind === 'qemu' ? { pinKernel: line.pinKernel } : {}), signal, emit: progress.emit, env }));
    await progress.done();
    process.stdout.write(formatSummaryTable(out.run) + '\n');
    process.stdout.write(`results: ${out.dir}\n`);
    if (o.coverage && !out.run.abort) process.stdout.write(`coverage: ${join(out.dir, 'coverage', 'coverage.txt')} (HTML: ${join(out.dir, 'coverage', 'html', 'index.html')})\n`);
    if (out.run.abort?.fault === 'machine') {
      // The machine's fault, not the kernel's: one line, and the results are the summary above (not all of them reached the disk).
      const got = out.run.cases.some((c) => c.status !== 'MISS');
      process.stderr.write(`kgate: ${out.run.abort.reason}${got ? '; the run stopped, its results so far are on stdout' : ''}\n`);
    } else if (out.run.abort) {
      // The one line first, then what the console said last: that is where a boot failure shows.
      process.stderr.write(`kgate: ${out.run.abort.reason.split('\n')[0]}\n`);
      if (out.run.abort.family === 'infra') process.stderr.write(consoleTail(out.dir));
    }
    return out.exitCode;
  } finally {
    await progress.done();
  }
}

/** The last lines the guest's kernel printed (kgate's own notes left out), for an infra failure. */
export function consoleTail(dir: string, n = 15): string {
  const file = consoleLogs(dir).at(-1);
  if (!file) return '';
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('kgate: ') && !l.startsWith('qemu-system'));
  if (lines.length === 0) return `  console (${file}): empty, the kernel printed nothing\n`;
  return `  console tail (${file}):\n` + lines.slice(-n).map((l) => `  | ${l}`).join('\n') + '\n';
}
