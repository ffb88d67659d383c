// A run made by LAVA instead of a local guest, as a run backend
// (session/run-repeated.ts): the nightly's `backend: lava-run` (the
// dispatcher alone, on this host) or `backend: lava` (a server, over REST).
// It fills the same run directory a local run does, so history, comparison
// and reports read it unchanged.
import { KgateError } from '../model.js';
import type { RunBackend } from '../session/run-repeated.js';

export type LavaBackend = { kind: 'lava-run' } | { kind: 'lava'; url: string; tokenFile: string };

/** How long a nightly waits for a LAVA server's job. */
const POLL_TIMEOUT_SEC = 3600;

export function lavaBackend(be: LavaBackend, o: { memMB?: number; bootTimeoutSec?: number }): RunBackend {
  return async (req, ctx) => {
    if (!req.kernel) throw new KgateError('bug', 'a LAVA run without a kernel');
    const prep = { kernel: req.kernel, selection: req.selection, runId: req.runId, memMB: o.memMB, bootTimeoutSec: o.bootTimeoutSec };
    const out = be.kind === 'lava'
      ? await (await import('./run.js')).submitToLava({ ...prep, server: { url: be.url, tokenFile: be.tokenFile }, wait: true, pollTimeoutSec: POLL_TIMEOUT_SEC }, ctx)
      : await (await import('./dispatcher.js')).runOnDispatcher(prep, ctx);
    if (!out.run) throw new KgateError('bug', `${req.runId ?? out.dir}: the LAVA run left no results`);
    return { run: out.run, dir: out.dir, exitCode: out.exitCode, timings: {} };
  };
}
