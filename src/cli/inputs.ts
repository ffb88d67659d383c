// Every input of the command line, validated once here at the edge into the
// typed values the stages take (Selection, KernelRequest, TargetSpec). Bad
// input is one line and exit 2 (KgateError 'user'), before anything slow runs.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createHash } from 'node:crypto';
import { KgateError, isFailure, type RunResult, type Status } from '../model.js';
import { shardFrom, shareOf } from '../util/shard.js';
import { makeSelection, type Selection } from '../catalog/selection.js';
import { coverageNeedsTree, parseKernelSpec, type KernelRequest } from '../kernel/index.js';
import { parseTarget, type TargetSpec } from '../runner/target-spec.js';
import { RUN_FILES } from '../session/run-dir.js';
import { ACCELS, AccelOpt, COMMANDS, TREE_JOB, schemaOf } from './options.js';

/** zod issues -> one line. */
export function parseOpts<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new KgateError('user', r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

export const SelectionOpts = schemaOf(COMMANDS.list);
export type SelectionInput = z.infer<typeof SelectionOpts>;

/** --case/--family/--api -> the Selection every later stage takes. */
export function selectionOf(raw: unknown): Selection {
  const o = parseOpts(SelectionOpts, raw);
  return makeSelection({ cases: o.case, families: o.family, apis: o.api });
}

export { ACCEL_ENV } from './options.js';
/** The accelerator when neither the command line nor a file said one: $KGATE_ACCEL, else auto. */
export function defaultAccel(): (typeof ACCELS)[number] {
  return AccelOpt.parse(undefined);
}

/** What every command that builds tree kernels and boots them takes (bisect, gate). */
export const TreeJobOpts = schemaOf(TREE_JOB);

/** The QEMU target of a tree job, from the TreeJobOpts it was given. */
export function qemuTargetOf(o: { accel: 'auto' | 'kvm' | 'tcg'; mem: number; bootTimeout: number }): Extract<TargetSpec, { kind: 'qemu' }> {
  return parseTarget('qemu', { accel: o.accel, memMB: o.mem, bootTimeoutSec: o.bootTimeout }) as Extract<TargetSpec, { kind: 'qemu' }>;
}

const RunOpts = schemaOf(COMMANDS.run);

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
  // --coverage reads the kernel's counters around each piece of work: one piece at a time.
  if (o.coverage && o.lanes !== undefined && o.lanes > 1) throw new KgateError('user', `--coverage reads the kernel's counters around each family, one at a time: it runs one lane, not --lanes ${o.lanes}`);
  const target = parseTarget(o.target, { accel: o.accel, memMB: o.mem, jobs: o.jobs, lanes: o.coverage ? 1 : o.lanes, bootTimeoutSec: o.bootTimeout, identity: o.identity });
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
  const file = existsSync(join(dir, RUN_FILES.results)) ? join(dir, RUN_FILES.results) : dir;
  // A directory without results.json was read as a file before, and said "EISDIR"
  if (file === dir && existsSync(dir) && statSync(dir).isDirectory()) throw new KgateError('user', `--failed-in ${dir}: no ${RUN_FILES.results} in it (not a run directory)`);
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
