// QEMU guests as suite targets: startGuest (src/runner/guest.ts) per shard,
// binaries uploaded once per boot, each run streamed over the pinned SSH link.
import { existsSync, statSync } from 'node:fs';
import type { Emit } from '../events.js';
import { KgateError } from '../model.js';
import type { BuiltBinary } from '../gen/manifest.js';
import { bootKernelOf, startGuest, stopGuest, type StartedGuest } from './guest.js';
import { qemuArgv, showCommand } from './qemu.js';
import { SUITE_DIR as REMOTE_DIR, type SuiteFile } from './image.js';
import { tarOf, unpackRemote } from './suite-tar.js';
import { qemuVersion } from './kvm-memory.js';
import { shellQuote } from '../util/shell.js';
import type { ExecOutcome, ExecRequest, SuiteTarget } from './target.js';
import type { TargetSpec } from './target-spec.js';
import { randomBytes } from 'node:crypto';
import type { CommandQueue, ExecOptions, QueuedRun, Standby, Transport } from './ssh/transport.js';
import type { KernelArtifact } from '../kernel/artifact.js';

type QemuSpec = Extract<TargetSpec, { kind: 'qemu' }>;

export function remoteCommand(binary: BuiltBinary, caseIds: string[], env: Record<string, string> = {}, o: { tied?: boolean; exec?: boolean } = {}): string {
  const envs = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  // `K=v exec cmd`: the shell becomes the command, its environment given (exec before the assignments would run "K=v").
  const cmd = [...envs, ...(o.exec ? ['exec'] : []), `${REMOTE_DIR}/${binary.name}`, ...caseIds.map(shellQuote)].join(' ');
  return o.tied ? tiedToChannel(cmd) : cmd;
}

/**
 * `cmd` killed when its SSH channel closes. Without a pty, sshd neither
 * signals a command whose client went away (kgate killed, the link dropped)
 * nor reliably honours a "signal" request (kgate's deadline): the suite's
 * harness, a case stuck in the kernel and its FUSE server would run on, on a
 * test box that is not rebooted as a guest is. The channel's stdin is what
 * closes then: a watcher reads it and kills the harness by its pid (its case
 * and server die with it, by their parent-death signal). A harness killed by
 * a signal is reported as killed by that signal, as without the wrapper.
 */
export function tiedToChannel(cmd: string): string {
  return tiedBody(cmd).join('\n');
}

function tiedBody(cmd: string): string[] {
  return [
    'exec 3<&0 </dev/null',
    `${cmd} &`,
    'p=$!',
    '{ cat <&3 >/dev/null; kill -KILL $p; } >/dev/null 2>&1 &',
    'w=$!',
    'exec 3<&-',
    'wait $p; s=$?',
    'kill $w 2>/dev/null',
    'if [ $s -gt 128 ]; then ulimit -c 0 2>/dev/null; trap - $((s - 128)) 2>/dev/null; kill -$((s - 128)) $$; fi',
    'exit $s',
  ];
}

/**
 * The shell that waits on a standby channel (Transport.standby) for the next
 * piece of work: the command comes as one line on its stdin (`K=v exec cmd
 * args`, so the shell becomes it), or runs tied to the channel. End of stdin
 * first: the piece was never needed, it exits.
 */
export function standbyShell(o: { tied?: boolean } = {}): string {
  const read = 'IFS= read -r kg_cmd || exit 0';
  return [read, ...(o.tied ? tiedBody('eval "$kg_cmd"') : ['eval "$kg_cmd"'])].join('\n');
}

/**
 * The shell of a command queue (Transport.queue): each line it reads runs
 * after the one before it, framed by `<marker> start` and `<marker> end $?`
 * on stdout and on stderr.
 * A run that did not end normally (a harness exits 0 or 1 once it has reported
 * every case) ends the loop: what was queued behind it must not run before the
 * runner has looked at why it stopped.
 */
export function commandLoop(marker: string): string {
  return [
    'while IFS= read -r kg_cmd; do',
    `echo '${marker} start'; echo '${marker} start' >&2`,
    'eval "$kg_cmd" </dev/null',
    'kg_s=$?',
    `echo "${marker} end $kg_s" >&2; echo "${marker} end $kg_s"`,
    '[ $kg_s -le 1 ] || exit 0',
    'done',
  ].join('\n');
}

