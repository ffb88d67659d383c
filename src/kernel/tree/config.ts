// The kernel's .config for a tree build: a base (tinyconfig, defconfig,
// Debian's cloud config or a file), then kgate's required fragment, then the
// user's fragments, merged as scripts/kconfig/merge_config.sh does (a later
// value wins), then `make olddefconfig`. Kconfig may still drop an option (a
// dependency is off, the option does not exist at this commit), so every
// option asked for is checked against the final .config, and a loss is named
// with the reason Kconfig gives.
//
// Merged here rather than by merge_config.sh: the script only warns, in
// prose on stdout, and kgate must know which option came from which fragment
// to say whose mistake a loss is (exit 2 for the user's fragment, 125 for a
// commit whose Kconfig cannot give kgate what it needs).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KgateError } from '../../model.js';
import { changedFiles } from '../../util/git.js';
import { runTool } from '../../util/run-tool.js';
import type { KernelRequest } from '../artifact.js';
import { configKey, type ConfigRecipe } from './cache.js';
import { COVERAGE_FRAGMENT, COVERAGE_FRAGMENT_NAME } from './gcov.js';
import type { Make } from './make.js';
import type { TreeSource } from './source.js';

/**
 * What kgate's guest and the suite need (measured on 6.12 and 7.3 tinyconfig:
 * every option survives). The last four are for the suite's reach, not the
 * guest: AIO and IO_URING run the passthrough async read/write paths (H10),
 * DEBUG_FS gives the backing-file cases a pseudofile without direct I/O,
 * splice_write or mmap (U38, U39), TMPFS_XATTR lets tmpfs take chattr +a/+i
 * (U41). Their cost on the 6.12 tiny build: docs/coverage.md.
 * HYPERVISOR_GUEST and PVH are for speed: QEMU starts a kernel with the PVH
 * entry from its uncompressed ELF (kernel/pvh.ts), skipping the bzImage's
 * own decompression, slow under TCG (the 6.12 tiny kernel to kgate's ready
 * line, TCG, host loaded, median of 5: 2.18 s -> 1.64 s). BUG and
 * KALLSYMS are for the kernel's own reports: without BUG (tinyconfig turns
 * it off) a WARN_ON prints nothing and BUG() only stops, so a crash kgate
 * must call CRASH goes unseen; without KALLSYMS a trace is bare addresses,
 * which decode_stacktrace.sh cannot turn into file:line.
 */
export const REQUIRED_FRAGMENT = [
  '64BIT', 'PRINTK', 'TTY', 'SERIAL_8250', 'SERIAL_8250_CONSOLE', 'BLK_DEV_INITRD', 'RD_GZIP',
  'BINFMT_ELF', 'BINFMT_SCRIPT', 'DEVTMPFS', 'DEVTMPFS_MOUNT', 'PROC_FS', 'SYSFS', 'TMPFS', 'SHMEM',
  'MULTIUSER', 'FUTEX', 'EPOLL', 'SIGNALFD', 'TIMERFD', 'EVENTFD', 'FILE_LOCKING', 'POSIX_TIMERS',
  'MEMFD_CREATE', 'UNIX98_PTYS', 'NET', 'INET', 'UNIX', 'PCI', 'VIRTIO_MENU', 'VIRTIO', 'VIRTIO_PCI',
  'NETDEVICES', 'NET_CORE', 'VIRTIO_NET', 'E1000', 'FUSE_FS', 'FUSE_PASSTHROUGH', 'OVERLAY_FS',
  'SYSVIPC', 'HW_RANDOM', 'HW_RANDOM_VIRTIO',
  'AIO', 'IO_URING', 'DEBUG_FS', 'TMPFS_XATTR',
  'HYPERVISOR_GUEST', 'PVH',
  'BUG', 'KALLSYMS',
].map((o) => `CONFIG_${o}=y`).join('\n') + '\n';

/** Debian's config names its signing keys by paths of Debian's build tree: a plain build has none. */
export const DEBIAN_FIXUPS = 'CONFIG_SYSTEM_TRUSTED_KEYS=""\nCONFIG_SYSTEM_REVOCATION_KEYS=""\nCONFIG_MODULE_SIG_KEY="certs/signing_key.pem"\nCONFIG_DEBUG_INFO_BTF=n\n';

