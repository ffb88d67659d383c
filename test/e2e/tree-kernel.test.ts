// `--kernel tree:PATH[@REF]` end to end, on the real test tree
// (scripts/test-tree.sh: Debian's linux-source-6.12 with a short history):
// one cold tiny build at `base`, then incremental builds of nearby commits and
// cache hits. After every run the user's tree must be exactly as it was.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { kgate, kgateBin, assertNotSaid, assertSaid, assertStatus, tempDir } from './helpers.js';
import { testTree, treeSkip, treeState } from './tree-helpers.js';
import { selectCases } from '../../src/catalog/index.js';
import { watchDescendants, type ProcId } from './procs.js';
import type { CaseResult } from '../../src/model.js';

const skip = treeSkip;

let tree = '';
before(async () => { if (!skip) tree = await testTree(); });

function assertUntouched(beforeState: Record<string, string>, what: string) {
  assert.deepEqual(treeState(tree), beforeState, `the user's tree is untouched by ${what}`);
}

const upstream = selectCases({ apis: ['upstream'] }).map((c) => c.id);

test('tree:@base: a cold tiny build boots and every upstream case is PASS, SKIP, or XFAIL inside its known range; the identity names the commit', { skip, timeout: 30 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await kgate(['run', '--kernel', `tree:${tree}@base`, '--api', 'upstream']);
  assert.ok(r.run, `results.json written; stderr: ${r.stderr}`);
  for (const id of upstream) {
    const c = r.run!.cases.find((x) => x.id === id);
    // 6.12 predates FUSE_DEV_IOC_SYNC_INIT and the CLONE change of 6.18: the catalog knows their older outcomes, so XFAIL naming the range is right.
    const asExpected = c && (c.status === 'PASS' || c.status === 'SKIP' || (c.status === 'XFAIL' && /known in \d+\.\d+-\d+\.\d+/.test(c.reason ?? '')));
    assert.ok(asExpected, `${id}: ${c?.status} ${c?.reason ?? ''}`);
  }
  assert.equal(r.code, 0, r.stderr);
  assertStatus(r, 'U03.dir', 'PASS');
  const base = execaSync('git', ['-C', tree, 'rev-parse', 'base']).stdout;
  const id = r.run!.kernel!;
  assert.equal(id.commit, base);
  assert.equal(id.describe, 'base');
  assert.match(id.kernelVersion ?? '', /^6\.12\.\d+$/);
  assert.equal(id.baseConfig, 'tiny');
  assert.match(id.configHash ?? '', /^[0-9a-f]{64}$/);
  const meta = JSON.parse(readFileSync(join(r.resultsDir, 'metadata.json'), 'utf8'));
  // Built here, unless a run before this one on this machine (the cache is shared) already built it.
  assert.ok(['built', 'cached'].includes(meta.kernelHow), meta.kernelHow);
  assert.match(meta.reproducer, new RegExp(`--kernel tree:${tree}@${base}`), 'the reproducer pins the commit, not the tag');
  if (meta.kernelHow === 'built') assert.ok(existsSync(join(r.resultsDir, 'kernel-build.log')), 'make\'s log is in the run directory');
  // The kernel's exact .config beside the results, built or cached: what a report to the list attaches.
  assert.match(readFileSync(join(r.resultsDir, 'kernel.config'), 'utf8'), /^CONFIG_FUSE_PASSTHROUGH=y$/m);
  assertUntouched(state, 'a cold build');
});

test('tree:@base again: "cached", and make does not run', { skip, timeout: 10 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await kgate(['run', '--kernel', `tree:${tree}@base`, '--case', 'U03.dir,H1.read']);
  assert.equal(r.code, 0, r.stderr);
  assertSaid(r.stderr, /kernel done [\d.]+ s: 6\.12\.\d+\+? \(cached\)/);
  assertNotSaid(r.stderr, /kernel note: make /, 'no make at all');
  assert.ok(!existsSync(join(r.resultsDir, 'kernel-build.log')), 'no build log: nothing was built');
  assert.equal(JSON.parse(readFileSync(join(r.resultsDir, 'metadata.json'), 'utf8')).kernelHow, 'cached');
  assertUntouched(state, 'a cached build');
});

