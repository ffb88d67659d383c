import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KgateError } from '../model.js';

let cached: string | undefined;

/**
 * The checkout kgate runs from (it holds templates/, build/, vm-images/,
 * results/): the nearest directory above this module whose package.json is
 * kgate's. The same from src/ (tsc) and dist/src/ (node).
 */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try { if (JSON.parse(readFileSync(pj, 'utf8')).name === 'kgate') return (cached = dir); } catch { /* keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) throw new KgateError('bug', 'cannot find the kgate project root');
    dir = up;
  }
}
