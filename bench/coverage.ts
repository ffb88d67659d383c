// What --coverage costs on a tree kernel: the same tree and commit, run plain
// and with --coverage (per family, and per case), side by side in one run.
// Build: make's time as each kernel's cache entry recorded it when first built
// (the gcov one seeded from the plain one's build directory), and the time of
// this run's kernel stage. Suite: the run stage, the coverage stage (lcov,
// genhtml, coverage.txt) and the whole run, from metadata.json.
//   npm run bench:coverage        (a cold gcov build adds about 8 minutes here the first time)
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';

const root = projectRoot();
const kgateBin = join(root, 'bin', 'kgate.js');
const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

interface Side { name: string; args: string[] }

async function run(tree: string, side: Side, selection: string[]) {
  const results = mkdtempSync(join(os.tmpdir(), 'kgate-bench-cov-'));
  try {
    const t0 = performance.now();
    const r = await execa('node', [kgateBin, 'run', '--kernel', `tree:${tree}@base`, '--accel', 'tcg', ...selection, ...side.args, '--results', results], { env: { CI: '1' }, reject: false });
    const wall = performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`${side.name}: kgate run exited ${r.exitCode}: ${r.stderr.split('\n').filter((l) => !l.startsWith('kgate: ')).slice(-3).join(' | ')}`);
    const dir = join(results, readdirSync(results)[0]);
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    const made = /made in (\d+) s when first built/.exec(r.stderr)?.[1];
    const cov = side.args.length ? readFileSync(join(dir, 'coverage', 'coverage.txt'), 'utf8').split('\n').find((l) => l.startsWith('lines ')) : undefined;
    return { wall, meta, made: made ? Number(made) * 1000 : meta.timings.kernelMs, cov, cases: meta.summary.total as number };
  } finally {
    rmSync(results, { recursive: true, force: true });
  }
}

async function main() {
  const tree = (await execa('bash', [join(root, 'scripts', 'test-tree.sh')])).stdout.trim();
  const selection = process.argv.includes('--all') ? ['--api', 'upstream'] : ['--family', 'ioctl-close,open-reply'];
  const sides: Side[] = [
    { name: 'plain', args: [] },
    { name: '--coverage (per family)', args: ['--coverage'] },
    { name: '--coverage case', args: ['--coverage', 'case'] },
  ];
  // Each kernel once first, so the table below compares cached kernels (the build column is the first build's make).
  for (const side of sides.slice(0, 2)) await run(tree, side, ['--case', 'U01']);
  console.log(`--coverage against a plain run: tree:${tree}@base, tiny config, TCG, ${os.availableParallelism()} cores, ${selection.join(' ')}`);
  console.log(`${'side'.padEnd(26)} ${'make (1st)'.padStart(10)} ${'kernel'.padStart(8)} ${'boot'.padStart(7)} ${'suite'.padStart(8)} ${'coverage'.padStart(9)} ${'total'.padStart(8)}  cases`);
  for (const side of sides) {
    const r = await run(tree, side, selection);
    const t = r.meta.timings;
    console.log(`${side.name.padEnd(26)} ${s(r.made).padStart(10)} ${s(t.kernelMs).padStart(8)} ${s(t.targetMs).padStart(7)} ${s(t.runMs).padStart(8)} ${s(t.coverageMs).padStart(9)} ${s(t.totalMs).padStart(8)}  ${r.cases}${r.cov ? `  (${r.cov})` : ''}`);
  }
}

main().catch((e) => { console.error(`bench: ${e instanceof Error ? e.message : e}`); process.exit(1); });