/**
 * Upload what this connection has not got yet, then run over it. Uploads go
 * one after another in the background, in run order, and each run waits only
 * for its own binary: the first case starts after one upload, not all of them.
 * With `o.suite` (an ssh:// machine), the first prepare sends the whole suite
 * as one archive instead: one upload and one unpack, not a round trip per
 * binary. A guest booted with the suite in its image has it all preloaded.
 */
export function transportRunner(getTransport: () => Transport, onUpload: (name: string, bytes: number, ms: number) => void = () => {}, o: { tied?: boolean; suite?: Promise<SuiteFile[]> } = {}) {
  // ready: uploaded, so a line running it may be sent ahead.
  let uploads = new Map<string, { sha256: string; done: Promise<void>; ready: boolean }>();
  const inPlace = (f: SuiteFile) => uploads.set(f.name, { sha256: f.sha256, done: Promise.resolve(), ready: true });
  let chain: Promise<void> = Promise.resolve();
  let whole: Promise<void> | undefined;
  let standby: { transport: Transport; channel: Standby } | undefined;
  const sendWhole = async (files: SuiteFile[]) => {
    const t = getTransport();
    const t0 = Date.now();
    const tar = await tarOf(files);
    try {
      await unpackRemote(t, tar.path, REMOTE_DIR, 'the suite');
    } finally {
      await tar.remove();
    }
    onUpload(`the suite (${files.length} binaries, one archive)`, tar.bytes, Date.now() - t0);
    files.forEach(inPlace);
  };
  // A guest's pieces go through one command loop: the next piece's line is sent
  // while this one runs, and the guest starts it the moment this one ends
  // (about 50 ms a family under TCG, the round trip between two runs).
  let queue: { transport: Transport; q: CommandQueue } | undefined;
  let ahead: { transport: Transport; line: string; run: QueuedRun } | undefined;
  const liveQueue = (t: Transport): CommandQueue => {
    if (queue?.transport !== t || !queue.q.open()) {
      queue?.q.end();
      const marker = `# kgate-loop-${randomBytes(6).toString('hex')}`;
      queue = { transport: t, q: t.queue(commandLoop(marker), marker) };
    }
    return queue.q;
  };
  const endPending = () => {
    standby?.channel.cancel();
    standby = undefined;
    queue?.q.end();
    queue = undefined;
    ahead = undefined;
  };
  const viaQueue = async (t: Transport, req: ExecRequest, opts: Required<Pick<ExecOptions, 'onStdout' | 'onStderr'>> & ExecOptions): Promise<ExecOutcome> => {
    const line = remoteCommand(req.binary, req.caseIds, req.env);
    // Sent ahead as exactly this: it may have started already, and its cases'
    // kernel messages count from its start. Anything else sent ahead is left
    // to end unread, and this line's cases count from this line's own start.
    let run = ahead?.transport === t && ahead.line === line ? ahead.run : undefined;
    const startMatters = run !== undefined || ahead !== undefined;
    ahead = undefined;
    for (let attempt = 0; ; attempt++) {
      run ??= liveQueue(t).push(line);
      if (req.next && uploads.get(req.next.binary.name)?.ready && queue?.q.open()) {
        const next = remoteCommand(req.next.binary, req.next.caseIds, req.env);
        ahead = { transport: t, line: next, run: queue.q.push(next) };
      }
      const mine = run;
      let told = !startMatters;
      const tell = () => {
        if (told || mine.startedAt === undefined) return;
        told = true;
        req.onStarted?.(mine.startedAt);
      };
      const r = await mine.follow({ ...opts, onStdout: (l) => { tell(); opts.onStdout(l); }, onStderr: (l) => { tell(); opts.onStderr(l); } });
      tell();
      // The loop ended before this one started (the run before it did not end
      // normally), or its channel was refused (dropbear now and then answers an
      // exec with a failure): once more on a fresh loop.
      if (!r.started && !r.killed && t.alive() && attempt === 0) { ahead = undefined; run = undefined; continue; }
      if (!r.started && !r.killed && t.alive()) throw new KgateError('infra', `${t.target}: no command loop would start (its channel was refused twice)`);
      if ((r.lost || !r.started) && !r.killed) throw new Error('SSH connection lost');
      return { code: r.code, signal: r.signal, killed: r.killed };
    }
  };
  return {
    forget() { uploads = new Map(); chain = Promise.resolve(); whole = undefined; endPending(); },
    /** The command loop opened now, while nothing waits on it: the first piece pays no channel open. */
    warm() { if (!o.tied) liveQueue(getTransport()); },
    /** Binaries already in place (booted with the guest's image). */
    preload(files: SuiteFile[]) { files.forEach(inPlace); },
    async prepare(binaries: BuiltBinary[]) {
      if (o.suite) {
        whole ??= o.suite.then(sendWhole);
        await whole;
      }
      const t = getTransport();
      // Once each: the next piece of work may be the same binary (kgate run --coverage case runs one case a piece).
      const todo = binaries.filter((b, i) => uploads.get(b.name)?.sha256 !== b.sha256 && binaries.findIndex((x) => x.name === b.name) === i);
      if (todo.length === 0) return;
      for (const b of todo) {
        if (!existsSync(b.path)) throw new KgateError('user', `built binary ${b.path} is missing; run kgate build`);
      }
      if (uploads.size === 0) await t.exec(`mkdir -p ${REMOTE_DIR}`);
      for (const b of todo) {
        // Families of one multi-call binary: sent once, the others linked to it on the machine.
        const same = [...uploads].find(([name, u]) => u.sha256 === b.sha256 && name !== b.name);
        const done = chain.then(async () => {
          const t0 = Date.now();
          if (same) {
            await same[1].done;
            const r = await t.exec(`ln -sf ${same[0]} ${REMOTE_DIR}/${b.name}`);
            if (r.code === 0) return;
          }
          await t.upload(b.path, `${REMOTE_DIR}/${b.name}`, 0o755);
          onUpload(b.name, statSync(b.path).size, Date.now() - t0);
        });
        const entry = { sha256: b.sha256, done, ready: false };
        done.then(() => { entry.ready = true; }, () => {}); // a failure is surfaced by the exec that needs it
        uploads.set(b.name, entry);
        chain = done.catch(() => {});
      }
    },
    async exec(req: ExecRequest): Promise<ExecOutcome> {
      await uploads.get(req.binary.name)?.done;
      const t = getTransport();
      const opts = { onStdout: req.onLine, onStderr: (l: string) => req.onLine(`# stderr: ${l}`), signal: req.signal, timeoutMs: req.timeoutMs };
      if (!o.tied) return viaQueue(t, req, opts);
      const line = remoteCommand(req.binary, req.caseIds, req.env, { exec: true });
      let r;
      if (line.includes('\n')) {
        r = await t.exec(remoteCommand(req.binary, req.caseIds, req.env, o), opts);
      } else {
        // A test box's channel is opened ahead too: the next piece's channel, fork and shell are paid while this one runs.
        const shell = standbyShell({ tied: true });
        const mine = standby?.transport === t ? standby.channel : t.standby(shell);
        standby = { transport: t, channel: t.standby(shell) };
        r = await mine.run(line, opts);
      }
      if (r.lost && !r.killed) throw new Error('SSH connection lost');
      return { code: r.code, signal: r.signal, killed: r.killed };
    },
    /** The channel kept for a next piece that will not come (the run ended, the guest is replaced). */
    release() { endPending(); },
  };
}