/** 'n' stands for "# CONFIG_X is not set"; other values as written (y, m, "string", 0x10, 42). */
export type ConfigMap = Map<string, string>;

export interface Fragment { name: string; text: string; /** kgate's own (required) or the user's. */ owner: 'kgate' | 'user' }

export class ConfigSyntaxError extends Error {}

/** A .config or fragment: `CONFIG_X=v` and `# CONFIG_X is not set` lines; anything else but comments is an error. */
export function parseConfig(text: string, name = 'config'): ConfigMap {
  const out: ConfigMap = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const unset = line.match(/^#\s*(CONFIG_\w+) is not set$/);
    if (unset) { out.set(unset[1], 'n'); return; }
    if (line.startsWith('#')) return;
    const set = line.match(/^(CONFIG_\w+)=(.*)$/);
    if (!set) throw new ConfigSyntaxError(`${name}:${i + 1}: not a config line: ${line.slice(0, 60)}`);
    out.set(set[1], set[2] === '' ? 'n' : set[2]);
  });
  return out;
}

export function renderConfig(map: ConfigMap): string {
  let s = '';
  for (const [k, v] of map) s += v === 'n' ? `# ${k} is not set\n` : `${k}=${v}\n`;
  return s;
}

export interface Asked { value: string; from: Fragment; /** Earlier fragments whose value this one replaced. */ overrode: { from: Fragment; value: string }[] }

/** merge_config.sh's rule: fragments in order over the base, the last value of an option wins. */
export function mergeFragments(base: ConfigMap, fragments: Fragment[]): { merged: ConfigMap; asked: Map<string, Asked> } {
  const merged: ConfigMap = new Map(base);
  const asked = new Map<string, Asked>();
  for (const f of fragments) {
    for (const [k, v] of parseConfig(f.text, f.name)) {
      const prev = asked.get(k);
      const overrode = prev ? [...prev.overrode, ...(prev.value !== v ? [{ from: prev.from, value: prev.value }] : [])] : [];
      asked.set(k, { value: v, from: f, overrode });
      merged.set(k, v);
    }
  }
  return { merged, asked };
}

export interface LostOption {
  option: string;
  asked: string;
  got: string;
  /** Why, in one phrase: "depends on FUSE_FS (FUSE_FS=n)", "no such option in this tree", "your off.config sets it n". */
  why: string;
  /** Whose doing: a user's fragment (their mistake: exit 2) or this commit's Kconfig (exit 125). */
  blame: 'user' | 'kconfig';
  from: string;
}

const show = (v: string | undefined) => (v === undefined || v === 'n' ? 'n' : v);

/**
 * Options of kgate's fragment that a tree may simply not have. An option the
 * tree defines and Kconfig drops is lost (the commit cannot give kgate what it
 * needs: 125); one that no Kconfig file of the tree defines at all gates
 * nothing there, so it is not asked for. Only options whose feature needs no
 * option where the option is missing are listed, with the one line kgate says.
 */
export const NEEDLESS_WHEN_UNDEFINED: Readonly<Record<string, string>> = Object.freeze({
  // 5.10-based Android trees build passthrough with FUSE_FS; trees before 6.9 have none (every case SKIPs)
  CONFIG_FUSE_PASSTHROUGH: 'passthrough, where this tree has any, is built with FUSE_FS; the suite says which API the kernel speaks',
  // io_uring came in 5.1: before it the io_uring case SKIPs
  CONFIG_IO_URING: 'the tree has no io_uring; H10.io_uring SKIPs',
  // boot speed only (kernel/pvh.ts): without them the bzImage boots
  CONFIG_HYPERVISOR_GUEST: 'the guest boots from the bzImage, a little slower',
  CONFIG_PVH: 'the guest boots from the bzImage, a little slower',
});

/** kgate's options this tree has no Kconfig symbol for, and may do without: one line each, for the log. */
export function undefinedButNeedless(asked: Map<string, Asked>, kconfig: (option: string) => string[] | undefined): string[] {
  return [...asked].filter(([option, a]) => a.from.owner === 'kgate' && option in NEEDLESS_WHEN_UNDEFINED
    && kconfig(option.replace(/^CONFIG_/, '')) === undefined)
    .map(([option]) => `${option}: no such option in this tree, not asked for: ${NEEDLESS_WHEN_UNDEFINED[option]}`);
}

