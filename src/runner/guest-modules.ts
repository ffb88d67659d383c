// The kernel modules a guest loads (its init's insmod lines): the suite's
// needs and their dependencies, read from the kernel's modules.dep.
import { readFile } from 'node:fs/promises';
import { KgateError } from '../model.js';
import path from 'node:path';
import { compressionOf, decompress } from '../util/decompress.js';

/** What the suite needs loaded: fuse and virtio are built in on 6.12 but modules on 6.1.
 *  virtio_rng feeds the entropy pool, without which dropbear waits about a second for randomness. */
export const GUEST_MODULES = Object.freeze(['virtio_pci', 'virtio_net', 'virtio_rng', 'fuse', 'overlay']);

const modName = (p: string) => path.basename(p).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

/**
 * The module files to insmod, dependencies first, from modules.dep (relative
 * paths under modulesDir). Built-in names (modules.builtin) are skipped;
 * a name that is neither is an infra fault: the image would boot without it.
 */
export function moduleClosure(modulesDep: string, builtin: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, { file: string; deps: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const file = line.slice(0, i).trim();
    deps.set(modName(file), { file, deps: line.slice(i + 1).trim().split(/\s+/).filter(Boolean) });
  }
  const builtins = new Set(builtin.split('\n').filter(Boolean).map(modName));
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const d = deps.get(modName(file));
    for (const x of d?.deps ?? []) visit(x);
    order.push(file);
  };
  for (const w of wanted) {
    const name = w.replace(/-/g, '_');
    if (builtins.has(name)) continue;
    const d = deps.get(name);
    if (!d) throw new KgateError('infra', `kernel module ${w} is neither built in nor in modules.dep`);
    visit(d.file);
  }
  return order;
}

/**
 * The closure's files in waves a guest loads one after another, the modules
 * of a wave at once (each waits only for its dependencies, in earlier waves):
 * under TCG a module's load is tens of ms, and the network's chain
 * (failover, net_failover, virtio_net) need not wait for overlay or virtio-rng.
 */
export function loadWaves(modulesDep: string, files: readonly string[]): string[][] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const i = line.indexOf(':');
    if (i >= 0) deps.set(line.slice(0, i).trim(), line.slice(i + 1).trim().split(/\s+/).filter(Boolean));
  }
  const wave = new Map<string, number>();
  const waves: string[][] = [];
  for (const f of files) { // dependencies first (moduleClosure's order)
    const w = Math.max(-1, ...(deps.get(f) ?? []).map((d) => wave.get(d) ?? -1)) + 1;
    wave.set(f, w);
    (waves[w] ??= []).push(f);
  }
  return waves;
}

/** A module file as busybox's insmod loads it: plain .ko only, so decompressed on the host. */
export async function moduleBytes(file: string): Promise<Buffer> {
  const data = await readFile(file);
  const kind = /\.ko\.(xz|zst|gz)$/.test(file) ? compressionOf(data) : undefined;
  return kind ? decompress(kind, data) : data;
}
