// `kgate kernels`: every cloud kernel Debian's archive holds, through kgate's
// own apt configuration: series, exact versions, suite, layout, cached or not,
// and which one each debian:SERIES and debian:latest mean today.
import { listDebianKernels, type ListedKernel } from '../kernel/debian.js';
import { choosePackage, compareVersions } from '../kernel/spec.js';
import { parseOpts } from './inputs.js';
import { COMMANDS, schemaOf } from './options.js';
import { interruptible } from './run-command.js';

const KernelsOpts = schemaOf(COMMANDS.kernels);

export async function kernelsFromCli(raw: unknown): Promise<number> {
  const o = parseOpts(KernelsOpts, raw);
  const r = await interruptible((signal) => listDebianKernels({ refresh: o.refresh, signal, log: (l) => process.stderr.write(`${l}\n`) }));
  const picks = new Map<string, string>();
  for (const s of new Set(r.kernels.map((k) => k.series))) {
    try { const p = choosePackage({ kind: 'debian', series: s, text: '' }, r.kernels); picks.set(`${p.name}=${p.version}`, `debian:${s}`); } catch { /* none runs */ }
  }
  try {
    const p = choosePackage({ kind: 'debian', series: 'latest', text: '' }, r.kernels);
    const key = `${p.name}=${p.version}`;
    picks.set(key, [picks.get(key), 'debian:latest'].filter(Boolean).join(', '));
  } catch { /* empty archive */ }
  const shown = r.kernels.filter((k) => !o.series || k.series === o.series)
    .sort((a, b) => compareVersions(b.upstream, a.upstream) || compareVersions(b.version, a.version));
  if (o.json) {
    process.stdout.write(JSON.stringify({ aptDir: r.aptDir, listsAgeMs: r.listsAgeMs, kernels: shown.map((k) => ({ ...k, runnable: k.missing.length === 0, means: picks.get(`${k.name}=${k.version}`) })) }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(formatKernels(shown, picks));
  const series = [...new Set(r.kernels.map((k) => k.series))].sort(compareVersions);
  const age = r.listsAgeMs === undefined ? 'never updated' : `updated ${(r.listsAgeMs / 3600_000).toFixed(1)} h ago`;
  process.stdout.write(`${shown.length} kernels, series ${series.join(' ')}; lists in ${r.aptDir} (${age}; kgate kernels --refresh updates them)\n`);
  return 0;
}

export function formatKernels(ks: ListedKernel[], picks: Map<string, string>): string {
  const rows = ks.map((k) => [
    k.series, k.upstream, k.version, k.suite, k.layout, k.cached ? 'cached' : '-',
    [picks.get(`${k.name}=${k.version}`), k.missing.length ? `cannot run: ${k.missing.join(', ')} in no suite` : ''].filter(Boolean).join('; '),
  ]);
  const head = ['series', 'version', 'package version', 'suite', 'layout', 'cache', ''];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ').trimEnd()).join('\n') + '\n';
}
