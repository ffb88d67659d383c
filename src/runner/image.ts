// The guest's root: an initramfs assembled from the host's own Debian packages
// (busybox-static, dropbear-bin, openssh-sftp-server) plus the kernel's modules
// the suite needs, cached in kgate's cache (images/, src/util/cache.ts) by a
// hash of everything that goes in.
//
// The cpio (newc) is written in Node rather than by cpio(1): the format is a
// 110-byte ASCII header per entry, and writing it ourselves gives device nodes
// (/dev/console) without root or mknod, fixed owners and mtimes (so equal inputs
// give equal bytes), and no staging tree to clean up.
import { projectRoot } from '../util/paths.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { readFile, copyFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Handlebars from 'handlebars';
import { KgateError } from '../model.js';
import type { KernelArtifact } from '../kernel/artifact.js';
import { writeFileAtomic } from '../util/atomic.js';
import { runTool } from '../util/run-tool.js';

// ---------------------------------------------------------------- cpio newc

type Entry =
  | { kind: 'dir'; name: string; mode: number }
  | { kind: 'file'; name: string; mode: number; data: Buffer }
  | { kind: 'symlink'; name: string; target: string }
  | { kind: 'chardev'; name: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

export class CpioArchive {
  private entries = new Map<string, Entry>();

  dir(name: string, mode = 0o755): this { this.parents(name); this.entries.set(clean(name), { kind: 'dir', name: clean(name), mode }); return this; }
  file(name: string, data: Buffer | string, mode = 0o644): this {
    this.parents(name);
    this.entries.set(clean(name), { kind: 'file', name: clean(name), mode, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
    return this;
  }
  symlink(name: string, target: string): this { this.parents(name); this.entries.set(clean(name), { kind: 'symlink', name: clean(name), target }); return this; }
  chardev(name: string, major: number, minor: number, mode = 0o600): this {
    this.parents(name);
    this.entries.set(clean(name), { kind: 'chardev', name: clean(name), mode, major, minor });
    return this;
  }
  has(name: string): boolean { return this.entries.has(clean(name)); }

  /** Parent directories first: the kernel's unpacker does not create them. */
  private parents(name: string): void {
    const parts = clean(name).split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!this.entries.has(p)) this.entries.set(p, { kind: 'dir', name: p, mode: 0o755 });
    }
  }

  toBuffer(): Buffer {
    const chunks: Buffer[] = [];
    let size = 0;
    const push = (b: Buffer) => { chunks.push(b); size += b.length; };
    const pad = () => { const n = (4 - (size % 4)) % 4; if (n) push(Buffer.alloc(n)); };
    let ino = 1;
    const write = (name: string, mode: number, data: Buffer, rmaj = 0, rmin = 0, nlink = 1) => {
      const fields = [ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, rmaj, rmin, Buffer.byteLength(name) + 1, 0];
      push(Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1'));
      push(Buffer.from(name + '\0'));
      pad();
      push(data);
      pad();
    };
    // Map order is insertion order with parents inserted before children.
    for (const e of this.entries.values()) {
      switch (e.kind) {
        case 'dir': write(e.name, S_IFDIR | e.mode, Buffer.alloc(0), 0, 0, 2); break;
        case 'file': write(e.name, S_IFREG | e.mode, e.data); break;
        case 'symlink': write(e.name, S_IFLNK | 0o777, Buffer.from(e.target)); break;
        case 'chardev': write(e.name, S_IFCHR | e.mode, Buffer.alloc(0), e.major, e.minor); break;
      }
    }
    write('TRAILER!!!', 0, Buffer.alloc(0), 0, 0, 1);
    // Pad to 512 so another archive can be appended and still start aligned.
    const n = (512 - (size % 512)) % 512;
    if (n) push(Buffer.alloc(n));
    return Buffer.concat(chunks, size);
  }
}

function clean(name: string): string {
  return name.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Names in a newc archive, for tests and for checking a built image. */
export function listCpio(buf: Buffer): { name: string; mode: number; size: number; data: Buffer }[] {
  const out: { name: string; mode: number; size: number; data: Buffer }[] = [];
  let off = 0;
  const align = (n: number) => (n + 3) & ~3;
  while (off + 110 <= buf.length) {
    if (buf[off] === 0) { off++; continue; } // padding between concatenated archives
    const magic = buf.toString('latin1', off, off + 6);
    if (magic !== '070701') throw new Error(`bad cpio magic at ${off}`);
    const field = (i: number) => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1), size = field(6), namesize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    const dataStart = align(off + 110 + namesize);
    const data = buf.subarray(dataStart, dataStart + size);
    off = align(dataStart + size);
    if (name === 'TRAILER!!!') continue;
    out.push({ name, mode, size, data });
  }
  return out;
}

// ---------------------------------------------------------------- modules

/** What the suite needs loaded: fuse and virtio are built in on 6.12 but modules on 6.1.
 *  virtio_rng feeds the entropy pool, without which dropbear waits about a second for randomness. */
export const GUEST_MODULES = Object.freeze(['virtio_pci', 'virtio_net', 'virtio_rng', 'fuse', 'overlay']);

const modName = (p: string) => path.basename(p).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

/**
 * The module files to insmod, dependencies first, from modules.dep (relative
 * paths under modulesDir). Built-in names (modules.builtin) are skipped;
 * a name that is neither is an infra fault: the image would boot without it.
 */
export function moduleClosure(modulesDep: string, builtin: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, { file: string; deps: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const file = line.slice(0, i).trim();
    deps.set(modName(file), { file, deps: line.slice(i + 1).trim().split(/\s+/).filter(Boolean) });
  }
  const builtins = new Set(builtin.split('\n').filter(Boolean).map(modName));
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const d = deps.get(modName(file));
    for (const x of d?.deps ?? []) visit(x);
    order.push(file);
  };
  for (const w of wanted) {
    const name = w.replace(/-/g, '_');
    if (builtins.has(name)) continue;
    const d = deps.get(name);
    if (!d) throw new KgateError('infra', `kernel module ${w} is neither built in nor in modules.dep`);
    visit(d.file);
  }
  return order;
}

async function moduleBytes(file: string): Promise<Buffer> {
  // busybox insmod loads plain .ko only: decompress on the host.
  if (file.endsWith('.ko.xz')) return (await runTool('xz', ['-dc', file], { binary: true })).stdoutBuffer;
  if (file.endsWith('.ko.zst')) return (await runTool('zstd', ['-dcq', file], { binary: true })).stdoutBuffer;
  if (file.endsWith('.ko.gz')) return gunzipSync(await readFile(file));
  return readFile(file);
}

// ---------------------------------------------------------------- host parts

/** Shared objects a dynamic binary needs, per ldd: [path in the guest, real file on the host]. */
export function parseLdd(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

const HOST = Object.freeze({
  busybox: '/bin/busybox',
  dropbear: '/usr/sbin/dropbear',
  sftpServer: '/usr/lib/openssh/sftp-server',
  /** GNU timeout: kselftest's runner calls /usr/bin/timeout --foreground, an option busybox's lacks (each test then "exit=1"). */
  timeout: '/usr/bin/timeout',
  packages: ['busybox-static', 'dropbear-bin', 'openssh-sftp-server', 'coreutils', 'libc6', 'libtomcrypt1', 'libtommath1', 'libgmp10', 'zlib1g', 'libcrypt1'],
});

export const GUEST_NET = Object.freeze({
  // QEMU user networking's fixed plan: guest 10.0.2.15, gateway/host 10.0.2.2.
  guestCidr: '10.0.2.15/24',
  gateway: '10.0.2.2',
  netdev: 'eth0',
  sshPort: 22,
});
export const READY_MARKER = 'kgate: guest ready';
export const HOST_KEY_PATH = '/etc/dropbear/dropbear_ed25519_host_key';
/** Bumped when the image layout changes in a way the inputs below do not show. */
const IMAGE_FORMAT = 4;

/** The checkout (templates/guest lives there). */

export function renderInit(templateText: string, modules: string[]): string {
  const t = Handlebars.compile(templateText, { noEscape: true, strict: true });
  return t({ ...GUEST_NET, modules, marker: READY_MARKER, hostKeyPath: HOST_KEY_PATH, hostname: 'kgate' });
}

export interface ImageRequest {
  kernel: KernelArtifact;
  /** Where images are cached: the cache's images/ area (src/util/cache.ts). */
  cacheDir: string;
  signal?: AbortSignal;
  /** Compress the cached image; off by default (see buildImage). */
  gzip?: boolean;
}

export interface ImageResult {
  path: string;
  cached: boolean;
  ms: number;
  modules: string[];
  bytes: number;
}

async function hostInputs(signal?: AbortSignal): Promise<string> {
  const r = await runTool('dpkg-query', ['-W', '-f', '${Package}=${Version}\n', ...HOST.packages], { signal }).catch((e) => {
    throw new KgateError('infra', `guest image needs Debian packages ${HOST.packages.slice(0, 3).join(', ')} (run scripts/setup.sh): ${(e as Error).message}`);
  });
  return r.stdout;
}

/**
 * Build (or reuse) the cached initramfs for this kernel. It holds no keys: the
 * per-run secrets are a second archive appended by withSecrets().
 */
export async function buildImage(req: ImageRequest): Promise<ImageResult> {
  const t0 = performance.now();
  const tmplPath = path.join(projectRoot(), 'templates', 'guest', 'init.hbs');
  const tmpl = readFileSync(tmplPath, 'utf8');
  const { kernel } = req;
  const modFiles: string[] = [];
  if (kernel.modulesDir) {
    const depPath = path.join(kernel.modulesDir, 'modules.dep');
    if (!existsSync(depPath)) {
      throw new KgateError('infra', `no modules.dep in ${kernel.modulesDir} (run depmod -b <root> ${kernel.release})`);
    }
    const builtinPath = path.join(kernel.modulesDir, 'modules.builtin');
    modFiles.push(...moduleClosure(readFileSync(depPath, 'utf8'), existsSync(builtinPath) ? readFileSync(builtinPath, 'utf8') : '', GUEST_MODULES));
  }
  const modStamp = modFiles.map((f) => { const s = statSync(path.join(kernel.modulesDir!, f)); return `${f}:${s.size}:${s.mtimeMs}`; });
  const hash = createHash('sha256')
    .update(JSON.stringify({ IMAGE_FORMAT, gzip: !!req.gzip, release: kernel.release, source: kernel.source, modStamp, pkgs: await hostInputs(req.signal), tmpl }))
    .digest('hex').slice(0, 16);
  const out = path.join(req.cacheDir, `initramfs-${kernel.release}-${hash}.cpio${req.gzip ? '.gz' : ''}`);
  const guestMods = modFiles.map((f) => `/lib/modules/${kernel.release}/${f.replace(/\.(xz|zst|gz)$/, '')}`);
  if (existsSync(out)) return { path: out, cached: true, ms: performance.now() - t0, modules: guestMods, bytes: statSync(out).size };

  const a = new CpioArchive();
  for (const d of ['dev', 'proc', 'sys', 'tmp', 'run', 'var/log', 'mnt', 'etc/dropbear', 'usr/lib']) a.dir(d);
  a.dir('root', 0o700).dir('root/.ssh', 0o700);
  // The kernel opens /dev/console for init's stdio before init can mount devtmpfs.
  a.chardev('dev/console', 5, 1, 0o600).chardev('dev/null', 1, 3, 0o666);

  a.file('bin/busybox', await readFile(HOST.busybox), 0o755);
  const applets = (await runTool(HOST.busybox, ['--list-full'], { signal: req.signal })).stdout.split('\n').filter(Boolean);
  for (const p of applets) if (p !== 'bin/busybox' && `/${p}` !== HOST.timeout) a.symlink(p, '/bin/busybox');

  // dropbear-bin is dynamically linked; sftp-server needs only libc. ldd names
  // the libraries and the loader; copy the real files to the paths ldd prints
  // (ld.so searches /lib/x86_64-linux-gnu by default, no ld.so.cache needed).
  const libs = new Set<string>();
  for (const bin of [HOST.dropbear, HOST.sftpServer, HOST.timeout]) {
    for (const l of parseLdd((await runTool('ldd', [bin], { signal: req.signal })).stdout)) libs.add(l);
  }
  for (const l of libs) a.file(l, await readFile(realpathSync(l)), 0o755);
  a.file('usr/sbin/dropbear', await readFile(HOST.dropbear), 0o755);
  a.file(HOST.timeout.slice(1), await readFile(HOST.timeout), 0o755);
  // Debian's dropbear starts its SFTP subsystem from this path.
  a.file('usr/lib/sftp-server', await readFile(HOST.sftpServer), 0o755);

  for (const f of modFiles) a.file(`lib/modules/${kernel.release}/${f.replace(/\.(xz|zst|gz)$/, '')}`, await moduleBytes(path.join(kernel.modulesDir!, f)), 0o644);

  a.file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  a.file('etc/group', 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  a.file('etc/shadow', 'root:*:19000:0:99999:7:::\n', 0o600);
  a.file('etc/shells', '/bin/sh\n');
  a.file('etc/hosts', '127.0.0.1 localhost\n10.0.2.15 kgate\n');
  a.file('init', renderInit(tmpl, guestMods), 0o755);

  let bytes = a.toBuffer();
  // Uncompressed by default: gzip (7.2 MB -> 3.3 MB) measured no faster to the
  // ready marker under TCG here (both 3.8-5.3 s, within run-to-run noise), and
  // skipping it keeps a cold build at ~150 ms.
  if (req.gzip) bytes = gzipSync(bytes, { level: 6 });
  writeFileAtomic(out, bytes);
  return { path: out, cached: false, ms: performance.now() - t0, modules: guestMods, bytes: bytes.length };
}

/** The per-run archive: the guest's host key and the client's authorized key. */
export function secretsArchive(hostKey: Buffer, authorizedKeys: string): Buffer {
  return new CpioArchive()
    .dir('etc/dropbear', 0o755)
    .file(HOST_KEY_PATH, hostKey, 0o600)
    .dir('root', 0o700)
    .dir('root/.ssh', 0o700)
    .file('root/.ssh/authorized_keys', authorizedKeys, 0o600)
    .toBuffer();
}

/** Where the suite's binaries live in a guest, preloaded or uploaded. */
export const SUITE_DIR = '/kgate/bin';

/** A binary of the suite as the image takes it: its name in SUITE_DIR, its file, its hash. */
export interface SuiteFile { name: string; path: string; sha256: string }

/**
 * The suite as an archive of its own, appended to the guest's initramfs, so
 * the guest boots with it in SUITE_DIR and SSH only starts binaries (eleven
 * SFTP uploads of ~830 KiB were 5 of a run's 7 s under TCG). Cached in the
 * images area by the binaries' hashes: a second run of the same suite reuses it.
 */
export async function suiteArchive(files: SuiteFile[], cacheDirPath: string): Promise<string> {
  const sorted = [...files].sort((a, b) => a.name.localeCompare(b.name));
  const hash = createHash('sha256').update(JSON.stringify(sorted.map((f) => [f.name, f.sha256]))).digest('hex').slice(0, 16);
  const out = path.join(cacheDirPath, `suite-${hash}.cpio`);
  if (existsSync(out)) return out;
  writeFileAtomic(out, (await addSuiteFiles(new CpioArchive(), sorted)).toBuffer());
  return out;
}

/**
 * The suite's binaries into SUITE_DIR of an archive (a guest's, a LAVA job's).
 * The families are one multi-call binary (src/gen/build.ts): stored once, the
 * other names symlinks to it. Each file is checked against the manifest's hash,
 * which metadata.json says ran: a binary rebuilt under it would make that a lie.
 */
export async function addSuiteFiles(a: CpioArchive, files: SuiteFile[]): Promise<CpioArchive> {
  const dir = SUITE_DIR.slice(1);
  a.dir(dir);
  const first = new Map<string, string>();
  for (const f of files) {
    if (a.has(`${dir}/${f.name}`)) continue;
    const same = first.get(f.sha256);
    if (same) { a.symlink(`${dir}/${f.name}`, same); continue; }
    first.set(f.sha256, f.name);
    const data = await readFile(f.path);
    if (createHash('sha256').update(data).digest('hex') !== f.sha256) throw new KgateError('bug', `${f.path} changed since the suite was built (sha256 differs from the manifest)`);
    a.file(`${dir}/${f.name}`, data, 0o755);
  }
  return a;
}

/**
 * cached image + the suite (when given) + this run's secrets -> the initrd
 * QEMU loads; the kernel unpacks concatenated archives in order.
 */
export async function withSecrets(imagePath: string, secrets: Buffer, outPath: string, suitePath?: string): Promise<void> {
  await copyFile(imagePath, outPath);
  for (const part of [...(suitePath ? [await readFile(suitePath)] : []), secrets]) {
    // A gzipped image ends anywhere: zero-pad so the appended archive starts
    // 4-aligned (the unpacker skips zeros between archives).
    const size = statSync(outPath).size;
    const pad = Buffer.alloc((512 - (size % 512)) % 512);
    await appendFile(outPath, Buffer.concat([pad, part]), { mode: 0o600 });
  }
}
