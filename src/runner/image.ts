// The guest's root: an initramfs assembled from the host's own Debian packages
// (busybox-static, dropbear-bin, openssh-sftp-server) plus the kernel's modules
// the suite needs (guest-modules.ts), written as a cpio (cpio.ts), cached in
// kgate's cache (images/, src/util/cache.ts) by a hash of everything that goes
// in.
import { projectRoot } from '../util/paths.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { readFile, copyFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type Handlebars from 'handlebars';
import { createRequire } from 'node:module';
import { KgateError } from '../model.js';
import type { KernelArtifact } from '../kernel/artifact.js';
import { writeFileAtomic } from '../util/atomic.js';
import { runTool } from '../util/run-tool.js';
import { CpioArchive } from './cpio.js';
import { GUEST_MODULES, loadWaves, moduleBytes, moduleClosure } from './guest-modules.js';

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

/** `modules`: the guest's module files in load waves (guest-modules.ts loadWaves). */
export function renderInit(templateText: string, modules: string[][]): string {
  // Loaded only when an image is made: a cached one needs no template.
  const hb = createRequire(import.meta.url)('handlebars') as typeof Handlebars;
  const t = hb.compile(templateText, { noEscape: true, strict: true });
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
    // Ctrl-C while it ran is an interrupt (exit 130), not missing packages.
    if (e instanceof KgateError && e.family === 'interrupt') throw e;
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
  let waves: string[][] = [];
  if (kernel.modulesDir) {
    const depPath = path.join(kernel.modulesDir, 'modules.dep');
    if (!existsSync(depPath)) {
      throw new KgateError('infra', `no modules.dep in ${kernel.modulesDir} (run depmod -b <root> ${kernel.release})`);
    }
    const builtinPath = path.join(kernel.modulesDir, 'modules.builtin');
    const dep = readFileSync(depPath, 'utf8');
    modFiles.push(...moduleClosure(dep, existsSync(builtinPath) ? readFileSync(builtinPath, 'utf8') : '', GUEST_MODULES));
    waves = loadWaves(dep, modFiles);
  }
  const modStamp = modFiles.map((f) => { const s = statSync(path.join(kernel.modulesDir!, f)); return `${f}:${s.size}:${s.mtimeMs}`; });
  const hash = createHash('sha256')
    .update(JSON.stringify({ IMAGE_FORMAT, gzip: !!req.gzip, release: kernel.release, source: kernel.source, modStamp, pkgs: await hostInputs(req.signal), tmpl }))
    .digest('hex').slice(0, 16);
  const out = path.join(req.cacheDir, `initramfs-${kernel.release}-${hash}.cpio${req.gzip ? '.gz' : ''}`);
  const inGuest = (f: string) => `/lib/modules/${kernel.release}/${f.replace(/\.(xz|zst|gz)$/, '')}`;
  const guestMods = modFiles.map(inGuest);
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
  a.file('init', renderInit(tmpl, waves.map((w) => w.map(inGuest))), 0o755);

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
