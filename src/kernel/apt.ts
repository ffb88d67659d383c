// kgate's own apt: a configuration under the kgate cache (apt/) that knows
// every suite Debian ships cloud kernels in, so `--kernel debian:7.3` works on
// a bookworm host whose own sources know only 6.1 and 6.12. The host's apt is
// never changed and never read for sources: APT_CONFIG names kgate's apt.conf,
// whose Dir::Etc, Dir::State and Dir::Cache all point inside apt/, so neither
// /etc/apt/apt.conf.d nor /etc/apt/sources.list* nor /var/lib/apt is used.
// Release files are checked as the host's apt checks its own: signed-by the
// host's debian-archive-keyring, never trusted=yes.
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mkdirp } from '../util/fs.js';
import { writeFileAtomic } from '../util/atomic.js';
import { KgateError } from '../model.js';
import { runTool } from '../util/run-tool.js';
import { isCloudKernelPackage } from './spec.js';

export const ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Where Debian ships cloud kernels: stable, oldstable, their backports and security updates, unstable. */
export const SUITES: readonly { suite: string; uri: string }[] = Object.freeze([
  { suite: 'bookworm', uri: 'http://deb.debian.org/debian' },
  { suite: 'bookworm-security', uri: 'http://deb.debian.org/debian-security' },
  { suite: 'bookworm-backports', uri: 'http://deb.debian.org/debian' },
  { suite: 'trixie', uri: 'http://deb.debian.org/debian' },
  { suite: 'trixie-security', uri: 'http://deb.debian.org/debian-security' },
  { suite: 'trixie-backports', uri: 'http://deb.debian.org/debian' },
  { suite: 'sid', uri: 'http://deb.debian.org/debian' },
]);

/** Lists older than this are refreshed on their own, when a run needs a kernel that is not cached. */
export const LISTS_MAX_AGE_MS = 24 * 3600 * 1000;

export interface PrivateApt {
  dir: string;
  /** The environment every apt-get / apt-cache of kgate's runs with (APT_CONFIG). */
  env: Record<string, string>;
  conf: string;
  lists: string;
  /** Written after each successful apt-get update. */
  stamp: string;
}

export function sourcesListText(keyring = ARCHIVE_KEYRING): string {
  return ['# kgate\'s own sources (src/kernel/apt.ts); the host\'s /etc/apt is not used', ...SUITES.map((s) =>
    `deb [arch=amd64 signed-by=${keyring}] ${s.uri} ${s.suite} main`), ''].join('\n');
}

/** apt.conf for a private apt rooted at `dir`. */
export function aptConfText(dir: string, keyring = ARCHIVE_KEYRING): string {
  const q = (k: string, v: string) => `${k} "${v}";`;
  return [
    '// kgate\'s own apt configuration (src/kernel/apt.ts): nothing here reads or writes the host\'s apt state',
    q('Dir::Etc', `${dir}/etc/`),
    q('Dir::Etc::Main', `${dir}/etc/apt.conf`),
    q('Dir::Etc::Parts', `${dir}/etc/apt.conf.d/`),
    q('Dir::Etc::SourceList', `${dir}/etc/sources.list`),
    q('Dir::Etc::SourceParts', `${dir}/etc/sources.list.d/`),
    q('Dir::Etc::Preferences', `${dir}/etc/preferences`),
    q('Dir::Etc::PreferencesParts', `${dir}/etc/preferences.d/`),
    q('Dir::Etc::Trusted', keyring),
    q('Dir::Etc::TrustedParts', `${dir}/etc/trusted.gpg.d/`),
    q('Dir::State', `${dir}/state/`),
    q('Dir::State::Lists', `${dir}/state/lists/`),
    q('Dir::State::status', `${dir}/state/status`),
    q('Dir::State::extended_states', `${dir}/state/extended_states`),
    q('Dir::Cache', `${dir}/cache/`),
    q('Dir::Cache::Archives', `${dir}/cache/archives/`),
    q('Dir::Log', `${dir}/log/`),
    q('APT::Architecture', 'amd64'),
    'APT::Architectures { "amd64"; };',
    q('Acquire::Languages', 'none'),
    q('Acquire::AllowInsecureRepositories', 'false'),
    q('Acquire::AllowDowngradeToInsecureRepositories', 'false'),
    q('APT::Get::AllowUnauthenticated', 'false'),
    // The lists live under root's home, which _apt cannot reach; apt would fall back with a warning.
    q('APT::Sandbox::User', 'root'),
    '',
  ].join('\n');
}

/** Make (or keep) the private apt tree under `dir` (the cache's apt/). Cheap: writes only what changed. */
export function privateApt(dir: string): PrivateApt {
  for (const d of ['etc/apt.conf.d', 'etc/sources.list.d', 'etc/preferences.d', 'etc/trusted.gpg.d', 'state/lists/partial', 'cache/archives/partial', 'log']) {
    mkdirp(path.join(dir, d));
  }
  const conf = path.join(dir, 'apt.conf');
  writeIfChanged(conf, aptConfText(dir));
  writeIfChanged(path.join(dir, 'etc', 'sources.list'), sourcesListText());
  for (const f of ['state/status', 'state/extended_states']) if (!existsSync(path.join(dir, f))) writeFileSync(path.join(dir, f), '');
  return { dir, conf, env: { APT_CONFIG: conf }, lists: path.join(dir, 'state', 'lists'), stamp: path.join(dir, 'updated') };
}

