// Shared by the end-to-end tests: run the real CLI, read what it wrote.
import { execa } from 'execa';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { projectRoot } from '../../src/util/paths.js';
import type { RunResult } from '../../src/model.js';

export const root = projectRoot();
export const kgateBin = join(root, 'bin', 'kgate.js');

/** Temp dirs the tests made; removed when the test process ends, whatever the outcome. */
const scratch: string[] = [];
process.once('exit', () => { for (const d of scratch) rmSync(d, { recursive: true, force: true }); });
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
}

export interface CliRun { code: number; stdout: string; stderr: string; resultsDir: string; run?: RunResult }

/** Runs `kgate ARGS` with its own results root; returns exit code, output and the run's results.json. */
export async function kgate(args: string[], env: Record<string, string> = {}, timeoutMs = 20 * 60_000): Promise<CliRun> {
  const resultsRoot = tempDir('kgate-e2e-');
  const withResults = args[0] === 'run' ? [...args, '--results', resultsRoot] : args;
  const r = await execa('node', [kgateBin, ...withResults], {
    reject: false, env: { ...env, CI: '1' }, timeout: timeoutMs, cwd: root, stdin: 'ignore',
  });
  const runs = existsSync(resultsRoot) ? readdirSync(resultsRoot) : [];
  const resultsDir = runs.length ? join(resultsRoot, runs[0]) : '';
  const run = resultsDir && existsSync(join(resultsDir, 'results.json'))
    ? (JSON.parse(readFileSync(join(resultsDir, 'results.json'), 'utf8')) as RunResult) : undefined;
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), resultsDir, run };
}

export function statusOf(run: RunResult | undefined, id: string): string | undefined {
  return run?.cases.find((c) => c.id === id)?.status;
}

export function hasQemu(): boolean {
  return existsSync('/usr/bin/qemu-system-x86_64');
}
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** A case's status, and when it is not the one wanted, the case's reason and kgate's last words: a CI log must say why. */
export function assertStatus(r: CliRun, id: string, want: string, note?: string): void {
  const c = r.run?.cases.find((x) => x.id === id);
  if (c?.status === want) return;
  const tail = r.stderr.trim().split('\n').slice(-12).join('\n');
  throw new assert.AssertionError({
    message: `${note ? `${note}: ` : ''}${id} is ${c?.status ?? 'absent'}, wanted ${want}` +
      `${c?.reason ? ` (${c.reason})` : ''}; exit ${r.code}; kgate's stderr ended:\n${tail}`,
    actual: c?.status, expected: want, operator: 'strictEqual',
  });
}

// ---- what kgate says, apart from what it quotes ----------------------------
//
// kgate's stderr holds its own progress lines (CI=1: src/cli/progress.ts), its
// error lines, and inside both the words of tools it quotes (QEMU's "KVM
// internal error", git am's "patch failed", make's and apt-get's lines). A
// test asserts kgate's lines by their shape and start, never a substring
// anywhere in stderr, which a quoted tool message can hold or fake.

/** The plain progress lines of a run (stage changes and notes, a family starting, a case's result). */
const PROGRESS = [
  /^kgate: (kernel|build|target|suite|restart|report) (start|note|done|fail)\b/, // kgate: target note: qemu: ...
  /^kgate: [\w.-]+: \d+ case\(s\) on \S+$/, // kgate: ioctl-open: 3 case(s) on qemu
  /^kgate: (PASS|FAIL|XFAIL|SKIP|CRASH|TIMEOUT|ERROR|MISS|DONE) +\S/, // kgate: PASS    U01.never_opened
];

/** stderr cut into progress lines and the rest (what kgate says went wrong), blank lines dropped. */
export function splitStderr(stderr: string): { progress: string[]; errors: string[] } {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const isProgress = (l: string) => PROGRESS.some((re) => re.test(l));
  return { progress: lines.filter(isProgress), errors: lines.filter((l) => !isProgress(l)) };
}

/** kgate's own lines of one kind: `prefix` is matched at the start of a line (after "kgate: "), never inside a quote. */
export function saidLines(stderr: string, prefix: RegExp): string[] {
  const re = new RegExp(`^kgate: (?:${prefix.source})`, prefix.flags.replace('g', ''));
  return stderr.split('\n').filter((l) => re.test(l));
}

/** A line of kgate's own, starting `kgate: <prefix>`; fails with kgate's stderr. */
export function assertSaid(stderr: string, prefix: RegExp, note = ''): string {
  const [line] = saidLines(stderr, prefix);
  assert.ok(line !== undefined, `${note ? `${note}: ` : ''}no line "kgate: ${prefix.source}"; stderr:\n${stderr.slice(-3000)}`);
  return line;
}

/** No line of kgate's own starting `kgate: <prefix>`. */
export function assertNotSaid(stderr: string, prefix: RegExp, note = ''): void {
  const lines = saidLines(stderr, prefix);
  assert.deepEqual(lines, [], `${note ? `${note}: ` : ''}kgate said "${prefix.source}"`);
}

/** kgate reported no bug of its own: no "kgate: internal error" line and no stack trace (a quoted "KVM internal error" is QEMU's, not kgate's). */
export function assertNoInternalError(stderr: string): void {
  assertNotSaid(stderr, /internal error/, 'a bug of kgate\'s');
  assert.doesNotMatch(stderr, /^\s+at .*\(?(file:|node:|\/).*:\d+:\d+\)?$/m, 'no stack trace');
}

// ---- the accelerator ---------------------------------------------------------
//
// Tests that are not about acceleration run under TCG on every machine (no
// /dev/kvm, a working KVM, a KVM that fails at boot or under a running guest),
// so their outcome and time do not depend on the machine. $KGATE_ACCEL is
// kgate's own default for --accel (README), inherited by every kgate these
// tests start, nightly cells and bisect steps included. The tests about
// acceleration (guest-smoke, accel-memory) pass their accelerator explicitly.
process.env.KGATE_ACCEL = 'tcg';