test('tree:@revert-regular: the directory and O_PATH-directory backing cases FAIL as a regression (not XFAIL); exit 1', { skip, timeout: 15 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await kgate(['run', '--kernel', `tree:${tree}@revert-regular`, '--case', 'U03,U05,H1.read']);
  assert.ok(r.run, r.stderr);
  for (const id of ['U03.dir', 'U05.opath_dir']) {
    const c: CaseResult | undefined = r.run!.cases.find((x) => x.id === id);
    assert.equal(c?.status, 'FAIL', `${id}: ${c?.status} ${c?.reason ?? ''}`);
    assert.match(c!.reason ?? '', /regressed to the .* behaviour fixed by e9c8da670e74/, id);
  }
  assertStatus(r, 'H1.read', 'PASS');
  assert.equal(r.code, 1, r.stderr);
  assertSaid(r.stderr, /kernel done .*\((built|cached)\)/, "built incrementally here (cached when an earlier run on this machine built it)");
  assertUntouched(state, 'an incremental build');
});

test('tree:@broken-build: exit 125 with the compiler\'s error line; the log\'s tail is kept', { skip, timeout: 15 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await kgate(['run', '--kernel', `tree:${tree}@broken-build`, '--case', 'U03.dir']);
  assert.equal(r.code, 125, r.stderr);
  assertSaid(r.stderr, /.*build of broken-build failed: fs\/fuse\/inode\.c:\d+:\d+: error: /);
  assert.ok(r.run, 'results.json is still written');
  assert.equal(r.run!.abort?.family, 'infra');
  assert.ok(r.run!.problems.some((p) => /last 30 lines/.test(p)), 'the log tail is in the run\'s problems');
  assert.match(readFileSync(join(r.resultsDir, 'kernel-build.log'), 'utf8'), /this is not C/);
  assertUntouched(state, 'a failed build');
});

test('a fragment that turns FUSE_PASSTHROUGH off: named as lost, the user\'s mistake, exit 2 before any build', { skip, timeout: 10 * 60_000 }, async () => {
  const state = treeState(tree);
  const frag = join(tempDir('kgate-frag-'), 'off.config');
  writeFileSync(frag, '# CONFIG_FUSE_PASSTHROUGH is not set\n');
  const r = await kgate(['run', '--kernel', `tree:${tree}@base`, '--config-fragment', frag, '--case', 'U03.dir']);
  assert.equal(r.code, 2, r.stderr);
  assertSaid(r.stderr, /.*lost CONFIG_FUSE_PASSTHROUGH .*off\.config sets it n, kgate needs y/);
  assertNotSaid(r.stderr, /kernel note: make bzImage/);
  assertUntouched(state, 'a contradictory fragment');
});