/**
 * Every option a fragment asked for that the final .config does not hold.
 * `kconfig(option)` returns the option's `depends on` expressions in this tree
 * (undefined when no Kconfig defines it).
 */
export function lostOptions(asked: Map<string, Asked>, final: ConfigMap, kconfig: (option: string) => string[] | undefined): LostOption[] {
  const lost: LostOption[] = [];
  const userSet = new Set([...asked].filter(([, a]) => a.from.owner === 'user').map(([k]) => k));
  for (const [option, a] of asked) {
    const got = show(final.get(option));
    if (got === show(a.value)) continue;
    const name = option.replace(/^CONFIG_/, '');
    let why: string;
    let blame: LostOption['blame'];
    const deps = kconfig(name);
    if (deps === undefined && a.from.owner === 'kgate' && option in NEEDLESS_WHEN_UNDEFINED) continue;   // undefinedButNeedless says it
    if (deps === undefined) { why = 'no such option in this tree'; blame = a.from.owner === 'user' ? 'user' : 'kconfig'; }
    else {
      const syms = [...new Set(deps.flatMap((d) => d.match(/\b[A-Z][A-Z0-9_]+\b/g) ?? []))];
      const values = syms.map((s) => `${s}=${show(final.get(`CONFIG_${s}`))}`);
      why = deps.length ? `depends on ${deps.join(' && ')} (${values.join(', ')})` : 'Kconfig does not let it be set (no prompt, or something it needs is off)';
      // A dependency the user's fragment turned off makes the loss theirs.
      blame = a.from.owner === 'user' || syms.some((s) => userSet.has(`CONFIG_${s}`)) ? 'user' : 'kconfig';
    }
    lost.push({ option, asked: show(a.value), got, why, blame, from: a.from.name });
  }
  // An option the user turned off that kgate needs is lost even when Kconfig kept the user's value.
  for (const [option, a] of asked) {
    if (a.from.owner !== 'user' || lost.some((l) => l.option === option)) continue;
    const kgateWanted = a.overrode.find((o) => o.from.owner === 'kgate');
    if (kgateWanted && show(final.get(option)) !== show(kgateWanted.value)) {
      lost.push({ option, asked: kgateWanted.value, got: show(final.get(option)), why: `${a.from.name} sets it ${show(a.value)}, kgate needs ${kgateWanted.value}`, blame: 'user', from: a.from.name });
    }
  }
  return lost;
}

/**
 * `depends on` lines of `config NAME` in the tree's Kconfig files, or
 * undefined when no Kconfig file defines it. Read only when an option was
 * lost, so walking the tree (about a second) costs nothing on a good build.
 */
export function kconfigDepends(srcDir: string): (option: string) => string[] | undefined {
  let index: Map<string, string[]> | undefined;
  return (option) => {
    index ??= indexKconfig(srcDir);
    return index.get(option);
  };
}

function indexKconfig(srcDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('Kconfig') && statSync(p).isFile()) readEntries(readFileSync(p, 'utf8'), out);
    }
  };
  walk(srcDir);
  return out;
}

/** Adds each `config`/`menuconfig` entry's depends-on lines (an option defined twice keeps both). */
export function readEntries(text: string, out: Map<string, string[]>): void {
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const entry = raw.match(/^\s*(?:menu)?config\s+([A-Z0-9_]+)\s*$/);
    if (entry) {
      current = out.get(entry[1]) ?? [];
      out.set(entry[1], current);
      continue;
    }
    if (/^\s*(endmenu|menu|choice|endchoice|if|endif|source|comment)\b/.test(raw)) { current = undefined; continue; }
    const dep = raw.match(/^\s+depends\s+on\s+(.+?)\s*$/);
    if (dep && current) current.push(dep[1].includes('&&') || dep[1].includes('||') ? `(${dep[1]})` : dep[1]);
  }
}

/** Files whose change can change what Kconfig makes of the same recipe. */
export function touchesKconfig(file: string): boolean {
  return /(^|\/)Kconfig[^/]*$/.test(file) || /^scripts\/(kconfig\/|Kconfig)/.test(file) || /^(arch\/[^/]+\/)?configs\//.test(file)
    || /^kernel\/configs\//.test(file) || file === 'Makefile' || /^arch\/[^/]+\/Makefile$/.test(file) || /^scripts\/(Makefile|cc-|as-|ld-|rust|min-tool)/.test(file);
}

