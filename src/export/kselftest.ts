// `kgate export kselftest`: the catalog as a selftest directory in the
// kernel's conventions (lib.mk, TEST_GEN_PROGS, config, settings), so the
// fleets that run kselftests as they come (KernelCI, LKFT, 0-day) run kgate's
// cases. One generator, two outputs: each program is gen's renderFamily of
// the same catalog cases and the same templates as kgate's own suite, with
// `ksft` set (KTAP through kselftest.h, the verdict by the running kernel's
// version, the tree's uapi headers); nothing of a case is copied here.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KgateError } from '../model.js';
import { mkdirp } from '../util/fs.js';
import { writeFileAtomic } from '../util/atomic.js';
import { describeFilter, groupByFamily, selectCases, type CaseDef, type CaseFilter, type KnownOutcome } from '../catalog/index.js';
import { loadTemplates, renderFamily } from '../gen/render.js';
import { parseFixedIn, parseRange, type KernelVersion, type Series } from '../verdict/version.js';

/** Where the directory goes in a kernel tree: beside mainline's filesystems/fuse tests. */
export const TREE_SUBDIR = 'tools/testing/selftests/filesystems/fuse/passthrough';
/** The target name `make -C tools/testing/selftests TARGETS=...` takes. */
export const KSFT_TARGET = 'filesystems/fuse/passthrough';
/** The first line of every Makefile kgate writes: how a later export knows the directory is its own. */
const MARK = '# Exported by kgate (kgate export kselftest)';

/** A family's program: "ioctl-open" -> ioctl_open_test (the kernel's names use underscores). */
export const programName = (family: string): string => `${family.replace(/[^A-Za-z0-9]/g, '_')}_test`;

export interface ExportRequest {
  filter: CaseFilter;
  /** --out DIR: the directory itself. */
  out?: string;
  /** --tree PATH: a kernel tree; the directory is PATH/TREE_SUBDIR. */
  tree?: string;
  templatesDir?: string;
}

export interface ExportedProgram { name: string; family: string; cases: string[] }
export interface ExportResult {
  dir: string;
  programs: ExportedProgram[];
  files: string[];
  timeoutSec: number;
  selection: string;
  durationMs: number;
}

/**
 * The export's default leaves the older API generations out (a1, a2, r8:
 * Android and RFC kernels, no upstream kernel speaks them); naming an API,
 * a family or a case is asking, and the filter then selects as everywhere.
 */
export function exportFilter(f: CaseFilter): CaseFilter {
  const asked = Boolean(f.apis?.length || f.families?.length || f.cases?.length);
  return asked ? f : { ...f, apis: ['upstream'] };
}

const series = (s: Series) => `{ ${s.major}, ${s.minor}, 0, 0, 1 }`;
const version = (v: KernelVersion) => `{ ${v.major}, ${v.minor}, ${v.patch}, ${v.rc ?? 0}, 1 }`;

/**
 * A known outcome's range as the C initializer of a struct kg_range
 * (templates/c/verdict.c.hbs), parsed by the verdict's own parser so the C
 * side and src/verdict read one range the same way.
 */
export function ksftRange(k: KnownOutcome): string {
  const r = parseRange(k.range);
  const fixed = parseFixedIn(r, k.fixedIn ?? []);
  if (fixed.length > 4) throw new KgateError('bug', `${k.range}: more than 4 fixedIn releases (struct kg_known holds 4)`);
  const [rcOnly, from, to] = r.kind === 'rc' ? [1, r.series, r.series] : [0, r.from, r.to];
  return `{ ${rcOnly}, ${series(from)}, ${series(to)}, { ${fixed.length ? fixed.map(version).join(', ') : '{ 0 }'} }, ${fixed.length} }`;
}

function withRanges(c: CaseDef): CaseDef {
  return { ...c, known: c.known.map((k) => ({ ...k, ksftRange: ksftRange(k) })) };
}

/** The kselftest timeout of the directory: the slowest program's cases all timing out, plus its kernel probe and slack. */
export function settingsTimeout(groups: { cases: readonly CaseDef[] }[]): number {
  return Math.max(...groups.map((g) => g.cases.reduce((n, c) => n + c.timeoutSec, 0))) + 30;
}

