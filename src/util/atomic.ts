// Atomic file writes: a reader (a CI job tailing results/, a second kgate)
// sees the old file or the new one, never half of one.
import { mkdirp } from './fs.js';
import { machineFault } from './machine-fault.js';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let seq = 0;

/** Write `data` to `path` through a temporary file in the same directory and a rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  // Unique per process and call, so concurrent writers never share a temp file.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${++seq}.tmp`);
  try {
    mkdirp(dir);
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw machineFault(e, path) ?? e;
  }
}
