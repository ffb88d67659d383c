// Processes by their parent links in /proc: what a command started, even in a
// session of its own (lava-run starts QEMU so; a process group would miss it).
import { readdirSync, readFileSync } from 'node:fs';

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch { return undefined; }
}

/** Every live descendant of pid, parents before their children. */
export function descendants(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pp = parentOf(Number(d));
    if (pp !== undefined) kids.set(pp, [...(kids.get(pp) ?? []), Number(d)]);
  }
  const out: number[] = [];
  const walk = (p: number) => { for (const c of kids.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}
