// How long everything a kgate run started outlives the kgate when it is
// killed with SIGKILL (the OOM killer, a CI runner ending one pid): from the
// kill to the last of its descendants gone, while the guest boots and while a
// case runs. Each child carries a parent-death signal (src/util/tether.ts), so
// this is the kernel delivering it and QEMU exiting, not a timeout of kgate's.
//   npm run bench:faults -- [rounds]
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { projectRoot } from '../src/util/paths.js';
import { descendants } from '../src/util/procs.js';

const root = projectRoot();
const rounds = Number(process.argv[2] ?? 3);

/** pid and start time: a pid reused after its process ended is not it. */
function identity(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' ? undefined : `${pid}:${f[19]}`;
  } catch { return undefined; }
}

function cmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]; } catch { return ''; }
}

async function once(phase: 'boot' | 'mid-suite'): Promise<{ ms: number; procs: number }> {
  const results = mkdtempSync(join(tmpdir(), 'kgate-bench-'));
  const child = execa('node', [join(root, 'bin/kgate.js'), 'run', '--kernel', 'debian:6.12', '--case', 'U01,K1.hang', '--results', results],
    { env: { CI: '1' }, reject: false, stdin: 'ignore', buffer: false });
  let err = '';
  const seen = new Map<number, string>();
  const sample = () => { for (const p of descendants(child.pid!)) { const id = identity(p); if (id) seen.set(p, id); } };
  const ready = phase === 'boot'
    ? () => /target start: qemu/.test(err) && [...seen.keys()].some((p) => /qemu-system/.test(cmdline(p)) && identity(p) !== undefined)
    : () => /selftest: 1 case\(s\) on/.test(err);
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  await new Promise<void>((resolve) => {
    const t = setInterval(() => { try { sample(); } catch { /* a process went */ } if (ready()) { clearInterval(t); resolve(); } }, 20);
  });
  await new Promise((r) => setTimeout(r, 300)); // under way, not just started
  sample();
  const t0 = performance.now();
  child.kill('SIGKILL');
  await child;
  while ([...seen].some(([p, id]) => identity(p) === id)) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  rmSync(results, { recursive: true, force: true });
  return { ms, procs: seen.size };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const phase of ['boot', 'mid-suite'] as const) {
  const runs: { ms: number; procs: number }[] = [];
  for (let i = 0; i < rounds; i++) runs.push(await once(phase));
  console.log(`kill -9 ${phase.padEnd(9)}: descendants gone ${median(runs.map((r) => r.ms)).toFixed(0)} ms after the kill (median of ${rounds}; min ${Math.min(...runs.map((r) => r.ms)).toFixed(0)}, max ${Math.max(...runs.map((r) => r.ms)).toFixed(0)}), ${median(runs.map((r) => r.procs))} processes`);
}
