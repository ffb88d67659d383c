// Time to the first case result, and to the end of the whole run: kgate against
// the bare baseline done by hand (qemu, then ssh, then the same binaries),
// side by side in one process, alternating, on the same cached kernel and image.
//   npm run bench:run -- [rounds] [--tree]
// Both sides run the default selection (every family but the hidden selftest).
// --tree adds kgate's own line for a tiny tree kernel (the test tree at
// revert-regular, built or taken from kgate's cache first, untimed): boot to
// last result, the goal being 3.0 s under TCG.
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { projectRoot } from '../src/util/paths.js';
import { resolveKernel, parseKernelSpec } from '../src/kernel/index.js';
import { cacheDir } from '../src/util/cache.js';
import { buildImage, secretsArchive, withSecrets } from '../src/runner/image.js';
import { makeRunKeys } from '../src/runner/ssh/keys.js';
import { qemuArgv, freePort } from '../src/runner/qemu.js';
import type { BuildManifest } from '../src/gen/manifest.js';

const root = projectRoot();
const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 2);
const withTree = args.includes('--tree');
const kernelSpec = 'debian:6.12';

interface Sample { first: number; total: number; sshReady?: number; stages?: Record<string, number> }

async function kgateRun(kernel = kernelSpec): Promise<Sample> {
  const results = mkdtempSync(join(tmpdir(), 'kgate-bench-'));
  const t0 = performance.now();
  let first = 0;
  const child = execa('node', [join(root, 'bin/kgate.js'), 'run', '--kernel', kernel, '--results', results],
    { env: { CI: '1' }, reject: false, stdin: 'ignore', all: true, buffer: false });
  child.all!.on('data', (b: Buffer) => {
    if (!first && /kgate: (PASS|SKIP|XFAIL|FAIL)\s/.test(b.toString())) first = performance.now() - t0;
  });
  const r = await child;
  const total = performance.now() - t0;
  // kgate's own account of where the time went (metadata.json), beside the wall clock.
  const runDir = readdirSync(results)[0];
  const stages = runDir ? (JSON.parse(readFileSync(join(results, runDir, 'metadata.json'), 'utf8')).timings as Record<string, number>) : undefined;
  rmSync(results, { recursive: true, force: true });
  // The test tree's kernel at revert-regular has its regressions: exit 1 is its verdict, not a failure of the bench.
  if (r.exitCode !== 0 && !(kernel !== kernelSpec && r.exitCode === 1)) throw new Error(`kgate run --kernel ${kernel} exited ${r.exitCode}`);
  return { first, total, stages };
}