test('bad tree specs: one line each, exit 2', { skip, timeout: 5 * 60_000 }, async () => {
  const notGit = tempDir('kgate-notgit-');
  for (const [spec, want] of [
    ['tree:/nonexistent/linux', /does not exist/],
    [`tree:${notGit}`, /is not a git tree/],
    [`tree:${tree}@no-such-ref`, /'no-such-ref' is not a commit of/],
  ] as const) {
    const r = await execa('node', [kgateBin, 'kernel', 'build', '--kernel', spec], { reject: false, env: { CI: '1' } });
    assert.equal(r.exitCode, 2, `${spec}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !/^kgate: kernel (start|fail)/.test(l));
    assert.equal(lines.length, 1, `${spec}: one line: ${r.stderr}`);
    assert.match(lines[0], want, spec);
  }
});

test('the work tree as it is (no @REF): uncommitted changes are built in, and named by their hash', { skip, timeout: 15 * 60_000 }, async () => {
  const readme = join(tree, 'README');
  const original = readFileSync(readme);
  writeFileSync(readme, Buffer.concat([original, Buffer.from('an uncommitted line\n')]));
  try {
    const state = treeState(tree);
    const r = await execa('node', [kgateBin, 'kernel', 'build', '--kernel', `tree:${tree}`, '--json', '--results', tempDir('kgate-kb-')], { reject: false, env: { CI: '1' } });
    assert.equal(r.exitCode, 0, r.stderr);
    const k = JSON.parse(r.stdout);
    assert.equal(k.identity.commit, execaSync('git', ['-C', tree, 'rev-parse', 'HEAD']).stdout);
    assert.match(k.identity.dirtyHash, /^[0-9a-f]{64}$/);
    assert.equal(k.identity.pinned, undefined, 'uncommitted changes cannot be pinned by a --kernel');
    assert.ok(existsSync(k.bzImage));
    assertUntouched(state, 'a dirty build');
  } finally {
    writeFileSync(readme, original);
  }
});

/**
 * kgate stopped while make runs, by Ctrl-C or by SIGKILL (the OOM killer, a CI
 * runner ending one pid: no handler of kgate's runs). A worktree of the test
 * tree with a change never built before (a unique comment in fs/fuse): never a
 * cache hit, always an incremental make.
 */
async function stopDuringMake(signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
  const wt = join(tempDir('kgate-int-wt-'), 'linux');
  await execa('git', ['-C', tree, 'worktree', 'add', '--quiet', '--detach', wt, 'stack-depth']);
  try {
    const file = join(wt, 'fs', 'fuse', 'passthrough.c');
    writeFileSync(file, readFileSync(file, 'utf8') + `/* ${signal} build ${process.pid} ${Date.now()} */\n`);
    const state = treeState(wt);
    const build = () => execa('node', [kgateBin, 'kernel', 'build', '--kernel', `tree:${wt}`, '--results', tempDir('kgate-kb-')], { reject: false, env: { CI: '1' } });
    const child = build();
    // What this kgate started, by its process tree (pid and start time), never every make on the machine:
    // other builds may run beside the test.
    const watch = watchDescendants(child.pid);
    const isMake = (p: ProcId) => /^(make|gcc|cc|cc1|ld|as)$/.test(p.comm) || /(^|\/)(make|gcc|cc1|ld|as)$/.test(p.cmdline.split(' ')[0]);
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`make never started: ${err}`)), 10 * 60_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/make bzImage: /.test(err)) { clearTimeout(t); resolve(); }
      });
    });
    watch.sample();
    assert.ok(watch.alive().some(isMake), `make is running when ${signal} comes`);
    child.kill(signal);
    const r = await child;
    if (signal === 'SIGINT') assert.equal(r.exitCode, 130, r.stderr);
    else assert.equal(r.signal, 'SIGKILL');
    watch.stop();
    const left = await watch.leftAfter(2000);
    watch.killLeft();
    assert.deepEqual(left.map((p) => `${p.pid} ${p.comm}: ${p.cmdline.slice(0, 120)}`), [], 'every make, compiler and other process kgate started is gone within 2 s');
    assert.deepEqual(treeState(wt), state, 'the user\'s tree is untouched by an interrupted build');
    // The lock (a dead kgate's, after SIGKILL) is released and the half-made build directory is still usable.
    const again = await build();
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(treeState(wt), state, 'the user\'s tree is untouched by the build after the interrupted one');
  } finally {
    await execa('git', ['-C', tree, 'worktree', 'remove', '--force', wt], { reject: false });
    await execa('git', ['-C', tree, 'worktree', 'prune'], { reject: false });
  }
}

test('Ctrl-C during make: exit 130, no make or compiler left, the tree untouched, and the next build works', { skip, timeout: 20 * 60_000 }, () => stopDuringMake('SIGINT'));

test('kill -9 of kgate during make: make and its compilers die with it, the tree untouched, and the next build works', { skip, timeout: 20 * 60_000 }, () => stopDuringMake('SIGKILL'));

test('a commit that changes only files no build reads (a README) gets the kernel its parent built: cached, no make', { skip, timeout: 20 * 60_000 }, async () => {
  const wt = join(tempDir('kgate-inert-wt-'), 'linux');
  await execa('git', ['-C', tree, 'worktree', 'add', '--quiet', '--detach', wt, 'stack-depth']);
  const commit = (msg: string) => execa('git', ['-C', wt, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', msg]);
  const build = () => execa('node', [kgateBin, 'kernel', 'build', '--kernel', `tree:${wt}`, '--json', '--results', tempDir('kgate-kb-')], { reject: false, env: { CI: '1' } });
  try {
    // A source change never built before: a real make, and the build directory remembers it.
    const src = join(wt, 'fs', 'fuse', 'passthrough.c');
    writeFileSync(src, readFileSync(src, 'utf8') + `/* inert test ${process.pid} ${Date.now()} */\n`);
    await commit('a comment in passthrough.c');
    const a = await build();
    assert.equal(a.exitCode, 0, a.stderr);
    const ka = JSON.parse(a.stdout);
    assert.equal(ka.how, 'built');
    appendFileSync(join(wt, 'README'), 'one more line\n');
    await commit('README only');
    const b = await build();
    assert.equal(b.exitCode, 0, b.stderr);
    const kb = JSON.parse(b.stdout);
    assert.equal(kb.how, 'cached');
    assertSaid(b.stderr, /.*only files no build reads changed/);
    assert.equal(kb.bzImage, ka.bzImage, 'the same kernel');
    assert.equal(kb.identity.commit, execaSync('git', ['-C', wt, 'rev-parse', 'HEAD']).stdout, 'named as this commit');
  } finally {
    await execa('git', ['-C', tree, 'worktree', 'remove', '--force', wt], { reject: false });
    await execa('git', ['-C', tree, 'worktree', 'prune'], { reject: false });
  }
});
