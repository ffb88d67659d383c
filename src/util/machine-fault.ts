// Faults of the machine, not of the kernel under test nor of kgate: a full
// disk, a read-only mount, a directory kgate may not write, no file
// descriptors left. Each is one line naming the path and what the errno
// means; a run that had started exits 125 with it (the kernel was not judged,
// so `git bisect run` skips rather than blames), one that had not exits 2. Node
// gives "ENOSPC: no space left on device, write" without the file's name, so
// the places that write wrap their errors with the path they were writing.
import { KgateError, type FailureFamily } from '../model.js';

const MEANING: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EMFILE: 'too many open files in kgate (ulimit -n)',
  ENFILE: 'too many open files on the machine',
  EIO: 'input/output error',
  ENOTDIR: 'a path component is not a directory',
};

export class MachineFault extends KgateError {
  constructor(family: FailureFamily, readonly code: string, readonly path: string | undefined, message: string) {
    super(family, message);
  }
}

function errnoOf(e: unknown): { code: string; path?: string; syscall?: string } | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !(err.code in MEANING)) return undefined;
  return { code: err.code, path: err.path, syscall: err.syscall };
}

/**
 * The fault as one line, "cannot write PATH: no space left on device
 * (ENOSPC)", when `e` is one of the machine's (else undefined, and the caller
 * keeps its error). `path` is the file being written, when the error lacks it.
 */
export function machineFault(e: unknown, path?: string, family: FailureFamily = 'infra'): MachineFault | undefined {
  if (e instanceof MachineFault) return e.family === family ? e : new MachineFault(family, e.code, e.path, e.message);
  const x = errnoOf(e);
  if (!x) return undefined;
  const what = `${MEANING[x.code]} (${x.code})`;
  if (path) return new MachineFault(family, x.code, path, `cannot write ${path}: ${what}`);
  if (x.path) return new MachineFault(family, x.code, x.path, `${x.syscall ? `${x.syscall} ` : ''}${x.path}: ${what}`);
  return new MachineFault(family, x.code, undefined, `${what}${x.syscall ? ` in ${x.syscall}()` : ''}`);
}

/** Rethrows a machine fault of `fn` as a MachineFault naming `path`; any other error as it was. */
export function writing<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw machineFault(e, path) ?? e;
  }
}
