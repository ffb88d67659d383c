// The LAVA path against a local QEMU run of the same kernel and cases, side by
// side in one process, on the same cached kernel and suite build: a local run
// (runOnce, TCG), the dispatcher alone (lava-run: job generation, initramfs,
// lava-run, parse), and with --server a real lava-server + lava-worker
// brought up by scripts/lava-server.sh (submit, poll, fetch, parse; the lab's
// own start is not counted). Prints each stage and the LAVA/local ratio.
//   npm run bench:lava -- [--case U01,U03 | --family ioctl-open] [--server]
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import { makeSelection } from '../src/catalog/selection.js';
import { parseKernelSpec, resolveKernel } from '../src/kernel/index.js';
import { runOnce } from '../src/session/run-once.js';
import { qemuTargetOf } from '../src/cli/inputs.js';
import { runOnDispatcher } from '../src/lava/dispatcher.js';
import { generateAndBuild } from '../src/gen/index.js';
import { submitToLava } from '../src/lava/run.js';
import { readRunMetadata } from '../src/session/run-dir.js';
import type { RunResult } from '../src/model.js';

const root = projectRoot();
const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]?.split(',') : undefined; };
const withServer = args.includes('--server');
const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

interface Column { name: string; wallMs: number; stages: Record<string, number>; run: RunResult }

async function main() {
  const selection = makeSelection({ cases: opt('--case') ?? [], families: opt('--family') ?? [], apis: [] });
  const work = mkdtempSync(join(os.tmpdir(), 'kgate-bench-lava-'));
  const lab = join(work, 'lab');
  // A build directory of the bench's own: the checkout's build/ may be another command's at the same time.
  const buildDir = join(work, 'build');
  const signal = new AbortController().signal;
  try {
    // Resolved once (cached after the first run), and the suite built once, so every column times its own path.
    const artifact = await resolveKernel({ spec: parseKernelSpec('debian:6.12') }, { signal, logDir: work });
    await generateAndBuild({ filter: {}, all: true, buildDir, signal });
    const request = { kernel: { artifact }, selection };
    const ctx = (resultsRoot: string) => ({ buildDir, resultsRoot, argv: ['bench:lava'], signal, emit: () => {} });
    const cols: Column[] = [];
    let t0 = performance.now();
    const local = await runOnce({ ...request, target: qemuTargetOf({ accel: 'tcg', mem: 1024, bootTimeout: 120 }) }, ctx(join(work, 'local')));
    cols.push({ name: 'local QEMU', wallMs: performance.now() - t0, stages: local.timings, run: local.run });
    t0 = performance.now();
    const lr = await runOnDispatcher(request, ctx(join(work, 'lava-run')));
    cols.push({ name: 'lava-run', wallMs: performance.now() - t0, stages: meta(lr.dir), run: lr.run! });
    if (withServer) {
      const up = await execa('bash', [join(root, 'scripts', 'lava-server.sh'), 'start', lab, '8799'], { reject: false, env: { LAVA_PING: '3' } });
      try {
        if (up.exitCode !== 0) throw new Error(`lava-server.sh start: ${up.stderr}`);
        t0 = performance.now();
        const sub = await submitToLava({ ...request, wait: true, pollTimeoutSec: 600,
          server: { url: readFileSync(join(lab, 'url'), 'utf8').trim(), tokenFile: join(lab, 'token') } }, ctx(join(work, 'rest')));
        cols.push({ name: 'lava-server', wallMs: performance.now() - t0, stages: meta(sub.dir), run: sub.run! });
      } finally {
        await execa('bash', [join(root, 'scripts', 'lava-server.sh'), 'stop', lab], { reject: false });
      }
    }
    const same = cols.every((c) => JSON.stringify(c.run.cases.map((x) => [x.id, x.status, x.observed])) === JSON.stringify(local.run.cases.map((x) => [x.id, x.status, x.observed])));
    console.log(`${selection.ids.length} cases (${selection.describe}) on ${artifact.release}, TCG, ${os.availableParallelism()} cores; results ${same ? 'identical case by case' : 'DIFFER'} across columns`);
    // Every stage any column timed (metadata.json's timings), in the order first seen.
    const present = [...new Set(cols.flatMap((c) => Object.keys(c.stages).filter((k) => typeof c.stages[k] === 'number')))];
    const w = 14;
    console.log(`${'stage'.padEnd(w)}${cols.map((c) => c.name.padStart(w)).join('')}`);
    for (const k of present) console.log(`${k.replace(/Ms$/, '').padEnd(w)}${cols.map((c) => s(c.stages[k]).padStart(w)).join('')}`);
    console.log(`${'wall'.padEnd(w)}${cols.map((c) => s(c.wallMs).padStart(w)).join('')}`);
    console.log(`${'vs local'.padEnd(w)}${cols.map((c) => `${(c.wallMs / cols[0].wallMs).toFixed(2)}x`.padStart(w)).join('')}`);
    console.log(`${'cases'.padEnd(w)}${cols.map((c) => `${c.run.summary.total} ${c.run.abort ? 'ABORT' : 'ok'}`.padStart(w)).join('')}`);
    for (const c of cols) if (c.run.abort) console.log(`${c.name}: ${c.run.abort.reason.split('\n')[0]}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function meta(dir: string): Record<string, number> {
  return readRunMetadata(dir).timings ?? {};
}

main().catch((e) => { console.error(e); process.exit(1); });