/**
 * Files no kernel build reads: a commit that changes only these (a README, the
 * documentation, MAINTAINERS) builds the very kernel its parent built, so a
 * bisect or a nightly need not build it again. Kconfig files under
 * Documentation are read by Kconfig, so they are not inert.
 */
export function inertForBuild(file: string): boolean {
  if (touchesKconfig(file)) return false;
  return /^Documentation\//.test(file) || /^(README|MAINTAINERS|CREDITS|COPYING|\.mailmap)$/.test(file) || /^LICENSES\//.test(file)
    || /(^|\/)README(\.[a-z]+)?$/.test(file) || /\.(rst|md)$/.test(file);
}

// The .config of one build directory, as buildTreeKernel makes it: the recipe
// read and checked before anything builds, then made with make and checked.

/** The base config and the fragments, read and checked before anything is built. */
export async function configRecipe(req: KernelRequest, src: TreeSource, signal?: AbortSignal): Promise<ConfigRecipe & { baseText?: string; all: Fragment[] }> {
  const base = req.baseConfig ?? 'tiny';
  const fragments: Fragment[] = [{ name: 'kgate required fragment', text: REQUIRED_FRAGMENT, owner: 'kgate' }];
  let baseText: string | undefined;
  if (base === 'debian') {
    baseText = await debianConfig(src.kernelVersion, signal);
    fragments.push({ name: 'kgate fixups of the Debian config', text: DEBIAN_FIXUPS, owner: 'kgate' });
  } else if (base !== 'tiny' && base !== 'defconfig') {
    baseText = readConfigFile('--base-config', base, ' (give tiny, defconfig, debian or a .config file)');
  }
  if (req.coverage) fragments.push({ name: COVERAGE_FRAGMENT_NAME, text: COVERAGE_FRAGMENT, owner: 'kgate' });
  for (const f of req.fragments ?? []) fragments.push({ name: f, text: readConfigFile('--config-fragment', f), owner: 'user' });
  return {
    base: base === 'tiny' || base === 'defconfig' || base === 'debian' ? base : path.resolve(base),
    ...(baseText !== undefined ? { baseHash: createHash('sha256').update(baseText).digest('hex'), baseText } : {}),
    fragments: fragments.map((f) => ({ name: f.name, text: f.text })),
    all: fragments,
  };
}

