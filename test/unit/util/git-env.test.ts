import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git, gitFreeEnv } from '../../../src/util/git.js';

test('git() ignores a GIT_DIR from the environment (git bisect run exports it in a linked worktree)', async () => {
  const user = mkdtempSync(path.join(os.tmpdir(), 'kgate-user-'));
  const mine = mkdtempSync(path.join(os.tmpdir(), 'kgate-mine-'));
  const saved = process.env.GIT_DIR;
  try {
    await git(user, ['init', '--quiet']);
    process.env.GIT_DIR = path.join(user, '.git');
    await git(mine, ['init', '--quiet']);
    const gitDir = (await git(mine, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
    assert.equal(realpathSync(gitDir), realpathSync(path.join(mine, '.git')), 'kgate\'s repository, not the one GIT_DIR names');
    assert.equal(gitFreeEnv().GIT_DIR, undefined);
    assert.equal(gitFreeEnv({ X: '1' }).X, '1');
  } finally {
    if (saved === undefined) delete process.env.GIT_DIR; else process.env.GIT_DIR = saved;
    rmSync(user, { recursive: true, force: true });
    rmSync(mine, { recursive: true, force: true });
  }
});
