// `kgate exec`: the kernel stage and a booted guest, as `kgate run` has them,
// but running one command of the user's instead of kgate's suite: another
// suite's runner (run_kselftest.sh of an exported or installed kselftest
// directory), a reproducer, a look around. The command's output is kgate's
// output, its exit status kgate's (0-125; a signal or a status above 125 is 1,
// since 126+ would stop a `git bisect run`).
import { mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { KgateError, EXIT } from '../model.js';
import { resolveKernel } from '../kernel/index.js';
import { startGuest, stopGuest } from '../runner/guest.js';
import { unpackRemote } from '../runner/suite-tar.js';
import { runTool } from '../util/run-tool.js';
import { scratchDir } from '../util/scratch.js';
import { shellQuote } from '../util/shell.js';
import { kernelRequestOf, parseOpts } from './inputs.js';
import { COMMANDS, schemaOf } from './options.js';
import { interruptible } from './run-command.js';

/** Where --put lands in the guest; the command runs there. */
export const PUT_DIR = '/kgate/put';

const ExecOpts = schemaOf(COMMANDS.exec);

const note = (s: string) => process.stderr.write(`kgate: ${s}\n`);

export async function execFromCli(command: string[], raw: Record<string, unknown>): Promise<number> {
  const o = parseOpts(ExecOpts, raw);
  const put = o.put ? path.resolve(o.put) : undefined;
  if (put) {
    try {
      if (!statSync(put).isDirectory()) throw new Error('not a directory');
    } catch (e) {
      throw new KgateError('user', `--put ${o.put}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const cmd = command.join(' ');
  const runDir = path.join(path.resolve(o.results), 'exec', new Date().toISOString().replace(/[:.]/g, '-'));
  try {
    mkdirSync(runDir, { recursive: true });
  } catch (e) {
    throw new KgateError('user', `cannot write ${runDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return interruptible(async (signal) => {
    const kernel = await resolveKernel(kernelRequestOf(o), { signal, logDir: runDir, log: note });
    note(`kernel ${kernel.release} (${kernel.how}); booting`);
    const scratch = await scratchDir('kgate-exec-');
    const g = await startGuest({ kernel, accel: o.accel, runDir, signal, memMB: o.mem, bootTimeoutMs: o.bootTimeout * 1000, onNote: note });
    try {
      note(`guest up in ${(g.timings.total / 1000).toFixed(1)} s (${g.accel}); console: ${path.join(runDir, 'console.log')}`);
      if (put) {
        // one archive, one upload, one unpack: a selftest directory is many small files
        const tar = path.join(scratch, 'put.tar');
        await runTool('tar', ['--owner=0', '--group=0', '-cf', tar, '-C', put, '.'], { signal });
        await unpackRemote(g.transport, tar, PUT_DIR, '--put', { signal, timeoutMs: 120_000 });
      }
      // stdout through a pipe, not the SSH channel itself: dropbear hands the
      // command a socket, which cannot be reopened as /dev/stdout, and
      // kselftest's runner writes each test's output to logfile=/dev/stdout
      // (without the pipe every nested line was lost)
      const r = await g.transport.exec(`set -o pipefail; mkdir -p ${PUT_DIR} && cd ${PUT_DIR} && { ${cmd}
} | cat`, {
        signal, timeoutMs: o.timeout * 1000,
        onStdout: (l) => process.stdout.write(`${l}\n`),
        onStderr: (l) => process.stderr.write(`${l}\n`),
      });
      if (r.killed === 'abort') throw signal.reason ?? new KgateError('interrupt', 'interrupted');
      if (r.killed === 'timeout') { note(`${shellQuote(cmd)} ran past --timeout ${o.timeout} s: stopped`); return EXIT.untestable; }
      if (r.lost) throw new KgateError('infra', `the guest went away while ${shellQuote(cmd)} ran (console: ${path.join(runDir, 'console.log')})`);
      const code = r.code ?? 1;
      return code > 125 ? 1 : code;
    } finally {
      await stopGuest(g);
      await rm(scratch, { recursive: true, force: true });
    }
  });
}
