// Every input of the command line, validated once here at the edge into the
// typed values the stages take (Selection, KernelRequest, TargetSpec). Bad
// input is one line and exit 2 (KgateError 'user'), before anything slow runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createHash } from 'node:crypto';
import { KgateError, isFailure, type RunResult, type Status } from '../model.js';
import { shardFrom, shareOf } from '../util/shard.js';
import { makeSelection, type Selection } from '../catalog/selection.js';
import { coverageNeedsTree, parseKernelSpec, type KernelRequest } from '../kernel/index.js';
import { parseTarget, type TargetSpec } from '../runner/target-spec.js';

/** zod issues -> one line. */
export function parseOpts<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new KgateError('user', r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

const names = z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'case, family and API names are letters, digits, . _ and -' }));
export const SelectionOpts = z.object({ case: names, family: names, api: names });
export type SelectionInput = z.infer<typeof SelectionOpts>;

/** --case/--family/--api -> the Selection every later stage takes. */
export function selectionOf(raw: unknown): Selection {
  const o = parseOpts(SelectionOpts, raw);
  return makeSelection({ cases: o.case, families: o.family, apis: o.api });
}

/**
 * --accel, else $KGATE_ACCEL, else auto: a machine whose KVM fails (or a CI
 * job that wants TCG everywhere) says so once, for every command that boots a
 * guest, nightly cells and bisect steps included.
 */
export const ACCEL_ENV = 'KGATE_ACCEL';
const ACCELS = ['auto', 'kvm', 'tcg'] as const;
const AccelOpt = z.preprocess(
  (v) => v ?? (process.env[ACCEL_ENV] || 'auto'),
  z.enum(ACCELS, { message: `--accel (or $${ACCEL_ENV}) must be auto, kvm or tcg` }),
);
/** The accelerator when neither the command line nor a file said one: $KGATE_ACCEL, else auto. */
export function defaultAccel(): (typeof ACCELS)[number] {
  return AccelOpt.parse(undefined);
}

/**
 * --reporter "Name <address>", else $KGATE_REPORTER: whom the report's
 * Reported-by: and Tested-by: lines name. kgate never invents an address:
 * without one the report prints the lines to fill in.
 */
const ReporterOpt = z.preprocess(
  (v) => v ?? (process.env.KGATE_REPORTER || undefined),
  z.string().regex(/^[^<>\n]+ <[^<>@\s]+@[^<>\s]+>$/, { message: '--reporter (or $KGATE_REPORTER) must be "Name <address>"' }).optional(),
);

/** What every command that builds tree kernels and boots them takes (bisect, gate). */
export const TreeJobOpts = SelectionOpts.extend({
  reporter: ReporterOpt,
  baseConfig: z.string().optional(),
  configFragment: z.array(z.string()),
  accel: AccelOpt,
  mem: z.coerce.number({ message: '--mem must be a number of MiB' }).int().min(256, { message: '--mem must be at least 256 (MiB)' }),
  bootTimeout: z.coerce.number({ message: '--boot-timeout must be a number of seconds' }).positive({ message: '--boot-timeout must be positive' }),
  results: z.string(),
  buildDir: z.string(),
});

/** The QEMU target of a tree job, from the TreeJobOpts it was given. */
export function qemuTargetOf(o: { accel: 'auto' | 'kvm' | 'tcg'; mem: number; bootTimeout: number }): Extract<TargetSpec, { kind: 'qemu' }> {
  return parseTarget('qemu', { accel: o.accel, memMB: o.mem, bootTimeoutSec: o.bootTimeout }) as Extract<TargetSpec, { kind: 'qemu' }>;
}

const RunOpts = z.object({
  target: z.string(),
  kernel: z.string().min(1),
  modules: z.string().optional(),
  baseConfig: z.string().optional(),
  configFragment: z.array(z.string()).optional(),
  accel: AccelOpt,
  jobs: z.coerce.number({ message: '--jobs must be a number' }).int().min(1, { message: '--jobs must be 1 or more' }).max(16, { message: '--jobs must be 16 or less' }),
  mem: z.coerce.number({ message: '--mem must be a number of MiB' }).int().min(256, { message: '--mem must be at least 256 (MiB)' }),
  results: z.string(),
  buildDir: z.string(),
  bootTimeout: z.coerce.number({ message: '--boot-timeout must be a number of seconds' }).positive({ message: '--boot-timeout must be positive' }),
  identity: z.string().optional(),
  showCommand: z.boolean().optional(),
  shard: z.string().optional(),
  coverage: z.union([z.boolean(), z.string()]).optional(),
});

