// One `make` of a tree build, in its own process group so that stopping it
// (Ctrl-C, a deadline) stops every compiler under it: the group is the one
// of the pid kgate started, never found by name. Its whole output goes to a
// log file; the caller sees the target being built every few seconds and, on
// failure, the first compiler error and the log's tail.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { KgateError } from '../../model.js';
import { gitFreeEnv } from '../../util/git.js';
import { tetheredGroup } from '../../util/tether.js';
import { machineFault } from '../../util/machine-fault.js';

/** make in one build directory, as a tree build runs it: targets and variables in, its time out. */
export type Make = (targets: string[], vars?: Record<string, string>) => Promise<{ ms: number }>;

export interface MakeOptions {
  src: string;
  obj: string;
  targets: string[];
  jobs: number;
  /** Extra make variables (CC=..., KBUILD_BUILD_TIMESTAMP=...). */
  vars?: Record<string, string>;
  env?: Record<string, string>;
  logFile: string;
  signal?: AbortSignal;
  /** One progress line, at most every `noteEveryMs`. */
  log?: (line: string) => void;
  noteEveryMs?: number;
  /** What the error message calls this build ("6.12.118 at 1a2b3c4d5e6f"). */
  what: string;
}

export interface MakeResult { ms: number; lines: number }

const ERROR_LINE = /^(?<file>[^\s:]+):(?<line>\d+):(?:(?<col>\d+):)?\s+(?:fatal\s+)?error:\s+(?<msg>.*)$/;
const STEP_LINE = /^\s{2}([A-Z][A-Z0-9_-]{1,9})\s+(\S+)/;

/** The first compiler (or linker, or make) error of a log, with the file path made relative to the source tree. */
export function firstError(lines: string[], src: string): string | undefined {
  for (const l of lines) {
    const m = l.match(ERROR_LINE);
    if (m?.groups) return `${relativeToSrc(m.groups.file, src)}:${m.groups.line}${m.groups.col ? `:${m.groups.col}` : ''}: error: ${m.groups.msg}`;
  }
  // Kconfig, the linker, a script: "file:line: message", then make's own words.
  for (const l of lines) {
    const m = l.match(/^(?<file>[^\s:]+):(?<line>\d+):\s+(?<msg>.*)$/);
    if (m?.groups && !/^make/.test(m.groups.file)) return `${relativeToSrc(m.groups.file, src)}:${m.groups.line}: ${m.groups.msg}`;
  }
  for (const l of lines) if (/undefined reference to|^make(\[\d+\])?: \*\*\*/.test(l) && !/Error \d+$/.test(l.trim())) return l.trim();
  return lines.find((l) => /Error \d+/.test(l))?.trim();
}

function relativeToSrc(file: string, src: string): string {
  if (file.startsWith(src + '/')) return file.slice(src.length + 1);
  return file.replace(/^(\.\.\/)+(?:[^/]+\/)*?src\//, '');
}

export function runMake(o: MakeOptions): Promise<MakeResult> {
  const t0 = Date.now();
  const args = ['-C', o.src, `O=${o.obj}`, `-j${o.jobs}`, ...Object.entries(o.vars ?? {}).map(([k, v]) => `${k}=${v}`), ...o.targets];
  const log = createWriteStream(o.logFile, { flags: 'a' });
  // A full disk under the log is the machine's fault, said when make ends (an unheard 'error' would crash kgate).
  let logFault: unknown;
  log.on('error', (e) => { logFault ??= e; });
  log.write(`$ make ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) { log.end(); reject(new KgateError('interrupt', 'make interrupted')); return; }
    // Its group is tied to kgate: when kgate dies, make (which removes half-made targets) and its jobs get TERM.
    const child = spawn(...tetheredGroup('make', args), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: gitFreeEnv({ ...o.env, LC_ALL: 'C' }) });
    const tail: string[] = [];
    const head: string[] = [];
    let lines = 0;
    let step = '';
    let lastNote = 0;
    const every = o.noteEveryMs ?? 5000;
    const note = (force = false) => {
      const now = Date.now();
      if (!o.log || (!force && now - lastNote < every)) return;
      lastNote = now;
      o.log(`make ${o.targets.join(' ')}: ${step || 'starting'} (${Math.round((now - t0) / 1000)} s)`);
    };
    const ticker = setInterval(() => note(), Math.min(every, 1000));
    let partial = { out: '', err: '' };
    const onData = (which: 'out' | 'err') => (chunk: Buffer) => {
      log.write(chunk);
      const text = partial[which] + chunk.toString();
      const parts = text.split('\n');
      partial[which] = parts.pop() ?? '';
      for (const l of parts) {
        lines++;
        tail.push(l);
        if (tail.length > 30) tail.shift();
        // Errors are kept from wherever they come: the first one is usually not in the tail.
        if (head.length < 200 && (ERROR_LINE.test(l) || /^[^\s:]+:\d+:\s|\*\*\*|undefined reference|Error \d+/.test(l))) head.push(l);
        const m = l.match(STEP_LINE);
        if (m) step = `${m[1]} ${m[2].startsWith(o.obj + '/') ? m[2].slice(o.obj.length + 1) : m[2]}`;
      }
    };
    child.stdout.on('data', onData('out'));
    child.stderr.on('data', onData('err'));
    const stop = () => {
      // The whole group: make, its sub-makes and every gcc they started.
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* already gone */ }
      setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 3000).unref();
    };
    o.signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (e) => {
      clearInterval(ticker);
      log.end();
      reject(new KgateError('infra', (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'make not found on this host (run scripts/setup.sh)' : `make: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      clearInterval(ticker);
      o.signal?.removeEventListener('abort', stop);
      for (const p of [partial.out, partial.err]) if (p) { tail.push(p); head.push(p); }
      log.end(() => {
        const ms = Date.now() - t0;
        if (o.signal?.aborted) { reject(new KgateError('interrupt', 'make interrupted')); return; }
        if (logFault) { reject(machineFault(logFault, o.logFile) ?? logFault); return; }
        if (code === 0) { note(true); resolve({ ms, lines }); return; }
        const err = firstError(head.length ? head : tail, o.src) ?? `make exited ${code ?? sig}`;
        reject(new KgateError('infra', `build of ${o.what} failed: ${err}`, [`make ${o.targets.join(' ')} failed after ${(ms / 1000).toFixed(1)} s; last 30 lines (full log: ${o.logFile}):`, ...tail.slice(-30)].join('\n')));
      });
    });
  });
}
