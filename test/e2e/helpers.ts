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
