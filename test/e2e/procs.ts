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

/**
 * New qemu processes (not in `before`) that no kgate owns: after a kgate has
 * exited, a guest it left behind is reparented away from it. A guest of
 * another kgate still running on the machine (a concurrent test) is not one.
 */
export function orphanQemus(before: Set<number>): number[] {
  const parentOf = (pid: number) => {
    try { return Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
  };
  const cmdline = (pid: number) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };
  return [...qemuPids()].filter((p) => !before.has(p) && !/kgate\.js/.test(cmdline(parentOf(p))));
}