/**
 * One booted guest, shared by its lanes: its boots and restarts, its console.
 * A restart asked for by two lanes (each saw the crash, or the hang) happens
 * once: a lane names the boot it ran on, and a guest already past that boot
 * is not restarted again.
 */
class Guest {
  g!: StartedGuest;
  /** How many times it has booted: which boot a lane's command ran on. */
  boots = 0;
  /** A restart under way: lanes wait for it before they run anything. */
  restarting?: Promise<void>;
  lanes: GuestLane[] = [];
  private stopped?: Promise<void>;
  constructor(readonly name: string, private spec: QemuSpec, private artifact: KernelArtifact, private runDir: string, readonly emit: Emit, private index: number,
    private shared: { accel?: 'kvm' | 'tcg' }, private suite?: Promise<SuiteFile[]>) {}

  async start(signal: AbortSignal) {
    const consoleName = `console${this.index > 0 ? `-${this.index + 1}` : ''}${this.boots > 0 ? `.boot${this.boots + 1}` : ''}.log`;
    this.g = await startGuest({
      kernel: this.artifact,
      accel: this.shared.accel ?? this.spec.accel,
      runDir: this.runDir,
      signal,
      memMB: this.spec.memMB,
      smp: this.spec.smp,
      consoleName,
      bootTimeoutMs: this.spec.bootTimeoutSec * 1000,
      onNote: (note) => this.emit({ type: 'stage', stage: 'target', state: 'note', detail: `${this.name}: ${note}` }),
      ...(this.suite ? { suite: this.suite } : {}),
    });
    this.boots++;
    for (const lane of this.lanes) lane.booted(this.g);
    // KVM failed once on this host: later guests and restarts of this run go straight to TCG.
    if (this.spec.accel === 'auto' && this.g.accelNote) this.shared.accel = this.g.accel;
    const t = this.g.timings;
    this.emit({ type: 'stage', stage: 'target', state: 'note',
      detail: `${this.name}: ${this.g.kernel.release} up, ${this.g.accel}${this.g.accelNote ? ' (after KVM failed)' : ''}; image ${t.imageCached ? 'cached' : `${t.image} ms`}${this.g.preloaded.length ? ` with the suite (${this.g.preloaded.length} binaries)` : ''}, boot ${t.boot} ms, ssh ${t.ssh} ms${this.lanes.length > 1 ? `; ${this.lanes.length} lanes` : ''}` });
  }
  alive() { return this.g.guest.alive() && this.g.transport.alive(); }
  /** A fresh boot in place of boot `from`; false when another lane's restart replaced that boot (under way or done). */
  async restartFrom(from: number, signal: AbortSignal): Promise<void | false> {
    if (this.restarting) return this.restarting.then(() => false as const);
    if (this.boots !== from) return false;
    const kvm = this.g.guest.kvmFailure();
    const restarting = this.restarting = (async () => {
      try {
        await stopGuest(this.g);
        // KVM failed under a running guest: this run's later guests go to TCG, as a failed boot's do.
        if (kvm && this.spec.accel === 'auto') this.shared.accel = 'tcg';
        await this.start(signal);
      } finally {
        this.restarting = undefined;
      }
    })();
    return restarting;
  }
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      for (const lane of this.lanes) lane.release();
      const g = this.g;
      this.g = undefined as unknown as StartedGuest;
      if (g) await stopGuest(g);
    })();
    return this.stopped;
  }
}

