// `kgate export kselftest` the way the fleets (KernelCI, LKFT, 0-day) use a
// selftest: in a copy of the test tree (scripts/test-tree.sh) at
// revert-regular, `make headers`, the export written with --tree, checked by
// the tree's checkpatch.pl, built by `make -C tools/testing/selftests
// TARGETS=filesystems/fuse/passthrough` on lib.mk, packed by its `install`,
// run by run_kselftest.sh in a guest on that commit's kernel (`kgate exec`),
// parsed by `kgate parse`, and compared case by case with `kgate run` of the
// same selection on the same kernel. revert-regular brings back 6.12-6.16's
// "any backing file type" behaviour on a 6.12.118 that has the fix: kgate
// judges those cases FAIL (a regression), not the XFAIL a judge by outcome
// token alone would give, so equal statuses mean the exported binaries judge
// by the kernel's version as kgate does.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { kgate, kgateBin, tempDir, root, hasQemu } from './helpers.js';
import { pidsWhere } from './procs.js';
import { testTree, treeSkip, treeState } from './tree-helpers.js';
import { selectCases } from '../../src/catalog/index.js';
import type { CaseResult } from '../../src/model.js';

// lib.mk's install copies with rsync (scripts/setup.sh installs it)
const skip = treeSkip || (!existsSync('/usr/bin/rsync') ? 'rsync is not installed (scripts/setup.sh)' : false);
const REF = 'revert-regular';
const TARGET = 'filesystems/fuse/passthrough';
const upstream = selectCases({ apis: ['upstream'] }).map((c) => c.id);

let tree = '';
let copy = '';
before(async () => {
  if (skip) return;
  tree = await testTree();
  // A copy to build in, as a fleet's checkout: kgate's test tree is only read
  // (a clone borrowing its objects, with what make headers and the selftests need).
  copy = join(tempDir('kgate-ksft-tree-'), 'linux');
  const git = (...a: string[]) => execa('git', a, { cwd: copy, stdin: 'ignore' });
  await execa('git', ['clone', '-q', '--shared', '--no-checkout', tree, copy]);
  await git('sparse-checkout', 'set', 'scripts', 'include', 'arch/x86', 'tools', 'usr');
  await git('checkout', '-q', REF);
});

const make = (args: string[]) => execa('make', args, { cwd: copy, reject: false, all: true, stdin: 'ignore', env: { MAKEFLAGS: '' } });

