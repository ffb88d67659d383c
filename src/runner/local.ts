// `--target local`: the suite runs on the machine's own kernel. Each binary
// enters a private mount namespace itself (docs/suite-protocol.md), so what it
// mounts cannot outlive it; this side only starts it, streams it and kills it.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { release, version } from 'node:os';
import { KgateError } from '../model.js';
import type { ExecOutcome, ExecRequest, SuiteTarget } from './target.js';
import { lineSplitter } from '../util/lines.js';
import { tethered } from '../util/tether.js';

export function assertRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new KgateError('user', `${what} needs root (it mounts FUSE filesystems and opens /dev/fuse); run it as root`);
  }
}

export function localTarget(): SuiteTarget {
  assertRoot('kgate run --target local');
  return {
    name: 'local',
    kernel: { release: release(), version: version(), source: 'local', configHash: undefined },
    async prepare() { /* binaries run where they were built */ },
    async exec(req: ExecRequest): Promise<ExecOutcome> {
      // Tethered: its FUSE servers die with it (templates/c), and it with kgate, even by SIGKILL.
      const child = execa(...tethered(req.binary.path, req.caseIds), {
        reject: false,
        buffer: false,
        stdin: 'ignore',
        stderr: 'pipe',
        timeout: req.timeoutMs,
        cancelSignal: req.signal,
        killSignal: 'SIGKILL',
        // The selftest panic case must never crash the host, whatever the caller's environment says.
        env: { ...req.env, KGATE_ALLOW_PANIC: '0' },
      });
      const out = lineSplitter(req.onLine);
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      // stderr is diagnostic noise for the KTAP stream's reader: keep it, marked.
      const err = lineSplitter((l) => req.onLine(`# stderr: ${l}`));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      const r = await child;
      out.end(); err.end();
      return {
        code: r.exitCode ?? null,
        signal: r.signal ?? null,
        killed: r.timedOut ? 'timeout' : r.isCanceled ? 'abort' : undefined,
      };
    },
    consoleEventsSince: () => [],
    consoleLinesSince: () => [],
    alive: () => true,
    async stop() {},
  };
}

export function hostHasFuse(): boolean {
  try { return readFileSync('/proc/filesystems', 'utf8').includes('\tfuse\n'); } catch { return false; }
}
