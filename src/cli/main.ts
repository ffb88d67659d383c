// kgate's one entry. Each subcommand calls one stage (gen, build, parse) or
// composes them (run); errors are mapped to exit codes here and only here.
import { Command, CommanderError } from 'commander';
import { EXIT, KgateError, exitCodeFor, exitCodeOf } from '../model.js';
import { makeProgress } from './progress.js';
import { timedStage, type Emit } from '../events.js';
import { runInputsOf, selectionOf } from './inputs.js';
import { COMMANDS, addOptions, commandLine, reproducerArgv, type CommandName } from './options.js';
import { machineFault } from '../util/machine-fault.js';

/** A command's options, from the option table (options.ts). */
const withOptions = (cmd: Command, name: CommandName) => addOptions(cmd, COMMANDS[name]);
/** The command line that gives this command's values again: from the option table, not the argv as typed. */
const again = (name: CommandName, raw: Record<string, unknown>) => reproducerArgv(name, raw, argv);
/** The same, with the line that pins --kernel once the run resolved it. */
const lineOf = (name: CommandName, raw: Record<string, unknown>) => commandLine(name, raw, argv);

interface FilterOpts { case: string[]; family: string[]; api: string[] }

async function main(argv: string[]): Promise<number> {
  const program = new Command('kgate')
    .description('FUSE passthrough test suite: generate, build, run in QEMU guests, judge')
    .exitOverride()
    .configureOutput({
      // Commander's own errors become one line and exit 2 (see catch below).
      writeErr: () => {},
    })
    .showHelpAfterError(false);
  let exitCode: number = EXIT.ok;

  withOptions(program.command('list').description('list the cases of the catalog'), 'list').action(async (o: FilterOpts) => {
    const { getCase } = await import('../catalog/index.js');
    for (const c of selectionOf(o).ids.map(getCase)) {
      process.stdout.write(`${c.id.padEnd(22)} ${c.family.padEnd(14)} ${c.api.padEnd(9)} ${c.expected.padEnd(10)} ${c.setup}\n`);
    }
  });

  withOptions(program.command('gen').description('render the catalog to C sources'), 'gen')
    .action(async (o: FilterOpts & { out: string }) => {
      const { generate } = await import('../gen/index.js');
      const { filter } = selectionOf(o);
      const r = await withBuildProgress('Render suite', (emit) => timedStage(emit, 'build', SAID_BELOW, () => generate({ filter, buildDir: o.out })));
      process.stdout.write(`${r.summary}\n`);
    });

  withOptions(program.command('build').description('render and compile the suite into static binaries'), 'build')
    .action(async (o: FilterOpts & { out: string; force?: boolean }) => {
      const { buildStage } = await import('../gen/index.js');
      const { filter } = selectionOf(o);
      const r = await withBuildProgress('Build suite', (emit) => buildStage({ filter, buildDir: o.out, force: o.force }, emit, SAID_BELOW));
      process.stdout.write(`${r.summary}\n`);
    });

  withOptions(program.command('run').description('build the suite, run it on a target, report and judge'), 'run')
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const inputs = runInputsOf(raw);
      const { runFromCli } = await import('./run-command.js');
      exitCode = await runFromCli(inputs, lineOf('run', raw));
    });

  withOptions(program.command('bisect-step')
    .description('for `git bisect run`: build the checkout in the current directory, run the cases, exit 0 good, 1 bad, 125 skip'), 'bisect-step')
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const { bisectStepFromCli } = await import('./bisect-command.js');
      exitCode = await bisectStepFromCli(raw, again('bisect-step', raw));
    });

  withOptions(program.command('bisect')
    .description('find the commit that changed a case: git bisect in a scratch clone, never in your checkout'), 'bisect')
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const { bisectFromCli } = await import('./bisect-command.js');
      exitCode = await bisectFromCli(raw, again('bisect', raw));
    });

  withOptions(program.command('gate')
    .description('apply each revision of a patch series on base (in a scratch repository), build, run, and say what changed'), 'gate')
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const { gateFromCli } = await import('./gate-command.js');
      exitCode = await gateFromCli(raw, again('gate', raw));
    });

  withOptions(program.command('nightly')
    .description('run a matrix of kernels by case selections (nightly.yaml), compare each cell with its last night, write the reports'), 'nightly')
    .action(async (raw: Record<string, unknown>) => {
      const { nightlyFromCli } = await import('./nightly-command.js');
      exitCode = await nightlyFromCli(raw, again('nightly', raw));
    });

  withOptions(program.command('merge').description('join the shards of one nightly (or one run) into one, with its reports')
    .argument('<dirs...>', 'the shards\' result directories'), 'merge')
    .action(async (dirs: string[], o: { out?: string }) => {
      const { mergeFromCli } = await import('./nightly-command.js');
      exitCode = mergeFromCli(dirs, o);
    });

  const lava = program.command('lava').description('run the suite on a LAVA lab: the job, its submission, its results');
  withOptions(lava.command('job').description('write the LAVA job (YAML) and its artifacts; print the job file'), 'lava job')
    .action(async (raw: Record<string, unknown>) => {
      const { lavaJobFromCli } = await import('./lava-command.js');
      exitCode = await lavaJobFromCli(raw, lineOf('lava job', raw));
    });
  withOptions(lava.command('submit').description('submit the job to a LAVA server; with --wait, its results as a run directory'), 'lava submit')
    .action(async (raw: Record<string, unknown>) => {
      const { lavaSubmitFromCli } = await import('./lava-command.js');
      exitCode = await lavaSubmitFromCli(raw, lineOf('lava submit', raw));
    });
  withOptions(lava.command('fetch').description('fetch a finished job\'s results and log into its run directory')
    .argument('[job]', 'the LAVA job id (default: the one recorded in --dir)'), 'lava fetch')
    .action(async (job: string | undefined, raw: Record<string, unknown>) => {
      const { lavaFetchFromCli } = await import('./lava-command.js');
      exitCode = await lavaFetchFromCli(job, raw, [...again('lava fetch', raw), ...(job !== undefined ? [job] : [])]);
    });

  const exp = program.command('export').description('the suite in another test framework\'s form');
  withOptions(exp.command('kselftest').description('write a selftest directory (lib.mk, config, settings, KTAP via kselftest.h) for tools/testing/selftests'), 'export kselftest')
    .action(async (o: FilterOpts & { out?: string; tree?: string }) => {
      const { exportFromCli } = await import('./export-command.js');
      exitCode = await exportFromCli(o);
    });

  withOptions(program.command('exec').description('boot the kernel in a guest, copy a directory in, run one shell command there')
    .argument('<command...>', 'the command, run by the guest\'s sh -c'), 'exec')
    .action(async (command: string[], raw: Record<string, unknown>) => {
      const { execFromCli } = await import('./exec-command.js');
      exitCode = await execFromCli(command, raw);
    });

  const kernel = program.command('kernel').description('the kernel stage alone');
  withOptions(kernel.command('build').description('fetch or build the kernel a --kernel names; print its image and identity'), 'kernel build')
    .action(async (raw: Record<string, unknown>) => {
      const { kernelBuildFromCli } = await import('./kernel-command.js');
      exitCode = await kernelBuildFromCli(raw);
    });

  withOptions(program.command('kernels').description("list Debian's cloud kernels (every suite, through kgate's own apt): series, version, suite, cached"), 'kernels')
    .action(async (raw: Record<string, unknown>) => {
      const { kernelsFromCli } = await import('./kernels-command.js');
      exitCode = await kernelsFromCli(raw);
    });

  program.command('coverage').description('coverage of kgate run --coverage runs')
    .command('diff').description('the error exits newly hit and no longer hit from RUN_A to RUN_B (results directories); exit 1 when one is no longer hit')
    .argument('<run-a>').argument('<run-b>')
    .action(async (a: string, b: string) => {
      const { diffExits, readCoverageRows, renderDiff } = await import('../coverage/diff.js');
      const d = diffExits(readCoverageRows(a), readCoverageRows(b));
      process.stdout.write(renderDiff(d, a, b) + '\n');
      exitCode = d.noLongerHit.length > 0 ? EXIT.fail : EXIT.ok;
    });

  withOptions(program.command('parse').description('parse a KTAP/TAP log (kselftest, KUnit, kgate) and print the summary')
    .argument('<file>', 'log file, a results directory, or - for stdin'), 'parse')
    .action(async (file: string, o: { json?: boolean }) => {
      const { parseLog, formatParseSummary, parsedLogToRun } = await import('../tap/index.js');
      const { formatSummaryTable } = await import('../report/index.js');
      const { readParseInput } = await import('./parse-input.js');
      const parsed = parseLog(readParseInput(file));
      process.stdout.write(o.json ? JSON.stringify(parsed.cases, null, 2) + '\n'
        : `${formatSummaryTable(parsedLogToRun(parsed, { target: file, runId: `${file === '-' ? 'stdin' : file} (parsed)` }))}\n${formatParseSummary(parsed)}\n`);
      exitCode = parsed.cases.length === 0 ? EXIT.usage : exitCodeOf(parsed);
    });

  await program.parseAsync(argv, { from: 'user' });
  return exitCode;
}

