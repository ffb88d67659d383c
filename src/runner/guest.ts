// startGuest: a kernel artifact -> a booted guest with a connected, pinned SSH
// transport. The stages (build image, keys, boot, login) are
// the functions of src/kernel and src/runner; this only composes and times them.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { KernelIdentity } from '../model.js';
import { KgateError } from '../model.js';
import type { KernelArtifact } from '../kernel/artifact.js';
import { cacheDir } from '../util/cache.js';
import { buildImage, secretsArchive, suiteArchive, withSecrets, type SuiteFile } from './image.js';
import { bootGuest, fastBios, type AccelChoice, type Accel, type Guest } from './qemu.js';
import type { Transport } from './ssh/transport.js';
import { makeRunKeys } from './ssh/keys.js';
import { scratchDir } from '../util/scratch.js';
import { pvhKernelOf } from '../kernel/pvh.js';

/** What QEMU's -kernel gets: the uncompressed PVH kernel where there is one (kernel/pvh.ts), else the bzImage. */
export async function bootKernelOf(k: KernelArtifact, signal?: AbortSignal): Promise<string> {
  return (await pvhKernelOf(k.bzImage, { config: k.config, signal })) ?? k.bzImage;
}

/**
 * The firmware for this kernel: qboot where the host has it and the kernel
 * reads its interrupt routes from ACPI (its .config says CONFIG_ACPI=y: a
 * tree build's, or Debian's config-<release> beside its image), else QEMU's
 * default. A kernel without a known .config gets the default.
 */
export function firmwareFor(k: Pick<KernelArtifact, 'config' | 'bzImage' | 'release'>): string | undefined {
  const config = [k.config, path.join(path.dirname(k.bzImage), `config-${k.release}`)].find((f) => f && existsSync(f));
  return config && /^CONFIG_ACPI=y$/m.test(readFileSync(config, 'utf8')) ? fastBios() : undefined;
}

export interface StartGuestRequest {
  /** Resolved (or built) once per run by the kernel stage. */
  kernel: KernelArtifact;
  accel: AccelChoice;
  /** results/<run>/: console.log goes here (console-<n>.log for later guests of the run, see consoleName). */
  runDir: string;
  signal: AbortSignal;
  memMB?: number;
  smp?: number;
  /** console.log by default; a restarted or second guest passes its own name. */
  consoleName?: string;
  /** Where guest images are cached: the kgate cache's images/ by default. */
  imageDir?: string;
  bootTimeoutMs?: number;
  append?: string[];
  /** Gzip the cached image (off: under TCG it measured no faster, see image.ts). */
  gzipImage?: boolean;
  /** The suite to boot with (in SUITE_DIR): awaited after the image, so the build overlaps the kernel stage and the image. */
  suite?: Promise<SuiteFile[]>;
  onConsole?: (line: string, at: number) => void;
  onNote?: (note: string) => void;
}

export interface StartedGuest {
  guest: Guest;
  transport: Transport;
  kernel: KernelIdentity;
  artifact: KernelArtifact;
  accel: Accel;
  accelNote?: string;
  timings: { image: number; imageCached: boolean; prep: number; boot: number; ssh: number; total: number };
  /** Private files of this guest (keys, initrd with secrets); removed by stopGuest. */
  scratch: string;
  /** This run's client key and the guest's pinned host key, for a second connection (ssh:// tests, benches). */
  keys: { clientPrivate: string; hostPublic: string };
  /** The binaries the guest booted with in SUITE_DIR: nothing of them to upload. */
  preloaded: SuiteFile[];
}

export async function startGuest(req: StartGuestRequest): Promise<StartedGuest> {
  const t0 = performance.now();
  const lap = (() => { let t = t0; return () => { const n = performance.now(); const d = n - t; t = n; return Math.round(d); }; })();
  const artifact = req.kernel;
  // Keys and the image do not depend on each other: make both at once.
  const [img, keys] = await Promise.all([
    buildImage({ kernel: artifact, cacheDir: req.imageDir ?? cacheDir('images'), signal: req.signal, gzip: req.gzipImage }),
    makeRunKeys(req.signal),
  ]);
  const preloaded = req.suite ? await req.suite : [];
  const suite = preloaded.length ? await suiteArchive(preloaded, req.imageDir ?? cacheDir('images')) : undefined;
  const tPrep = lap();
  const scratch = await scratchDir('kgate-guest-');
  try {
    const initrd = path.join(scratch, 'initrd.cpio');
    await withSecrets(img.path, secretsArchive(keys.hostKey, `${keys.clientPublic}\n`), initrd, suite);
    const tKeys = lap();
    const guest = await bootGuest({
      kernel: await bootKernelOf(artifact, req.signal),
      bios: firmwareFor(artifact),
      initrd,
      memMB: req.memMB ?? 1024,
      smp: req.smp ?? 2,
      accel: req.accel,
      consoleLog: path.join(req.runDir, req.consoleName ?? 'console.log'),
      signal: req.signal,
      ssh: { user: 'root', privateKey: keys.clientPrivate, hostKey: keys.hostPublic },
      append: req.append,
      bootTimeoutMs: req.bootTimeoutMs,
      onConsole: req.onConsole,
      onNote: req.onNote,
    });
    lap();
    if (guest.release && guest.release !== artifact.release) {
      req.onNote?.(`guest runs ${guest.release}, expected ${artifact.release}`);
    }
    return {
      guest,
      transport: guest.transport,
      kernel: { ...artifact.identity, release: guest.release || artifact.release },
      artifact,
      accel: guest.accel,
      accelNote: guest.accelNote,
      timings: {
        image: Math.round(img.ms),
        imageCached: img.cached,
        /** Keys and image together (they run at once), plus appending the secrets. */
        prep: tPrep + tKeys,
        boot: Math.round(guest.timings.bootMs),
        ssh: Math.round(guest.timings.sshMs),
        total: Math.round(performance.now() - t0),
      },
      scratch,
      keys: { clientPrivate: keys.clientPrivate, hostPublic: keys.hostPublic },
      preloaded,
    };
  } catch (e) {
    await rm(scratch, { recursive: true, force: true });
    if (e instanceof KgateError) throw e;
    throw new KgateError('infra', `guest did not start: ${(e as Error).message}`);
  }
}

/** Close the connection, kill the QEMU by its pid, wait for it, remove the keys. */
export async function stopGuest(g: StartedGuest): Promise<void> {
  try {
    await g.guest.kill();
  } finally {
    await rm(g.scratch, { recursive: true, force: true });
  }
}
