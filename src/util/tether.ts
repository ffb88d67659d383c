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
// starts itself is not covered by this: a command that starts a tree of its
// own (make and its compilers, a compiler driver and cc1) runs as a process
// group under tetheredGroup(); the suite's binaries give their FUSE servers a
// parent-death signal of their own (templates/c); lava-run stops its own qemu
// when sent TERM.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export type DeathSignal = 'KILL' | 'TERM';

let setprivPath: string | null | undefined;

/** setpriv's path, when both it and `file` are installed; else the command is run as it is. */
function setprivFor(file: string): string | undefined {
  setprivPath ??= onPath('setpriv') ?? null;
  return setprivPath && onPath(file) ? setprivPath : undefined;
}

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
  const setpriv = setprivFor(file);
  if (!setpriv) return [file, [...args]];
  return [setpriv, [`--pdeathsig=${signal}`, '--', file, ...args]];
}

/**
 * tethered() for a command spawned as the leader of a process group of its
 * own (detached): a shell leads the group, runs the command, and when kgate
 * dies (TERM, its parent-death signal) sends TERM to the whole group and
 * waits for it, so make's jobs and the compilers they started go with it,
 * not only make. kgate's own stop still signals the group by its id, the pid
 * it started. The exit code is the command's.
 */
export function tetheredGroup(file: string, args: readonly string[]): [string, string[]] {
  const setpriv = setprivFor(file);
  if (!setpriv) return [file, [...args]];
  // TERM, not KILL, to the group: make removes the target it was writing (a half-written object with a new
  // mtime would pass for built next time), then ends its jobs; the shell waits for it and exits.
  return [setpriv, ['--pdeathsig=TERM', '--', '/bin/sh', '-c', 'trap \'trap "" TERM; kill -TERM 0; wait; exit 143\' TERM; "$0" "$@" & wait $!', file, ...args]];
}
