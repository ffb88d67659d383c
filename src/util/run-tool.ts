// Host tools (apt-get, dpkg-deb, depmod, dropbearkey, ldd, xz, zstd) behind one
// helper, so every failure becomes an 'infra' KgateError that keeps the tool's
// own words (its stderr tail) instead of an execa stack trace.
import { execa } from 'execa';
import { KgateError } from '../model.js';

export interface RunOptions {
  cwd?: string;
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Binary output (decompressors); the default decodes stdout as text. */
  binary?: boolean;
}

export async function runTool(file: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stdoutBuffer: Buffer }> {
  try {
    const r = await execa(file, args, {
      cwd: opts.cwd,
      cancelSignal: opts.signal,
      env: opts.env,
      stdin: 'ignore',
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
    throw new KgateError('infra', `${[file, ...args].join(' ')} failed: ${tail.split('\n').at(-1) || err.shortMessage || err.message}`, tail);
  }
}
