// C sources -> static binaries, incrementally and in parallel, then the
// manifest the runners read. A binary is rebuilt only when its inputs change:
// the source text, the compiler identity and the flags.
import { mkdirp } from '../util/fs.js';
import { writeFileAtomic } from '../util/atomic.js';
import { availableParallelism } from 'node:os';
import { readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { KgateError } from '../model.js';
import { MANIFEST_NAME, type BuildManifest, type BuiltBinary } from './manifest.js';
import { renderSuite, sha256, type RenderRequest, type RenderResult } from './render.js';
import { projectRoot } from '../util/paths.js';
import { tetheredGroup } from '../util/tether.js';

export const DEFAULT_CFLAGS: readonly string[] = Object.freeze(['-static', '-O2', '-Wall', '-Werror', '-pthread', '-s']);

export interface BuildRequest extends RenderRequest {
  binDir?: string;        // default <root>/build/bin
  cc?: string;            // default $CC or "cc"
  cflags?: string[];      // default DEFAULT_CFLAGS
  jobs?: number;          // parallel compilers; default: the core count
  force?: boolean;        // rebuild even when nothing changed
  signal?: AbortSignal;
  onEvent?: (e: BuildEvent) => void;
}

export type BuildEvent =
  | { type: 'render'; durationMs: number; files: number; changed: number }
  | { type: 'compile-start'; name: string }
  | { type: 'compile-end'; name: string; cached: boolean; durationMs: number };

export interface BuildStep {
  name: string;           // kgate-<family>
  path: string;
  cached: boolean;        // true: inputs unchanged, not recompiled
  durationMs: number;
}

export interface BuildResult {
  srcDir: string;
  binDir: string;
  manifestPath: string;
  manifest: BuildManifest;
  render: RenderResult;
  steps: BuildStep[];
  compileMs: number;      // wall time of the compile phase
  durationMs: number;     // render + compile + manifest
}

const ccIdentities = new Map<string, string>();

/** First line of `cc --version`; KgateError('infra') when there is no compiler. */
export async function ccIdentity(cc: string): Promise<string> {
  const known = ccIdentities.get(cc);
  if (known) return known;
  try {
    const r = await execa(cc, ['--version']);
    const id = r.stdout.split('\n')[0].trim();
    ccIdentities.set(cc, id);
    return id;
  } catch (e) {
    throw new KgateError('infra', `C compiler '${cc}' not usable (${(e as Error).message.split('\n')[0]}); install gcc and libc6-dev`);
  }
}

/** Runs fn over items with at most `jobs` at a time; the first error stops new starts. */
async function pool<T, R>(items: T[], jobs: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try { out[i] = await fn(items[i]); } catch (e) { failed ??= e; }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

/**
 * One compiler run in a process group of its own, so that an abort stops the
 * driver and what it started (cc1, as, collect2, ld) alike, by the group of
 * the pid we started: killing the driver alone left cc1 writing after it.
 */
async function compile(cc: string, args: string[], tmpDir: string, signal?: AbortSignal) {
  const proc = execa(...tetheredGroup(cc, args), { reject: false, all: true, detached: true, env: { TMPDIR: tmpDir }, stdin: 'ignore' });
  const kill = () => { try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* already gone */ } };
  if (signal?.aborted) kill();
  signal?.addEventListener('abort', kill, { once: true });
  try {
    return await proc;
  } finally {
    signal?.removeEventListener('abort', kill);
  }
}

/** Renders the selection, compiles each family binary (incrementally) and writes manifest.json. */
export async function buildSuite(req: BuildRequest = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const root = resolve(req.root ?? projectRoot());
  const binDir = resolve(req.binDir ?? join(root, 'build', 'bin'));
  const cc = req.cc ?? process.env.CC ?? 'cc';
  const cflags = req.cflags ?? [...DEFAULT_CFLAGS];
  const jobs = req.jobs ?? availableParallelism();
  const emit = req.onEvent ?? (() => {});

  const render = await renderSuite({ ...req, root });
  emit({ type: 'render', durationMs: render.durationMs, files: render.sources.length, changed: render.sources.filter((s) => s.changed).length });
  const ccId = await ccIdentity(cc);
  try {
    mkdirp(binDir);
  } catch (e) {
    throw new KgateError('user', `cannot write the suite to ${binDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (choose another build directory)`);
  }

  const tc = performance.now();
  // The compilers' temp files (cc1's .s, as's .o, ld's) go to a directory of
  // this build's own, removed at the end whatever happened: a compile killed
  // mid-way (SIGTERM or Ctrl-C during `kgate run`) left ccXXXXXX.s in /tmp.
  const ccTmp = join(binDir, `.cc-tmp-${process.pid}`);
  mkdirp(ccTmp);
  const results = await pool(render.sources, jobs, async (src) => {
    req.signal?.throwIfAborted();
    const t = performance.now();
    const path = join(binDir, src.name);
    const stampPath = join(binDir, `.${src.name}.stamp`);
    const inputs = sha256([src.sha256, ccId, cc, ...cflags].join('\0'));
    const stamp = await readFile(stampPath, 'utf8').catch(() => '');
    const have = await readFile(path).catch(() => undefined);
    if (!req.force && have && stamp.trim() === inputs) {
      emit({ type: 'compile-end', name: src.name, cached: true, durationMs: performance.now() - t });
      return { step: { name: src.name, path, cached: true, durationMs: performance.now() - t }, bin: have };
    }
    emit({ type: 'compile-start', name: src.name });
    const tmp = `${path}.tmp${process.pid}`;
    const r = await compile(cc, [...cflags, '-o', tmp, src.path], ccTmp, req.signal);
    if (req.signal?.aborted) {
      await rm(tmp, { force: true });
      throw new KgateError('interrupt', 'build interrupted');
    }
    if (r.failed) {
      await rm(tmp, { force: true });
      const first = (r.all ?? '').split('\n').find((l) => /error/.test(l)) ?? r.shortMessage ?? 'failed';
      throw new KgateError('infra', `cc failed for ${src.name}: ${first.trim()}`, r.all);
    }
    await rename(tmp, path);
    writeFileAtomic(stampPath, inputs + '\n');
    const bin = await readFile(path);
    const durationMs = performance.now() - t;
    emit({ type: 'compile-end', name: src.name, cached: false, durationMs });
    return { step: { name: src.name, path, cached: false, durationMs }, bin };
  }).finally(() => rm(ccTmp, { recursive: true, force: true }));
  const compileMs = performance.now() - tc;

  const binaries: BuiltBinary[] = render.sources.map((src, i) => ({
    name: src.name, path: results[i].step.path, family: src.family, api: src.api,
    cases: src.cases, sha256: sha256(results[i].bin),
  }));
  const manifest: BuildManifest = { version: 1, builtAt: new Date().toISOString(), cc: ccId, binaries };
  const manifestPath = join(binDir, MANIFEST_NAME);
  writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return {
    srcDir: render.srcDir, binDir, manifestPath, manifest, render,
    steps: results.map((x) => x.step), compileMs, durationMs: performance.now() - t0,
  };
}
