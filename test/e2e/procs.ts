import { readdirSync, readFileSync } from 'node:fs';
/** Pids of running qemu-system processes (read from /proc, to check none is left behind). */
export function qemuPids(): Set<number> {
  const out = new Set<number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (/(^|\/)qemu-system-[^\0]*$/.test(readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0])) out.add(Number(d));
    } catch { /* gone */ }
  }
  return out;
}
