// The SSH transport: one ssh2 connection per target, reused for SFTP uploads and
// for every run, with the server's host key pinned. Used for kgate's own guests
// (keys made per run: keys.ts) and for --target ssh://user@host:port (target.ts).
import { createHash } from 'node:crypto';
import { constants } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { KgateError } from '../../model.js';
import { lineSplitter } from '../../util/lines.js';

const { Client } = ssh2;

export interface ExecOptions {
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  /** Set when the command did not end by itself. */
  killed?: 'timeout' | 'abort';
  /** The connection died before the command reported its exit. */
  lost?: boolean;
  ms: number;
}

export interface Transport {
  readonly target: string;
  upload(localPath: string, remotePath: string, mode?: number): Promise<void>;
  exec(cmd: string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * `cmd` started now, to be given one line on its stdin later (run): the
   * channel's round trips, the server's fork and the shell are paid while
   * something else runs. `cmd` must wait for that line before it does
   * anything; cancel() ends its stdin instead, and it must then exit.
   */
  standby(cmd: string): Standby;
  /**
   * `cmd` started now as a command loop: it reads lines on its stdin and runs
   * each after the one before it has ended, framing each run's output with
   * `<marker> start` and `<marker> end <status>` lines on its stdout. A line
   * sent while another runs starts without a round trip when that one ends.
   */
  queue(cmd: string, marker: string): CommandQueue;
  /** True until the connection ends, by close() or by the peer going away. */
  alive(): boolean;
  onClose(listener: (reason?: string) => void): void;
  close(): Promise<void>;
}

export interface Standby {
  /** Send `line` and follow the command as exec() does (its deadline counts from now). */
  run(line: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Not needed after all: its stdin ends. Nothing once run() was called. */
  cancel(): void;
}

export interface CommandQueue {
  /** `line` for the loop: it runs once the lines sent before it have ended (if the loop goes on). */
  push(line: string): QueuedRun;
  /** Whether a line pushed now can still run: the loop's channel is open and no run was killed. */
  open(): boolean;
  /** No more lines: the loop ends after what it runs now; lines it has not started never will. */
  end(): void;
}

export interface QueuedRun {
  /**
   * Its output and end, as exec() gives them (what it printed before this was
   * called is given first; its deadline counts from now). \`started\` is false
   * when the loop ended before it: it never ran. A deadline or an abort ends
   * the whole loop.
   */
  follow(opts?: ExecOptions): Promise<ExecResult & { started: boolean }>;
  /** Date.now() at which its start line came, once it has. */
  readonly startedAt: number | undefined;
}

export interface ConnectRequest {
  host: string;
  port: number;
  user: string;
  /** OpenSSH-format private key text. */
  privateKey: string | Buffer;
  /** The only host key accepted: "ssh-ed25519 AAAA..." (a known_hosts/authorized_keys line) or its decoded blob. */
  hostKey: string | Buffer | Buffer[];
  signal?: AbortSignal;
  /** Handshake deadline. */
  timeoutMs?: number;
}

/** "ssh-ed25519 AAAA... comment" -> the key blob the SSH protocol sends. */
export function publicKeyBlob(line: string): Buffer {
  const m = /(?:^|\s)((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/=]+)/.exec(line);
  if (!m) throw new KgateError('infra', `not an SSH public key: ${line.slice(0, 60)}`);
  return Buffer.from(m[2], 'base64');
}

export async function connect(req: ConnectRequest): Promise<Transport> {
  const pinned = (Array.isArray(req.hostKey) ? req.hostKey : [req.hostKey]).map((k) => (Buffer.isBuffer(k) ? k : publicKeyBlob(k)));
  const conn = new Client();
  const target = `ssh://${req.user}@${req.host}:${req.port}`;
  let offered: Buffer | undefined;
  let open = false;
  const closeListeners: ((reason?: string) => void)[] = [];
  let lastError: string | undefined;

  // ssh2 can emit 'error' more than once (e.g. lost before handshake, then close):
  // a permanent handler keeps a late one from crashing the process.
  conn.on('error', (e: Error) => { lastError = e.message; });
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => { conn.end(); reject(new KgateError('interrupt', `connecting to ${target} interrupted`)); };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    conn.once('ready', () => { req.signal?.removeEventListener('abort', onAbort); open = true; resolve(); });
    conn.once('error', (e: Error & { level?: string }) => {
      req.signal?.removeEventListener('abort', onAbort);
      if (offered && !pinned.some((p) => p.equals(offered!))) {
        reject(new KgateError('infra', `${target} offered a host key that is not the pinned one (${fingerprint(offered)}); refusing to connect`));
      } else if (e.level === 'client-authentication') {
        reject(new KgateError('infra', `${target} refused our key for ${req.user}`));
      } else {
        reject(new KgateError('infra', `cannot connect to ${target}: ${e.message}`));
      }
    });
    conn.connect({
      host: req.host,
      port: req.port,
      username: req.user,
      privateKey: req.privateKey,
      readyTimeout: req.timeoutMs ?? 20_000,
      // A TCG guest under load answers slowly; 6 misses at 5 s says it is gone.
      keepaliveInterval: 5_000,
      keepaliveCountMax: 6,
      hostVerifier: (key: Buffer) => { offered = key; return pinned.some((p) => p.equals(key)); },
    });
  });
  conn.on('close', () => {
    open = false;
    for (const l of closeListeners.splice(0)) l(lastError);
  });

