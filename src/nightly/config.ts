// nightly.yaml -> a checked plan, before anything is built. The file is read
// with `yaml` (which keeps each node's position) and checked with zod; every
// mistake is one line "FILE:LINE: KEY: what is wrong", all of them at once, so
// a maintainer fixes the file in one go.
//
//   results: results/nightly        # optional, relative to this file
//   defaults: { repeat: 1, accel: auto, mem: 1024, boot-timeout: 120 }
//   kernels:
//     - { name: deb612, debian: "6.12" }            # newest 6.12 cloud kernel
//     - { name: deb61, debian: "6.1" }
//     - { name: mine, bzimage: /boot/vmlinuz, modules: /lib/modules/6.18.0 }
//     - { name: tiny, tree: ../linux, ref: master, base-config: tiny, fragments: [fuse.config] }
//   selections:                      # optional: the default selection when absent
//     - { name: open, families: [ioctl-open] }
//     - { name: all }
//   cells:                           # optional: every kernel x every selection when absent
//     - { kernel: tiny, selection: open }
//
// Where a kernel's cells run: `backend: qemu` (the default: a local guest),
// `backend: lava-run` (LAVA's dispatcher alone, on this host) or `backend:
// lava` with `lava: { url, token-file }` (a LAVA server, over REST); on a
// kernel, or in defaults for every kernel.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document } from 'yaml';
import { z } from 'zod';
import { KgateError } from '../model.js';
import { makeSelection, type Selection } from '../catalog/selection.js';
import type { KernelRequest } from '../kernel/index.js';
import { parseKernelSpec } from '../kernel/index.js';
import { git } from '../util/git.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, { message: 'a name is letters, digits, _ and - (it names a directory)' });
const ids = z.array(z.string().min(1)).optional();

const BACKENDS = ['qemu', 'lava', 'lava-run'] as const;
const backend = z.enum(BACKENDS, { message: `backend: is one of ${BACKENDS.join(', ')}` }).optional();
const LavaEntry = z.strictObject({
  url: z.string().url({ message: 'url: is the LAVA server\'s URL (http://host:port/)' }),
  'token-file': z.string().min(1),
});

const BISECT_MESSAGE = 'bisect: is off, on or { max-builds: N } (N a whole number, 1 or more)';
// YAML 1.1 readers take on/off for booleans: both spellings mean the same here.
const bisect = z.union([
  z.enum(['off', 'on']), z.boolean(),
  z.strictObject({ 'max-builds': z.number({ message: BISECT_MESSAGE }).int({ message: BISECT_MESSAGE }).min(1, { message: BISECT_MESSAGE }) }),
], { message: BISECT_MESSAGE }).optional();
const reporter = z.string().regex(/^[^<>\n]+ <[^<>@\s]+@[^<>\s]+>$/, { message: 'reporter: is "Name <address>"' });

