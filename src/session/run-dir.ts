// results/<run>/: one directory per run, claimed exclusively.
import { mkdirp } from '../util/fs.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KgateError } from '../model.js';

export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Made exclusively: two runs started in the same second (a nightly over
 * several kernels) get <id> and <id>-2, never one directory.
 */
export function claimRunDir(root: string, id: string): { dir: string; runId: string } {
  try {
    mkdirp(root);
    for (let n = 1; ; n++) {
      const runId = n === 1 ? id : `${id}-${n}`;
      try {
        mkdirSync(join(root, runId));
        return { dir: join(root, runId), runId };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  } catch (e) {
    throw new KgateError('user', `cannot write results to ${root}: ${errnoText(e)} (choose another --results)`);
  }
}

/** "ENOENT (no such file or directory)": the code to search for and the words to read. */
function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!err.code) return String(e);
  const words = /^[A-Z]+: ([^,]+)/.exec(err.message ?? '')?.[1];
  return words ? `${err.code} (${words})` : err.code;
}