  /** A promise that rejects when the connection closes (at once if it has), until done() is called. */
  const untilClosed = (message: string) => {
    let fail: () => void = () => {};
    const promise = new Promise<never>((_, reject) => { fail = () => reject(new KgateError('infra', message)); });
    promise.catch(() => {});
    if (!open) fail(); else closeListeners.push(fail);
    return { promise, done: () => { const i = closeListeners.indexOf(fail); if (i >= 0) closeListeners.splice(i, 1); } };
  };

  let sftp: Promise<SFTPWrapper> | undefined;
  const getSftp = () => (sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
    conn.sftp((err, s) => (err ? reject(new KgateError('infra', `SFTP on ${target} failed: ${err.message}`)) : resolve(s)));
  }));

  /** An exec channel, its exit and close recorded from the start (a standby channel's may come before anyone follows it). */
  interface Channel { stream: ClientChannel; state: { exited: boolean; closed: boolean; code: number | null; signal: string | null } }
  const openChannel = (cmd: string, again = true): Promise<Channel | Error> => new Promise<Channel | Error>((resolve, reject) => {
    if (!open) return resolve(new Error('connection closed'));
    conn.exec(cmd, (err, stream: ClientChannel) => {
      // Dropbear now and then refuses an exec channel ("Unable to exec", ~1 in 10 of quick opens in a guest): once more, a moment later.
      if (err && open && again) return void setTimeout(() => resolve(openChannel(cmd, false)), 50);
      if (err) return open ? reject(new KgateError('infra', `exec on ${target} failed: ${err.message}`)) : resolve(err);
      const state: Channel['state'] = { exited: false, closed: false, code: null, signal: null };
      stream.on('exit', (c: number | null, s?: string) => { state.exited = true; state.code = c ?? null; state.signal = s ?? null; });
      stream.on('close', () => { state.closed = true; });
      resolve({ stream, state });
    });
  });
  const lostOr = (e: Error): ExecResult => {
    if (open) throw new KgateError('infra', `exec on ${target} failed: ${e.message}`);
    return { code: null, signal: null, lost: true, ms: 0 };
  };
  /** Stream a channel's output to the caller until it closes; its deadline and abort kill the command. */
  const follow = (ch: Channel, opts: ExecOptions, t0: number) => new Promise<ExecResult>((resolve) => {
    const { stream, state } = ch;
    const out = lineSplitter((l) => opts.onStdout?.(l));
    const errs = lineSplitter((l) => opts.onStderr?.(l));
    let killed: ExecResult['killed'];
    let timer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'abort') => {
      if (state.exited || killed) return;
      killed = why;
      // Ask the server to kill the command, then drop the channel whatever it does.
      try { stream.signal('KILL'); } catch { /* server may not support signals */ }
      stream.close();
    };
    const onAbort = () => stop('abort');
    const done = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      out.end();
      errs.end();
      const r: ExecResult = { code: state.code, signal: state.signal, ms: performance.now() - t0 };
      if (killed) r.killed = killed;
      else if (!state.exited) r.lost = true;
      resolve(r);
    };
    if (opts.signal?.aborted) stop('abort');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    stream.on('data', (b: Buffer) => out.push(b));
    stream.stderr.on('data', (b: Buffer) => errs.push(b));
    if (state.closed) done(); else stream.on('close', done);
  });

  return {
    target,
    alive: () => open,
    onClose: (l) => { if (open) closeListeners.push(l); else l(lastError); },
    async upload(localPath, remotePath, mode = 0o755) {
      const what = `upload ${path.basename(localPath)} to ${target}:${remotePath}`;
      // ssh2 never calls back an SFTP request whose connection closed under it:
      // a guest killed mid-upload (SIGTERM, Ctrl-C) left a promise nothing could
      // settle, and kgate exited 0, silently, once its event loop was empty.
      const gone = untilClosed(`${what} failed: the connection closed`);
      try {
        const s = await Promise.race([getSftp(), gone.promise]);
        await Promise.race([gone.promise, new Promise<void>((resolve, reject) => {
          s.fastPut(localPath, remotePath, { mode }, (err) => {
            if (err) return reject(new KgateError('infra', `${what} failed: ${err.message}`));
            // fastPut applies mode only when it creates the file; an overwrite keeps the old one.
            s.chmod(remotePath, mode, (e2) => (e2 ? reject(new KgateError('infra', `chmod ${remotePath}: ${e2.message}`)) : resolve()));
          });
        })]);
      } finally {
        gone.done();
      }
    },
    exec(cmd, opts = {}) {
      const t0 = performance.now();
      return openChannel(cmd).then((ch) => (ch instanceof Error ? lostOr(ch) : follow(ch, opts, t0)));
    },
    standby(cmd) {
      // Opened now; its events until run() are kept by openChannel's listeners.
      const ready = openChannel(cmd);
      ready.catch(() => {});
      let taken = false;
      return {
        async run(line, opts = {}) {
          taken = true;
          const t0 = performance.now();
          const ch = await ready;
          if (ch instanceof Error) return lostOr(ch);
          // It ended while it waited (the connection or the server went): its command never started.
          if (ch.state.closed) return { code: null, signal: null, lost: true, ms: 0 };
          ch.stream.write(`${line}\n`);
          return follow(ch, opts, t0);
        },
        cancel() {
          if (taken) return;
          taken = true;
          // End of its stdin: the waiting shell reads nothing and exits.
          void ready.then((ch) => { if (!(ch instanceof Error)) ch.stream.end(); }, () => {});
        },
      };
    },
    queue(cmd, marker) {
      return commandQueue(openChannel(cmd), marker);
    },
    async close() {
      if (!open) return;
      await new Promise<void>((resolve) => {
        conn.once('close', () => resolve());
        conn.end();
        setTimeout(resolve, 2_000).unref();
      });
    },
  };
}

