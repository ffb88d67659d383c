// The run on LAVA's dispatcher alone (`lava-run`, Debian's lava-dispatcher,
// no server): the job prepared as `kgate lava job` does, a qemu device of
// this host rendered from LAVA's own template, lava-run under TCG, and its log
// turned into the same run directory a local run writes (finishLavaRun, which
// keeps lava-run's log as lava-job.log; lava-run/ holds its own output dir).
// The nightly's `backend: lava-run` and bench:lava call it.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KgateError } from '../model.js';
import type { RunContext } from '../session/context.js';
import { deviceDict, renderDevice } from './device.js';
import { prepareLavaJob, type PrepareRequest } from './prepare.js';
import { finishLavaRun, type LavaOutcome } from './run.js';
import { descendants } from '../util/procs.js';
import { tethered } from '../util/tether.js';

export const LAVA_RUN = '/usr/bin/lava-run';
/** lava-server's tools and lava-run run python3 from PATH: Debian's, not a pyenv shim. */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export interface DispatcherRequest extends PrepareRequest {
  /** The whole job's deadline (lava-run's own timeouts are the job's). */
  timeoutSec?: number;
}


export async function runOnDispatcher(req: DispatcherRequest, ctx: RunContext): Promise<LavaOutcome> {
  if (!existsSync(LAVA_RUN)) throw new KgateError('infra', `${LAVA_RUN} not found (apt-get install lava-dispatcher; scripts/setup.sh)`);
  const prepared = await prepareLavaJob(req, ctx);
  const { dir, plan, runDir } = prepared;
  const timings: Record<string, number> = { ...prepared.timings };
  const device = runDir.keep('device.yaml', await renderDevice(deviceDict({ memMB: req.memMB })));
  const t0 = Date.now();
  // TERM when kgate dies: lava-run cancels the job and stops its own qemu.
  const p = execa(...tethered(LAVA_RUN, ['--job-id', `kgate-${prepared.runId}`, '--output-dir', path.join(dir, 'lava-run'), '--device', device, prepared.jobPath], 'TERM'), {
    reject: false, env: { PATH: SYSTEM_PATH }, extendEnv: false, stdin: 'ignore', timeout: (req.timeoutSec ?? 3600) * 1000,
  });
  // Noted while lava-run lives (an orphan's parent link is lost), ended by pid on an abort or the deadline.
  const seen = new Set<number>();
  const watch = setInterval(() => { if (p.pid) for (const c of descendants(p.pid)) seen.add(c); }, 500);
  const stop = () => {
    if (p.pid) for (const c of descendants(p.pid)) seen.add(c);
    for (const pid of [p.pid, ...seen]) { if (pid) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  };
  ctx.signal.addEventListener('abort', stop, { once: true });
  let r;
  try {
    r = await p;
  } finally {
    clearInterval(watch);
    ctx.signal.removeEventListener('abort', stop);
    // QEMU outliving its lava-run (killed, timed out) is ended here, by its pid.
    for (const pid of seen) { try { process.kill(pid, 0); process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  timings.dispatcherMs = Date.now() - t0;
  const logText = String(r.stderr);
  const fault = ctx.signal.aborted ? new KgateError('interrupt', 'interrupted while lava-run ran the job')
    : r.timedOut ? new KgateError('infra', `lava-run did not finish within ${req.timeoutSec ?? 3600} s`)
      : logText.trim() === '' ? new KgateError('infra', `lava-run printed no log (exit ${r.exitCode}): ${String(r.stdout).trim().split('\n').at(-1) ?? ''}`) : undefined;
  return finishLavaRun({ runDir, plan, logText, target: 'lava-run', timings, ...(fault ? { fault } : {}) });
}
