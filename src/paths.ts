import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The checkout kgate runs from (it holds templates/, build/, vm-images/, results/). */
export function projectRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('kgate: cannot find the project root');
    d = up;
  }
  return d;
}