function writeIfChanged(p: string, text: string): void {
  try { if (readFileSync(p, 'utf8') === text) return; } catch { /* new */ }
  writeFileAtomic(p, text);
}

/** Package index files apt-cache reads, with their sizes and mtimes: the key of the kernel index. */
export function listsStamp(apt: PrivateApt): string {
  if (!existsSync(apt.lists)) return '';
  return readdirSync(apt.lists).filter((f) => /_Packages(\.\w+)?$/.test(f)).sort()
    .map((f) => { const s = statSync(path.join(apt.lists, f)); return `${f}:${s.size}:${s.mtimeMs}`; }).join(';');
}

/** ms since the last successful update, or undefined when there never was one (or the sources changed since). */
export function listsAge(apt: PrivateApt, now = Date.now()): number | undefined {
  try {
    const s = JSON.parse(readFileSync(apt.stamp, 'utf8')) as { at?: number; sources?: string };
    if (typeof s.at !== 'number' || s.sources !== sourcesListText() || !listsStamp(apt)) return undefined;
    return Math.max(0, now - s.at);
  } catch {
    return undefined;
  }
}

export interface AptOpts { signal?: AbortSignal; log?: (line: string) => void }

/**
 * apt-get update through the private configuration. Two kgate runs may want it
 * at once: the second waits for the first (a lock file holding its pid) and
 * then uses the lists it fetched.
 */
export async function aptUpdate(apt: PrivateApt, opts: AptOpts = {}): Promise<void> {
  const lock = path.join(apt.dir, 'update.lock');
  const t0 = Date.now();
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (!alive(holder)) { rmSync(lock, { force: true }); continue; }
      if (Date.now() - t0 > 300_000) throw new KgateError('infra', `apt-get update of ${apt.dir} held by pid ${holder} for 5 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // Another run updated while this one waited for the lock: its lists will do.
  const age = listsAge(apt);
  if (age !== undefined && age <= Date.now() - t0) { rmSync(lock, { force: true }); return; }
  try {
    opts.log?.(`apt-get update (kgate's own sources: ${SUITES.map((s) => s.suite).join(', ')})`);
    const args = ['update', '-q'];
    if (!(await hostChecksValidUntil(opts))) args.push('-o', 'Acquire::Check-Valid-Until=false');
    try {
      await runTool('apt-get', args, { env: apt.env, signal: opts.signal, writesTo: apt.dir });
    } catch (e) {
      // One suite that fails (an expired or unreachable Release) leaves the
      // others' fresh lists: say so, and keep them, unless there are none.
      if (!listsStamp(apt) || (e instanceof KgateError && e.family === 'interrupt')) throw e;
      opts.log?.(`apt-get update: ${(e as Error).message}`);
    }
    writeFileAtomic(apt.stamp, JSON.stringify({ at: Date.now(), sources: sourcesListText() }));
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Whether the host's apt refuses expired Release files (Acquire::Check-Valid-Until,
 * true unless its configuration says otherwise). kgate follows the host's
 * policy on this one point, as it uses the host's keyring: a host that pins a
 * snapshot of the archive turns the check off, and kgate would otherwise refuse
 * the very lists the host accepts. Signatures are checked either way.
 */
async function hostChecksValidUntil(opts: AptOpts): Promise<boolean> {
  if (process.env.KGATE_APT_CHECK_VALID_UNTIL) return !/^(0|no|false)$/i.test(process.env.KGATE_APT_CHECK_VALID_UNTIL);
  try {
    // The host's own configuration: an empty APT_CONFIG is none.
    const out = (await runTool('apt-config', ['shell', 'V', 'Acquire::Check-Valid-Until/b'], { env: { APT_CONFIG: '' }, signal: opts.signal })).stdout;
    return !/V='false'/.test(out);
  } catch {
    return true;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * `apt-cache madison` of every cloud kernel package (image, binary, modules, base)
 * the private lists know. It changes only when the lists do, so it is kept in
 * apt/kernel-index.json keyed by the lists' names, sizes and mtimes; undefined
 * when there are no lists yet (nothing is fetched here).
 */
export async function kernelMadison(apt: PrivateApt, opts: AptOpts = {}): Promise<string | undefined> {
  const stamp = listsStamp(apt);
  if (!stamp) return undefined;
  const indexPath = path.join(apt.dir, 'kernel-index.json');
  try {
    const idx = JSON.parse(readFileSync(indexPath, 'utf8')) as { stamp?: string; madison?: string };
    if (idx.stamp === stamp && typeof idx.madison === 'string') return idx.madison;
  } catch { /* no index yet */ }
  const names = (await runTool('apt-cache', ['pkgnames', 'linux-'], { env: apt.env, signal: opts.signal })).stdout
    .split('\n').map((s) => s.trim()).filter(isCloudKernelPackage).sort();
  const madison = names.length ? (await runTool('apt-cache', ['madison', ...names], { env: apt.env, signal: opts.signal })).stdout : '';
  writeFileAtomic(indexPath, JSON.stringify({ stamp, madison }));
  return madison;
}

/** apt-get download of exact name=version pairs into `cwd`, through the private configuration. */
export async function aptDownload(apt: PrivateApt, pkgs: string[], cwd: string, opts: AptOpts = {}): Promise<void> {
  await runTool('apt-get', ['download', '-q', ...pkgs], { cwd, env: apt.env, signal: opts.signal, writesTo: cwd });
}
