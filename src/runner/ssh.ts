// The SSH transport: one ssh2 connection per target, reused for SFTP uploads and
// for every run, with the server's host key pinned. Used for kgate's own guests
// (key pair and host key made per run) and for --target ssh://user@host:port.
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { KgateError } from '../model.js';
import { runTool } from '../util/run-tool.js';
import { lineSplitter } from '../util/lines.js';
import { scratchDir } from '../util/scratch.js';

const { Client, utils } = ssh2;

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
  /** True until the connection ends, by close() or by the peer going away. */
  alive(): boolean;
  onClose(listener: (reason?: string) => void): void;
  close(): Promise<void>;
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
      return new Promise<ExecResult>((resolve, reject) => {
        const t0 = performance.now();
        if (!open) return resolve({ code: null, signal: null, lost: true, ms: 0 });
        conn.exec(cmd, (err, stream: ClientChannel) => {
          if (err) return reject(new KgateError('infra', `exec on ${target} failed: ${err.message}`));
          const out = lineSplitter((l) => opts.onStdout?.(l));
          const errs = lineSplitter((l) => opts.onStderr?.(l));
          let code: number | null = null;
          let sig: string | null = null;
          let exited = false;
          let killed: ExecResult['killed'];
          let timer: NodeJS.Timeout | undefined;
          const stop = (why: 'timeout' | 'abort') => {
            if (exited || killed) return;
            killed = why;
            // Ask the server to kill the command, then drop the channel whatever it does.
            try { stream.signal('KILL'); } catch { /* server may not support signals */ }
            stream.close();
          };
          const onAbort = () => stop('abort');
          if (opts.signal?.aborted) stop('abort');
          opts.signal?.addEventListener('abort', onAbort, { once: true });
          if (opts.timeoutMs !== undefined) timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
          stream.on('data', (b: Buffer) => out.push(b));
          stream.stderr.on('data', (b: Buffer) => errs.push(b));
          stream.on('exit', (c: number | null, s?: string) => { exited = true; code = c ?? null; sig = s ?? null; });
          stream.on('close', () => {
            clearTimeout(timer);
            opts.signal?.removeEventListener('abort', onAbort);
            out.end();
            errs.end();
            const r: ExecResult = { code, signal: sig, ms: performance.now() - t0 };
            if (killed) r.killed = killed;
            else if (!exited) r.lost = true;
            resolve(r);
          });
        });
      });
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

function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

// ---------------------------------------------------------------- keys

export interface RunKeys {
  /** Client key, OpenSSH private key text. */
  clientPrivate: string;
  /** Client public key line for authorized_keys. */
  clientPublic: string;
  /** The guest's host key in dropbear's format (goes into the secrets archive). */
  hostKey: Buffer;
  /** Its public half, "ssh-ed25519 AAAA...", which the client pins. */
  hostPublic: string;
}

/** Fresh keys for one run: nothing is reused across runs or kept in the cached image. */
/**
 * ssh2's ed25519 keygen drops a leading zero byte of the public key, so about
 * one key in 256 is one ssh2 itself cannot parse (mscdex/ssh2#1513, #1390):
 * the login then failed with "Malformed OpenSSH private key" and the run was
 * untestable. With a guest booted per run, CI met it about once a run. A pair
 * that does not parse back is made again.
 */
export function parseableKeyPair(generate = () => utils.generateKeyPairSync('ed25519', { comment: 'kgate-run' })): { private: string; public: string } {
  for (let i = 0; i < 32; i++) {
    const kp = generate();
    if (!(utils.parseKey(kp.private) instanceof Error) && !(utils.parseKey(kp.public) instanceof Error)) return kp;
  }
  throw new KgateError('bug', 'ssh2 made 32 ed25519 key pairs in a row that it cannot parse');
}

export async function makeRunKeys(signal?: AbortSignal): Promise<RunKeys> {
  const client = parseableKeyPair();
  // dropbearkey writes only to a path that does not exist yet.
  const dir = await scratchDir('kgate-keys-');
  try {
    const keyPath = path.join(dir, 'host_ed25519');
    await runTool('dropbearkey', ['-t', 'ed25519', '-f', keyPath], { signal });
    const pub = (await runTool('dropbearkey', ['-y', '-f', keyPath], { signal })).stdout
      .split('\n').find((l) => l.startsWith('ssh-ed25519 '));
    if (!pub) throw new KgateError('infra', 'dropbearkey -y printed no ssh-ed25519 line');
    return {
      clientPrivate: client.private,
      clientPublic: client.public.trim(),
      hostKey: await readFile(keyPath),
      hostPublic: pub.split(' ').slice(0, 2).join(' '),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- ssh:// targets

export interface SshTarget { user: string; host: string; port: number }

export function parseSshTarget(url: string): SshTarget {
  const m = /^ssh:\/\/(?:([^@/:]+)@)?(\[[0-9a-fA-F:]+\]|[^@/:]+)(?::(\d+))?\/?$/.exec(url.trim());
  if (!m) throw new KgateError('user', `bad target '${url}'; expected ssh://[user@]host[:port]`);
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) throw new KgateError('user', `bad port in target '${url}'`);
  return { user: m[1] ?? 'root', host: m[2].replace(/^\[|\]$/g, ''), port };
}

/** Host keys known for host:port in an OpenSSH known_hosts text (plain and hashed entries). */
export function knownHostKeys(text: string, host: string, port: number): Buffer[] {
  const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  const out: Buffer[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@revoked')) continue;
    const fields = line.replace(/^@cert-authority\s+/, '').split(/\s+/);
    if (fields.length < 3) continue;
    const [hosts, , b64] = fields;
    const match = hosts.split(',').some((h) => {
      if (h.startsWith('|1|')) {
        const [, , salt, hash] = h.split('|');
        return names.some((n) => createHmac('sha1', Buffer.from(salt, 'base64')).update(n).digest('base64') === hash);
      }
      return names.includes(h);
    });
    if (match) out.push(Buffer.from(b64, 'base64'));
  }
  return out;
}

export interface ConnectTargetOptions {
  /** Private key file; default the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  identity?: string;
  /** Pinned host key line; default: the entries of ~/.ssh/known_hosts. */
  hostKey?: string;
  signal?: AbortSignal;
}

/** --target ssh://user@host:port: a machine already up, checked against known_hosts. */
export async function connectTarget(t: SshTarget, opts: ConnectTargetOptions = {}): Promise<Transport> {
  const url = `ssh://${t.user}@${t.host}:${t.port}`;
  const sshDir = path.join(os.homedir(), '.ssh');
  const identity = opts.identity ?? ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(sshDir, f)).find(existsSync);
  if (!identity || !existsSync(identity)) throw new KgateError('user', `no SSH key for ${url}: pass one (--identity) or create ~/.ssh/id_ed25519`);
  let hostKey: Buffer[];
  if (opts.hostKey) hostKey = [publicKeyBlob(opts.hostKey)];
  else {
    const kh = path.join(sshDir, 'known_hosts');
    hostKey = existsSync(kh) ? knownHostKeys(readFileSync(kh, 'utf8'), t.host, t.port) : [];
    if (hostKey.length === 0) {
      throw new KgateError('user', `${url}: host key unknown; add it with: ssh-keyscan -p ${t.port} ${t.host} >> ~/.ssh/known_hosts`);
    }
  }
  return connect({ ...t, privateKey: readFileSync(identity), hostKey, signal: opts.signal });
}
