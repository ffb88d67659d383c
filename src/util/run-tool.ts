// Host tools (apt-get, dpkg-deb, depmod, dropbearkey, ldd, xz, zstd) behind one
// helper, so every failure becomes an 'infra' KgateError that keeps the tool's
// own words (its stderr tail) instead of an execa stack trace.
import { execa } from 'execa';
import { KgateError } from '../model.js';
import { machineFault } from './machine-fault.js';

export interface RunOptions {
  cwd?: string;
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Binary output (decompressors); the default decodes stdout as text. */
  binary?: boolean;
  /** Bytes for the tool's stdin (none: stdin is closed). */
  input?: Uint8Array;
  /** Where the tool writes (apt's lists, an unpacked package): named when it fails for a full or read-only disk. */
  writesTo?: string;
}

/** The machine's faults as tools word them (apt: "write (28: No space left on device)", coreutils, dpkg). */
const TOOL_FAULTS: [RegExp, string][] = [
  [/No space left on device|\(28: /i, 'ENOSPC'],
  [/Disk quota exceeded/i, 'EDQUOT'],
  [/Read-only file system/i, 'EROFS'],
  [/Too many open files/i, 'EMFILE'],
];

export async function runTool(file: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stdoutBuffer: Buffer }> {
  try {
    const r = await execa(file, args, {
      cwd: opts.cwd,
      cancelSignal: opts.signal,
      env: opts.env,
      ...(opts.input ? { input: opts.input } : { stdin: 'ignore' as const }),
      encoding: opts.binary ? 'buffer' : 'utf8',
      stripFinalNewline: false,
      maxBuffer: 512 * 1024 * 1024,
    });
    const out = r.stdout as unknown as string | Uint8Array;
    const buf = typeof out === 'string' ? Buffer.from(out) : Buffer.from(out);
    return { stdout: buf.toString(), stdoutBuffer: buf };
  } catch (e) {
    if (opts.signal?.aborted) throw new KgateError('interrupt', `${file} interrupted`);
    const err = e as { code?: string; stderr?: unknown; shortMessage?: string; message?: string };
    if (err.code === 'ENOENT') {
      throw new KgateError('infra', `${file} not found on this host (run scripts/setup.sh)`);
    }
    const stderr = typeof err.stderr === 'string' ? err.stderr : Buffer.isBuffer(err.stderr) ? err.stderr.toString() : '';
    const tail = stderr.trim().split('\n').slice(-5).join('\n');
    const code = TOOL_FAULTS.find(([re]) => re.test(stderr))?.[1];
    if (code) {
      const tool = [file, args[0]].filter(Boolean).join(' ');
      const errno = Object.assign(new Error(code), { code, syscall: tool });
      throw machineFault(errno, opts.writesTo ? `${opts.writesTo} (${tool})` : undefined) ?? errno;
    }
    throw new KgateError('infra', `${[file, ...args].join(' ')} failed: ${tail.split('\n').at(-1) || err.shortMessage || err.message}`, tail);
  }
}