/** gen's and build's stage ends with no detail: the summary is printed below the display. */
const SAID_BELOW = { done: () => undefined, failDetail: (e: unknown) => (e instanceof Error ? e.message : String(e)) };

/** A one-stage progress display around gen or build. */
async function withBuildProgress<T>(title: string, stage: (emit: Emit) => Promise<T>): Promise<T> {
  const progress = makeProgress([{ key: 'build', title }]);
  try {
    return await stage(progress.emit);
  } finally {
    await progress.done();
  }
}

function oneLine(s: string): string {
  return s.replace(/^error: /, '').split('\n')[0].trim();
}

const argv = process.argv.slice(2);
/**
 * Under `git bisect run`, 2 would mean "bad" and 125 "skip": a usage error or
 * a bug of kgate's own must stop the bisect instead (255), or git names a
 * wrong commit. Every other command keeps docs/design.md's codes.
 */
const forBisect = (code: number) => (argv[0] === 'bisect-step' && (code === EXIT.usage || code === EXIT.untestable) ? 255 : code);

/** Every error that ends kgate, as one line and an exit code: commander's, kgate's, the machine's, or a bug. */
function reportFatal(e: unknown): void {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
      process.exitCode = EXIT.ok;
      return;
    }
    process.stderr.write(`kgate: ${oneLine(e.message)} (see kgate --help)\n`);
    process.exitCode = forBisect(EXIT.usage);
    return;
  }
  if (e instanceof KgateError) {
    process.stderr.write(`kgate: ${e.message}\n`);
    process.exitCode = e.family === 'infra' ? exitCodeFor(e.family) : forBisect(exitCodeFor(e.family));
    return;
  }
  // A fault of the machine (a full disk, no file descriptors left) is not kgate's bug: say what and where.
  // 125, also under git bisect run: the commit was not judged, so it is skipped, not blamed.
  const fault = machineFault(e);
  if (fault) {
    process.stderr.write(`kgate: ${fault.message}\n`);
    process.exitCode = EXIT.untestable;
    return;
  }
  // A bug in kgate: say so on one line, keep the stack for whoever reports it.
  process.stderr.write(`kgate: internal error: ${e instanceof Error ? e.message : String(e)} (a bug of kgate's: please report it with the output of KGATE_DEBUG=1)\n`);
  if (process.env.KGATE_DEBUG) process.stderr.write(`${e instanceof Error ? e.stack : ''}\n`);
  process.exitCode = forBisect(EXIT.untestable);
}

// Thrown outside main's promise (a stream's 'error' nobody heard, a module that failed to load under a
// tiny ulimit -n): Node would print its stack and exit 1, which git bisect run reads as "bad".
const fatalOutside = (e: unknown) => { reportFatal(e); process.exit(); };
process.on('uncaughtException', fatalOutside);
process.on('unhandledRejection', fatalOutside);

main(argv).then(
  (code) => { process.exitCode = code; },
  reportFatal,
);
