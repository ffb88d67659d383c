// A child's life tied to kgate's: started through util-linux's setpriv with a
// parent-death signal, the kernel signals it the moment kgate dies, however
// it dies. SIGKILL (the OOM killer, a CI runner ending one pid) runs no exit
// hook of kgate's, so a hook alone left the guest's qemu running, holding its
// memory and port. setpriv is in util-linux (essential on Debian: no new
// dependency) and execs the command, so the pid kgate holds is the child's
// own and killing by pid is unchanged. A pipe the child watches would need
// the child's cooperation, which qemu and make do not offer.
//
// The signal comes when the thread that forked the child ends: Node spawns
// from its main thread, which lives as long as the process. What the child
// starts itself is not covered by this: GNU make, sent TERM, passes it to its
// jobs; the suite's binaries give their FUSE servers a parent-death signal of
// their own (templates/c); lava-run is watched by pid (src/lava/dispatcher).
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export type DeathSignal = 'KILL' | 'TERM';

let setprivPath: string | null | undefined;

/** The executable `file` names, as execvp would find it on PATH; undefined when there is none. */
export function onPath(file: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  const candidates = file.includes('/') ? [file] : path.split(delimiter).filter(isAbsolute).map((d) => join(d, file));
  for (const c of candidates) {
    try { accessSync(c, constants.X_OK); return c; } catch { /* next */ }
  }
  return undefined;
}

/**
 * [file, args] that run `file args` with `signal` sent to it when kgate dies.
 * A command that is not installed is returned as it is, so its spawn fails
 * with ENOENT as before (setpriv would exit 127 with words of its own); so is
 * every command on a host without setpriv (then only kgate's exit hooks stop
 * it, as before).
 */
export function tethered(file: string, args: readonly string[], signal: DeathSignal = 'KILL'): [string, string[]] {
  setprivPath ??= onPath('setpriv') ?? null;
  if (!setprivPath || !onPath(file)) return [file, [...args]];
  return [setprivPath, [`--pdeathsig=${signal}`, '--', file, ...args]];
}
