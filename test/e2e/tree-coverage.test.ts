// kgate run --coverage end to end: the test tree (scripts/test-tree.sh) built
// with gcov for fs/fuse, two families run per case in a TCG guest, the
// counters read from the guest's debugfs, lcov and genhtml on the host.
// What coverage.txt says is checked against what the run says (the case that
// hit an exit PASSed in this run) and against the kernel's source (the exit's
// line is that statement); the HTML is opened in headless chromium.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kgate, tempDir } from './helpers.js';
import { testTree, treeSkip, treeState } from './tree-helpers.js';
import { chromium, chromiumSkip, textOf } from './chromium.js';

const skip = treeSkip || chromiumSkip;
let tree = '';
before(async () => { if (!skip) tree = await testTree(); });

/** coverage.txt's exit lines: state, file:line, function, kind, errno, judged-by and who hit it. */
function exitLines(txt: string) {
  return [...txt.matchAll(/^ {2}(HIT |MISS|N\/J |BOOT) (\S+):(\d+) (\S+) (\S+) (.+?) \[(\w+)[^\]]*\](?: by (.*))?$/gm)]
    .map((m) => ({ state: m[1].trim(), file: m[2], line: Number(m[3]), func: m[4], kind: m[5], errno: m[6], by: m[7], hitBy: m[8] ?? '' }));
}

test('--coverage case on the test tree: a gcov kernel, two families; coverage.txt names an exit they hit with its case and one they miss; the HTML shows passthrough.c', { skip, timeout: 40 * 60_000 }, async () => {
  const state = treeState(tree);
  const r = await kgate(['run', '--kernel', `tree:${tree}@base`, '--coverage', 'case', '--family', 'ioctl-close,init', '--accel', 'tcg'], {}, 35 * 60_000);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.deepEqual(treeState(tree), state, 'the user\'s tree is untouched');
  assert.match(r.stderr, /kgate: coverage start/);
  assert.match(r.stderr, /kgate: coverage done [\d.]+ s: lines \d+\/\d+, branches \d+\/\d+, error exits hit \d+\/\d+/);
  const dir = join(r.resultsDir, 'coverage');
  assert.match(r.stdout, new RegExp(`coverage: ${dir}/coverage.txt`));
  const txt = readFileSync(join(dir, 'coverage.txt'), 'utf8');
  assert.match(txt, /attribution: per case/);
  const exits = exitLines(txt);
  const passed = new Set(r.run!.cases.filter((c) => c.status === 'PASS').map((c) => c.id));
  const src = (file: string) => readFileSync(join(tree, file), 'utf8').split('\n');

  // Hit, with its case: BACKING_CLOSE of id 0 (U21.zero) takes the EINVAL exit of fuse_backing_close.
  const einval = exits.find((e) => e.func === 'fuse_backing_close' && e.errno === 'EINVAL');
  assert.ok(einval, `fuse_backing_close's EINVAL exit is listed:\n${txt}`);
  assert.equal(einval.state, 'HIT', txt);
  assert.match(einval.hitBy, /\bU21\.zero\b/);
  assert.match(src('fs/fuse/passthrough.c')[einval.line - 1], /goto out;/, 'the line named is the goto');
  for (const id of einval.hitBy.split(', ').filter((x) => /^[UH]\d/.test(x))) assert.ok(passed.has(id), `${id}, named as hitting it, passed in this run`);
  // The connection half of its EPERM: only U12.no_flag_close (init) reaches it.
  const eperm = exits.find((e) => e.func === 'fuse_backing_close' && e.errno === 'EPERM');
  assert.ok(eperm && eperm.state === 'HIT', txt);
  assert.match(eperm.hitBy, /\bU12\.no_flag_close\b/);

  // Not reached by these families: the depth check of BACKING_OPEN (the stacking family's), and CLONE's argument checks.
  const eloop = exits.find((e) => e.func === 'fuse_backing_open' && e.errno === 'ELOOP');
  assert.ok(eloop, txt);
  assert.equal(eloop.state, 'MISS');
  assert.equal(eloop.hitBy, '');
  const clone = exits.filter((e) => e.func === 'fuse_dev_ioctl_clone');
  assert.ok(clone.length >= 2 && clone.every((e) => e.state === 'MISS'), txt);

  // Every listed exit's line is in the file it names, and per function the figures are there.
  assert.match(txt, /^== fs\/fuse\/passthrough\.c$/m);
  assert.match(txt, /^ {2}fuse_backing_close\s+\d+\/\d+\s+[\d.]+ %\s+\d+\/\d+/m);
  assert.match(txt, /^== fs\/backing-file\.c$/m);

  // The lcov tracefile, per case and summed.
  const info = readFileSync(join(dir, 'coverage.info'), 'utf8');
  assert.match(info, /^SF:.*\/fs\/fuse\/passthrough\.c$/m);
  assert.match(info, /^BRDA:/m);
  assert.ok(existsSync(join(dir, 'units', 'U21.zero.info')));

  // genhtml's pages in a real browser: the index lists passthrough.c, and its page shows the source.
  const profile = tempDir('kgate-cov-chromium-');
  const index = textOf((await chromium(join(profile, 'a'), ['--dump-dom'], `file://${join(dir, 'html', 'index.html')}`)).stdout);
  assert.match(index, /fs\/fuse/);
  const page = textOf((await chromium(join(profile, 'b'), ['--dump-dom'], `file://${join(dir, 'html', 'fs', 'fuse', 'passthrough.c.gcov.html')}`)).stdout);
  assert.match(page, /passthrough\.c/);
  assert.match(page, /fuse_backing_close/);
});

test('--coverage with a Debian kernel or a bzImage: one line, exit 2, before anything is fetched', { skip: false, timeout: 60_000 }, async () => {
  for (const kernel of ['debian:6.12', '/boot/vmlinuz-nonexistent']) {
    const r = await kgate(['run', '--kernel', kernel, '--coverage', '--case', 'U01']);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /--coverage needs --kernel tree:PATH\[@REF\]/);
  }
  const bad = await kgate(['run', '--kernel', 'tree:/nonexistent', '--coverage', 'line', '--case', 'U01']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /^kgate: .*--coverage takes family \(the default\) or case$/);
});
