// Every option of the command line, declared once: its flag, help, schema and
// default in one table, from which commander's options (addOptions), the zod
// schema a command checks its input with (schemaOf) and the reproducer of a
// run (reproducerArgv) are all derived, as tuxmake makes its reproducer from
// its own option table. A command is a list of rows of this table.
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { KERNEL_FORMS } from '../kernel/spec.js';
import { projectRoot } from '../util/paths.js';
import type { RunContext } from '../session/context.js';

/** How repeated or comma-separated values collect: 'list' splits at commas, 'repeat' keeps each. */
type Collect = 'list' | 'repeat';

export interface OptionRow<S extends z.ZodTypeAny = z.ZodTypeAny> {
  /** commander's flags: "--kernel <spec>", "--coverage [per]", "--json". */
  flags: string;
  help: string;
  /** What the value must be once commander has it; the message is the user's one line. */
  schema: S;
  default?: string;
  collect?: Collect;
  required?: boolean;
  /** A value that the schema takes (the reproducer's round-trip test gives it). */
  example: string | string[] | true;
}

const row = <S extends z.ZodTypeAny>(r: OptionRow<S>): Readonly<OptionRow<S>> => Object.freeze(r);
const root = projectRoot();

/**
 * --accel, else $KGATE_ACCEL, else auto: a machine whose KVM fails (or a CI
 * job that wants TCG everywhere) says so once, for every command that boots a
 * guest, nightly cells and bisect steps included.
 */
export const ACCEL_ENV = 'KGATE_ACCEL';
export const ACCELS = ['auto', 'kvm', 'tcg'] as const;
export const AccelOpt = z.preprocess(
  (v) => v ?? (process.env[ACCEL_ENV] || 'auto'),
  z.enum(ACCELS, { message: `--accel (or $${ACCEL_ENV}) must be auto, kvm or tcg` }),
);

/**
 * --reporter "Name <address>", else $KGATE_REPORTER: whom the report's
 * Reported-by: and Tested-by: lines name. kgate never invents an address:
 * without one the report prints the lines to fill in.
 */
// Not .optional() inside: zod 4 skips an absent key of an optional schema without running the preprocess, so
// $KGATE_REPORTER was never read; null stands for "neither" and becomes undefined after the check.
const ReporterOpt = z.preprocess(
  (v) => v ?? (process.env.KGATE_REPORTER || null),
  z.string().regex(/^[^<>\n]+ <[^<>@\s]+@[^<>\s]+>$/, { message: '--reporter (or $KGATE_REPORTER) must be "Name <address>"' }).nullable(),
).transform((v) => v ?? undefined);

const names = z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'case, family and API names are letters, digits, . _ and -' }));
const number = (flag: string, what: string) => z.coerce.number({ message: `${flag} must be ${what}` });
const repeatSchema = number('--repeat', 'a number').int().min(1, { message: '--repeat must be 1 or more' }).max(20, { message: '--repeat must be 20 or less' });
const serverUrl = z.string().url({ message: '--url must be the LAVA server\'s URL (http://host:port/)' });

/** The --kernel forms, as kernel/spec.ts accepts them. */
const kernelHelp = KERNEL_FORMS.map((f) => f.replace(/ \(.*\)$/, '')).join(', ');