export interface RunInputs {
  selection: Selection;
  target: TargetSpec;
  kernel: KernelRequest;
  results: string;
  buildDir: string;
  showCommand: boolean;
  /** --shard I/N (or the CI's variables): the selection above is already this shard's. */
  shard?: NonNullable<RunResult['shard']>;
  /** --coverage [family|case]: a gcov kernel, counters read per family binary or per case. */
  coverage?: 'family' | 'case';
}

/** Everything `kgate run` was given, parsed and checked as far as it can be without the network. */
export function runInputsOf(raw: Record<string, unknown>): RunInputs {
  const o = parseOpts(RunOpts, raw);
  const target = parseTarget(o.target, { accel: o.accel, memMB: o.mem, jobs: o.jobs, bootTimeoutSec: o.bootTimeout, identity: o.identity });
  const selection = selectionOf(raw);
  const kernel = kernelRequestOf(o);
  if (typeof o.coverage === 'string' && o.coverage !== 'family' && o.coverage !== 'case') {
    throw new KgateError('user', `--coverage ${o.coverage}: --coverage takes family (the default) or case`);
  }
  if (o.coverage) {
    if (kernel.spec.kind !== 'tree') throw new KgateError('user', coverageNeedsTree(kernel.spec.text));
    if (target.kind !== 'qemu') throw new KgateError('user', `--coverage needs --target qemu: kgate reads the counters of the guest it boots (not ${o.target})`);
    kernel.coverage = true;
  }
  const coverage = o.coverage ? { coverage: o.coverage === true ? 'family' as const : o.coverage as 'family' | 'case' } : {};
  if (target.kind === 'qemu' && kernel.spec.kind === 'path' && !existsSync(kernel.spec.bzImage)) {
    throw new KgateError('user', `kernel image ${kernel.spec.bzImage} does not exist`);
  }
  if (target.kind === 'ssh' && o.identity && !existsSync(o.identity)) throw new KgateError('user', `--identity ${o.identity} does not exist`);
  const shard = shardFrom(o.shard);
  if (!shard || shard.total === 1) return { selection, target, kernel, results: o.results, buildDir: o.buildDir, showCommand: o.showCommand ?? false, ...coverage };
  // Every shard computes the same plan from the same command line: kgate merge joins only shards of one plan.
  const plan = createHash('sha256').update(JSON.stringify({ ids: selection.ids, kernel: kernel.spec.text, target: o.target })).digest('hex').slice(0, 16);
  const ids = shareOf(selection.ids, shard);
  if (ids.length === 0) throw new KgateError('user', `--shard ${shard.index}/${shard.total}: no case left for this shard (${selection.ids.length} selected)`);
  return { selection: makeSelection({ cases: ids }), target, kernel, results: o.results, buildDir: o.buildDir, showCommand: o.showCommand ?? false, shard: { ...shard, plan }, ...coverage };
}

export function kernelRequestOf(o: { kernel: string; modules?: string; baseConfig?: string; configFragment?: string[] }): KernelRequest {
  const spec = parseKernelSpec(o.kernel);
  if (o.modules !== undefined && !existsSync(o.modules)) throw new KgateError('user', `modules directory ${o.modules} does not exist`);
  for (const f of o.configFragment ?? []) if (!existsSync(f)) throw new KgateError('user', `config fragment ${f} does not exist`);
  const req: KernelRequest = { spec };
  if (o.modules !== undefined) req.modules = o.modules;
  if (o.baseConfig !== undefined) req.baseConfig = o.baseConfig;
  if (o.configFragment?.length) req.fragments = o.configFragment;
  return req;
}

/** --failed-in DIR: the ids of the cases that failed, crashed, timed out or errored in a run directory's results.json. */
export function failedCasesIn(dir: string): string[] {
  const file = existsSync(join(dir, 'results.json')) ? join(dir, 'results.json') : dir;
  let run: { cases?: { id?: unknown; status?: unknown }[] };
  try {
    run = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new KgateError('user', `--failed-in ${dir}: no readable results.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!Array.isArray(run.cases)) throw new KgateError('user', `--failed-in ${dir}: results.json has no cases`);
  return run.cases
    .filter((c) => typeof c.id === 'string' && typeof c.status === 'string' && isFailure(c.status as Status))
    .map((c) => c.id as string);
}
