import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { staleScratch } from '../../../src/util/scratch.js';

test('the temp dirs of a kgate that is gone are stale; those of a live process, another prefix or no pid are not', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgate-scratch-test-'));
  try {
    const dead = execa('true');
    await dead;
    const live = execa('sleep', ['30']);
    mkdirSync(path.join(dir, `kgate-guest-${dead.pid}-abc`));
    mkdirSync(path.join(dir, `kgate-guest-${live.pid}-def`));
    mkdirSync(path.join(dir, `kgate-guest-${process.pid}-ghi`));
    mkdirSync(path.join(dir, `kgate-keys-${dead.pid}-jkl`));
    mkdirSync(path.join(dir, 'kgate-guest-XYZ123'));
    assert.deepEqual(staleScratch('kgate-guest-', dir), [path.join(dir, `kgate-guest-${dead.pid}-abc`)]);
    live.kill('SIGKILL');
    await live.catch(() => {});
    assert.equal(staleScratch('kgate-guest-', dir).length, 2, 'stale once its process has ended');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
