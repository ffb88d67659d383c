// A gate of two revisions of the test series on the test tree (V1 reverts the
// regular-file check, V2 changes the stack-depth rule), in the shared kgate
// cache as a user would run it: prints the wall time and how each kernel was
// got (cached, or built incrementally, with make's time).
//   npm run bench:gate
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';

const root = projectRoot();
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const tree = (await execa('bash', [join(root, 'scripts', 'test-tree.sh')])).stdout.trim();
  const work = mkdtempSync(join(os.tmpdir(), 'kgate-bench-gate-'));
  try {
    // git am makes new commits on every gate, but the kernel cache is keyed by source tree: a rerun builds nothing.
    writeFileSync(join(work, 'v2.mbox'), (await execa('git', ['-C', tree, 'format-patch', '--stdout', 'revert-regular..stack-depth'])).stdout + '\n');
    const t0 = performance.now();
    const r = await execa('node', [join(root, 'bin', 'kgate.js'), 'gate', '--tree', tree, '--base', 'fix-build', '--series', 'V1=fix-build..revert-regular',
      '--series', `V2=${join(work, 'v2.mbox')}`, '--api', 'upstream', '--accel', 'tcg', '--results', work], { reject: false, env: { CI: '1' } });
    const ms = performance.now() - t0;
    const dir = r.stdout.match(/^results: (.*)$/m)?.[1];
    if (!dir) throw new Error(`kgate gate exited ${r.exitCode}: ${r.stderr.split('\n').at(-1)}`);
    const g = JSON.parse(readFileSync(join(dir, 'gate.json'), 'utf8'));
    console.log(`gate of 2 revisions on fix-build, upstream cases, TCG: ${s(ms)} wall, exit ${r.exitCode} (${g.verdict})`);
    for (const run of [g.base.run, ...g.revisions.map((v: { run: unknown }) => v.run)]) {
      console.log(`  ${run.label.padEnd(5)} ${run.describe.padEnd(28)} kernel ${run.build}${run.buildMs ? ` (make ${s(run.buildMs)})` : ''}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`bench: ${e instanceof Error ? e.message : e}`); process.exit(1); });
