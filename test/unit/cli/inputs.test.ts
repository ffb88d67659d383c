// The command line's edge (src/cli/inputs.ts): what `kgate run` and the tree
// jobs are given becomes typed values, and bad input is one line for the user
// (KgateError 'user', exit 2) before anything slow starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { KgateError } from '../../../src/model.js';
import { COMMANDS, addOptions } from '../../../src/cli/options.js';
import { defaultAccel, failedCasesIn, kernelRequestOf, runInputsOf } from '../../../src/cli/inputs.js';

/** `kgate run ARGV` as commander hands it to runInputsOf (the table's defaults filled in). */
function run(argv: string[]) {
  const cmd = addOptions(new Command('run').exitOverride(), COMMANDS.run);
  cmd.parse(argv, { from: 'user' });
  return runInputsOf(cmd.opts());
}

/** The one line a user gets, or a failure of the test when there is none. */
function userError(f: () => unknown): string {
  try { f(); } catch (e) {
    assert.ok(e instanceof KgateError, `a KgateError, not ${e}`);
    assert.equal(e.family, 'user');
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e.message;
  }
  assert.fail('no error');
}

test('run: the defaults are a QEMU guest of debian:6.12 and the default selection', () => {
  const i = run([]);
  assert.equal(i.target.kind, 'qemu');
  assert.deepEqual(i.kernel.spec.text, 'debian:6.12');
  assert.ok(i.selection.ids.length > 100);
  assert.equal(i.shard, undefined);
  assert.equal(i.coverage, undefined);
  assert.equal(i.showCommand, false);
});

test('run --coverage: tree kernels on a QEMU guest only, family or case; each mistake is one line', () => {
  assert.match(userError(() => run(['--coverage', 'line', '--kernel', 'tree:/src/linux'])), /^--coverage line: --coverage takes family \(the default\) or case$/);
  assert.match(userError(() => run(['--coverage', '--kernel', 'debian:6.12'])), /debian:6\.12/);
  assert.match(userError(() => run(['--coverage', '--kernel', 'tree:/src/linux', '--target', 'local'])), /--coverage needs --target qemu/);
  const i = run(['--coverage', '--kernel', 'tree:/src/linux']);
  assert.equal(i.coverage, 'family');
  assert.equal(i.kernel.coverage, true);
  assert.equal(run(['--coverage', 'case', '--kernel', 'tree:/src/linux']).coverage, 'case');
});

test('run: a bzImage that does not exist, an unknown case, a bad --jobs: one line each', () => {
  assert.match(userError(() => run(['--kernel', '/nonexistent/bzImage'])), /kernel image \/nonexistent\/bzImage does not exist/);
  assert.match(userError(() => run(['--case', 'U99.nothing'])), /U99\.nothing/);
  assert.match(userError(() => run(['--jobs', '0'])), /--jobs must be 1 or more/);
  assert.match(userError(() => run(['--mem', '64'])), /--mem must be at least 256/);
});

test('run --shard: each share is its round-robin part of one plan; the plan is the same for every shard of one command line', () => {
  const all = run(['--family', 'ioctl-open']).selection.ids;
  const a = run(['--family', 'ioctl-open', '--shard', '1/2']);
  const b = run(['--family', 'ioctl-open', '--shard', '2/2']);
  assert.deepEqual([...a.selection.ids, ...b.selection.ids].sort(), [...all].sort());
  assert.equal(a.selection.ids.length - b.selection.ids.length <= 1, true);
  assert.equal(a.shard?.plan, b.shard?.plan);
  assert.notEqual(a.shard?.plan, run(['--family', 'ioctl-close', '--shard', '1/2']).shard?.plan);
  assert.match(userError(() => run(['--case', 'U03.dir', '--shard', '2/2'])), /no case left for this shard/);
});

test('kernelRequestOf: a modules dir or a fragment that does not exist is one line; the rest is carried as given', () => {
  assert.match(userError(() => kernelRequestOf({ kernel: 'debian:6.12', modules: '/nonexistent/mods' })), /modules directory \/nonexistent\/mods does not exist/);
  assert.match(userError(() => kernelRequestOf({ kernel: 'tree:/src/linux', configFragment: ['/nonexistent.config'] })), /config fragment \/nonexistent\.config does not exist/);
  const r = kernelRequestOf({ kernel: 'tree:/src/linux@v6.12', baseConfig: 'defconfig', configFragment: [] });
  assert.equal(r.baseConfig, 'defconfig');
  assert.equal(r.fragments, undefined);
  assert.equal(r.spec.kind, 'tree');
});

test('defaultAccel: $KGATE_ACCEL, else auto; a bad value is the user\'s one line', (t) => {
  const saved = process.env.KGATE_ACCEL;
  t.after(() => { if (saved === undefined) delete process.env.KGATE_ACCEL; else process.env.KGATE_ACCEL = saved; });
  delete process.env.KGATE_ACCEL;
  assert.equal(defaultAccel(), 'auto');
  process.env.KGATE_ACCEL = 'tcg';
  assert.equal(defaultAccel(), 'tcg');
  assert.equal(run([]).target.kind === 'qemu' && (run([]).target as { accel: string }).accel, 'tcg');
  process.env.KGATE_ACCEL = 'fast';
  assert.match(userError(() => run([])), /--accel \(or \$KGATE_ACCEL\) must be auto, kvm or tcg/);
});

test('failedCasesIn: the failed, crashed, timed-out and errored cases of a run directory; a directory without results is one line', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-failed-in-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases = [['U01.never_opened', 'PASS'], ['U03.dir', 'FAIL'], ['K1.hang', 'TIMEOUT'], ['K2.panic', 'CRASH'], ['U06.proc', 'XFAIL'], ['U07.pipe', 'SKIP'], ['U08.eventfd', 'ERROR']];
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ cases: cases.map(([id, status]) => ({ id, status })) }));
  assert.deepEqual(failedCasesIn(dir).sort(), ['K1.hang', 'K2.panic', 'U03.dir', 'U08.eventfd']);
  const empty = mkdtempSync(join(tmpdir(), 'kgate-failed-in-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  assert.match(userError(() => failedCasesIn(empty)), /--failed-in .*: no results\.json in it \(not a run directory\)/);
  assert.match(userError(() => failedCasesIn(join(empty, 'nothing'))), /--failed-in .*: no readable results\.json \(ENOENT\)/);
});

test('--lanes: a lane per vCPU by default (2; 1 with --jobs, 1 with --coverage), as asked otherwise; --coverage with --lanes 2 is refused', () => {
  const lanes = (argv: string[]) => { const t = run(argv).target; return t.kind === 'qemu' ? [t.smp, t.jobs, t.lanes] : undefined; };
  assert.deepEqual(lanes([]), [2, 1, 2]);
  assert.deepEqual(lanes(['--lanes', '1']), [2, 1, 1]);
  assert.deepEqual(lanes(['--jobs', '2']), [1, 2, 1]);
  assert.deepEqual(lanes(['--kernel', 'tree:/nonexistent', '--coverage']), [2, 1, 1]);
  assert.match(userError(() => run(['--lanes', '0'])), /--lanes must be 1 or more/);
  assert.match(userError(() => run(['--kernel', 'tree:/nonexistent', '--coverage', '--lanes', '2'])), /--coverage .* one lane, not --lanes 2/);
});
