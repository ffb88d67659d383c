// What a slow command says of this host's tools (`cc --version`),
// kept in kgate's cache while the files that decide it keep their size and
// mtime (as ccache checks a compiler). A spawn from kgate's process is 5-30 ms,
// and these stood between a run's start and its guest's boot.
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { cacheDir } from './cache.js';
import { writeFileAtomic } from './atomic.js';

export async function hostFact(name: string, decidedBy: string[], compute: () => Promise<string>): Promise<string> {
  const key = decidedBy.map((f) => {
    try { const s = statSync(f); return `${f}:${s.size}:${s.mtimeMs}`; } catch { return `${f}:none`; }
  }).join('|');
  let file: string | undefined;
  try {
    file = path.join(cacheDir('host'), `${createHash('sha256').update(name).digest('hex').slice(0, 16)}.json`);
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { name: string; key: string; value: string };
    if (kept.name === name && kept.key === key) return kept.value;
  } catch { /* not kept yet, or no cache to keep it in */ }
  const value = await compute();
  try { if (file) writeFileAtomic(file, JSON.stringify({ name, key, value }) + '\n'); } catch { /* a cache that cannot be written: asked again next time */ }
  return value;
}

/** `cmd` as the shell would find it on $PATH, its symlinks resolved (the file that is run). */
export function resolveOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = cmd.includes('/') ? [''] : (env.PATH ?? '').split(':').filter(Boolean);
  for (const d of dirs) {
    const p = d ? path.join(d, cmd) : cmd;
    try { if (statSync(p).isFile()) return path.resolve(p); } catch { /* not here */ }
  }
  return undefined;
}