/** A config file the user named, checked to be one: any problem is one line naming the option. */
function readConfigFile(option: string, file: string, hint = ''): string {
  const abs = path.resolve(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new KgateError('user', `${option} ${file}: no such file${hint}`);
  const text = readFileSync(abs, 'utf8');
  try { parseConfig(text, file); } catch (e) { if (e instanceof ConfigSyntaxError) throw new KgateError('user', `${option} ${e.message}`); throw e; }
  return text;
}

/** Debian's cloud config for this kernel's major.minor, from linux-config-X.Y. */
async function debianConfig(kernelVersion: string, signal?: AbortSignal): Promise<string> {
  const mm = kernelVersion.split('.').slice(0, 2).join('.');
  const file = `/usr/src/linux-config-${mm}/config.amd64_none_cloud-amd64.xz`;
  if (!existsSync(file)) throw new KgateError('user', `--base-config debian: ${file} is missing (apt-get install linux-config-${mm}; Debian ships configs for the series it packages)`);
  return (await runTool('xz', ['-dc', file], { signal })).stdout;
}

/** The plain build's recipe of a gcov one: its build directory seeds the gcov build's. */
export function withoutCoverage(r: ConfigRecipe): ConfigRecipe {
  return { ...r, fragments: r.fragments.filter((f) => f.name !== COVERAGE_FRAGMENT_NAME) };
}

/**
 * What the .config of a build directory was made from. A bisect step or a
 * nearby commit whose diff touches no Kconfig input gets the same .config, so
 * generating it again (tinyconfig rebuilds kconfig's own tools: seconds a step)
 * is skipped.
 */
interface ConfigStamp { sourceTree: string; configKey: string; compiler: string; configSha: string }
export const CONFIG_STAMP = '.kgate-config.json';

async function stampStillHolds(srcDir: string, obj: string, recipe: ConfigRecipe, ctx: { src: TreeSource; compiler: string; signal?: AbortSignal }): Promise<boolean> {
  if (ctx.src.dirty) return false; // its diff may touch anything; not worth reasoning about
  let stamp: ConfigStamp;
  try { stamp = JSON.parse(readFileSync(path.join(obj, CONFIG_STAMP), 'utf8')) as ConfigStamp; } catch { return false; }
  const configFile = path.join(obj, '.config');
  if (stamp.configKey !== configKey(recipe) || stamp.compiler !== ctx.compiler || !existsSync(configFile)) return false;
  if (createHash('sha256').update(readFileSync(configFile)).digest('hex') !== stamp.configSha) return false;
  if (stamp.sourceTree === ctx.src.sourceTree) return true;
  const files = await changedFiles(srcDir, stamp.sourceTree, ctx.src.sourceTree, { signal: ctx.signal });
  return files !== undefined && !files.some(touchesKconfig);
}

/** Write .config from the recipe, let Kconfig settle it, and check that what was asked for survived. */
export async function configure(make: Make, srcDir: string, obj: string, recipe: Awaited<ReturnType<typeof configRecipe>>, what: string,
  ctx: { src: TreeSource; compiler: string; signal?: AbortSignal; log: (l: string) => void }): Promise<Map<string, string>> {
  const configFile = path.join(obj, '.config');
  if (await stampStillHolds(srcDir, obj, recipe, ctx)) {
    ctx.log('.config: this build directory\'s, no Kconfig input changed since it was made');
    writeStamp(obj, recipe, ctx);
    return parseConfig(readFileSync(configFile, 'utf8'));
  }
  rmSync(path.join(obj, CONFIG_STAMP), { force: true });
  const before = existsSync(configFile) ? { text: readFileSync(configFile, 'utf8'), mtime: statSync(configFile).mtime } : undefined;
  if (recipe.base === 'tiny') await make(['tinyconfig']);
  else if (recipe.base === 'defconfig') await make(['defconfig']);
  else writeFileSync(configFile, recipe.baseText ?? '');
  const { merged, asked } = mergeFragments(parseConfig(readFileSync(configFile, 'utf8')), recipe.all);
  writeFileSync(configFile, renderConfig(merged));
  await make(['olddefconfig']);
  const finalText = readFileSync(configFile, 'utf8');
  // The same .config as the last build of this directory: keep its old mtime, so make sees nothing new.
  if (before && before.text === finalText) utimesSync(configFile, before.mtime, before.mtime);
  const final = parseConfig(finalText);
  const kconfig = kconfigDepends(srcDir);
  const lost = lostOptions(asked, final, kconfig);
  if (lost.length > 0) {
    const lines = lost.map((l) => `${l.option} (asked ${l.asked} by ${l.from}, got ${l.got}): ${l.why}`);
    const user = lost.some((l) => l.blame === 'user');
    throw new KgateError(user ? 'user' : 'infra', `the .config of ${what} lost ${lost.length === 1 ? lines[0] : `${lost.length} options: ${lines[0]}; and ${lost.slice(1).map((l) => l.option).join(', ')}`}`, lines.join('\n'));
  }
  // only when kgate's option is absent from .config: a tree that has it needs no walk of its Kconfig files
  const absent = [...asked.keys()].filter((o) => final.get(o) === undefined);
  if (absent.length > 0) for (const l of undefinedButNeedless(new Map(absent.map((o) => [o, asked.get(o)!])), kconfig)) ctx.log(`.config: ${l}`);
  writeStamp(obj, recipe, ctx);
  return final;
}

function writeStamp(obj: string, recipe: ConfigRecipe, ctx: { src: TreeSource; compiler: string }): void {
  const configSha = createHash('sha256').update(readFileSync(path.join(obj, '.config'))).digest('hex');
  const stamp: ConfigStamp = { sourceTree: ctx.src.sourceTree, configKey: configKey(recipe), compiler: ctx.compiler, configSha };
  writeFileSync(path.join(obj, CONFIG_STAMP), JSON.stringify(stamp) + '\n');
}
