// kgate's tree build stage against `make` run by hand on the same tree:
// cold, cached, incremental after a one-file fs/fuse commit, and a tiny tree
// kernel's boot to first result. The cold kgate build uses a cache of its own
// (empty: no kernels, no ccache), so it is as cold as the bare make.
//   npm run bench:tree            (about 10 minutes here: two cold builds)
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import { REQUIRED_FRAGMENT } from '../src/kernel/tree/config.js';

const root = projectRoot();
const kgateBin = join(root, 'bin', 'kgate.js');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

/** `kgate kernel build`; returns how it got the kernel and how many make invocations its log shows. */
async function kgateBuild(spec: string, cache: string): Promise<{ how: string; makes: number; makeMs: number }> {
  const results = mkdtempSync(join(os.tmpdir(), 'kgate-bench-kb-'));
  const r = await execa('node', [kgateBin, 'kernel', 'build', '--kernel', spec, '--json', '--results', results], { env: { CI: '1', KGATE_CACHE: cache }, reject: false });
  if (r.exitCode !== 0) throw new Error(`kgate kernel build ${spec}: exit ${r.exitCode}: ${r.stderr.split('\n').at(-1)}`);
  // A cached kernel writes no build log: no make ran.
  const logs = existsSync(join(results, 'kernel')) ? readdirSync(join(results, 'kernel')).map((d) => join(results, 'kernel', d, 'kernel-build.log')) : [];
  let makes = 0;
  for (const l of logs) { try { makes += (readFileSync(l, 'utf8').match(/^\$ make /gm) ?? []).length; } catch { /* no log: nothing made */ } }
  rmSync(results, { recursive: true, force: true });
  const k = JSON.parse(r.stdout);
  return { how: k.how, makes, makeMs: k.how === 'built' ? k.ms : 0 };
}

async function main() {
  const tree = (await execa('bash', [join(root, 'scripts', 'test-tree.sh')])).stdout.trim();
  const jobs = os.availableParallelism();
  const cache = mkdtempSync(join(os.tmpdir(), 'kgate-bench-cache-'));
  const bare = mkdtempSync(join(os.tmpdir(), 'kgate-bench-bare-'));
  const src = join(bare, 'src');
  const obj = join(bare, 'obj');
  const frag = join(bare, 'kgate.config');
  writeFileSync(frag, REQUIRED_FRAGMENT);
  try {
    // The bare make, as a developer would type it, in a worktree of its own (removed at the end).
    await execa('git', ['-C', tree, 'worktree', 'add', '--quiet', '--detach', src, 'fix-build']);
    const make = (...args: string[]) => execa('make', ['-C', src, `O=${obj}`, ...args], { stdout: 'ignore', stderr: 'ignore' });
    const bareBuild = () => timed(async () => {
      await make('tinyconfig');
      await execa(join(src, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', obj, join(obj, '.config'), frag], { cwd: src, stdout: 'ignore' });
      await make('olddefconfig');
      await make(`-j${jobs}`, 'bzImage');
    });

    const [bareCold] = await bareBuild();
    const [kgateCold, cold] = await timed(() => kgateBuild(`tree:${tree}@fix-build`, cache));
    const [kgateCached, cached] = await timed(() => kgateBuild(`tree:${tree}@fix-build`, cache));
    // One fs/fuse file: fix-build -> revert-regular changes fs/fuse/passthrough.c only.
    await execa('git', ['-C', src, 'checkout', '--quiet', 'revert-regular']);
    const [bareIncr] = await bareBuild();
    const [kgateIncr, incr] = await timed(() => kgateBuild(`tree:${tree}@revert-regular`, cache));

    // Boot to first result of the tiny tree kernel (cached now), from kgate's own timings.
    const results = mkdtempSync(join(os.tmpdir(), 'kgate-bench-run-'));
    await execa('node', [kgateBin, 'run', '--kernel', `tree:${tree}@revert-regular`, '--results', results], { env: { CI: '1', KGATE_CACHE: cache }, reject: false });
    const meta = JSON.parse(readFileSync(join(results, readdirSync(results)[0], 'metadata.json'), 'utf8'));
    rmSync(results, { recursive: true, force: true });

    const row = (name: string, k: number, b: number | undefined, note: string) =>
      console.log(`${name.padEnd(28)} kgate ${s(k).padStart(8)}   bare make ${b === undefined ? '       -' : s(b).padStart(8)}   ${b ? `ratio ${(k / b).toFixed(3)}` : ''}  ${note}`);
    console.log(`tree build, ${jobs} cores, tiny config, ${tree}`);
    row('cold (empty cache, ccache)', kgateCold, bareCold, `${cold.how}, ${cold.makes} make invocations; make alone ${s(cold.makeMs)} (ratio ${(cold.makeMs / bareCold).toFixed(3)}), the rest is the first checkout of the tree`);
    row('cached (same commit again)', kgateCached, undefined, `${cached.how}, ${cached.makes} make invocations`);
    row('incremental (1 fs/fuse file)', kgateIncr, bareIncr, `${incr.how}, ${incr.makes} make invocations; make alone ${s(incr.makeMs)}`);
    console.log(`boot to first result          ${s(meta.timings.firstResultMs - (meta.timings.kernelMs ?? 0))} after the kernel stage; boot to last result ${s(meta.timings.targetMs + meta.timings.runMs)} (guest up ${s(meta.timings.targetMs)} + suite ${s(meta.timings.runMs)}, TCG, default selection); whole run ${s(meta.timings.totalMs)} (${meta.summary.counts.PASS ?? 0} PASS, ${meta.summary.counts.SKIP ?? 0} SKIP, ${meta.summary.counts.FAIL ?? 0} FAIL)`);
  } finally {
    await execa('git', ['-C', tree, 'worktree', 'remove', '--force', src], { reject: false });
    await execa('git', ['-C', tree, 'worktree', 'prune'], { reject: false });
    rmSync(bare, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`bench: ${e instanceof Error ? e.message : e}`); process.exit(1); });