/** The table: one row per option (a flag used two ways, like gate's --series and kernels' --series, is two rows). */
export const OPTIONS = Object.freeze({
  case: row({ flags: '--case <ids>', help: 'case ids or rows, comma-separated (U03, U03.dir)', schema: names, collect: 'list', example: ['U03', 'U10.flags'] }),
  family: row({ flags: '--family <names>', help: 'case families, comma-separated', schema: names, collect: 'list', example: ['ioctl-open'] }),
  api: row({ flags: '--api <gens>', help: 'API generations: upstream, a1, a2, r8', schema: names, collect: 'list', example: ['upstream', 'a1'] }),
  target: row({ flags: '--target <target>', help: 'local | qemu | ssh://user@host:port', schema: z.string(), default: 'qemu', example: 'ssh://root@host:2222' }),
  kernel: row({ flags: '--kernel <spec>', help: kernelHelp, schema: z.string().min(1), default: 'debian:6.12', example: 'tree:/src/linux@v6.12' }),
  modules: row({ flags: '--modules <dir>', help: 'modules tree for a --kernel bzImage (lib/modules/<release>)', schema: z.string().optional(), example: '/tmp/mods' }),
  baseConfig: row({ flags: '--base-config <base>', help: 'tree builds: tiny (default), defconfig, debian or a .config file', schema: z.string().optional(), example: 'defconfig' }),
  configFragment: row({ flags: '--config-fragment <file>', help: 'tree builds: a config fragment merged on top (repeatable)', schema: z.array(z.string()), collect: 'repeat', example: ['a.config', 'b,c.config'] }),
  accel: row({ flags: '--accel <accel>', help: 'auto | kvm | tcg (auto falls back to TCG when KVM fails; default: $KGATE_ACCEL, else auto)', schema: AccelOpt, example: 'tcg' }),
  mem: row({ flags: '--mem <mib>', help: 'guest memory', schema: number('--mem', 'a number of MiB').int().min(256, { message: '--mem must be at least 256 (MiB)' }), default: '1024', example: '2048' }),
  bootTimeout: row({ flags: '--boot-timeout <s>', help: 'seconds a guest may take to boot (to answer SSH; on LAVA, to reach the suite)', schema: number('--boot-timeout', 'a number of seconds').positive({ message: '--boot-timeout must be positive' }), default: '120', example: '300' }),
  results: row({ flags: '--results <dir>', help: 'results root', schema: z.string(), default: resolve(root, 'results'), example: '/tmp/results' }),
  buildDir: row({ flags: '--build-dir <dir>', help: 'build directory of the suite', schema: z.string(), default: resolve(root, 'build'), example: '/tmp/build' }),
  jobs: row({ flags: '--jobs <n>', help: 'guests to shard the suite over', schema: number('--jobs', 'a number').int().min(1, { message: '--jobs must be 1 or more' }).max(16, { message: '--jobs must be 16 or less' }), default: '1', example: '2' }),
  lanes: row({ flags: '--lanes <n>', help: 'families run at once in each guest (default: one per vCPU: 2, or 1 with --jobs; 1 with --coverage)', schema: number('--lanes', 'a number').int().min(1, { message: '--lanes must be 1 or more' }).max(8, { message: '--lanes must be 8 or less' }).optional(), example: '1' }),
  identity: row({ flags: '--identity <file>', help: 'SSH private key for --target ssh://', schema: z.string().optional(), example: '/tmp/id_ed25519' }),
  showCommand: row({ flags: '--show-command', help: 'print the QEMU command line and exit', schema: z.boolean().optional(), example: true }),
  coverage: row({ flags: '--coverage [per]', help: 'tree kernels: build fs/fuse with gcov and write the suite\'s kernel coverage to results/<run>/coverage/, attributed per family (default) or per case', schema: z.union([z.boolean(), z.string()]).optional(), example: 'case' }),
  shard: row({ flags: '--shard <i/n>', help: 'run share I of N of the selected cases (kgate merge joins the shards); CI_NODE_INDEX/CI_NODE_TOTAL or JOB_COMPLETION_INDEX otherwise', schema: z.string().optional(), example: '2/3' }),
  reporter: row({ flags: '--reporter <"Name <address>">', help: 'the Reported-by:/Tested-by: of the report (default: $KGATE_REPORTER; none: the lines to fill in)', schema: ReporterOpt, example: 'A Developer <dev@example.org>' }),
  failedIn: row({ flags: '--failed-in <dir>', help: 'the cases that failed in this results directory (repeatable)', schema: z.array(z.string()), collect: 'list', example: ['/tmp/r1', '/tmp/r2'] }),
  bisectRepeat: row({ flags: '--repeat <n>', help: 'runs per step; flaky steps are skipped', schema: repeatSchema, default: '1', example: '3' }),
  threshold: row({ flags: '--threshold <k>', help: 'failing runs (of --repeat) that make a step bad (default: all of them)', schema: number('--threshold', 'a number').int().min(1, { message: '--threshold must be 1 or more' }).optional(), example: '2' }),
  stepTree: row({ flags: '--tree <dir>', help: 'the kernel tree (default: the current directory)', schema: z.string().min(1), default: '.', example: '/src/linux' }),
  tree: row({ flags: '--tree <dir>', help: 'the kernel tree', schema: z.string().min(1), required: true, example: '/src/linux' }),
  good: row({ flags: '--good <ref>', help: 'a commit where the cases behave as expected', schema: z.string().optional(), required: true, example: 'v6.11' }),
  bad: row({ flags: '--bad <ref>', help: 'a later commit where they do not', schema: z.string().optional(), required: true, example: 'v6.12' }),
  base: row({ flags: '--base <ref>', help: 'the commit the series applies on (default: the series\' base-commit:, or its range\'s start)', schema: z.string().min(1).optional(), example: 'v6.12' }),
  series: row({ flags: '--series <s>', help: '[NAME=]an mbox, a directory of .patch files, or a range A..B of the tree (repeatable, oldest revision first)', schema: z.array(z.string()).min(1, { message: 'kgate gate needs at least one --series' }), collect: 'repeat', example: ['v1=/tmp/v1.mbox', 'v2=/tmp/v2.mbox'] }),
  perPatch: row({ flags: '--per-patch', help: 'also build and test after each patch of the newest revision', schema: z.boolean().optional(), example: true }),
  gateRepeat: row({ flags: '--repeat <n>', help: 'runs per revision, to tell flaky cases', schema: repeatSchema, default: '1', example: '2' }),
  format: row({ flags: '--format <f>', help: 'text (default) or junit on stdout', schema: z.enum(['text', 'junit'], { message: '--format must be text or junit' }), default: 'text', example: 'junit' }),
  config: row({ flags: '--config <file>', help: 'the nightly.yaml', schema: z.string().min(1, { message: 'kgate nightly needs --config FILE' }), required: true, example: '/tmp/nightly.yaml' }),
  plan: row({ flags: '--plan', help: 'print the cells and what each will build or fetch, and exit', schema: z.boolean().optional(), example: true }),
  date: row({ flags: '--date <yyyy-mm-dd>', help: 'the night (default: today, UTC)', schema: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: '--date is YYYY-MM-DD' }).optional(), example: '2026-12-03' }),
  skipUnchanged: row({ flags: '--skip-unchanged', help: 'do not run a cell whose kernel is the same as on its last night', schema: z.boolean().optional(), example: true }),
  resume: row({ flags: '--resume', help: 'finish an interrupted night: cells it finished are kept', schema: z.boolean().optional(), example: true }),
  nightlyShard: row({ flags: '--shard <i/n>', help: 'run share I of N of the cells (or of the cases); CI_NODE_INDEX/CI_NODE_TOTAL or JOB_COMPLETION_INDEX otherwise', schema: z.string().optional(), example: '1/2' }),
  // The file's accel comes between the command line and $KGATE_ACCEL: no default here.
  nightlyAccel: row({ flags: '--accel <accel>', help: 'auto | kvm | tcg (default: the file\'s, else $KGATE_ACCEL, else auto)', schema: z.enum(ACCELS, { message: '--accel must be auto, kvm or tcg' }).optional(), example: 'kvm' }),
  artifactUrl: row({ flags: '--artifact-url <url>', help: 'the URL the lab reaches the job\'s artifacts/ at (default: file:// of it)', schema: z.string().url({ message: '--artifact-url must be a URL (http://lab/files/run)' }).optional(), example: 'http://lab/files/run' }),
  url: row({ flags: '--url <url>', help: 'the LAVA server (REST API v0.2)', schema: serverUrl, example: 'http://lava:8000/' }),
  tokenFile: row({ flags: '--token-file <file>', help: 'a file holding the API token (never given on the command line)', schema: z.string().min(1, { message: 'needs --token-file FILE (the token is read only from a file)' }), example: '/tmp/token' }),
  pollTimeout: row({ flags: '--poll-timeout <s>', help: 'seconds to wait for the job to finish', schema: number('--poll-timeout', 'a number of seconds').positive().default(3600), default: '3600', example: '60' }),
  wait: row({ flags: '--wait', help: 'poll until the job ends, fetch its results and log, judge them', schema: z.boolean().optional(), example: true }),
  dir: row({ flags: '--dir <dir>', help: 'the run directory kgate lava job/submit wrote', schema: z.string().optional(), example: '/tmp/results/run' }),
  fetchResults: row({ flags: '--results <dir>', help: 'results root for a job kgate did not submit', schema: z.string(), default: resolve(root, 'results'), example: '/tmp/results' }),
  dispatcherOutput: row({ flags: '--dispatcher-output <log>', help: 'read the job log lava-run wrote (the dispatcher alone, no server) instead of a server', schema: z.string().optional(), example: '/tmp/lava-run.log' }),
  json: row({ flags: '--json', help: 'print the result as JSON', schema: z.boolean().optional(), example: true }),
  kernelResults: row({ flags: '--results <dir>', help: 'a tree build writes its make log to DIR/kernel/<time>/kernel-build.log', schema: z.string().default('results'), default: resolve(root, 'results'), example: '/tmp/results' }),
  refresh: row({ flags: '--refresh', help: 'apt-get update the lists first (otherwise at most once a day)', schema: z.boolean().optional(), example: true }),
  kernelSeries: row({ flags: '--series <series>', help: 'only this series (7.3)', schema: z.string().regex(/^\d+\.\d+$/, { message: '--series is a series such as 7.3' }).optional(), example: '7.3' }),
  out: row({ flags: '--out <dir>', help: 'build directory', schema: z.string(), default: resolve(root, 'build'), example: '/tmp/build' }),
  force: row({ flags: '--force', help: 'recompile even what is up to date', schema: z.boolean().optional(), example: true }),
  exportOut: row({ flags: '--out <dir>', help: 'write the directory here (empty, or an earlier export)', schema: z.string().optional(), example: '/tmp/passthrough' }),
  exportTree: row({ flags: '--tree <path>', help: 'write it into this kernel tree, at tools/testing/selftests/filesystems/fuse/passthrough', schema: z.string().optional(), example: '/src/linux' }),
  put: row({ flags: '--put <dir>', help: 'copy this directory to the guest\'s /kgate/put (the command runs there)', schema: z.string().optional(), example: '/tmp/selftests' }),
  execTimeout: row({ flags: '--timeout <s>', help: 'seconds the command may run', schema: number('--timeout', 'a number of seconds').positive({ message: '--timeout must be positive' }), default: '1800', example: '600' }),
  execResults: row({ flags: '--results <dir>', help: 'results root (console.log of the guest)', schema: z.string(), default: resolve(root, 'results'), example: '/tmp/results' }),
  mergeOut: row({ flags: '--out <dir>', help: 'where the merged night or run goes (default: the first shard\'s name + .merged)', schema: z.string().optional(), example: '/tmp/merged' }),
});
type O = typeof OPTIONS;
const O = OPTIONS;

