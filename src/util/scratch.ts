// Temp directories of one kgate process, named after its pid: a kgate killed
// by SIGKILL cannot remove its own (a guest's 7 MB initrd, a bisect's scratch
// repository), so the next kgate that makes one of the same kind removes those
// whose process is gone. A pid that is alive again (reused) keeps its
// directories until it is not: never another live process's.
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Directories PREFIX<pid>-* under `dir` left by processes that no longer run. */
export function staleScratch(prefix: string, dir = os.tmpdir()): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)-`);
  return names.flatMap((n) => {
    const pid = Number(re.exec(n)?.[1] ?? NaN);
    return Number.isInteger(pid) && pid !== process.pid && !alive(pid) ? [path.join(dir, n)] : [];
  });
}

/** mkdtemp(TMPDIR/PREFIX<pid>-XXXXXX), after removing what dead kgates left under that prefix. */
export async function scratchDir(prefix: string): Promise<string> {
  await Promise.all(staleScratch(prefix).map((d) => rm(d, { recursive: true, force: true }).catch(() => {})));
  return mkdtemp(path.join(os.tmpdir(), `${prefix}${process.pid}-`));
}
