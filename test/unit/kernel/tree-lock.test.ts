import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockTree } from '../../../src/kernel/tree/source.js';

test('lockTree: two builds of one kgate take turns on a tree (the lock file names a pid both share)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-lock-'));
  try {
    const said: string[] = [];
    const first = await lockTree(dir, (l) => said.push(l));
    let secondHeld = false;
    const second = lockTree(dir, (l) => said.push(l)).then((unlock) => { secondHeld = true; return unlock; });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(secondHeld, false, 'the second waits while the first holds the tree');
    assert.deepEqual(said, [`waiting for this kgate's other build in ${dir}`]);
    first();
    const unlock = await second;
    assert.equal(secondHeld, true);
    unlock();
    (await lockTree(dir, () => {}))();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
