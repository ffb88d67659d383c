// A nightly of three cells (Debian 6.12, Debian 6.1, the test tree's tiny
// kernel at fix-build) by the default selection, as a user would run it in the
// shared kgate cache: prints the wall time, the time inside the cells (kernel,
// boot, suite), and what is left, kgate's own planning, comparison and
// reports (goal: under 2 % of the total). A second night follows, so the
// comparison with a last night and the history are part of what is timed.
//   npm run bench:nightly
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import type { MatrixReport } from '../src/report/matrix.js';

const root = projectRoot();
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const tree = (await execa('bash', [join(root, 'scripts', 'test-tree.sh')])).stdout.trim();
  const work = mkdtempSync(join(os.tmpdir(), 'kgate-bench-nightly-'));
  try {
    const cfg = join(work, 'nightly.yaml');
    writeFileSync(cfg, `kernels:\n  - { name: deb612, debian: "6.12" }\n  - { name: deb61, debian: "6.1" }\n  - { name: tiny, tree: ${tree}, ref: fix-build }\ndefaults: { accel: tcg }\n`);
    console.log(`nightly of 3 cells (debian:6.12, debian:6.1, tree@fix-build) x the default selection, TCG, ${os.availableParallelism()} cores`);
    for (const date of ['2026-12-01', '2026-12-02']) {
      const t0 = performance.now();
      const r = await execa('node', [join(root, 'bin', 'kgate.js'), 'nightly', '--config', cfg, '--date', date, '--results', work], { reject: false, env: { CI: '1' } });
      const wall = performance.now() - t0;
      const dir = r.stdout.match(/^results: (.*)$/m)?.[1];
      if (!dir) throw new Error(`kgate nightly exited ${r.exitCode}: ${r.stderr.split('\n').at(-1)}`);
      const m = (JSON.parse(readFileSync(join(dir, 'nightly.json'), 'utf8')) as { report: MatrixReport }).report;
      const inCells = m.cells.reduce((n, c) => n + (c.ms ?? 0), 0);
      const outside = wall - inCells;
      const inProcess = m.timings ? m.timings.wallMs - m.timings.cellsMs : NaN;
      console.log(`  night ${date}: ${s(wall)} wall, exit ${r.exitCode}; in cells ${s(inCells)}; outside the cells ${s(outside)} = ${(100 * outside / wall).toFixed(2)} % (goal < 2 %)`);
      console.log(`    of which kgate's planning, comparison and reports ${(inProcess / 1000).toFixed(2)} s, the rest node's start and exit`);
      for (const c of m.cells) console.log(`    ${c.name.padEnd(7)} ${s(c.ms ?? 0).padStart(7)}  ${c.run?.summary.total ?? 0} cases, ${c.run?.kernel?.release ?? c.error}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
