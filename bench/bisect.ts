// A whole bisect of the test tree (base..unrelated-3, the ioctl-open family:
// first bad revert-regular, broken-build skipped) by kgate, beside the same
// bisect done by hand: `git bisect run` of a script that makes the kernel in
// one O= directory and runs `kgate run --kernel <that bzImage>`. Both start
// from a build directory already made at base (untimed), so neither pays the
// cold build; kgate's kernel cache is empty of the range's commits.
//   npm run bench:bisect          (about 15 minutes here: two cold warm-ups)
import { execa } from 'execa';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import { REQUIRED_FRAGMENT } from '../src/kernel/tree/config.js';

const root = projectRoot();
const kgateBin = join(root, 'bin', 'kgate.js');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const tree = (await execa('bash', [join(root, 'scripts', 'test-tree.sh')])).stdout.trim();
  const cache = mkdtempSync(join(os.tmpdir(), 'kgate-bench-cache-'));
  const work = mkdtempSync(join(os.tmpdir(), 'kgate-bench-bisect-'));
  const wt = join(work, 'linux');
  const obj = join(work, 'obj');
  const env = { CI: '1', KGATE_CACHE: cache };
  try {
    // Untimed warm-ups: kgate's build directory and the hand-made one, each at base.
    await execa('node', [kgateBin, 'kernel', 'build', '--kernel', `tree:${tree}@base`, '--results', join(work, 'r0')], { env });
    await execa('git', ['-C', tree, 'worktree', 'add', '--quiet', '--detach', wt, 'base']);
    writeFileSync(join(work, 'kgate.config'), REQUIRED_FRAGMENT);
    await execa('make', ['-C', wt, `O=${obj}`, 'tinyconfig'], { stdout: 'ignore' });
    await execa(join(wt, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', obj, join(obj, '.config'), join(work, 'kgate.config')], { cwd: wt, stdout: 'ignore' });
    await execa('make', ['-C', wt, `O=${obj}`, 'olddefconfig'], { stdout: 'ignore' });
    await execa('make', ['-C', wt, `O=${obj}`, `-j${os.availableParallelism()}`, 'bzImage'], { stdout: 'ignore', stderr: 'ignore' });

    const t0 = performance.now();
    const k = await execa('node', [kgateBin, 'bisect', '--tree', tree, '--good', 'base', '--bad', 'unrelated-3', '--family', 'ioctl-open', '--accel', 'tcg', '--results', join(work, 'r1')], { env, reject: false });
    const kgateMs = performance.now() - t0;
    const dir = k.stdout.match(/^results: (.*)$/m)?.[1];
    if (k.exitCode !== 0 || !dir) throw new Error(`kgate bisect exited ${k.exitCode}: ${k.stderr.split('\n').at(-1)}`);
    const report = JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8'));

    const script = join(work, 'step.sh');
    writeFileSync(script, `#!/bin/sh
# the hand-written step: build in one O= dir, then test that bzImage
echo step >> ${join(work, 'steps')}
make -C ${wt} O=${obj} olddefconfig >/dev/null && make -C ${wt} O=${obj} -j${os.availableParallelism()} bzImage >/dev/null 2>&1 || exit 125
exec node ${kgateBin} run --kernel ${obj}/arch/x86/boot/bzImage --family ioctl-open --accel tcg --results ${join(work, 'r2')} >/dev/null 2>&1
`);
    chmodSync(script, 0o755);
    await execa('git', ['-C', wt, 'bisect', 'start', 'unrelated-3', 'base']);
    const t1 = performance.now();
    const h = await execa('git', ['-C', wt, 'bisect', 'run', script], { reject: false, env: { CI: '1', KGATE_CACHE: cache } });
    const handMs = performance.now() - t1;
    const handFound = h.stdout.match(/^([0-9a-f]{40}) is the first bad commit/m)?.[1];
    const handSteps = readFileSync(join(work, 'steps'), 'utf8').trim().split('\n').length;
    await execa('git', ['-C', wt, 'bisect', 'reset', '--quiet'], { reject: false });

    const commits = report.commitsInRange as number;
    console.log(`bisect of base..unrelated-3 (${commits} commits), family ioctl-open, TCG, ${os.availableParallelism()} cores`);
    console.log(`kgate bisect      ${s(kgateMs).padStart(8)}   ${report.builds} builds (goal <= ${Math.floor(Math.log2(commits)) + 1}), ${report.steps.length} runs incl. the good and bad checks, first bad ${report.firstBad?.commit.slice(0, 12)}`);
    console.log(`by hand           ${s(handMs).padStart(8)}   ${handSteps} builds, first bad ${handFound?.slice(0, 12)}`);
    console.log(`ratio kgate / by hand: ${(kgateMs / handMs).toFixed(2)} (goal <= 1.10)`);
    // kgate's bisect goes on where git bisect stops: it verifies the culprit
    // (revert on bad, culprit and parent again). That part alone, and the rest:
    const checks = (report.steps as { role: string; build: string; buildMs?: number; testMs: number }[]).filter((st) => st.role === 'revert' || st.role === 'verify');
    const checkMs = checks.reduce((n, st) => n + (st.buildMs ?? 0) + st.testMs, 0);
    const checkBuilds = checks.filter((st) => st.build === 'built').length;
    console.log(`verification      ${s(checkMs).padStart(8)}   ${checkBuilds} builds, ${checks.length} runs (goal: at most 1 incremental build + 2 runs); ${report.checks ? `revert: ${report.checks.revert}, verify: ${report.checks.verify}` : "no checks"}`);
    console.log(`kgate bisect without it: ${s(kgateMs - checkMs)}, ratio ${((kgateMs - checkMs) / handMs).toFixed(2)}`);
    for (const st of report.steps) console.log(`  ${st.role.padEnd(4)} ${st.commit.slice(0, 12)} ${st.verdict.padEnd(5)} build ${st.build}${st.buildMs ? ` ${s(st.buildMs)}` : ''}, test ${s(st.testMs)}  ${st.subject}`);
  } finally {
    await execa('git', ['-C', tree, 'worktree', 'remove', '--force', wt], { reject: false });
    await execa('git', ['-C', tree, 'worktree', 'prune'], { reject: false });
    rmSync(work, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`bench: ${e instanceof Error ? e.message : e}`); process.exit(1); });