/** Options the cases need on top of a defconfig (kselftest's `config` fragment). */
export function configFragment(cases: readonly CaseDef[]): string {
  const opts = ['FUSE_FS', 'FUSE_PASSTHROUGH', 'TMPFS', 'MEMFD_CREATE'];
  if (cases.some((c) => c.family === 'stacking' || /overlay/i.test(c.setup))) opts.push('OVERLAY_FS');
  if (cases.some((c) => /hugetlbfs/.test(c.setup))) opts.push('HUGETLBFS');
  if (cases.some((c) => /debugfs/.test(c.id))) opts.push('DEBUG_FS');
  return opts.map((o) => `CONFIG_${o}=y\n`).join('');
}

export function makefile(programs: ExportedProgram[], selection: string): string {
  const cases = programs.reduce((n, p) => n + p.cases.length, 0);
  return [
    '# SPDX-License-Identifier: GPL-2.0',
    MARK,
    `# FUSE passthrough selftests: ${cases} cases of kgate's catalog (${selection}),`,
    '# one program per case family; each prints KTAP through kselftest.h.',
    '# Build after `make headers` so KHDR_INCLUDES has the tree\'s linux/fuse.h.',
    'CFLAGS += -Wall -O2 -pthread $(KHDR_INCLUDES)',
    'LDLIBS += -pthread',
    '# static: the programs also run on a minimal root (a busybox initramfs)',
    'LDFLAGS += -static',
    '',
    `TEST_GEN_PROGS := ${programs.map((p) => p.name).join(' ')}`,
    '',
    'include ../../../lib.mk',
    '',
  ].join('\n');
}

/** The directory the export writes, checked: a tree must be a kernel tree; an existing directory must be empty or an earlier export. */
export function exportDir(req: Pick<ExportRequest, 'out' | 'tree'>): string {
  if (Boolean(req.out) === Boolean(req.tree)) throw new KgateError('user', 'export kselftest: give one of --out DIR or --tree PATH');
  let dir: string;
  if (req.tree) {
    const tree = resolve(req.tree);
    if (!existsSync(join(tree, 'tools/testing/selftests/lib.mk'))) {
      throw new KgateError('user', `--tree ${req.tree}: not a kernel tree (no tools/testing/selftests/lib.mk)`);
    }
    dir = join(tree, TREE_SUBDIR);
  } else {
    dir = resolve(req.out!);
  }
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new KgateError('user', `${dir} exists and is not a directory`);
    const mk = join(dir, 'Makefile');
    const ours = existsSync(mk) && readFileSync(mk, 'utf8').split('\n').slice(0, 3).includes(MARK);
    if (!ours && readdirSync(dir).length > 0) {
      throw new KgateError('user', `${dir} is not empty and not an earlier kgate export: not overwriting it (choose another --out)`);
    }
  }
  return dir;
}

/** Writes the selftest directory; a file of an earlier export that this one no longer has is removed. */
export function exportKselftest(req: ExportRequest): ExportResult {
  const t0 = performance.now();
  const filter = exportFilter(req.filter);
  const dir = exportDir(req);
  const groups = groupByFamily(selectCases(filter));
  const templates = loadTemplates(req.templatesDir);
  const programs: ExportedProgram[] = [];
  const files = new Map<string, string>();
  for (const g of groups) {
    const name = programName(g.family.name);
    files.set(`${name}.c`, renderFamily(g.family, g.cases.map(withRanges), templates, { ksft: true, program: name }));
    programs.push({ name, family: g.family.name, cases: g.cases.map((c) => c.id) });
  }
  const selection = describeFilter(filter);
  const timeoutSec = settingsTimeout(groups);
  files.set('Makefile', makefile(programs, selection));
  files.set('config', configFragment(groups.flatMap((g) => g.cases)));
  files.set('settings', `timeout=${timeoutSec}\n`);
  files.set('.gitignore', `# SPDX-License-Identifier: GPL-2.0-only\n${programs.map((p) => `${p.name}\n`).join('')}`);
  try {
    mkdirp(dir);
    for (const f of readdirSync(dir)) {
      if (files.has(f) || !f.endsWith('_test.c')) continue;
      if (readFileSync(join(dir, f), 'utf8').includes('generated by kgate from templates/c')) rmSync(join(dir, f));
    }
    for (const [f, text] of files) writeFileAtomic(join(dir, f), text);
  } catch (e) {
    if (e instanceof KgateError) throw e;
    throw new KgateError('user', `cannot write the export to ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { dir, programs, files: [...files.keys()], timeoutSec, selection, durationMs: performance.now() - t0 };
}
