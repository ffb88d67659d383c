import { readdirSync, readFileSync } from 'node:fs';
/** Pids of running qemu-system processes (read from /proc, to check none is left behind). */
export function qemuPids(): Set<number> {
  const out = new Set<number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith('qemu-system')) out.add(Number(d));
    } catch { /* gone */ }
  }
  return out;
}
