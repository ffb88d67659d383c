// QEMU for one guest: the argv (pure, unit-tested, printable with
// --show-command), a free forwarded port, and bootGuest(), which starts qemu,
// captures the serial console, waits for the init's ready marker and then for an
// SSH login, and falls back from KVM to TCG by itself where nested KVM fails.
import { mkdirp } from '../util/fs.js';
import { deadline } from '../util/deadline.js';
import { shellLine } from '../util/shell.js';
import { accessSync, constants, createWriteStream, existsSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { KgateError } from '../model.js';
import { CrashDetector, classifyLine, type CrashEvent } from '../kmsg/crash.js';
import { stripPrintk } from '../kmsg/printk.js';
import { lineSplitter } from '../util/lines.js';
import { READY_MARKER } from './image.js';
import { connect, type Transport } from './ssh/transport.js';
import { tethered } from '../util/tether.js';
import { clearKvmFailure, readKvmFailure, recordKvmFailure, rememberedNote, thisHost, trustedFailure } from './kvm-memory.js';

export type Accel = 'kvm' | 'tcg';
export type AccelChoice = 'auto' | Accel;

interface ArchData {
  binary: string;
  machine: string;
  console: string;
  nic: string;
  rng: string;

  /** -cpu per accelerator; undefined leaves QEMU's default model. */
  cpu: Readonly<Record<Accel, string | undefined>>;
}

export const ARCHES: Readonly<Record<'x86_64', ArchData>> = Object.freeze({
  x86_64: Object.freeze({
    binary: 'qemu-system-x86_64',
    // q35, not pc (i440fx): its PCI interrupts are routed without pc's ACPI
    // link devices, whose AML each virtio device's enable ran under TCG
    // (~75-100 ms apiece). Boot under TCG (startGuest, medians): Debian 6.12
    // 1.95 -> 1.79 s, Debian 6.1 2.06 -> 1.66 s, the tiny tree kernel (no ACPI)
    // 0.78 s either way.
    machine: 'q35',
    console: 'ttyS0',
    nic: 'virtio-net-pci',
    rng: 'virtio-rng-pci',
    // Not qboot (-bios qboot.rom): measured, a Debian kernel booted no faster
    // on it under TCG (3.3-3.6 s vs 2.9-3.2 s on SeaBIOS, loaded host), and its
    // MP table has no PCI interrupt routes, so a kernel without ACPI (a tiny
    // tree config) found no IRQ for virtio and its network crawled.
    // KVM: the host's CPU as it is. TCG: QEMU's default model; "max" adds
    // features (la57, ...) that cost TCG time and that no case needs.
    cpu: Object.freeze({ kvm: 'host', tcg: undefined }),
  }),
});

export interface QemuSpec {
  arch?: keyof typeof ARCHES;
  kernel: string;
  initrd: string;
  memMB: number;
  smp: number;
  accel: Accel;
  /** Host port forwarded (127.0.0.1 only) to the guest's sshd. */
  sshPort: number;
  /** Extra kernel command-line words, appended after kgate's own. */
  append?: string[];
  /** -cpu instead of the arch's default for the accelerator. */
  cpu?: string;
  /** -machine instead of the arch's (bench:run's bare baseline keeps QEMU's default, pc). */
  machine?: string;
}

/** Kernel command line: console on the serial port, panics end the guest. */
export function kernelCmdline(spec: Pick<QemuSpec, 'arch' | 'append'>): string {
  const a = ARCHES[spec.arch ?? 'x86_64'];
  return [
    `console=${a.console}`,
    // loglevel=5 keeps KERN_WARNING and worse (oops, WARN, KASAN, hung task, RCU
    // stall) on the console but drops the info chatter that slows a TCG boot;
    // "quiet" (loglevel=4) would hide "WARNING: CPU:" reports.
    'loglevel=5',
    // With -no-reboot a panic (reboot after -1 s = at once) ends QEMU: no hung guest.
    'panic=-1',
    // The suite's harness writes each case's start and end to the kernel's log
    // (KGATE_CASE_MARKS): unthrottled, not 10 lines per 5 s; and a report's
    // console lines carry their printk time, which places it among the cases.
    'printk.devkmsg=on', 'printk.time=1',
    // Skip probing legacy keyboard/mouse hardware that the guest does not have.
    'i8042.noaux', 'i8042.nomux', 'i8042.nopnp', 'i8042.dumbkbd',
    ...(spec.append ?? []),
  ].join(' ');
}

export function qemuArgv(spec: QemuSpec): string[] {
  const a = ARCHES[spec.arch ?? 'x86_64'];
  const cpu = spec.cpu ?? a.cpu[spec.accel];
  return [
    a.binary,
    // First, so nothing from the host's QEMU config files or default devices
    // (VGA, floppy, a second serial, the monitor) joins the guest.
    '-nodefaults', '-no-user-config',
    '-machine', spec.machine ?? a.machine,
    // Exactly one accelerator: with a list QEMU would fall back silently, and
    // kgate must know and say which one ran.
    '-accel', spec.accel,
    ...(cpu ? ['-cpu', cpu] : []),
    '-m', String(spec.memMB),
    '-smp', String(spec.smp),
    '-display', 'none',
    // The serial port is QEMU's stdout, a pipe kgate reads; with -nodefaults
    // there is no monitor multiplexed onto it.
    '-serial', 'stdio',
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', kernelCmdline(spec),
    // A reboot request (panic=-1) makes QEMU exit instead of booting again.
    '-no-reboot',
    // The netdev is declared before the device that names it; hostfwd binds
    // 127.0.0.1 only so the guest's root login is not reachable from outside.
    '-netdev', `user,id=n0,ipv6=off,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    '-device', `${a.nic},netdev=n0`,
    // Entropy from the host: dropbear blocks until the guest's pool is ready.
    '-device', a.rng,
  ];
}

/** One shell-quoted line, for --show-command and for the reproducer. */
export const showCommand = shellLine;

/** A port nothing listens on now. QEMU binds it a moment later; a collision is retried by bootGuest. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether KVM is worth trying: the device exists and we may open it. */
export function kvmUsable(dev = '/dev/kvm'): { ok: boolean; why: string } {
  if (!existsSync(dev)) return { ok: false, why: `${dev} does not exist` };
  try { accessSync(dev, constants.R_OK | constants.W_OK); } catch { return { ok: false, why: `${dev} is not writable by this user` }; }
  return { ok: true, why: '' };
}

/** QEMU's own words (stderr) that mean KVM itself failed, not the guest kernel. */
const KVM_FAILURE = /KVM internal error|emulation failure|kvm_.*: Assertion|Assertion .* failed|failed to initialize kvm|Could not access KVM kernel module|kvm run failed|KVM_RUN/i;
const PORT_BUSY = /Could not set up host forwarding rule|hostfwd.*(in use|failed)/i;

export interface BootRequest {
  kernel: string;
  initrd: string;
  memMB: number;
  smp: number;
  accel: AccelChoice;
  /** results/<run>/console.log: every console byte of every attempt goes here. */
  consoleLog: string;
  signal: AbortSignal;
  ssh: { user: string; privateKey: string; hostKey: string };
  append?: string[];
  /** -cpu override (tests use it to reach KVM's other failure mode). */
  cpu?: string;
  /** From QEMU start to the ready marker (TCG). Default 90 s. */
  bootTimeoutMs?: number;
  /** From the marker to a working login. Default 30 s. */
  sshTimeoutMs?: number;
  /** Under KVM, a guest silent for this long is taken as KVM failing. Default 4 s. */
  kvmProbeMs?: number;
  onConsole?: (line: string, at: number) => void;
  onNote?: (note: string) => void;
}

export interface ConsoleLine { at: number; line: string }

export interface Guest {
  pid: number;
  argv: string[];
  accel: Accel;
  /** Why the accelerator differs from what was asked (auto's fallback), if it does. */
  accelNote?: string;
  sshPort: number;
  transport: Transport;
  release: string;
  timings: { bootMs: number; sshMs: number };
  consoleLog: string;
  onConsole(l: (line: string, at: number) => void): () => void;
  onCrash(l: (e: CrashEvent) => void): () => void;
  consoleSince(t: number): ConsoleLine[];
  crashesSince(t: number): CrashEvent[];
  alive(): boolean;
  /** Under KVM: QEMU's line saying KVM itself failed after the boot (nested KVM can fail on one instruction mid-run); the guest is then killed. */
  kvmFailure(): string | undefined;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Kill the QEMU this guest started (by its pid) and wait for it to exit. */
  kill(): Promise<void>;
}

const CONSOLE_KEEP = 20_000;
/** Every QEMU still running, by pid: killed if kgate exits without stopping them. */
const live = new Set<number>();
let exitHook = false;
function track(pid: number): void {
  live.add(pid);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => { for (const p of live) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } } });
}

class Attempt {
  readonly proc: ResultPromise;
  readonly pid: number;
  readonly lines: ConsoleLine[] = [];
  readonly crashes: CrashEvent[] = [];
  readonly detector = new CrashDetector();
  readonly consoleListeners = new Set<(line: string, at: number) => void>();
  readonly crashListeners = new Set<(e: CrashEvent) => void>();
  stderr = '';
  bytes = 0;
  exitedFlag = false;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private sink: WriteStream;
  private sinkDone: Promise<void>;

  constructor(readonly argv: string[], consoleLog: string, readonly t0: number, preface?: string) {
    this.sink = createWriteStream(consoleLog, { flags: 'a' });
    if (preface) this.sink.write(`kgate: ${preface}\n`);
    this.sinkDone = new Promise((r) => this.sink.once('close', () => r()));
    // Tethered: a kgate killed by SIGKILL (no exit hook runs) takes its guest with it.
    this.proc = execa(...tethered(argv[0], argv.slice(1)), { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false, cleanup: true });
    if (this.proc.pid === undefined) throw new KgateError('infra', `cannot start ${argv[0]}`);
    this.pid = this.proc.pid;
    track(this.pid);
    const split = lineSplitter((line) => {
      const at = Date.now();
      this.lines.push({ at, line });
      if (this.lines.length > CONSOLE_KEEP) this.lines.splice(0, this.lines.length - CONSOLE_KEEP);
      for (const l of this.consoleListeners) l(line, at);
      for (const e of this.detector.push(line, at)) this.crash(e);
    });
    this.proc.stdout!.on('data', (b: Buffer) => { this.bytes += b.length; this.sink.write(b); split.push(b); });
    this.proc.stderr!.on('data', (b: Buffer) => { this.stderr += b.toString(); if (this.stderr.length > 64_000) this.stderr = this.stderr.slice(-32_000); });
    this.exited = this.proc.then((r) => {
      split.end();
      for (const e of this.detector.flush()) this.crash(e);
      this.exitedFlag = true;
      live.delete(this.pid);
      if (this.stderr.trim()) this.sink.write(`\nkgate: qemu stderr:\n${this.stderr.trim()}\n`);
      this.sink.end();
      return { code: r.exitCode ?? null, signal: r.signal ?? null };
    });
  }

  private crash(e: CrashEvent): void {
    this.crashes.push(e);
    for (const l of this.crashListeners) l(e);
  }

  tail(n = 40): string {
    return this.lines.slice(-n).map((l) => l.line).join('\n');
  }

  async kill(): Promise<void> {
    if (!this.exitedFlag) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => { if (!this.exitedFlag) this.proc.kill('SIGKILL'); }, 3_000);
      await this.exited;
      clearTimeout(t);
    }
    await this.sinkDone;
  }
}

type Outcome =
  | { ok: true; release: string; bootMs: number }
  | { ok: false; kind: 'kvm' | 'port' | 'boot'; why: string };

/** Wait for the marker, a death, a silence under KVM, the deadline, or the caller's abort. */
function awaitMarker(at: Attempt, accel: Accel, req: BootRequest): Promise<Outcome> {
  const bootTimeout = req.bootTimeoutMs ?? 90_000;
  const probe = req.kvmProbeMs ?? 4_000;
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const done = (o: Outcome) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      at.consoleListeners.delete(onLine);
      at.consoleListeners.delete(onPanicStart);
      at.crashListeners.delete(onCrash);
      req.signal.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const onLine = (line: string) => {
      const i = line.indexOf(READY_MARKER);
      if (i >= 0) done({ ok: true, release: line.slice(i + READY_MARKER.length).trim(), bootMs: performance.now() - at.t0 });
    };
    const onCrash = (e: CrashEvent) => {
      if (e.kind === 'panic') done({ ok: false, kind: 'boot', why: `kernel panic: ${e.line}` });
    };
    // A panic is reported when the detector's report completes; see the start too.
    const onPanicStart = (line: string) => { const l = stripPrintk(line); if (classifyLine(l) === 'panic') done({ ok: false, kind: 'boot', why: `kernel panic: ${l}` }); };
    const onAbort = () => done({ ok: false, kind: 'boot', why: 'interrupted' });
    at.consoleListeners.add(onLine);
    at.consoleListeners.add(onPanicStart);
    at.crashListeners.add(onCrash);
    req.signal.addEventListener('abort', onAbort, { once: true });
    at.exited.then((r) => {
      const err = at.stderr.trim().split('\n').filter(Boolean);
      if (accel === 'kvm' && KVM_FAILURE.test(at.stderr)) return done({ ok: false, kind: 'kvm', why: `qemu exited: ${err.find((l) => KVM_FAILURE.test(l)) ?? err.at(-1)}` });
      if (PORT_BUSY.test(at.stderr)) return done({ ok: false, kind: 'port', why: err.at(-1) ?? 'port busy' });
      done({ ok: false, kind: 'boot', why: `qemu exited (${r.signal ?? `code ${r.code}`}) before the ready marker${err.length ? `: ${err.at(-1)}` : ''}` });
    });
    if (accel === 'kvm') {
      // QEMU pauses rather than exits on some KVM errors: watch its stderr too.
      const poll = setInterval(() => {
        if (KVM_FAILURE.test(at.stderr)) done({ ok: false, kind: 'kvm', why: at.stderr.trim().split('\n').find((l) => KVM_FAILURE.test(l)) ?? 'KVM error' });
      }, 100);
      timers.push(poll as unknown as NodeJS.Timeout);
      timers.push(setTimeout(() => { if (at.bytes === 0) done({ ok: false, kind: 'kvm', why: `the guest printed nothing in ${probe / 1000} s under KVM` }); }, probe));
    }
    timers.push(setTimeout(() => done({ ok: false, kind: 'boot', why: `no ready marker within ${bootTimeout / 1000} s` }), bootTimeout));
  });
}

/** Poll SSH every 25 ms after the marker (dropbear listens ~0.1 s after it under TCG): QEMU accepts the TCP connection at once, so a refusal is quick. */
async function awaitLogin(port: number, at: Attempt, req: BootRequest): Promise<Transport> {
  const login = deadline(req.signal, req.sshTimeoutMs ?? 30_000);
  let last = '';
  try {
    while (!login.signal.aborted && !at.exitedFlag) {
      try {
        return await connect({ host: '127.0.0.1', port, user: req.ssh.user, privateKey: req.ssh.privateKey, hostKey: req.ssh.hostKey, signal: login.signal, timeoutMs: 10_000 });
      } catch (e) {
        if (/not the pinned one/.test((e as Error).message)) throw e;
        if (!login.signal.aborted) last = (e as Error).message;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  } finally {
    login.clear();
  }
  if (req.signal.aborted) throw new KgateError('interrupt', 'interrupted while waiting for the guest');
  throw new KgateError('infra', `guest did not boot: SSH never accepted a login${at.exitedFlag ? ' (qemu exited)' : ''}${last ? ` (last: ${last})` : ''}`, at.tail());
}

export async function bootGuest(req: BootRequest): Promise<Guest> {
  mkdirp(path.dirname(req.consoleLog));
  let accel: Accel;
  let accelNote: string | undefined;
  if (req.accel === 'auto') {
    const k = kvmUsable();
    const failed = k.ok ? trustedFailure(readKvmFailure(), thisHost(), Date.now()) : undefined;
    accel = k.ok && !failed ? 'kvm' : 'tcg';
    if (!k.ok) accelNote = `TCG: ${k.why}`;
    if (failed) { accelNote = rememberedNote(failed); req.onNote?.(accelNote); }
  } else accel = req.accel;

  // Written at the top of the next attempt's console: why there is a next one.
  let preface: string | undefined;
  // Why KVM was given up for TCG in this boot: remembered once TCG booted the same kernel (so the kernel was not to blame).
  let fellBack: string | undefined;
  let panicRetried = false;
  for (let tries = 0; ; tries++) {
    if (req.signal.aborted) throw new KgateError('interrupt', 'interrupted before the guest started');
    const port = await freePort();
    const argv = qemuArgv({ kernel: req.kernel, initrd: req.initrd, memMB: req.memMB, smp: req.smp, accel, sshPort: port, append: req.append, cpu: req.cpu });
    const t0 = performance.now();
    const at = new Attempt(argv, req.consoleLog, t0, preface);
    preface = undefined;
    if (req.onConsole) at.consoleListeners.add(req.onConsole);
    const o = await awaitMarker(at, accel, req);
    if (!o.ok) {
      await at.kill();
      if (req.signal.aborted) throw new KgateError('interrupt', 'interrupted while the guest booted');
      if (o.kind === 'port' && tries < 3) { preface = `port ${port} was taken; retrying`; continue; }
      if (o.kind === 'kvm' && req.accel === 'auto') {
        fellBack = o.why;
        accelNote = `fell back to TCG: KVM failed (${o.why})`;
        req.onNote?.(accelNote);
        preface = `${accelNote}; what follows is the TCG boot`;
        accel = 'tcg';
        continue;
      }
      // QEMU's own words blame KVM; a silent guest alone might be the kernel's fault, so it is not remembered.
      if (o.kind === 'kvm' && KVM_FAILURE.test(o.why)) recordKvmFailure(o.why);
      if (o.kind === 'kvm') throw new KgateError('infra', `guest did not boot: KVM failed (${o.why}); try --accel tcg`, at.tail());
      // A panic before the first login, once: TCG has been seen to panic a good kernel's boot now and then ("Fatal exception
      // in interrupt", then the same kernel boots fine). A kernel that cannot boot panics again and is reported as such.
      if (/^kernel panic/.test(o.why) && !panicRetried) {
        panicRetried = true;
        req.onNote?.(`the kernel panicked while booting (${o.why}); booting it once more`);
        preface = `the first boot panicked (${o.why}); what follows is the second`;
        continue;
      }
      throw new KgateError('infra', `guest did not boot: ${o.why}`, at.tail());
    }
    if (fellBack && accel === 'tcg') recordKvmFailure(fellBack);
    const tm = performance.now();
    let transport: Transport;
    try {
      transport = await awaitLogin(port, at, req);
    } catch (e) {
      await at.kill();
      throw e;
    }
    const sshMs = performance.now() - tm;
    // KVM booted a guest to its login: whatever failed here before is not so now.
    if (accel === 'kvm') clearKvmFailure();
    // Ctrl-C after the boot: the caller's abort still ends this QEMU.
    const onAbort = () => { void at.kill(); };
    req.signal.addEventListener('abort', onAbort, { once: true });
    void at.exited.then(() => req.signal.removeEventListener('abort', onAbort));
    // KVM may fail long after the boot; QEMU then exits or, worse, pauses the guest: end it at once, so the run sees a dead guest and not a hang.
    let kvmFailure: string | undefined;
    if (accel === 'kvm') {
      // Once, from QEMU's stderr, whichever sees it first: the watch while the guest runs, or its exit.
      const failed = () => {
        if (kvmFailure || !KVM_FAILURE.test(at.stderr)) return false;
        kvmFailure = at.stderr.trim().split('\n').find((l) => KVM_FAILURE.test(l)) ?? 'KVM error';
        recordKvmFailure(`under a running guest: ${kvmFailure}`);
        return true;
      };
      const watch = setInterval(() => {
        if (!failed()) return;
        clearInterval(watch);
        void at.kill();
      }, 200);
      watch.unref();
      void at.exited.then(() => {
        clearInterval(watch);
        failed();
      });
    }
    return {
      pid: at.pid,
      argv,
      accel,
      accelNote,
      sshPort: port,
      transport,
      release: o.release,
      timings: { bootMs: o.bootMs, sshMs },
      consoleLog: req.consoleLog,
      onConsole: (l) => { at.consoleListeners.add(l); return () => at.consoleListeners.delete(l); },
      onCrash: (l) => { at.crashListeners.add(l); return () => at.crashListeners.delete(l); },
      consoleSince: (t) => at.lines.filter((l) => l.at >= t),
      crashesSince: (t) => at.crashes.filter((e) => e.at >= t),
      alive: () => !at.exitedFlag,
      kvmFailure: () => kvmFailure,
      exited: at.exited,
      kill: async () => { await transport.close().catch(() => {}); await at.kill(); },
    };
  }
}
