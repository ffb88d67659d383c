import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, utimesSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostFact, resolveOnPath } from '../../../src/util/host-fact.js';

test('a host fact is asked once, and again when a file that decides it changes; a cache that cannot be written only costs the asking', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-fact-'));
  const old = process.env.KGATE_CACHE;
  process.env.KGATE_CACHE = join(dir, 'cache');
  try {
    const tool = join(dir, 'tool');
    writeFileSync(tool, 'v1');
    let asked = 0;
    const ask = async () => `answer ${++asked}`;
    assert.equal(await hostFact('tool --version', [tool], ask), 'answer 1');
    assert.equal(await hostFact('tool --version', [tool], ask), 'answer 1', 'kept');
    assert.equal(await hostFact('other --version', [tool], ask), 'answer 2', 'another question is asked on its own');
    writeFileSync(tool, 'v2, upgraded');
    utimesSync(tool, new Date(), new Date(Date.now() + 5000));
    assert.equal(await hostFact('tool --version', [tool], ask), 'answer 3', 'the tool changed: asked again');
    rmSync(join(dir, 'cache'), { recursive: true, force: true });
    writeFileSync(join(dir, 'cache'), 'not a directory');
    assert.equal(await hostFact('tool --version', [tool], ask), 'answer 4');
    assert.equal(await hostFact('tool --version', [tool], ask), 'answer 5', 'nowhere to keep it: asked each time, no error');
  } finally {
    if (old === undefined) delete process.env.KGATE_CACHE; else process.env.KGATE_CACHE = old;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resolveOnPath: a command as the shell finds it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-path-'));
  try {
    writeFileSync(join(dir, 'mycc'), '#!/bin/sh\n');
    chmodSync(join(dir, 'mycc'), 0o755);
    assert.equal(resolveOnPath('mycc', { PATH: `/nonexistent:${dir}` }), join(dir, 'mycc'));
    assert.equal(resolveOnPath('nope', { PATH: dir }), undefined);
    assert.equal(resolveOnPath(join(dir, 'mycc'), { PATH: '' }), join(dir, 'mycc'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
