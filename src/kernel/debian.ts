// Debian kernels and bzImage paths -> a KernelArtifact. Debian kernels come
// from the apt archive the host already trusts (apt-get download, signed
// lists), are unpacked once into the kgate cache (outside the checkout, shared
// by every clone) and reused from there.
import { mkdirp } from '../util/fs.js';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic.js';
import { cacheCapBytes, cacheRoot, evictLru, touchEntry } from '../util/cache.js';
import type { KernelArtifact } from './artifact.js';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KgateError } from '../model.js';
import { runTool } from '../util/run-tool.js';
import { choosePackage, compareVersions, isCloudKernelPackage, parseMadison, bzImageRelease, type KernelSpec } from './spec.js';

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
  const kernelsDir = path.join(opts.cacheDir ?? defaultCacheDir(), 'kernels');
  const pkg = choosePackage(spec, parseMadison(await archiveKernels(kernelsDir, opts)));

  const dest = path.join(kernelsDir, `${pkg.name}_${pkg.version}`.replace(/[^A-Za-z0-9._+-]/g, '_'));
  const done = path.join(dest, '.kgate-complete');
  const fetched = !existsSync(done);
  if (fetched) {
    opts.log?.(`fetching ${pkg.name} ${pkg.version}`);
    mkdirp(kernelsDir);
    const tmp = `${dest}.partial-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    mkdirp(tmp);
    try {
      // apt-get download writes into its cwd; running as root it warns that _apt
      // cannot write there, which is harmless.
      await runTool('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: tmp, signal: opts.signal });
      const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
      if (!deb) throw new KgateError('infra', `apt-get download ${pkg.name} left no .deb`);
      await runTool('dpkg-deb', ['-x', path.join(tmp, deb), tmp], { signal: opts.signal });
      await rm(path.join(tmp, deb));
      const release = releaseFromTree(tmp);
      // The package ships no modules.dep (its postinst runs depmod): make it here
      // so the image builder finds virtio_net's and overlay's dependencies.
      await runTool('depmod', ['-b', tmp, release], { signal: opts.signal });
      await writeFile(path.join(tmp, '.kgate-complete'), `${pkg.name}=${pkg.version}\n`);
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

/**
 * `apt-cache madison` of every cloud kernel package. Two apt-cache calls cost
 * over a second, on every run; their answer changes only when the package lists
 * do, so it is kept beside the kernels, keyed by the lists' names and mtimes.
 */
async function archiveKernels(kernelsDir: string, opts: ResolveOptions): Promise<string> {
  await ensureAptLists(opts);
  const stamp = aptListsStamp();
  const indexPath = path.join(kernelsDir, 'apt-index.json');
  try {
    const idx = JSON.parse(readFileSync(indexPath, 'utf8')) as { stamp?: string; madison?: string };
    if (idx.stamp === stamp && typeof idx.madison === 'string') return idx.madison;
  } catch { /* no index yet */ }
  const names = (await runTool('apt-cache', ['pkgnames', 'linux-image-'], { signal: opts.signal })).stdout
    .split('\n').map((s) => s.trim()).filter(isCloudKernelPackage);
  const madison = names.length ? (await runTool('apt-cache', ['madison', ...names], { signal: opts.signal })).stdout : '';
  writeFileAtomic(indexPath, JSON.stringify({ stamp, madison }));
  return madison;
}

function aptListsStamp(): string {
  const dir = '/var/lib/apt/lists';
  return readdirSync(dir).filter((f) => /_Packages(\.\w+)?$/.test(f)).sort()
    .map((f) => `${f}:${statSync(path.join(dir, f)).mtimeMs}`).join(';');
}

/** apt-cache knows nothing until the lists exist; update only then, never on every run. */
async function ensureAptLists(opts: ResolveOptions): Promise<void> {
  const dir = '/var/lib/apt/lists';
  const have = existsSync(dir) && readdirSync(dir).some((f) => /_Packages(\.\w+)?$/.test(f) && statSync(path.join(dir, f)).size > 0);
  if (have) return;
  opts.log?.('apt package lists missing: running apt-get update');
  await runTool('apt-get', ['update', '-q'], { signal: opts.signal });
}

export async function resolvePathKernel(bzImage: string, modulesArg: string | undefined): Promise<KernelArtifact> {
  const abs = path.resolve(bzImage);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new KgateError('user', `kernel image ${bzImage} does not exist or is not a file`);
  const fh = await open(abs, 'r');
  const head = Buffer.alloc(64 * 1024);
  try { await fh.read(head, 0, head.length, 0); } finally { await fh.close(); }
  const release = bzImageRelease(head);
  if (!release) throw new KgateError('user', `${bzImage} is not an x86 bzImage (no HdrS setup header)`);
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
    .filter((d) => d.startsWith(`linux-image-${series}.`) && existsSync(path.join(dir, d, '.kgate-complete')))
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
