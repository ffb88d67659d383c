// Debian kernels and bzImage paths -> a KernelArtifact. Debian kernels come
// from Debian's archive through kgate's own apt configuration (src/kernel/apt.ts:
// every suite that ships cloud kernels, signed lists, the host's apt untouched),
// are unpacked once into the kgate cache (outside the checkout, shared by every
// clone) in one layout whatever the package split, and reused from there.
import { mkdirp } from '../util/fs.js';
import { createHash } from 'node:crypto';
import { cacheCapBytes, cacheRoot, evictLru, touchEntry } from '../util/cache.js';
import type { KernelArtifact } from './artifact.js';
import { existsSync, readFileSync, readdirSync, renameSync, statSync } from 'node:fs';
import { open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KgateError } from '../model.js';
import { runTool } from '../util/run-tool.js';
import { choosePackage, compareVersions, parseMadison, bzImageRelease, bzImageDeclaredSize, type DebianKernelPackage, type KernelSpec } from './spec.js';
import { LISTS_MAX_AGE_MS, aptDownload, aptUpdate, kernelMadison, listsAge, listsStamp, privateApt } from './apt.js';

export interface ResolveOptions {
  /** The kgate cache (default); kernels go in <cacheDir>/kernels. */
  cacheDir?: string;
  /** For the path form: lib/modules/<release>, or a root that holds lib/modules/<release>. */
  modulesDir?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export async function resolveDebianKernel(spec: Extract<KernelSpec, { kind: 'debian' }>, opts: ResolveOptions): Promise<KernelArtifact> {
  const t0 = Date.now();
  const root = opts.cacheDir ?? defaultCacheDir();
  const kernelsDir = path.join(root, 'kernels');
  const pkg = await pickKernel(spec, root, opts);

  const dest = entryDir(kernelsDir, pkg);
  const done = path.join(dest, '.kgate-complete');
  const fetched = !existsSync(done);
  if (fetched) {
    opts.log?.(`fetching ${pkg.packages.join(', ')} ${pkg.version} (${pkg.suite})`);
    mkdirp(kernelsDir);
    const tmp = `${dest}.partial-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    mkdirp(tmp);
    try {
      const apt = privateApt(path.join(root, 'apt'));
      await aptDownload(apt, pkg.packages.map((n) => `${n}=${pkg.version}`), tmp, opts);
      const debs = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
      if (debs.length !== pkg.packages.length) throw new KgateError('infra', `apt-get download of ${pkg.packages.join(' ')} left ${debs.length} .deb files`);
      for (const deb of debs) {
        await runTool('dpkg-deb', ['-x', path.join(tmp, deb), tmp], { signal: opts.signal, writesTo: tmp });
        await rm(path.join(tmp, deb));
      }
      const release = canonicalLayout(tmp, pkg.release);
      // The packages ship no modules.dep (the postinst runs depmod): make it here
      // so the image builder finds virtio_net's and overlay's dependencies.
      await runTool('depmod', ['-b', tmp, release], { signal: opts.signal, writesTo: tmp });
      await writeFile(path.join(tmp, '.kgate-complete'), `${pkg.packages.map((n) => `${n}=${pkg.version}`).join(' ')}\n`);
      await rm(dest, { recursive: true, force: true });
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  touchEntry(dest);
  if (fetched) evictLru(kernelsDir, cacheCapBytes() / 4, [dest]);
  const release = releaseFromTree(dest);
  const bzImage = path.join(dest, 'boot', `vmlinuz-${release}`);
  return {
    bzImage,
    modulesDir: path.join(dest, 'lib', 'modules', release),
    release,
    source: `debian:${pkg.name}=${pkg.version}`,
    identity: {
      release, kernelVersion: pkg.upstream, package: pkg.name, packageVersion: pkg.version,
      configHash: configHashBeside(bzImage, release), source: spec.text, pinned: `debian:${pkg.upstream}`,
    },
    how: fetched ? 'fetched' : 'cached',
    ms: Date.now() - t0,
  };
}

/** The cache entry of a kernel: kernels/<image package>_<version>. */
function entryDir(kernelsDir: string, pkg: DebianKernelPackage): string {
  return path.join(kernelsDir, `${pkg.name}_${pkg.version}`.replace(/[^A-Za-z0-9._+-]/g, '_'));
}

export function isCached(pkg: DebianKernelPackage, cacheDir = defaultCacheDir()): boolean {
  return existsSync(path.join(entryDir(path.join(cacheDir, 'kernels'), pkg), '.kgate-complete'));
}

/**
 * Which kernel a debian: spec means. The private lists are read as they are
 * first: when they name a kernel already in the cache, that is the answer and
 * nothing touches the network, however old the lists. Otherwise the lists are
 * refreshed when missing or older than a day, then asked again.
 */
async function pickKernel(spec: Extract<KernelSpec, { kind: 'debian' }>, root: string, opts: ResolveOptions): Promise<DebianKernelPackage> {
  const apt = privateApt(path.join(root, 'apt'));
  const madison = await kernelMadison(apt, opts);
  let firstError: unknown;
  if (madison !== undefined) {
    try {
      const pkg = choosePackage(spec, parseMadison(madison));
      const age = listsAge(apt);
      if (isCached(pkg, root) || (age !== undefined && age < LISTS_MAX_AGE_MS)) return pkg;
    } catch (e) {
      firstError = e;
      const age = listsAge(apt);
      if (age !== undefined && age < LISTS_MAX_AGE_MS) throw e;
    }
  }
  try {
    await aptUpdate(apt, opts);
  } catch (e) {
    if (madison === undefined || (e instanceof KgateError && e.family === 'interrupt')) throw e;
    opts.log?.(`apt-get update failed, using the lists of ${new Date(Date.now() - (listsAge(apt) ?? 0)).toISOString()}: ${(e as Error).message}`);
    if (firstError) throw firstError;
  }
  return choosePackage(spec, parseMadison((await kernelMadison(apt, opts)) ?? ''));
}

export interface ListedKernel extends DebianKernelPackage { cached: boolean }

/** Every cloud kernel the private lists know, oldest first; refreshed when asked, or when there are no lists or they are over a day old. */
export async function listDebianKernels(o: { cacheDir?: string; refresh?: boolean; signal?: AbortSignal; log?: (l: string) => void } = {}): Promise<{ kernels: ListedKernel[]; listsAgeMs?: number; aptDir: string }> {
  const root = o.cacheDir ?? defaultCacheDir();
  const apt = privateApt(path.join(root, 'apt'));
  const age = listsAge(apt);
  if (o.refresh || age === undefined || age >= LISTS_MAX_AGE_MS) {
    try {
      await aptUpdate(apt, o);
    } catch (e) {
      if (o.refresh || !listsStamp(apt) || (e instanceof KgateError && e.family === 'interrupt')) throw e;
      o.log?.(`apt-get update failed, listing the lists as they were: ${(e as Error).message}`);
    }
  }
  const kernels = parseMadison((await kernelMadison(apt, o)) ?? '').map((k) => ({ ...k, cached: isCached(k, root) }));
  return { kernels, listsAgeMs: listsAge(apt), aptDir: apt.dir };
}

/**
 * Bring an unpacked kernel to one shape whatever its package layout:
 * boot/vmlinuz-<release>, boot/config-<release> and lib/modules/<release>.
 * 6.x packages are nearly there (6.18 puts modules under usr/lib); from 7.2
 * the image is usr/lib/modules/<release>/vmlinuz (vmlinuz.unsigned in the
 * unsigned package) and the config is usr/lib/modules/<release>/config.
 */
export function canonicalLayout(root: string, expected: string): string {
  const usrMods = path.join(root, 'usr', 'lib', 'modules');
  const mods = path.join(root, 'lib', 'modules');
  if (existsSync(usrMods)) {
    mkdirp(mods);
    for (const rel of readdirSync(usrMods)) {
      const to = path.join(mods, rel);
      if (existsSync(to)) throw new KgateError('infra', `kernel package ships both lib/modules/${rel} and usr/lib/modules/${rel}`);
      renameSync(path.join(usrMods, rel), to);
    }
  }
  const boot = path.join(root, 'boot');
  mkdirp(boot);
  const rels = existsSync(mods) ? readdirSync(mods) : [];
  const release = rels.includes(expected) ? expected : rels[0] ?? expected;
  const md = path.join(mods, release);
  for (const f of ['vmlinuz', 'vmlinuz.unsigned']) {
    const p = path.join(md, f);
    if (existsSync(p) && !existsSync(path.join(boot, `vmlinuz-${release}`))) renameSync(p, path.join(boot, `vmlinuz-${release}`));
  }
  for (const [f, to] of [['config', 'config'], ['System.map', 'System.map']]) {
    const p = path.join(md, f);
    if (existsSync(p) && !existsSync(path.join(boot, `${to}-${release}`))) renameSync(p, path.join(boot, `${to}-${release}`));
  }
  return releaseFromTree(root);
}

/** sha256 of the kernel's config where it is shipped beside the image (boot/config-<release>). */
function configHashBeside(bzImage: string, release: string): string | undefined {
  const p = path.join(path.dirname(bzImage), `config-${release}`);
  return existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : undefined;
}

function releaseFromTree(root: string): string {
  const boot = path.join(root, 'boot');
  const v = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : undefined;
  if (!v) throw new KgateError('infra', `no boot/vmlinuz-* in the kernel package unpacked at ${root}`);
  return v.slice('vmlinuz-'.length);
}

export async function resolvePathKernel(bzImage: string, modulesArg: string | undefined): Promise<KernelArtifact> {
  const abs = path.resolve(bzImage);
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new KgateError('user', `kernel image ${bzImage} does not exist or is not a file`);
  const fh = await open(abs, 'r');
  const head = Buffer.alloc(64 * 1024);
  try { await fh.read(head, 0, head.length, 0); } finally { await fh.close(); }
  const release = bzImageRelease(head);
  if (!release) throw new KgateError('user', `${bzImage} is not an x86 bzImage (no HdrS setup header)`);
  const declared = bzImageDeclaredSize(head) ?? 0;
  if (st.size < declared) throw new KgateError('infra', `kernel image ${bzImage} is truncated: ${mib(st.size)} of the ${mib(declared)} its boot header declares (a copy or download cut short); not booted`);
  let modulesDir: string | undefined;
  if (modulesArg !== undefined) {
    const m = path.resolve(modulesArg);
    const candidates = [m, path.join(m, 'lib', 'modules', release), path.join(m, release)];
    modulesDir = candidates.find((c) => existsSync(path.join(c, 'modules.order')) || existsSync(path.join(c, 'modules.dep')) || existsSync(path.join(c, 'kernel')));
    if (!modulesDir) throw new KgateError('user', `modules directory ${modulesArg} has no modules for ${release} (looked for modules.dep or kernel/ in ${candidates.join(', ')})`);
  }
  return {
    bzImage: abs, modulesDir, release, source: abs,
    identity: { release, configHash: configHashBeside(abs, release), source: bzImage, pinned: abs },
    how: 'path',
  };
}

/** The bzImage of an already-fetched Debian kernel of a series, newest first; no apt, no network. */
export function cachedKernelImage(series: string, cacheDir = defaultCacheDir()): string | undefined {
  const dir = path.join(cacheDir, 'kernels');
  if (!existsSync(dir)) return undefined;
  const hits = readdirSync(dir)
    .filter((d) => [`linux-image-${series}.`, `linux-binary-unsigned-${series}.`, `linux-binary-${series}.`].some((p) => d.startsWith(p))
      && existsSync(path.join(dir, d, '.kgate-complete')))
    .sort(compareVersions);
  for (const d of hits.reverse()) {
    try { return path.join(dir, d, 'boot', `vmlinuz-${releaseFromTree(path.join(dir, d))}`); } catch { /* incomplete */ }
  }
  return undefined;
}

/** The kgate cache: downloaded kernels (kernels/) and built guest images (images/). */
export function defaultCacheDir(): string {
  return cacheRoot();
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
