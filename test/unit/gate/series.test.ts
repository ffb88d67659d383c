// The series as it is posted: its base (base-commit:), its cover letter's
// subject and version, from an mbox, a patch directory and a b4 prep range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseCommitOf, coverOf, readSeries } from '../../../src/gate/series.js';

test('coverOf: the 0/N subject and its version; a patch subject is no cover', () => {
  assert.deepEqual(coverOf('[PATCH v3 0/5] fuse: passthrough for all'), { subject: 'fuse: passthrough for all', version: 'v3' });
  assert.deepEqual(coverOf('[RFC PATCH 00/12] fuse: x'), { subject: 'fuse: x' });
  assert.deepEqual(coverOf('[PATCH v2 net-next 0/3] y'), { subject: 'y', version: 'v2' });
  assert.equal(coverOf('[PATCH v3 1/5] fuse: one'), undefined);
  assert.equal(coverOf('fuse: no prefix'), undefined);
});

test('baseCommitOf: the last base-commit: line, as format-patch --base and b4 write it', () => {
  assert.equal(baseCommitOf('text\n---\nbase-commit: 0123456789abcdef0123456789abcdef01234567\nchange-id: x\n'), '0123456789abcdef0123456789abcdef01234567');
  assert.equal(baseCommitOf('> base-commit: 0123456\n'), undefined, 'a quoted line is not the series\'s');
  assert.equal(baseCommitOf('no base here'), undefined);
});

function repo(): { dir: string; git: (...a: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-series-'));
  const git = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], {
    encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@example.org', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@example.org' },
  }).trim();
  git('init', '-q', '-b', 'master');
  writeFileSync(join(dir, 'f.c'), 'int x;\n');
  git('add', '.');
  git('commit', '-q', '-m', 'base');
  return { dir, git };
}

test('an mbox and a patch directory from git format-patch --cover-letter --base: base, cover subject and version, the patches without the cover', async () => {
  const { dir, git } = repo();
  try {
    const base = git('rev-parse', 'HEAD');
    git('checkout', '-q', '-b', 'topic');
    writeFileSync(join(dir, 'f.c'), 'int x;\nint y;\n');
    git('commit', '-qam', 'fuse: add y');
    const out = join(dir, 'out');
    git('format-patch', '-q', '--cover-letter', '--base=master', '-v3', '-o', out, 'master..topic');
    // format-patch leaves the cover's subject to fill in: as an author would.
    for (const f of execFileSync('ls', [out], { encoding: 'utf8' }).split('\n').filter((x) => x.includes('0000'))) {
      const p = join(out, f);
      writeFileSync(p, execFileSync('sed', ['s/\\*\\*\\* SUBJECT HERE \\*\\*\\*/fuse: y for all/', p], { encoding: 'utf8' }));
    }
    const s = await readSeries(out, 0, dir);
    assert.equal(s.baseCommit, base);
    assert.deepEqual(s.cover, { subject: 'fuse: y for all', version: 'v3' });
    assert.equal(s.label, 'V3', 'named by its version when the user did not name it');
    assert.deepEqual(s.patches.map((p) => p.subject), ['fuse: add y']);
    const named = await readSeries(`mine=${out}`, 0, dir);
    assert.equal(named.label, 'mine');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a b4 prep range: the empty cover-letter commit names the revision and is not a patch; the base is the range\'s start', async () => {
  const { dir, git } = repo();
  try {
    const base = git('rev-parse', 'HEAD');
    git('checkout', '-q', '-b', 'b4/y');
    git('commit', '-q', '--allow-empty', '-m', 'fuse: y for all\n\nWhy y.\n\n--- b4-submit-tracking ---\n# This section is used internally by b4 prep for tracking purposes.\n{\n  "series": {\n    "revision": 2,\n    "change-id": "20261206-y-0123",\n    "prefixes": []\n  }\n}\n');
    writeFileSync(join(dir, 'f.c'), 'int x;\nint y;\n');
    git('commit', '-qam', 'fuse: add y');
    const s = await readSeries('master..b4/y', 0, dir);
    assert.equal(s.baseCommit, base);
    assert.deepEqual(s.cover, { subject: 'fuse: y for all', version: 'v2' });
    assert.equal(s.label, 'V2');
    assert.deepEqual(s.patches.map((p) => p.subject), ['fuse: add y'], 'the cover commit is not applied');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
