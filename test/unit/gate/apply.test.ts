// The gate's series handling on a small real git repository: reading an mbox,
// a patch directory and a range; git am -3 in the scratch repository; a
// patch that does not apply named with git's reason; the user's repository
// the same afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSeries, splitMbox, patchInfo } from '../../../src/gate/series.js';
import { ScratchRepo } from '../../../src/gate/apply.js';

const work = mkdtempSync(join(tmpdir(), 'kgate-gate-unit-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const repo = join(work, 'linux');
const g = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'A U Thor', GIT_AUTHOR_EMAIL: 'a@example.org', GIT_COMMITTER_NAME: 'C', GIT_COMMITTER_EMAIL: 'c@example.org', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' } }).trim();
const state = () => [g('rev-parse', 'HEAD'), g('status', '--porcelain'), g('stash', 'list'), g('worktree', 'list', '--porcelain'), g('for-each-ref')].join('\n--\n');

mkdirSync(join(repo, 'fs', 'fuse'), { recursive: true });
g('init', '-q');
writeFileSync(join(repo, 'fs', 'fuse', 'passthrough.c'), 'int check(void)\n{\n\treturn -EISDIR;\n}\n');
writeFileSync(join(repo, 'README'), 'linux\n');
g('add', '-A'); g('commit', '-qm', 'base'); g('tag', 'base');
writeFileSync(join(repo, 'fs', 'fuse', 'passthrough.c'), 'int check(void)\n{\n\treturn 0;\n}\n');
g('commit', '-qam', 'fuse: accept any backing file');
writeFileSync(join(repo, 'README'), 'linux kernel\n');
g('commit', '-qam', 'README: say kernel');
const mbox = join(work, 'v1.mbox');
writeFileSync(mbox, g('format-patch', '--stdout', 'base..HEAD') + '\n');
const dir = join(work, 'v1-dir');
mkdirSync(dir);
g('format-patch', '-q', '-o', dir, 'base..HEAD');
g('checkout', '-q', 'base');
// A revision that cannot apply: it changes a line base does not have.
const bad = join(work, 'bad.mbox');
writeFileSync(bad, readFileSync(mbox, 'utf8').replace(/^-\treturn -EISDIR;$/m, '-\treturn -ENOTTY;'));

test('an mbox, a patch directory and a range give the same series, with each patch\'s metadata', async () => {
  const a = await readSeries(`V1=${mbox}`, 0, repo);
  const b = await readSeries(dir, 1, repo);
  const c = await readSeries('base..master', 2, repo).catch(() => readSeries('base..main', 2, repo));
  assert.equal(a.label, 'V1');
  assert.equal(b.label, 'V2');
  for (const s of [a, b, c]) {
    assert.deepEqual(s.patches.map((p) => p.subject), ['fuse: accept any backing file', 'README: say kernel']);
    assert.deepEqual(s.files, ['README', 'fs/fuse/passthrough.c']);
  }
  assert.match(a.patches[0].author ?? '', /A U Thor <a@example\.org>/);
  assert.equal(patchInfo('Subject: [PATCH v9 2/7] fuse: x\n yz\nMessage-Id: <1@x>\n\nbody', 2).subject, 'fuse: x yz');
  assert.equal(patchInfo('Message-ID: <abc@lore>\nSubject: s\n\n', 1).messageId, 'abc@lore');
  assert.equal(splitMbox(readFileSync(mbox, 'utf8')).length, 2);
  await assert.rejects(readSeries(join(work, 'nope'), 0, repo), /not a file, a directory of patches or a git range/);
  await assert.rejects(readSeries('base..nosuch', 0, repo), /'nosuch' is not a commit/);
});

test('git am -3 in the scratch repository: same commits every time, the user\'s repository untouched', async () => {
  const before = state();
  const base = g('rev-parse', 'base');
  const s = await readSeries(mbox, 0, repo);
  const r1 = await ScratchRepo.create(repo, s.files);
  const r2 = await ScratchRepo.create(repo, s.files);
  try {
    const a = await r1.apply(base, s);
    const b = await r2.apply(base, s);
    assert.equal(a.commits.length, 2);
    assert.equal(a.head, b.head, 'deterministic hashes, so the build cache knows a revision again');
    assert.equal(execFileSync('git', ['-C', r1.dir, 'show', `${a.commits[0]}:fs/fuse/passthrough.c`], { encoding: 'utf8' }).includes('return 0;'), true);
    // Only the touched files are checked out.
    assert.ok(existsSync(join(r1.dir, 'fs', 'fuse', 'passthrough.c')));
  } finally {
    await r1.dispose();
    await r2.dispose();
  }
  assert.ok(!existsSync(r1.dir));
  assert.equal(state(), before);
});

test('a patch that does not apply: one line naming the revision, the patch and git\'s reason; repository untouched', async () => {
  const before = state();
  const s = await readSeries(`V2=${bad}`, 1, repo);
  const r = await ScratchRepo.create(repo, s.files);
  try {
    await assert.rejects(r.apply(g('rev-parse', 'base'), s), (e: Error & { family?: string }) => {
      assert.equal(e.family, 'user');
      assert.match(e.message, /^V2 \(.*bad\.mbox\) does not apply on [0-9a-f]{12}: patch 1\/2 "fuse: accept any backing file": (error|CONFLICT)/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  } finally {
    await r.dispose();
  }
  assert.equal(state(), before);
});
