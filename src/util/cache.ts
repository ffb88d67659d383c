// kgate's cache: downloaded kernels, guest images, kernel builds. It lives
// outside the checkout so every clone and worktree of kgate shares it, and it
// has a size cap so a nightly over many commits cannot fill the disk.
import { mkdirp } from './fs.js';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** $KGATE_CACHE, else $XDG_CACHE_HOME/kgate, else ~/.cache/kgate. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KGATE_CACHE) return path.resolve(env.KGATE_CACHE);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'kgate');
  return path.join(os.homedir(), '.cache', 'kgate');
}

/**
 * accel: what kgate learnt of this host's KVM (src/runner/kvm-memory.ts), a few hundred bytes;
 * host: what slow commands said of this host's tools (src/util/host-fact.ts: cc --version), a few hundred bytes.
 */
export type CacheArea = 'kernels' | 'images' | 'builds' | 'trees' | 'apt' | 'accel' | 'host';

/** One area of the cache, made on first use. */
export function cacheDir(area: CacheArea, env: NodeJS.ProcessEnv = process.env): string {
  const dir = path.join(cacheRoot(env), area);
  mkdirp(dir);
  return dir;
}

/** Default cap of one area: $KGATE_CACHE_MAX_GB (whole cache), split evenly; 20 GiB if unset. */
export function cacheCapBytes(env: NodeJS.ProcessEnv = process.env): number {
  const gb = Number(env.KGATE_CACHE_MAX_GB ?? '20');
  return (Number.isFinite(gb) && gb > 0 ? gb : 20) * 1024 ** 3;
}

/** Mark an entry used now, so LRU eviction keeps it. */
export function touchEntry(entry: string): void {
  const now = new Date();
  try { utimesSync(entry, now, now); } catch { /* gone: nothing to keep */ }
}

/** Bytes under a path (files only, symlinks not followed). */
export function diskUsage(p: string): number {
  let st;
  try { st = lstatSync(p); } catch { return 0; }
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let n = 0;
  for (const e of readdirSync(p)) n += diskUsage(path.join(p, e));
  return n;
}

/**
 * Remove the least recently used entries of `dir` until it holds at most
 * `capBytes`. An entry's age is its mtime (touchEntry on every use). `keep`
 * names entries in use by this run: never removed.
 */
export function evictLru(dir: string, capBytes: number, keep: Iterable<string> = []): string[] {
  if (!existsSync(dir)) return [];
  const kept = new Set([...keep].map((k) => path.resolve(k)));
  const entries = readdirSync(dir)
    .filter((e) => !e.startsWith('.'))
    .map((e) => {
      const p = path.join(dir, e);
      return { p, mtime: statSync(p).mtimeMs, bytes: diskUsage(p) };
    })
    .sort((a, b) => a.mtime - b.mtime);
  let total = entries.reduce((n, e) => n + e.bytes, 0);
  const removed: string[] = [];
  for (const e of entries) {
    if (total <= capBytes) break;
    if (kept.has(path.resolve(e.p))) continue;
    rmSync(e.p, { recursive: true, force: true });
    total -= e.bytes;
    removed.push(e.p);
  }
  return removed;
}