/** Each command as the rows it takes, in the order its help lists them. */
const filters = { case: O.case, family: O.family, api: O.api };
const treeBuild = { baseConfig: O.baseConfig, configFragment: O.configFragment };
const guest = { accel: O.accel, mem: O.mem, bootTimeout: O.bootTimeout };
const output = { results: O.results, buildDir: O.buildDir };
/** What every command that builds tree kernels and boots them takes (bisect, gate). */
export const TREE_JOB = { ...filters, ...treeBuild, ...guest, ...output, reporter: O.reporter };
const bisectCommon = { ...TREE_JOB, failedIn: O.failedIn, repeat: O.bisectRepeat, threshold: O.threshold };
const lavaRun = { ...filters, ...treeBuild, ...output, kernel: O.kernel, modules: O.modules, mem: O.mem, bootTimeout: O.bootTimeout, artifactUrl: O.artifactUrl };
export const LAVA_SERVER = { url: O.url, tokenFile: O.tokenFile, pollTimeout: O.pollTimeout };

export const COMMANDS = Object.freeze({
  list: filters,
  gen: { ...filters, out: O.out },
  build: { ...filters, out: O.out, force: O.force },
  run: { ...filters, target: O.target, kernel: O.kernel, modules: O.modules, ...treeBuild, ...guest, ...output, jobs: O.jobs, lanes: O.lanes, identity: O.identity, showCommand: O.showCommand, coverage: O.coverage, shard: O.shard },
  'bisect-step': { ...bisectCommon, tree: O.stepTree },
  bisect: { ...bisectCommon, tree: O.tree, good: O.good, bad: O.bad },
  gate: { ...TREE_JOB, tree: O.tree, base: O.base, series: O.series, perPatch: O.perPatch, repeat: O.gateRepeat, format: O.format },
  nightly: { ...output, config: O.config, plan: O.plan, date: O.date, skipUnchanged: O.skipUnchanged, resume: O.resume, shard: O.nightlyShard, accel: O.nightlyAccel, reporter: O.reporter },
  merge: { out: O.mergeOut },
  'lava job': lavaRun,
  'lava submit': { ...lavaRun, ...LAVA_SERVER, wait: O.wait },
  'lava fetch': { dir: O.dir, results: O.fetchResults, dispatcherOutput: O.dispatcherOutput, ...LAVA_SERVER },
  'kernel build': { kernel: O.kernel, modules: O.modules, ...treeBuild, json: O.json, results: O.kernelResults },
  kernels: { refresh: O.refresh, series: O.kernelSeries, json: O.json },
  parse: { json: O.json },
  'export kselftest': { ...filters, out: O.exportOut, tree: O.exportTree },
  exec: { kernel: O.kernel, modules: O.modules, ...treeBuild, ...guest, put: O.put, timeout: O.execTimeout, results: O.execResults },
});
export type CommandName = keyof typeof COMMANDS;
type Rows = Readonly<Record<string, Readonly<OptionRow>>>;

