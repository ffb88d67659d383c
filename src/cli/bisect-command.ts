// The CLI faces of bisect: `kgate bisect-step` (one step, for git bisect run)
// and `kgate bisect` (the whole search, in a scratch clone).
import path from 'node:path';
import { z } from 'zod';
import { makeSelection, type Selection } from '../catalog/selection.js';
import { KgateError } from '../model.js';
import { treeKernelRequest } from '../kernel/index.js';
import { assertGitTree, git } from '../util/git.js';
import { runStep } from '../bisect/step.js';
import { runBisect } from '../bisect/driver.js';
import { formatBisectText } from '../bisect/report.js';
import { BISECT_EXIT } from '../bisect/verdict.js';
import { parseOpts, qemuTargetOf, failedCasesIn } from './inputs.js';
import { COMMANDS, schemaOf } from './options.js';
import { jobLog, runProgress } from './run-progress.js';
import { interruptible, suiteEnv } from './run-command.js';

// bisect's rows; bisect-step takes the same but --good/--bad (and --tree has a default).
const BisectOpts = schemaOf(COMMANDS.bisect);
type BisectInputs = z.infer<typeof BisectOpts>;

function inputsOf(raw: unknown): { o: BisectInputs; selection: Selection } {
  const o = parseOpts(BisectOpts, raw);
  if (o.threshold !== undefined && o.threshold > o.repeat) throw new KgateError('user', `--threshold ${o.threshold} is more than --repeat ${o.repeat}`);
  const failed = o.failedIn.flatMap(failedCasesIn);
  if (o.failedIn.length > 0 && failed.length === 0) throw new KgateError('user', `no case failed in ${o.failedIn.join(', ')}: nothing to bisect`);
  const selection = makeSelection({ cases: [...o.case, ...failed], families: o.family, apis: o.api });
  return { o, selection };
}

export async function bisectStepFromCli(raw: unknown, argv: string[]): Promise<number> {
  const { o, selection } = inputsOf(raw);
  const tree = path.resolve(o.tree);
  await assertGitTree(tree);
  const head = (await git(tree, ['rev-parse', 'HEAD'])).stdout.trim();
  const subject = (await git(tree, ['show', '-s', '--format=%s', 'HEAD'])).stdout.trim();
  const env = suiteEnv();
  const progress = runProgress(`${head.slice(0, 12)} ${subject}`.slice(0, 60));
  const r = await interruptible((signal) => runStep({
    kernel: treeKernelRequest(tree, undefined, { baseConfig: o.baseConfig, fragments: o.configFragment }),
    target: qemuTargetOf(o), selection, repeat: o.repeat, threshold: o.threshold,
  }, { buildDir: o.buildDir, resultsRoot: o.results, argv, signal, emit: progress.emit, env }));
  await progress.done();
  const d = r.decision;
  const build = r.kernel ? (r.cached ? 'kernel cached' : `built in ${((r.buildMs ?? 0) / 1000).toFixed(1)} s`) : 'no kernel';
  process.stderr.write(`kgate bisect-step: ${head.slice(0, 12)} ${d.verdict}: ${d.why} (${build}; runs: ${r.runs.map((x) => x.dir).join(', ') || 'none'})\n`);
  return d.exit;
}

export async function bisectFromCli(raw: unknown, argv: string[]): Promise<number> {
  const { o, selection } = inputsOf(raw);
  if (!o.good || !o.bad) throw new KgateError('user', 'kgate bisect needs --good REF and --bad REF');
  const progress = runProgress('bisect');
  try {
    const report = await interruptible((signal) => runBisect({
      tree: o.tree, good: o.good!, bad: o.bad!, selection, repeat: o.repeat, threshold: o.threshold,
      baseConfig: o.baseConfig, fragments: o.configFragment, target: qemuTargetOf(o), buildDir: o.buildDir,
      resultsRoot: o.results, argv, signal, emit: progress.emit,
      log: jobLog('bisect'), ...(o.reporter ? { reporter: o.reporter } : {}),
    }));
    await progress.done();
    process.stdout.write(formatBisectText(report));
    process.stdout.write(`results: ${report.dir}\n`);
    // 0: a culprit the checks confirmed; 1: a culprit named but not confirmed (see bisect.txt's checks); 125: no single culprit.
    return report.outcome !== 'found' ? BISECT_EXIT.skip : report.checks?.verified === false ? 1 : 0;
  } finally {
    await progress.done();
  }
}