const KernelEntry = z.strictObject({
  name,
  backend,
  lava: LavaEntry.optional(),
  debian: z.string().regex(/^(latest|\d+\.\d+(\.\d+|\.0-\d+)?)$/, { message: 'debian: is a series (6.12), a release (6.12.118) or latest' }).optional(),
  bzimage: z.string().min(1).optional(),
  modules: z.string().min(1).optional(),
  tree: z.string().min(1).optional(),
  ref: z.string().regex(/^[^\s~^:?*[\\]+$/, { message: 'ref: is not a git ref' }).optional(),
  'base-config': z.string().min(1).optional(),
  fragments: z.array(z.string().min(1)).optional(),
  /** A gcov build; each cell's run writes coverage/ (kgate run --coverage, per family). */
  coverage: z.boolean().optional(),
  /** A new failure of this tree kernel's cell is bisected between the last night it passed and tonight. */
  bisect,
});

const SelectionEntry = z.strictObject({ name, cases: ids, families: ids, apis: ids });

const Defaults = z.strictObject({
  repeat: z.number().int().min(1).max(20).optional(),
  accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
  mem: z.number().int().min(256).optional(),
  'boot-timeout': z.number().positive().optional(),
  backend,
  lava: LavaEntry.optional(),
  bisect,
});

const NightlyFile = z.strictObject({
  results: z.string().min(1).optional(),
  reporter: reporter.optional(),
  defaults: Defaults.optional(),
  kernels: z.array(KernelEntry).min(1, { message: 'at least one kernel is needed' }),
  selections: z.array(SelectionEntry).min(1).optional(),
  cells: z.array(z.strictObject({ kernel: name, selection: name, name: name.optional() })).min(1).optional(),
});

/** Where a cell runs when not in a local guest: LAVA's dispatcher here, or a LAVA server. */
export type CellBackend = { kind: 'lava-run' } | { kind: 'lava'; url: string; tokenFile: string };

export interface PlannedCell {
  name: string;
  /** The kernel as the file names it (for the plan and the report). */
  kernelText: string;
  kernel: KernelRequest;
  selection: Selection;
  /** What the kernel stage will do: "fetch or reuse Debian's 6.12 cloud kernel", "build ../linux at master (tiny)". */
  action: string;
  /** Absent: a local QEMU guest. */
  backend?: CellBackend;
  /** Set: a new failure is bisected (a tree kernel's cell); maxBuilds bounds the kernels it may build. */
  bisect?: { maxBuilds?: number };
}

/** The file's bisect: value as the plan holds it: undefined is off. */
export function bisectPlanOf(v: z.infer<typeof bisect>): PlannedCell['bisect'] {
  if (v === undefined || v === 'off' || v === false) return undefined;
  return typeof v === 'object' ? { maxBuilds: v['max-builds'] } : {};
}

export interface NightlyConfig {
  file: string;
  resultsRoot?: string;
  repeat: number;
  /** The file's defaults.accel; unset: --accel, else $KGATE_ACCEL, else auto. */
  accel?: 'auto' | 'kvm' | 'tcg';
  mem: number;
  bootTimeout: number;
  cells: PlannedCell[];
  /** reporter: "Name <address>" for the Reported-by: of a culprit the night found. */
  reporter?: string;
}

type Issue = { path: (string | number)[]; message: string };

/** The 1-based line of the node at `p` (or of the key `key` in the map there), for a message. */
function lineOf(doc: Document, lc: LineCounter, p: (string | number)[], key?: string): number {
  for (let n = p.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(p.slice(0, n), true);
    if (!node || typeof node !== 'object') continue;
    if (key !== undefined && n === p.length && isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return lc.linePos(range[0]).line;
    }
    const range = (node as { range?: [number, number, number] }).range;
    if (range) return lc.linePos(range[0]).line;
  }
  return 1;
}

const keyText = (p: (string | number)[]) => p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');

/** The well-formed kernels and selections of a file zod refused; no cells (they name entries that may be gone). */
function partialFile(raw: unknown): z.infer<typeof NightlyFile> {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const good = <T>(schema: z.ZodType<T>, xs: unknown): T[] => (Array.isArray(xs) ? xs.flatMap((x) => { const p = schema.safeParse(x); return p.success ? [p.data] : []; }) : []);
  const selections = good(SelectionEntry, r.selections);
  // A refused kernel leaves a hole, not a shift: the others' mistakes are said at their own index and line.
  const kernels = Array.isArray(r.kernels) ? r.kernels.map((x) => { const p = KernelEntry.safeParse(x); return p.success ? p.data : undefined; }) : [];
  return { kernels: kernels as z.infer<typeof KernelEntry>[], ...(selections.length ? { selections } : {}) };
}

export async function readNightlyConfig(file: string): Promise<NightlyConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KgateError('user', `--config ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new KgateError('user', doc.errors.map((e) => `${file}:${lc.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`).join('\n'));
  }
  const raw = doc.toJS();
  const parsed = NightlyFile.safeParse(raw ?? {});
  const lines: string[] = [];
  const say = (issue: Issue, key?: string) => {
    const where = key !== undefined ? [...issue.path, key] : issue.path;
    lines.push(`${file}:${lineOf(doc, lc, issue.path, key)}: ${keyText(where) || '(top)'}: ${issue.message}`);
  };
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const p = i.path.filter((k): k is string | number => typeof k !== 'symbol');
      if (i.code === 'unrecognized_keys') for (const k of i.keys) say({ path: p, message: 'unknown key' }, k);
      else if (i.code === 'invalid_type' && /received undefined/.test(i.message)) say({ path: p.slice(0, -1), message: `${String(p.at(-1))} is missing` });
      else say({ path: p, message: i.message });
    }
  }
  // With zod's mistakes said, the entries that are well formed are still checked, so the file's every mistake is said at once.
  const f = parsed.success ? parsed.data : partialFile(raw);
  const dir = path.dirname(path.resolve(file));
  const rel = (p: string) => path.resolve(dir, p);

  const d = f.defaults ?? {};
  const tokenFileOk = (lava: z.infer<typeof LavaEntry> | undefined, at: (string | number)[]) => {
    if (lava && !existsSync(rel(lava['token-file']))) { say({ path: [...at, 'lava', 'token-file'], message: `${lava['token-file']}: no such file` }); return false; }
    return true;
  };
  const defaultsLavaOk = tokenFileOk(d.lava, ['defaults']);
  if (d.lava && (d.backend ?? 'qemu') !== 'lava' && !f.kernels.some((k) => k?.backend === 'lava')) say({ path: ['defaults', 'lava'], message: 'lava: is for backend: lava' });
  /** A kernel's backend (its own, else the defaults'), or a mistake said and null. */
  const backendOf = (k: z.infer<typeof KernelEntry>, at: (string | number)[]): CellBackend | undefined | null => {
    const kind = k.backend ?? d.backend ?? 'qemu';
    if (k.lava && kind !== 'lava') { say({ path: [...at, 'lava'], message: `lava: is for backend: lava (this kernel's is ${kind})` }); return null; }
    if (kind === 'qemu') return undefined;
    if (kind === 'lava-run') return { kind };
    const lava = k.lava ?? d.lava;
    if (!lava) { say({ path: [...at, k.backend ? 'backend' : 'name'], message: 'backend: lava needs lava: { url, token-file } (on the kernel or in defaults)' }); return null; }
    if (k.lava ? !tokenFileOk(k.lava, at) : !defaultsLavaOk) return null;
    return { kind, url: lava.url, tokenFile: rel(lava['token-file']) };
  };

  const kernels = new Map<string, { req: KernelRequest; text: string; action: string; backend?: CellBackend; bisect?: PlannedCell['bisect'] }>();
  for (const [i, k] of f.kernels.entries()) {
    if (!k) continue; // refused by zod, said already
    const at = ['kernels', i];
    if (kernels.has(k.name)) { say({ path: [...at, 'name'], message: `the kernel name ${k.name} is used twice` }); continue; }
    const be = backendOf(k, at);
    if (be === null) continue;
    const kinds = (['debian', 'bzimage', 'tree'] as const).filter((x) => k[x] !== undefined);
    if (kinds.length !== 1) { say({ path: at, message: `a kernel is exactly one of debian:, bzimage: or tree: (${kinds.length ? kinds.join(' and ') : 'none'} given)` }); continue; }
    const treeOnly = (['ref', 'base-config', 'fragments', 'coverage', 'bisect'] as const).filter((x) => k[x] !== undefined);
    if (kinds[0] !== 'tree' && treeOnly.length) { say({ path: [...at, treeOnly[0]], message: `${treeOnly[0]} is for a tree: kernel` }); continue; }
    if (kinds[0] !== 'bzimage' && k.modules !== undefined) { say({ path: [...at, 'modules'], message: 'modules is for a bzimage: kernel' }); continue; }
    if (k.debian !== undefined) {
      const text = `debian:${k.debian}`;
      let spec;
      try { spec = parseKernelSpec(text); } catch (e) { say({ path: [...at, 'debian'], message: e instanceof Error ? e.message : String(e) }); continue; }
      kernels.set(k.name, { req: { spec }, text, action: `fetch or reuse Debian's ${k.debian} cloud kernel` });
    } else if (k.bzimage !== undefined) {
      const img = rel(k.bzimage);
      if (!existsSync(img) || !statSync(img).isFile()) { say({ path: [...at, 'bzimage'], message: `${k.bzimage}: no such file` }); continue; }
      const req: KernelRequest = { spec: { kind: 'path', bzImage: img, text: img } };
      if (k.modules !== undefined) {
        if (!existsSync(rel(k.modules))) { say({ path: [...at, 'modules'], message: `${k.modules}: no such directory` }); continue; }
        req.modules = rel(k.modules);
      }
      kernels.set(k.name, { req, text: img, action: `boot ${img}` });
    } else {
      const tree = rel(k.tree!);
      const top = existsSync(tree) ? await git(tree, ['rev-parse', '--show-toplevel'], { allowFail: true, env: { GIT_OPTIONAL_LOCKS: '0' } }) : undefined;
      if (!top || top.code !== 0) { say({ path: [...at, 'tree'], message: `${k.tree} is not a git tree` }); continue; }
      if (k.ref !== undefined) {
        const r = await git(tree, ['rev-parse', '--verify', '--quiet', `${k.ref}^{commit}`], { allowFail: true, env: { GIT_OPTIONAL_LOCKS: '0' } });
        if (r.code !== 0) { say({ path: [...at, 'ref'], message: `${k.ref} is not a commit of ${k.tree}` }); continue; }
      }
      let bad = false;
      for (const [j, fr] of (k.fragments ?? []).entries()) {
        if (!existsSync(rel(fr))) { say({ path: [...at, 'fragments', j], message: `${fr}: no such file` }); bad = true; }
      }
      const base = k['base-config'];
      if (base !== undefined && !['tiny', 'defconfig', 'debian'].includes(base) && !existsSync(rel(base))) {
        say({ path: [...at, 'base-config'], message: `${base}: no such file (give tiny, defconfig, debian or a .config file)` });
        bad = true;
      }
      if (bad) continue;
      const text = `tree:${tree}${k.ref !== undefined ? `@${k.ref}` : ''}`;
      const req: KernelRequest = { spec: parseKernelSpec(text) };
      if (base !== undefined) req.baseConfig = ['tiny', 'defconfig', 'debian'].includes(base) ? base : rel(base);
      if (k.fragments?.length) req.fragments = k.fragments.map(rel);
      if (k.coverage) req.coverage = true;
      kernels.set(k.name, { req, text, action: `build ${k.tree} at ${k.ref ?? 'its work tree'} (${base ?? 'tiny'}${k.fragments?.length ? ` + ${k.fragments.length} fragment(s)` : ''}${k.coverage ? ', gcov' : ''}), or reuse the cached build` });
    }
    const entry = kernels.get(k.name);
    // The counters are read from a guest kgate boots; a LAVA lab's guest is not one.
    if (entry && be && k.coverage) { say({ path: [...at, 'coverage'], message: 'coverage is for a local qemu cell (backend: qemu)' }); kernels.delete(k.name); continue; }
    // The bisect builds and boots its steps here, in local guests: the kernel's own cells must be local too.
    const bisectPlan = bisectPlanOf(k.bisect ?? (kinds[0] === 'tree' ? d.bisect : undefined));
    if (entry && bisectPlan && be) { say({ path: [...at, k.bisect !== undefined ? 'bisect' : 'backend'], message: 'bisect is for a local qemu cell (backend: qemu)' }); kernels.delete(k.name); continue; }
    if (entry && bisectPlan && k.coverage) { say({ path: [...at, 'bisect'], message: 'bisect is for a plain build, not a coverage: true one' }); kernels.delete(k.name); continue; }
    if (entry && bisectPlan) {
      entry.bisect = bisectPlan;
      entry.action += `; a new failure is bisected${bisectPlan.maxBuilds ? ` (at most ${bisectPlan.maxBuilds} kernel builds)` : ''}`;
    }
    if (entry && be) {
      entry.backend = be;
      entry.action += be.kind === 'lava' ? `; run on the LAVA server ${be.url}` : '; run by lava-run (LAVA\'s dispatcher, this host)';
    }
  }

  const selections = new Map<string, Selection>();
  for (const [i, s] of (f.selections ?? [{ name: 'default' }]).entries()) {
    const at = ['selections', i];
    if (selections.has(s.name)) { say({ path: [...at, 'name'], message: `the selection name ${s.name} is used twice` }); continue; }
    try {
      selections.set(s.name, makeSelection({ cases: s.cases ?? [], families: s.families ?? [], apis: s.apis ?? [] }));
    } catch (e) {
      say({ path: at, message: e instanceof Error ? e.message : String(e) });
    }
  }

  const oneSelection = (f.selections?.length ?? 1) === 1;
  const wanted = f.cells ?? [...kernels.keys()].flatMap((k) => [...selections.keys()].map((s) => ({ kernel: k, selection: s, name: undefined })));
  const cells: PlannedCell[] = [];
  const cellNames = new Set<string>();
  for (const [i, c] of wanted.entries()) {
    const at = f.cells ? ['cells', i] : ['kernels'];
    const k = kernels.get(c.kernel);
    const s = selections.get(c.selection);
    if (f.cells && !k && !f.kernels.some((x) => x?.name === c.kernel)) say({ path: [...at, 'kernel'], message: `no kernel is named ${c.kernel}` });
    if (f.cells && !s && !(f.selections ?? []).some((x) => x.name === c.selection)) say({ path: [...at, 'selection'], message: `no selection is named ${c.selection}` });
    if (!k || !s) continue;
    const cellName = c.name ?? (oneSelection ? c.kernel : `${c.kernel}-${c.selection}`);
    if (cellNames.has(cellName)) { say({ path: f.cells ? [...at] : at, message: `two cells are named ${cellName}` }); continue; }
    cellNames.add(cellName);
    cells.push({ name: cellName, kernelText: k.text, kernel: k.req, selection: s, action: k.action, ...(k.backend ? { backend: k.backend } : {}), ...(k.bisect ? { bisect: k.bisect } : {}) });
  }
  if (lines.length > 0) throw new KgateError('user', lines.join('\n'));
  return {
    file: path.resolve(file),
    ...(f.results ? { resultsRoot: rel(f.results) } : {}),
    repeat: d.repeat ?? 1, ...(d.accel ? { accel: d.accel } : {}), mem: d.mem ?? 1024, bootTimeout: d['boot-timeout'] ?? 120,
    cells, ...(f.reporter ? { reporter: f.reporter } : {}),
  };
}
