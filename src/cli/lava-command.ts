// The CLI faces of `kgate lava job|submit|fetch`: inputs parsed here, the work
// in src/lava, one line and an exit code out.
import { EXIT } from '../model.js';
import { kernelRequestOf, parseOpts, selectionOf } from './inputs.js';
import { COMMANDS, LAVA_SERVER, schemaOf } from './options.js';
import { interruptible, suiteEnv } from './run-command.js';
import { jobLog } from './run-progress.js';
import { plainProgress } from './progress.js';
import type { RunContext } from '../session/context.js';
import { formatSummaryTable } from '../report/index.js';

const JobOpts = schemaOf(COMMANDS['lava job']);
const ServerOpts = schemaOf(LAVA_SERVER);

type CommandLine = Pick<RunContext, 'argv' | 'pinKernel'>;

/** The job's request, and the context its stages share (their events as plain lines). */
function prepareInputs(raw: Record<string, unknown>, line: CommandLine) {
  const o = parseOpts(JobOpts, raw);
  return {
    req: { kernel: kernelRequestOf(o), selection: selectionOf(raw), memMB: o.mem, bootTimeoutSec: o.bootTimeout, artifactUrl: o.artifactUrl },
    ctx: (signal: AbortSignal): RunContext => ({ buildDir: o.buildDir, resultsRoot: o.results, ...line, signal, emit: plainProgress().emit, env: suiteEnv() }),
  };
}

/** `kgate lava job`: the job YAML (and its artifacts) in a new results directory; prints the job's path. */
export async function lavaJobFromCli(raw: Record<string, unknown>, line: CommandLine): Promise<number> {
  const { req, ctx } = prepareInputs(raw, line);
  const { prepareLavaJob } = await import('../lava/prepare.js');
  const job = await interruptible((signal) => prepareLavaJob(req, ctx(signal)));
  process.stdout.write(`${job.jobPath}\n`);
  return EXIT.ok;
}

/** `kgate lava submit`: prepare, submit over REST, and with --wait poll, fetch and judge. */
export async function lavaSubmitFromCli(raw: Record<string, unknown>, line: CommandLine): Promise<number> {
  const { req, ctx } = prepareInputs(raw, line);
  const s = parseOpts(ServerOpts, raw);
  const { submitToLava } = await import('../lava/run.js');
  const out = await interruptible((signal) => submitToLava({ ...req, server: { url: s.url, tokenFile: s.tokenFile }, wait: raw.wait === true, pollTimeoutSec: s.pollTimeout }, ctx(signal)));
  return report(out);
}

/** `kgate lava fetch JOB`: a finished job's results again (over REST, or from lava-run's output with --dispatcher-output). */
export async function lavaFetchFromCli(jobArg: string | undefined, raw: Record<string, unknown>, argv: string[]): Promise<number> {
  const { fetchFromLava, importDispatcherRun } = await import('../lava/run.js');
  const log = jobLog('lava');
  const dirOpt = typeof raw.dir === 'string' ? raw.dir : undefined;
  if (typeof raw.dispatcherOutput === 'string') {
    const { KgateError } = await import('../model.js');
    if (!dirOpt) throw new KgateError('user', 'kgate lava fetch --dispatcher-output LOG needs --dir (the directory kgate lava job wrote)');
    return report(await importDispatcherRun({ dir: dirOpt, log: raw.dispatcherOutput, argv }));
  }
  const s = parseOpts(ServerOpts, raw);
  const out = await interruptible((signal) => fetchFromLava({ job: jobArg, dir: dirOpt, resultsRoot: typeof raw.results === 'string' ? raw.results : 'results',
    server: { url: s.url, tokenFile: s.tokenFile }, argv, signal, log, pollTimeoutSec: s.pollTimeout }));
  return report(out);
}

function report(out: { run?: import('../model.js').RunResult; dir: string; exitCode: number; line?: string }): number {
  if (out.run && out.run.cases.length > 0) process.stdout.write(formatSummaryTable(out.run) + '\n');
  process.stdout.write(`results: ${out.dir}\n`);
  if (out.line) process.stderr.write(`kgate: ${out.line}\n`);
  return out.exitCode;
}
