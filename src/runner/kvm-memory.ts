// What kgate learnt of this host's KVM. Nested KVM that fails does so on every
// boot of the same host (same host kernel, same QEMU, same CPU), and finding it
// out again costs each run a failed KVM boot (QEMU's assertion, or 4 s of a
// silent guest) before the TCG one. So a failure is written to the cache, keyed
// by what decides it, and `--accel auto` boots under TCG at once for a day;
// `--accel kvm` always tries, and a KVM that then works clears the record.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir } from '../util/cache.js';
import { writeFileAtomic } from '../util/atomic.js';

/** What decides whether KVM works here: a record made under another is not this host's. */
export interface KvmHostKey { hostKernel: string; qemu: string; cpu: string }

export interface KvmFailureRecord { key: KvmHostKey; at: string; why: string }

/** After this, auto tries KVM again (a host kernel or firmware may have changed under the same key). */
export const KVM_MEMORY_MS = 24 * 3600_000;

let qemuVersionText: string | undefined;
/** QEMU's first --version line, asked once per process. */
export function qemuVersion(): string {
  try {
    qemuVersionText ??= execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch { qemuVersionText = 'unknown'; }
  return qemuVersionText;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch { return os.cpus()[0]?.model ?? 'unknown'; }
}

export function thisHost(): KvmHostKey {
  return { hostKernel: os.release(), qemu: qemuVersion(), cpu: cpuModel() };
}

/** The record if it is this host's and young enough to trust; else undefined. Pure. */
export function trustedFailure(rec: KvmFailureRecord | undefined, key: KvmHostKey, now: number): KvmFailureRecord | undefined {
  if (!rec) return undefined;
  const same = rec.key.hostKernel === key.hostKernel && rec.key.qemu === key.qemu && rec.key.cpu === key.cpu;
  const age = now - Date.parse(rec.at);
  return same && age >= 0 && age < KVM_MEMORY_MS ? rec : undefined;
}

/** The one line a run says when it skips KVM for a remembered failure. */
export function rememberedNote(rec: KvmFailureRecord): string {
  return `KVM failed on this host on ${rec.at.slice(0, 16).replace('T', ' ')} UTC (${rec.why}); TCG; --accel kvm tries again`;
}

const file = () => path.join(cacheDir('accel'), 'kvm-failed.json');

export function readKvmFailure(): KvmFailureRecord | undefined {
  try { return JSON.parse(readFileSync(file(), 'utf8')) as KvmFailureRecord; } catch { return undefined; }
}

/** Best effort: a cache that cannot be written costs the next run a probe, never this run. */
export function recordKvmFailure(why: string, now = Date.now()): void {
  try { writeFileAtomic(file(), `${JSON.stringify({ key: thisHost(), at: new Date(now).toISOString(), why } satisfies KvmFailureRecord)}\n`); } catch { /* see above */ }
}

export function clearKvmFailure(): void {
  try { rmSync(file(), { force: true }); } catch { /* see recordKvmFailure */ }
}
