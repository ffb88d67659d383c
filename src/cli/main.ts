// kgate's one entry. Each subcommand calls one stage (gen, build, parse) or
// composes them (run); errors are mapped to exit codes here and only here.
import { Command, CommanderError, Option } from 'commander';
import { resolve } from 'node:path';
import { EXIT, KgateError, exitCodeFor, exitCodeOf } from '../model.js';
import { makeProgress } from './progress.js';
import { projectRoot } from '../util/paths.js';
import { buildEventsTo } from '../gen/stage.js';
import type { BuildEvent } from '../gen/build.js';
import { runInputsOf, selectionOf } from './inputs.js';
import { machineFault } from '../util/machine-fault.js';

const root = projectRoot();
const caseFilterOptions = (cmd: Command) =>
  cmd
    .option('--case <ids>', 'case ids or rows, comma-separated (U03, U03.dir)', collect, [])
    .option('--family <names>', 'case families, comma-separated', collect, [])
    .option('--api <gens>', 'API generations: upstream, a1, a2, r8', collect, []);

/** Tree builds: the config the kernel stage starts from and what it merges on top. */
const treeOptions = (cmd: Command) =>
  cmd
    .option('--base-config <base>', 'tree builds: tiny (default), defconfig, debian or a .config file')
    .option('--config-fragment <file>', 'tree builds: a config fragment merged on top (repeatable)', (v: string, p: string[]) => p.concat(v), [] as string[]);

/** The QEMU guest the kernel under test boots in. */
const guestOptions = (cmd: Command) =>
  cmd
    .option('--accel <accel>', 'auto | kvm | tcg (auto falls back to TCG when KVM fails; default: $KGATE_ACCEL, else auto)')
    .option('--mem <mib>', 'guest memory', '1024')
    .option('--boot-timeout <s>', 'seconds a guest may take to answer SSH', '120');

const outputOptions = (cmd: Command) =>
  cmd
    .option('--results <dir>', 'results root', resolve(root, 'results'))
    .option('--build-dir <dir>', 'build directory of the suite', resolve(root, 'build'));

/** What a bisect step runs and how it tells flaky from bad (bisect-step and bisect). */
/** Who the report's trailers name (bisect, gate). */
const reporterOption = (cmd: Command) =>
  cmd.option('--reporter <"Name <address>">', 'the Reported-by:/Tested-by: of the report (default: $KGATE_REPORTER; none: the lines to fill in)');

const bisectOptions = (cmd: Command) =>
  reporterOption(cmd)
    .option('--failed-in <dir>', 'the cases that failed in this results directory (repeatable)', collect, [])
    .option('--repeat <n>', 'runs per step; flaky steps are skipped', '1')
    .option('--threshold <k>', 'failing runs (of --repeat) that make a step bad (default: all of them)');