/** commander's name of the value: "--base-config <base>" -> baseConfig. */
export function attributeOf(flags: string): string {
  const long = /--([a-z0-9-]+)/.exec(flags)![1];
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function collectList(v: string, prev: string[]): string[] {
  return prev.concat(v.split(',').map((s) => s.trim()).filter(Boolean));
}
function collectRepeat(v: string, prev: string[]): string[] {
  return prev.concat(v);
}

/** The rows as commander options of `cmd`. */
export function addOptions(cmd: Command, rows: Rows): Command {
  for (const [key, r] of Object.entries(rows)) {
    if (attributeOf(r.flags) !== key) throw new Error(`option table: ${r.flags} is keyed ${key}`);
    const o = new Option(r.flags, r.help);
    if (r.collect) o.argParser(r.collect === 'list' ? collectList : collectRepeat).default([]);
    else if (r.default !== undefined) o.default(r.default);
    if (r.required) o.makeOptionMandatory();
    cmd.addOption(o);
  }
  return cmd;
}

type SchemaOf<R extends Rows> = z.ZodObject<{ [K in keyof R]: R[K]['schema'] }>;
/** The rows' zod schema: what the command's input must be. */
export function schemaOf<R extends Rows>(rows: R): SchemaOf<R> {
  return z.object(Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, r.schema]))) as unknown as SchemaOf<R>;
}

