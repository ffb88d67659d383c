// The guest side of --coverage: debugfs mounted, the kernel's gcov counters
// reset, and the .gcda files read back over the run's own SSH connection.
//
// debugfs's gcov files report a size of 0: tar and sftp (which trust the
// size) read nothing, cat reads them whole. Each file goes over the channel
// as base64 lines after a "F <path>" line; busybox has base64.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { KgateError } from '../model.js';
import type { SuiteTarget } from '../runner/target.js';
import { mkdirp } from '../util/fs.js';
import { shellQuote } from '../util/shell.js';

export const GCOV_DEBUGFS = '/sys/kernel/debug/gcov';

type Shell = NonNullable<SuiteTarget['shell']>;

function shellOf(t: SuiteTarget): Shell {
  if (!t.shell) throw new KgateError('bug', `${t.name}: --coverage on a target without a shell`);
  return t.shell.bind(t);
}

/** Mount debugfs (the guest's init does not) and check the kernel counts. Idempotent. */
export async function readyGuest(t: SuiteTarget, signal: AbortSignal): Promise<void> {
  const r = await shellOf(t)(`grep -q ' /sys/kernel/debug debugfs ' /proc/mounts || mount -t debugfs none /sys/kernel/debug; test -e ${GCOV_DEBUGFS}/reset && echo ok`, signal);
  if (!r.lines.includes('ok')) throw new KgateError('infra', `${t.name}: ${GCOV_DEBUGFS}/reset is missing: the kernel was not built with CONFIG_GCOV_KERNEL`);
}

export async function resetCounters(t: SuiteTarget, signal: AbortSignal): Promise<void> {
  const r = await shellOf(t)(`echo 1 > ${GCOV_DEBUGFS}/reset`, signal);
  if (r.code !== 0) throw new KgateError('infra', `${t.name}: could not reset the gcov counters (exit ${r.code})`);
}

/** The snapshot command: every .gcda under the build directory's fs/, one "F path" line then its bytes in base64. */
export function snapshotCommand(obj: string): string {
  return `cd ${shellQuote(`${GCOV_DEBUGFS}${obj}`)} && find fs -name '*.gcda' | while read f; do echo "F $f"; base64 < "$f"; done`;
}

/** The lines of snapshotCommand -> file path (relative to the build directory) -> bytes. */
export function parseSnapshot(lines: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let name: string | undefined;
  let chunks: string[] = [];
  const flush = () => { if (name !== undefined) out.set(name, Buffer.from(chunks.join(''), 'base64')); };
  for (const l of lines) {
    if (l.startsWith('F ')) { flush(); name = l.slice(2).trim(); chunks = []; }
    else if (name !== undefined) chunks.push(l.trim());
  }
  flush();
  return out;
}

/** Read the counters into `into/<rel>.gcda`; the number of files. */
export async function snapshot(t: SuiteTarget, obj: string, into: string, signal: AbortSignal): Promise<number> {
  const r = await shellOf(t)(snapshotCommand(obj), signal, 120_000);
  if (r.code !== 0) throw new KgateError('infra', `${t.name}: reading ${GCOV_DEBUGFS}${obj} failed (exit ${r.code})`);
  const files = parseSnapshot(r.lines);
  for (const [rel, bytes] of files) {
    if (rel.includes('..')) continue;
    const to = path.join(into, rel);
    mkdirp(path.dirname(to));
    writeFileSync(to, bytes);
  }
  return files.size;
}