/** A run's `$?` as the SSH server would report its end: 128+N is signal N. */
function statusOf(s: number): { code: number | null; signal: string | null } {
  if (s <= 128) return { code: s, signal: null };
  const name = Object.entries(constants.signals).find(([, n]) => n === s - 128)?.[0];
  return { code: null, signal: name ?? `SIG${s - 128}` };
}

interface ChannelLike { stream: ClientChannel; state: { closed: boolean } }

/**
 * The host side of the command loop: lines out, each run's output and end
 * demultiplexed from the markers. The loop prints them on stdout and on
 * stderr alike: the two reach us in no fixed order between them, but each in
 * order with what the run printed on it, so a run's end waits for both.
 */
function commandQueue(ready: Promise<ChannelLike | Error>, marker: string): CommandQueue {
  ready.catch(() => {});
  interface Run {
    line: string; startedAt?: number; ended?: { code: number | null; signal: string | null }; ends: number;
    started: [boolean, boolean]; buffered: [boolean, string][]; opts?: ExecOptions;
    finish?: (r: ExecResult & { started: boolean }) => void; killed?: ExecResult['killed']; t0: number;
  }
  const runs: Run[] = [];
  const current: [Run | undefined, Run | undefined] = [undefined, undefined]; // on stdout, on stderr
  let closed = false;
  let ended = false;
  let ch: ChannelLike | undefined;
  const startLine = `${marker} start`;
  const endLine = `${marker} end `;
  const settle = (r: Run) => {
    if (!r.finish) return;
    const res = { code: r.ended?.code ?? null, signal: r.ended?.signal ?? null, ms: performance.now() - r.t0, started: r.startedAt !== undefined,
      ...(r.killed ? { killed: r.killed } : !r.ended && r.startedAt !== undefined ? { lost: true } : {}) };
    const f = r.finish;
    r.finish = undefined;
    f(res);
  };
  const onLine = (err: boolean) => (line: string) => {
    const i = err ? 1 : 0;
    if (line === startLine) {
      const r = runs.find((x) => !x.started[i]);
      if (!r) return;
      r.started[i] = true;
      r.startedAt ??= Date.now();
      current[i] = r;
      return;
    }
    const r = current[i];
    if (!r) return;
    if (line.startsWith(endLine)) {
      current[i] = undefined;
      r.ended = statusOf(Number(line.slice(endLine.length)));
      if (++r.ends === 2) settle(r);
    } else if (!r.opts) r.buffered.push([err, line]);
    else (err ? r.opts.onStderr : r.opts.onStdout)?.(line);
  };
  const out = lineSplitter(onLine(false));
  const errs = lineSplitter(onLine(true));
  const onClosed = () => {
    closed = true;
    out.end();
    errs.end();
    for (const r of runs) settle(r);
  };
  void ready.then((c) => {
    if (c instanceof Error) return onClosed();
    ch = c;
    c.stream.on('data', (b: Buffer) => out.push(b));
    c.stream.stderr.on('data', (b: Buffer) => errs.push(b));
    if (c.state.closed) onClosed(); else c.stream.on('close', onClosed);
    for (const r of runs) c.stream.write(`${r.line}\n`);
    if (ended) c.stream.end();
  }, onClosed);
  const kill = (r: Run, why: 'timeout' | 'abort') => {
    if (r.ends === 2 || closed) return;
    r.killed = why;
    if (ch) {
      try { ch.stream.signal('KILL'); } catch { /* server may not support signals */ }
      ch.stream.close();
    }
  };
  return {
    open: () => !closed && !ended && !runs.some((r) => r.killed),
    end() {
      if (ended) return;
      ended = true;
      ch?.stream.end();
    },
    push(line) {
      const r: Run = { line, buffered: [], t0: performance.now(), ends: 0, started: [false, false] };
      runs.push(r);
      if (ch && !closed) ch.stream.write(`${line}\n`);
      return {
        get startedAt() { return r.startedAt; },
        follow(opts = {}) {
          r.t0 = performance.now();
          return new Promise((resolve) => {
            let timer: NodeJS.Timeout | undefined;
            const onAbort = () => kill(r, 'abort');
            r.finish = (res) => {
              clearTimeout(timer);
              opts.signal?.removeEventListener('abort', onAbort);
              resolve(res);
            };
            r.opts = opts;
            for (const [err, l] of r.buffered.splice(0)) (err ? opts.onStderr : opts.onStdout)?.(l);
            if (r.ends === 2 || closed) return settle(r);
            if (opts.signal?.aborted) kill(r, 'abort');
            opts.signal?.addEventListener('abort', onAbort, { once: true });
            if (opts.timeoutMs !== undefined) timer = setTimeout(() => kill(r, 'timeout'), opts.timeoutMs);
          });
        },
      };
    },
  };
}

function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