/**
 * A lane of a guest: one command loop of its own, beside the guest's other
 * lanes (one per vCPU), so that two families run at once. Each lane is a
 * target of its own to the runner; they share the guest's console, its boots
 * and its restarts (`machine` names what they share).
 */
class GuestLane implements SuiteTarget {
  private runner = transportRunner(() => this.guest.g.transport, (name, bytes, ms) =>
    this.guest.emit({ type: 'stage', stage: 'suite', state: 'note', detail: `${this.name}: uploaded ${name} (${Math.round(bytes / 1024)} KiB, ${ms} ms)` }));
  /** The boot its last command ran on. */
  private ranOn = 0;
  constructor(readonly name: string, private guest: Guest) {}

  get machine() { return this.guest.lanes.length > 1 ? this.guest.name : undefined; }
  get kernel() { return this.guest.g.kernel; }
  get accel() { return this.guest.g.accel; }
  get timings() {
    const t = this.guest.g.timings;
    return { imageMs: t.image, prepMs: t.prep, bootMs: t.boot, sshMs: t.ssh, guestMs: t.total };
  }
  get notes() {
    const n: Record<string, string> = { qemu: qemuVersion() };
    if (this.guest.g.accelNote) n.accelNote = this.guest.g.accelNote;
    if (this.guest.lanes.length > 1) n.lanes = String(this.guest.lanes.length);
    return n;
  }
  /** A new boot of its guest: what the old one had is gone. */
  booted(g: StartedGuest) {
    this.runner.forget();
    this.runner.preload(g.preloaded);
    this.runner.warm();
  }
  async prepare(binaries: BuiltBinary[]) {
    await this.guest.restarting;
    return this.runner.prepare(binaries);
  }
  // Its console is read: the harness gives each case's start and end on the kernel's clock (runner/ledger.ts casesReports).
  async exec(req: ExecRequest) {
    await this.guest.restarting;
    this.ranOn = this.guest.boots;
    return this.runner.exec({ ...req, env: { ...req.env, KGATE_CASE_MARKS: '1' } });
  }
  async shell(cmd: string, signal: AbortSignal, timeoutMs = 60_000) {
    const lines: string[] = [];
    const r = await this.guest.g.transport.exec(cmd, { onStdout: (l) => lines.push(l), signal, timeoutMs });
    if (r.lost || r.killed) throw new KgateError('infra', `${this.name}: '${cmd.split('\n')[0].slice(0, 60)}' ${r.killed ? `did not finish (${r.killed})` : 'lost its SSH connection'}`);
    return { code: r.code, lines };
  }
  consoleEventsSince(t: number) { return this.guest.g.guest.crashesSince(t); }
  consoleLinesSince(t: number) { return this.guest.g.guest.consoleSince(t).map((l) => l.line); }
  alive() { return this.guest.alive(); }
  acceleratorFailed() { return this.guest.g?.guest.kvmFailure(); }
  restart(signal: AbortSignal) { return this.guest.restartFrom(this.ranOn, signal); }
  async replacedUnder() {
    if (this.guest.lanes.length < 2 || (!this.guest.restarting && this.guest.boots === this.ranOn)) return false;
    // A restart that failed is the lane's that began it to say (the run aborts).
    await this.guest.restarting?.catch(() => {});
    return true;
  }
  release() { this.runner.release(); }
  stop() { return this.guest.stop(); }
}