function collect(v: string, prev: string[]): string[] {
  return prev.concat(v.split(',').map((s) => s.trim()).filter(Boolean));
}

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

  caseFilterOptions(program.command('list').description('list the cases of the catalog')).action(async (o: FilterOpts) => {
    const { getCase } = await import('../catalog/index.js');
    for (const c of selectionOf(o).ids.map(getCase)) {
      process.stdout.write(`${c.id.padEnd(22)} ${c.family.padEnd(14)} ${c.api.padEnd(9)} ${c.expected.padEnd(10)} ${c.setup}\n`);
    }
  });

  caseFilterOptions(program.command('gen').description('render the catalog to C sources'))
    .option('--out <dir>', 'build directory', resolve(root, 'build'))
    .action(async (o: FilterOpts & { out: string }) => {
      const { generate } = await import('../gen/index.js');
      const { filter } = selectionOf(o);
      const r = await withBuildProgress('Render suite', () => generate({ filter, buildDir: o.out }));
      process.stdout.write(`${r.summary}\n`);
    });

  caseFilterOptions(program.command('build').description('render and compile the suite into static binaries'))
    .option('--out <dir>', 'build directory', resolve(root, 'build'))
    .option('--force', 'recompile even what is up to date')
    .action(async (o: FilterOpts & { out: string; force?: boolean }) => {
      const { generateAndBuild } = await import('../gen/index.js');
      const { filter } = selectionOf(o);
      const r = await withBuildProgress('Build suite', (onEvent) => generateAndBuild({ filter, buildDir: o.out, onEvent, force: o.force }));
      process.stdout.write(`${r.summary}\n`);
    });

  const run = caseFilterOptions(program.command('run').description('build the suite, run it on a target, report and judge'))
    .addOption(new Option('--target <target>', 'local | qemu | ssh://user@host:port').default('qemu'))
    .option('--kernel <spec>', 'debian:6.12, debian:6.12.107, debian:7.3, debian:latest, tree:PATH[@REF], or a bzImage path', 'debian:6.12')
    .option('--modules <dir>', 'modules tree for a --kernel bzImage (lib/modules/<release>)');
  outputOptions(guestOptions(treeOptions(run)))
    .option('--jobs <n>', 'guests to shard the suite over', '1')
    .option('--identity <file>', 'SSH private key for --target ssh://')
    .option('--show-command', 'print the QEMU command line and exit')
    .option('--coverage [per]', 'tree kernels: build fs/fuse with gcov and write the suite\'s kernel coverage to results/<run>/coverage/, attributed per family (default) or per case')
    .option('--shard <i/n>', 'run share I of N of the selected cases (kgate merge joins the shards); CI_NODE_INDEX/CI_NODE_TOTAL or JOB_COMPLETION_INDEX otherwise')
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const inputs = runInputsOf(raw);
      const { runFromCli } = await import('./run-command.js');
      exitCode = await runFromCli(inputs, argv);
    });

  bisectOptions(outputOptions(guestOptions(treeOptions(caseFilterOptions(program.command('bisect-step')
    .description('for `git bisect run`: build the checkout in the current directory, run the cases, exit 0 good, 1 bad, 125 skip')))))
    .option('--tree <dir>', 'the kernel tree (default: the current directory)', '.'))
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const { bisectStepFromCli } = await import('./bisect-command.js');
      exitCode = await bisectStepFromCli(raw, argv);
    });

  bisectOptions(outputOptions(guestOptions(treeOptions(caseFilterOptions(program.command('bisect')
    .description('find the commit that changed a case: git bisect in a scratch clone, never in your checkout')))))
    .requiredOption('--tree <dir>', 'the kernel tree')
    .requiredOption('--good <ref>', 'a commit where the cases behave as expected')
    .requiredOption('--bad <ref>', 'a later commit where they do not'))
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const { bisectFromCli } = await import('./bisect-command.js');
      exitCode = await bisectFromCli(raw, argv);
    });

  reporterOption(outputOptions(guestOptions(treeOptions(caseFilterOptions(program.command('gate')
    .description('apply each revision of a patch series on base (in a scratch repository), build, run, and say what changed'))))))
    .requiredOption('--tree <dir>', 'the kernel tree')
    .option('--base <ref>', 'the commit the series applies on (default: the series\' base-commit:, or its range\'s start)')
    .option('--series <s>', '[NAME=]an mbox, a directory of .patch files, or a range A..B of the tree (repeatable, oldest revision first)', (v: string, p: string[]) => p.concat(v), [] as string[])
    .option('--per-patch', 'also build and test after each patch of the newest revision')
    .option('--repeat <n>', 'runs per revision, to tell flaky cases', '1')
    .option('--format <f>', 'text (default) or junit on stdout', 'text')
    .action(async (raw: FilterOpts & Record<string, unknown>) => {
      const { gateFromCli } = await import('./gate-command.js');
      exitCode = await gateFromCli(raw, argv);
    });

  outputOptions(program.command('nightly')
    .description('run a matrix of kernels by case selections (nightly.yaml), compare each cell with its last night, write the reports'))
    .requiredOption('--config <file>', 'the nightly.yaml')
    .option('--plan', 'print the cells and what each will build or fetch, and exit')
    .option('--date <yyyy-mm-dd>', 'the night (default: today, UTC)')
    .option('--skip-unchanged', 'do not run a cell whose kernel is the same as on its last night')
    .option('--resume', 'finish an interrupted night: cells it finished are kept')
    .option('--shard <i/n>', 'run share I of N of the cells (or of the cases); CI_NODE_INDEX/CI_NODE_TOTAL or JOB_COMPLETION_INDEX otherwise')
    .option('--accel <accel>', 'auto | kvm | tcg (default: the file\'s, else $KGATE_ACCEL, else auto)')
    .action(async (raw: Record<string, unknown>) => {
      const { nightlyFromCli } = await import('./nightly-command.js');
      exitCode = await nightlyFromCli(raw, argv);
    });

  program.command('merge').description('join the shards of one nightly (or one run) into one, with its reports')
    .argument('<dirs...>', 'the shards\' result directories')
    .option('--out <dir>', 'where the merged night or run goes (default: the first shard\'s name + .merged)')
    .action(async (dirs: string[], o: { out?: string }) => {
      const { mergeFromCli } = await import('./nightly-command.js');
      exitCode = mergeFromCli(dirs, o);
    });

  const lava = program.command('lava').description('run the suite on a LAVA lab: the job, its submission, its results');
  const lavaRunOptions = (cmd: Command) => outputOptions(treeOptions(caseFilterOptions(cmd))
    .option('--kernel <spec>', 'debian:6.12, debian:6.12.107, debian:6.1, tree:PATH[@REF], or a bzImage path', 'debian:6.12')
    .option('--modules <dir>', 'modules tree for a --kernel bzImage (lib/modules/<release>)')
    .option('--mem <mib>', 'guest memory', '1024')
    .option('--boot-timeout <s>', 'seconds the boot may take', '120')
    .option('--artifact-url <url>', 'the URL the lab reaches the job\'s artifacts/ at (default: file:// of it)'));
  const lavaServerOptions = (cmd: Command) => cmd
    .option('--url <url>', 'the LAVA server (REST API v0.2)')
    .option('--token-file <file>', 'a file holding the API token (never given on the command line)')
    .option('--poll-timeout <s>', 'seconds to wait for the job to finish', '3600');
  lavaRunOptions(lava.command('job').description('write the LAVA job (YAML) and its artifacts; print the job file'))
    .action(async (raw: Record<string, unknown>) => {
      const { lavaJobFromCli } = await import('./lava-command.js');
      exitCode = await lavaJobFromCli(raw, argv);
    });
  lavaServerOptions(lavaRunOptions(lava.command('submit').description('submit the job to a LAVA server; with --wait, its results as a run directory')))
    .option('--wait', 'poll until the job ends, fetch its results and log, judge them')
    .action(async (raw: Record<string, unknown>) => {
      const { lavaSubmitFromCli } = await import('./lava-command.js');
      exitCode = await lavaSubmitFromCli(raw, argv);
    });
  lavaServerOptions(lava.command('fetch').description('fetch a finished job\'s results and log into its run directory')
    .argument('[job]', 'the LAVA job id (default: the one recorded in --dir)')
    .option('--dir <dir>', 'the run directory kgate lava job/submit wrote')
    .option('--results <dir>', 'results root for a job kgate did not submit', resolve(root, 'results'))
    .option('--dispatcher-output <log>', 'read the job log lava-run wrote (the dispatcher alone, no server) instead of a server'))
    .action(async (job: string | undefined, raw: Record<string, unknown>) => {
      const { lavaFetchFromCli } = await import('./lava-command.js');
      exitCode = await lavaFetchFromCli(job, raw, argv);
    });

  const exp = program.command('export').description('the suite in another test framework\'s form');
  caseFilterOptions(exp.command('kselftest').description('write a selftest directory (lib.mk, config, settings, KTAP via kselftest.h) for tools/testing/selftests'))
    .option('--out <dir>', 'write the directory here (empty, or an earlier export)')
    .option('--tree <path>', 'write it into this kernel tree, at ' + 'tools/testing/selftests/filesystems/fuse/passthrough')
    .action(async (o: FilterOpts & { out?: string; tree?: string }) => {
      const { exportFromCli } = await import('./export-command.js');
      exitCode = await exportFromCli(o);
    });

  guestOptions(treeOptions(program.command('exec').description('boot the kernel in a guest, copy a directory in, run one shell command there'))
    .option('--kernel <spec>', 'debian:6.12, debian:6.12.107, tree:PATH[@REF], or a bzImage path', 'debian:6.12')
    .option('--modules <dir>', 'modules tree for a --kernel bzImage')
    .option('--put <dir>', 'copy this directory to the guest\'s /kgate/put (the command runs there)')
    .option('--timeout <s>', 'seconds the command may run', '1800')
    .option('--results <dir>', 'results root (console.log of the guest)', resolve(root, 'results'))
    .argument('<command...>', 'the command, run by the guest\'s sh -c'))
    .action(async (command: string[], raw: Record<string, unknown>) => {
      const { execFromCli } = await import('./exec-command.js');
      exitCode = await execFromCli(command, raw);
    });

  const kernel = program.command('kernel').description('the kernel stage alone');
  treeOptions(kernel.command('build').description('fetch or build the kernel a --kernel names; print its image and identity')
    .option('--kernel <spec>', 'debian:6.12, debian:6.12.107, tree:PATH[@REF], or a bzImage path', 'debian:6.12')
    .option('--modules <dir>', 'modules tree for a --kernel bzImage'))
    .option('--json', 'print the artifact as JSON')
    .option('--results <dir>', 'a tree build writes its make log to DIR/kernel/<time>/kernel-build.log', resolve(root, 'results'))
    .action(async (raw: Record<string, unknown>) => {
      const { kernelBuildFromCli } = await import('./kernel-command.js');
      exitCode = await kernelBuildFromCli(raw);
    });

  program.command('kernels').description("list Debian's cloud kernels (every suite, through kgate's own apt): series, version, suite, cached")
    .option('--refresh', 'apt-get update the lists first (otherwise at most once a day)')
    .option('--series <series>', 'only this series (7.3)')
    .option('--json', 'print the list as JSON')
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

  program.command('parse').description('parse a KTAP/TAP log (kselftest, KUnit, kgate) and print the summary')
    .argument('<file>', 'log file, a results directory, or - for stdin')
    .option('--json', 'print the parsed cases as JSON')
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

/** A one-stage progress display around gen or build. */
async function withBuildProgress<T extends { summary: string }>(title: string, fn: (onEvent: (e: BuildEvent) => void) => Promise<T>): Promise<T> {
  const progress = makeProgress([{ key: 'build', title }]);
  const t0 = Date.now();
  progress.emit({ type: 'stage', stage: 'build', state: 'start' });
  try {
    const r = await fn(buildEventsTo(progress.emit));
    progress.emit({ type: 'stage', stage: 'build', state: 'done', ms: Date.now() - t0 });
    return r;
  } catch (e) {
    progress.emit({ type: 'stage', stage: 'build', state: 'fail', detail: e instanceof Error ? e.message : String(e) });
    throw e;
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
 * wrong commit. Every other command keeps DESIGN.md's codes.
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