test(`export kselftest --tree, checkpatch, lib.mk build and install, run_kselftest.sh in a guest on ${REF}: kgate parse equals kgate run case by case`, { skip, timeout: 40 * 60_000 }, async () => {
  const stateBefore = treeState(tree);
  const t0 = Date.now();
  const headers = await make(['-s', 'headers']);
  assert.equal(headers.exitCode, 0, `make headers: ${headers.all}`);
  assert.match(readFileSync(join(copy, 'usr/include/linux/fuse.h'), 'utf8'), /FUSE_DEV_IOC_BACKING_OPEN/, 'the tree\'s own uapi has passthrough');

  const exp = await execa('node', [kgateBin, 'export', 'kselftest', '--tree', copy], { reject: false, stdin: 'ignore' });
  assert.equal(exp.exitCode, 0, exp.stderr);
  const dir = join(copy, 'tools/testing/selftests', TARGET);
  assert.equal(exp.stdout.split('\n')[0], dir);
  for (const f of ['Makefile', 'config', 'settings', '.gitignore']) assert.ok(existsSync(join(dir, f)), `${f} written`);
  const makefile = readFileSync(join(dir, 'Makefile'), 'utf8');
  assert.match(makefile, /^include \.\.\/\.\.\/\.\.\/lib\.mk$/m);
  assert.match(makefile, /\$\(KHDR_INCLUDES\)/);
  assert.match(readFileSync(join(dir, 'config'), 'utf8'), /^CONFIG_FUSE_PASSTHROUGH=y$/m);
  assert.match(readFileSync(join(dir, 'settings'), 'utf8'), /^timeout=\d+$/m);
  const sources = readdirSync(dir).filter((f) => f.endsWith('.c'));
  assert.ok(!sources.some((f) => f.startsWith('older_')), `older API generations are left out by default: ${sources.join(' ')}`);

  // the kernel's style, by the tree's own checkpatch.pl: no errors
  const cp = await execa('perl', [join(copy, 'scripts/checkpatch.pl'), '--no-tree', '-f', '--terse', '--show-types', ...sources.map((f) => join(dir, f)), join(dir, 'Makefile')], { reject: false, stdin: 'ignore' });
  const errors = cp.stdout.split('\n').filter((l) => /: ERROR:/.test(l));
  assert.deepEqual(errors, [], 'checkpatch.pl: 0 errors');
  const warnings = cp.stdout.split('\n').filter((l) => /: WARNING:/.test(l)).length;

  const tb = Date.now();
  const build = await make(['-C', 'tools/testing/selftests', `TARGETS=${TARGET}`]);
  assert.equal(build.exitCode, 0, `the selftests' make: ${build.all}`);
  const buildMs = Date.now() - tb;
  const inst = join(tempDir('kgate-ksft-inst-'), 'kselftest');
  const install = await make(['-C', 'tools/testing/selftests', `TARGETS=${TARGET}`, 'install', `INSTALL_PATH=${inst}`]);
  assert.equal(install.exitCode, 0, `make install: ${install.all}`);
  const list = readFileSync(join(inst, 'kselftest-list.txt'), 'utf8').trim().split('\n');
  assert.deepEqual([...list].sort(), sources.map((f) => `${TARGET}:${f.replace(/\.c$/, '')}`).sort(), 'every program is in the runner\'s list');
  // the export and its build stay in the new directory: no tracked file changed, nothing else new under tools/
  const status = (await execa('git', ['status', '--porcelain'], { cwd: copy })).stdout.split('\n').filter(Boolean);
  assert.deepEqual(status.filter((l) => !l.startsWith('?? ')), [], 'no tracked file of the tree changed');
  assert.deepEqual(status.filter((l) => l.startsWith('?? tools/')), ['?? tools/testing/selftests/filesystems/fuse/']);

  // run_kselftest.sh in a guest on the commit's kernel, then kgate run of the same selection there
  const onTree = await compareOn(`tree:${tree}@${REF}`, inst);
  assert.match(onTree.log, /^# # kgate uapi=tree kernel_version=6\.12\.118$/m, 'built with the tree\'s linux/fuse.h; the kernel\'s version read');
  assert.match(onTree.log, /^# # Totals: pass:\d+ fail:\d+/m, 'KTAP through kselftest.h');
  assert.equal(onTree.parseCode, 1, `kgate parse: a case failed on ${REF}`);
  assert.equal(onTree.runCode, 1);
  // the regression is a FAIL in both, not an XFAIL; an older outcome inside its range stays XFAIL
  assert.equal(onTree.fromKsft.get('U03.dir'), 'FAIL');
  assert.ok([...onTree.fromKsft.values()].includes('XFAIL'), 'some case XFAILs inside its known range (6.9-6.17)');

  // the same binaries on Debian's 6.1, which has no passthrough: SKIP with the reason, the rest run
  const on61 = await compareOn('debian:6.1', inst);
  assert.match(on61.log, /^# ok \d+ U03\.dir # SKIP kernel has no FUSE passthrough \(not offered in INIT\)$/m);
  assert.match(on61.log, /^# # kgate uapi=tree kernel_version=6\.1\.\d+$/m, 'the exact version from Debian\'s uname -v');
  assert.ok([...on61.fromKsft.values()].includes('PASS'), 'the cases that need no passthrough run');

  process.stderr.write(`# kselftest export: make headers + export + checkpatch ${((tb - t0) / 1000).toFixed(1)} s (${warnings} checkpatch warnings), selftests make ${(buildMs / 1000).toFixed(1)} s; `
    + `${REF}: kgate exec of run_kselftest.sh ${(onTree.execMs / 1000).toFixed(1)} s, kgate run ${(onTree.runMs / 1000).toFixed(1)} s; `
    + `debian:6.1: ${(on61.execMs / 1000).toFixed(1)} s, ${(on61.runMs / 1000).toFixed(1)} s; ${onTree.fromRun.size} cases equal on each\n`);
  assert.deepEqual(treeState(tree), stateBefore, 'kgate\'s test tree is only read');
});

/** run_kselftest.sh of the installed directory on `kernel` (kgate exec), parsed, and kgate run of the upstream selection there: equal case by case. */
async function compareOn(kernel: string, inst: string) {
  const te = Date.now();
  const ex = await execa('node', [kgateBin, 'exec', '--kernel', kernel, '--put', inst, '--results', tempDir('kgate-ksft-res-'), '--', './run_kselftest.sh'], { reject: false, stdin: 'ignore', env: { CI: '1' } });
  assert.equal(ex.exitCode, 0, `kgate exec on ${kernel}: ${ex.stderr}`);
  const execMs = Date.now() - te;
  const log = join(tempDir('kgate-ksft-log-'), 'kselftest.log');
  writeFileSync(log, ex.stdout);

  const parsed = await execa('node', [kgateBin, 'parse', '--json', log], { reject: false, stdin: 'ignore' });
  const fromKsft = new Map<string, string>();
  for (const c of JSON.parse(parsed.stdout) as CaseResult[]) {
    // KTAP names are the catalog ids; under the runner, kgate parse names a nested case <program>.<id>
    const m = /^([a-z0-9_]+_test)\.(.+)$/.exec(c.id);
    assert.ok(m, `a case of the exported programs: ${c.id}`);
    fromKsft.set(m[2], c.status);
  }

  const tr = Date.now();
  const run = await kgate(['run', '--kernel', kernel, '--api', 'upstream']);
  const runMs = Date.now() - tr;
  assert.ok(run.run, `kgate run on ${kernel} wrote results.json: ${run.stderr}`);
  const fromRun = new Map(run.run.cases.map((c) => [c.id, c.status]));
  assert.deepEqual([...fromRun.keys()].sort(), [...upstream].sort(), 'kgate run: the upstream selection');
  assert.deepEqual([...fromKsft.keys()].sort(), [...fromRun.keys()].sort(), `${kernel}: the same cases, one to one`);
  const differ = [...fromRun].filter(([id, st]) => fromKsft.get(id) !== st).map(([id, st]) => `${id}: run ${st}, kselftest ${fromKsft.get(id)}`);
  assert.deepEqual(differ, [], `${kernel}: the same status for every case`);
  return { log: ex.stdout, fromKsft, fromRun, parseCode: parsed.exitCode, runCode: run.code, execMs, runMs };
}

test('export kselftest: older generations when a filter names them; usage errors are one line, exit 2', async () => {
  const out = tempDir('kgate-ksft-out-');
  const older = await execa('node', [kgateBin, 'export', 'kselftest', '--out', out, '--api', 'a1'], { reject: false, stdin: 'ignore' });
  assert.equal(older.exitCode, 0, older.stderr);
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.c')), ['older_a1_test.c']);
  assert.match(readFileSync(join(out, 'Makefile'), 'utf8'), /^TEST_GEN_PROGS := older_a1_test$/m);
  // a second export over the first replaces it (its stale program goes)
  const again = await execa('node', [kgateBin, 'export', 'kselftest', '--out', out, '--family', 'ioctl-close'], { reject: false, stdin: 'ignore' });
  assert.equal(again.exitCode, 0, again.stderr);
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.c')), ['ioctl_close_test.c']);

  const foreign = tempDir('kgate-ksft-foreign-');
  mkdirSync(join(foreign, 'mine'));
  const cases: [string[], RegExp][] = [
    [['export', 'kselftest'], /^kgate: export kselftest: give one of --out DIR or --tree PATH$/],
    [['export', 'kselftest', '--out', out, '--tree', root], /^kgate: export kselftest: give one of --out DIR or --tree PATH$/],
    [['export', 'kselftest', '--tree', root], /^kgate: --tree .*: not a kernel tree \(no tools\/testing\/selftests\/lib\.mk\)$/],
    [['export', 'kselftest', '--out', foreign], /^kgate: .* is not empty and not an earlier kgate export: not overwriting it/],
    [['export', 'kselftest', '--out', out, '--family', 'nope'], /^kgate: unknown family 'nope'; known: /],
    [['exec', '--put', '/nonexistent/dir', '--', 'true'], /^kgate: --put \/nonexistent\/dir: ENOENT$/],
    [['exec', '--timeout', 'soon', '--', 'true'], /^kgate: --timeout must be a number of seconds$/],
  ];
  for (const [args, says] of cases) {
    const r = await execa('node', [kgateBin, ...args], { reject: false, stdin: 'ignore' });
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: one line: ${r.stderr}`);
    assert.match(lines[0], says, args.join(' '));
  }
  assert.deepEqual(readdirSync(foreign), ['mine'], 'a foreign directory is left as it was');
});

test('kgate exec: the command runs in the guest from --put\'s copy; its status is kgate\'s; past --timeout, 125 and the guest stopped', { skip: hasQemu() ? false : 'qemu-system-x86_64 is not installed', timeout: 10 * 60_000 }, async () => {
  const put = tempDir('kgate-exec-put-');
  writeFileSync(join(put, 'hello.sh'), 'echo "hello from $(uname -r) in $PWD"; exit 3\n');
  const res = tempDir('kgate-exec-res-');
  const exec = (args: string[]) => execa('node', [kgateBin, 'exec', '--results', res, ...args], { reject: false, stdin: 'ignore', env: { CI: '1' } });
  const hello = exec(['--put', put, '--', 'sh', 'hello.sh']);
  const r = await hello;
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stdout, /^hello from 6\.12\.\S+ in \/kgate\/put$/m);
  const sleeper = exec(['--timeout', '2', '--', 'sleep', '60']);
  const late = await sleeper;
  assert.equal(late.exitCode, 125, late.stderr);
  assert.match(late.stderr, /^kgate: 'sleep 60' ran past --timeout 2 s: stopped$/m);
  // a guest's initrd is in its kgate's scratch directory, named by that kgate's pid
  const ours = pidsWhere(() => true).filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return /qemu-system-/.test(argv) && [hello.pid, sleeper.pid].some((k) => argv.includes(`kgate-guest-${k}-`));
    } catch { return false; }
  });
  assert.deepEqual(ours, [], 'no guest of these kgates left running');
});