/**
 * The command line that gives `values` again: the command's path, then each
 * option whose value is not its default or that the user wrote. Options come
 * in the order `given` (the user's argv) named them, so the line reads as the
 * user wrote it.
 */
export function reproducerArgv(command: CommandName, values: Record<string, unknown>, given: readonly string[] = []): string[] {
  const rows = COMMANDS[command] as Rows;
  const at = (flag: string) => { const i = given.findIndex((a) => a === flag || a.startsWith(`${flag}=`)); return i < 0 ? given.length : i; };
  const parts: { pos: number; argv: string[] }[] = [];
  for (const [key, r] of Object.entries(rows)) {
    const v = values[key];
    const flag = r.flags.split(' ')[0];
    let argv: string[] = [];
    if (v === undefined || v === false || v === null) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      // A list option splits at commas: one flag holds them all; a repeated one takes each on its own.
      argv = r.collect === 'list' ? [flag, v.join(',')] : v.flatMap((x) => [flag, String(x)]);
    } else if (v === true) {
      argv = [flag];
    } else {
      if (r.default !== undefined && String(v) === r.default && at(flag) === given.length) continue;
      argv = [flag, String(v)];
    }
    parts.push({ pos: at(flag), argv });
  }
  return [...command.split(' '), ...parts.sort((a, b) => a.pos - b.pos).flatMap((p) => p.argv)];
}

/**
 * A run's command line from the table: `argv` as the values give it, and for a
 * command that takes --kernel, the same line with --kernel set to what the
 * kernel stage pinned (the exact package, the commit) for metadata.json's
 * reproducer.
 */
export function commandLine(command: CommandName, values: Record<string, unknown>, given: readonly string[] = []): Pick<RunContext, 'argv' | 'pinKernel'> {
  const argv = reproducerArgv(command, values, given);
  if (!('kernel' in COMMANDS[command])) return { argv };
  return { argv, pinKernel: (pinned) => reproducerArgv(command, { ...values, kernel: pinned }, given) };
}