/**
 * One guest per job, all on the one kernel the kernel stage resolved, each
 * with `spec.lanes` lanes. The first guest builds the image; the others start
 * when it is up and reuse it. Each lane is returned as a promise, so work
 * starts on the first guest while the others boot.
 */
export function startGuestTargets(spec: QemuSpec, kernel: KernelArtifact, runDir: string, signal: AbortSignal, emit: Emit, suite?: Promise<SuiteFile[]>): Promise<SuiteTarget>[] {
  const shared = {};
  const lanes = Math.max(1, spec.lanes);
  const guests = Array.from({ length: spec.jobs }, (_, i) => {
    const guest = new Guest(spec.jobs > 1 ? `qemu${i + 1}` : 'qemu', spec, kernel, runDir, emit, i, shared, suite);
    guest.lanes = Array.from({ length: lanes }, (_, l) => new GuestLane(lanes > 1 ? `${guest.name}/${l + 1}` : guest.name, guest));
    return guest;
  });
  const first = guests[0].start(signal);
  const startOne = async (g: Guest) => {
    await first;
    if (g === guests[0]) return;
    try {
      await g.start(signal);
    } catch (e) {
      await g.stop().catch(() => {});
      throw e;
    }
  };
  return guests.flatMap((g) => {
    const up = startOne(g);
    return g.lanes.map((lane) => up.then(() => lane as SuiteTarget));
  });
}

export async function showGuestCommand(spec: QemuSpec, k: KernelArtifact): Promise<string> {
  // The port and the initrd with this run's keys are only known at boot: shown as placeholders.
  const accel = spec.accel === 'kvm' ? 'kvm' : 'tcg';
  return showCommand(qemuArgv({
    arch: 'x86_64', kernel: await bootKernelOf(k), initrd: 'INITRD', memMB: spec.memMB, smp: spec.smp,
    accel, sshPort: 0,
  })).replace('INITRD', '<cached initramfs + this run\'s keys>').replace('127.0.0.1:0-', '127.0.0.1:<free port>-');
}