async function baselineRun(manifest: BuildManifest): Promise<Sample> {
  // Untimed preparation, as a person would have it ready: kernel, image, keys.
  const kernel = await resolveKernel({ spec: parseKernelSpec(kernelSpec) });
  const img = await buildImage({ kernel, cacheDir: cacheDir('images') });
  const keys = await makeRunKeys();
  const dir = mkdtempSync(join(tmpdir(), 'kgate-bench-base-'));
  const initrd = join(dir, 'initrd');
  await withSecrets(img.path, secretsArchive(keys.hostKey, `${keys.clientPublic}\n`), initrd);
  const keyFile = join(dir, 'id');
  writeFileSync(keyFile, keys.clientPrivate); chmodSync(keyFile, 0o600);
  const port = await freePort();
  const ssh = ['-i', keyFile, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=2', '-o', 'BatchMode=yes', 'root@127.0.0.1'];

  const t0 = performance.now();
  // QEMU's default machine (pc), what a person's command line gets: q35 is kgate's choice (runner/qemu.ts).
  const argv = qemuArgv({ kernel: kernel.bzImage, initrd, memMB: 1024, smp: 2, accel: 'tcg', sshPort: port, machine: 'pc' });
  const qemu = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    let sshReady = 0;
    while (!sshReady) {
      const r = await execa('ssh', [...ssh, 'true'], { reject: false, timeout: 5000 });
      if (r.exitCode === 0) sshReady = performance.now() - t0;
      else await new Promise((res) => setTimeout(res, 100));
      if (performance.now() - t0 > 120_000) throw new Error('baseline guest never answered ssh');
    }
    let first = 0;
    // What the build made, as a person would use it: each file once (the families are one multi-call
    // binary now), uploaded before the family that needs it runs; a family runs by its name as the argument.
    const sent = new Set<string>();
    for (const b of manifest.binaries.filter((b) => b.family !== 'selftest')) {
      const file = realpathSync(b.path);
      const remote = `/tmp/${basename(file)}`;
      if (!sent.has(file)) await execa('ssh', [...ssh, `cat > ${remote} && chmod +x ${remote}`], { inputFile: file });
      sent.add(file);
      const run = execa('ssh', [...ssh, file === b.path ? remote : `${remote} ${b.name}`], { reject: false, buffer: false });
      run.stdout!.on('data', (d: Buffer) => { if (!first && /^(not )?ok \d/m.test(d.toString())) first = performance.now() - t0; });
      await run;
    }
    return { first, total: performance.now() - t0, sshReady };
  } finally {
    // Its teardown is after its clock stopped, and not beside the next measurement (a 1 GiB guest's exit overlapped kgate's start).
    if (qemu.exitCode === null && qemu.signalCode === null) {
      const gone = new Promise((r) => qemu.once('exit', r));
      qemu.kill('SIGKILL');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  await execa('node', [join(root, 'bin/kgate.js'), 'build'], { stdio: 'inherit' });
  const manifest = JSON.parse(readFileSync(join(root, 'build/bin/manifest.json'), 'utf8')) as BuildManifest;
  // Warm both sides' caches (kernel package, image) before anything is timed.
  await baselineRun(manifest);
  const k: Sample[] = [], b: Sample[] = [];
  for (let i = 0; i < rounds; i++) {
    b.push(await baselineRun(manifest));
    k.push(await kgateRun());
    console.log(`round ${i + 1}: kgate first ${s(k[i].first)} total ${s(k[i].total)} | baseline ssh ${s(b[i].sshReady!)} first ${s(b[i].first)} total ${s(b[i].total)}`);
  }
  const kf = median(k.map((x) => x.first)), kt = median(k.map((x) => x.total));
  const bf = median(b.map((x) => x.first)), bt = median(b.map((x) => x.total));
  console.log(`\nmedian of ${rounds} (TCG, ${kernelSpec}, default selection):`);
  console.log(`                 first result   whole run`);
  console.log(`  kgate run      ${s(kf).padStart(12)}   ${s(kt).padStart(9)}`);
  console.log(`  qemu+ssh+bins  ${s(bf).padStart(12)}   ${s(bt).padStart(9)}`);
  console.log(`  ratio          ${(kf / bf).toFixed(2).padStart(12)}   ${(kt / bt).toFixed(2).padStart(9)}   (kgate / baseline)`);
  const st = (k: string) => s(median(k0.map((x) => x.stages?.[k] ?? 0)));
  const k0 = k.filter((x) => x.stages);
  if (k0.length) {
    console.log(`\nkgate stages (median, from metadata.json): build ${st('buildMs')}, guest up ${st('guestMs')} ` +
      `(boot ${st('bootMs')}, ssh ${st('sshMs')}), first result ${st('firstResultMs')}, suite ${st('runMs')}, total ${st('totalMs')}`);
  }
}
async function treeLine() {
  const tree = (await execa('bash', [join(root, 'scripts', 'test-tree.sh')])).stdout.trim();
  const spec = `tree:${tree}@revert-regular`;
  await execa('node', [join(root, 'bin/kgate.js'), 'kernel', 'build', '--kernel', spec], { stdio: 'inherit' });
  const t: Sample[] = [];
  for (let i = 0; i < rounds; i++) t.push(await kgateRun(spec));
  const m = (k: string) => median(t.map((x) => x.stages?.[k] ?? 0));
  const lastResult = median(t.map((x) => (x.stages?.targetMs ?? 0) + (x.stages?.runMs ?? 0)));
  console.log(`\ntiny tree kernel (${spec}, TCG, default selection, median of ${rounds}): boot to last result ${s(lastResult)} ` +
    `(guest up ${s(m('targetMs'))}: boot ${s(m('bootMs'))}, ssh ${s(m('sshMs'))}; suite ${s(m('runMs'))}); whole run ${s(median(t.map((x) => x.total)))}; goal: boot to last result <= 3.00 s`);
}

main().then(() => (withTree ? treeLine() : undefined)).catch((e) => { console.error(e); process.exit(1); });
