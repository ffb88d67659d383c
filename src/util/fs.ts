// mkdir -p without Node's { recursive: true }: on Node 20 that loops forever,
// synchronously, on a path under /proc (mkdirSync('/proc/x', { recursive: true })
// never returns and not even SIGTERM gets through), so `--results /proc/x`
// hung kgate. One level at a time, errors as they come.
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function mkdirp(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    try {
      if (statSync(d).isDirectory()) break;
      const e = new Error(`ENOTDIR: not a directory, mkdir '${abs}'`) as NodeJS.ErrnoException;
      e.code = 'ENOTDIR';
      throw e;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try { mkdirSync(d); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; }
  }
}
