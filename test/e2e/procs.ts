import { readdirSync, readFileSync } from 'node:fs';

/** Pids of running processes whose argv[0] matches (read from /proc, to check none is left behind). */
export function pidsWhere(argv0: (name: string) => boolean): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (argv0(readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0])) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

export function qemuPids(): Set<number> {
  return new Set(pidsWhere((a) => /(^|\/)qemu-system-/.test(a)));
}
