// kgate run --shard I/N and kgate merge, on the host (--target local): two
// shards merged are the unsharded run case by case; shards that do not belong
// together are refused in one line. The nightly's shards are tested with real
// guests in tree-nightly.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { RunResult } from '../../src/model.js';
import { assertSaid, isRoot, kgateBin, tempDir } from './helpers.js';

const skip = !isRoot() || !existsSync('/dev/fuse') ? 'needs root and /dev/fuse' : false;
const kgate = (args: string[], env: Record<string, string> = {}) => execa('node', [kgateBin, ...args], { reject: false, env: { CI: '1', ...env } });
const cases = (r: RunResult) => r.cases.map((c) => `${c.id} ${c.status} ${c.observed ?? ''}`);
const only = (root: string) => join(root, readdirSync(root)[0]);
const runOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;

test('run --shard 1/2 and 2/2 (the second from GitLab\'s CI_NODE_INDEX/TOTAL), merged: the unsharded run, case by case', { skip }, async () => {
  const [a, b, all] = [tempDir('kgate-shard-a-'), tempDir('kgate-shard-b-'), tempDir('kgate-shard-all-')];
  const sel = ['--target', 'local', '--family', 'ioctl-open,ioctl-close'];
  const r1 = await kgate(['run', ...sel, '--shard', '1/2', '--results', a]);
  const r2 = await kgate(['run', ...sel, '--results', b], { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' });
  const r0 = await kgate(['run', ...sel, '--results', all]);
  for (const r of [r1, r2, r0]) assert.equal(r.exitCode, 0, r.stderr);
  const [s1, s2, whole] = [runOf(only(a)), runOf(only(b)), runOf(only(all))];
  assert.deepEqual([s1.shard?.index, s2.shard?.index], [1, 2]);
  assert.ok(s1.cases.length > 0 && s2.cases.length > 0 && Math.abs(s1.cases.length - s2.cases.length) <= 1, 'the shards split the cases evenly');
  const out = join(tempDir('kgate-merged-'), 'm');
  const m = await kgate(['merge', only(a), only(b), '--out', out]);
  assert.equal(m.exitCode, 0, m.stderr);
  assert.deepEqual(cases(runOf(out)), cases(whole));
  assert.ok(existsSync(join(out, 'junit.xml')));

  // The same shard twice, a missing shard, a shard of another selection: one line each, exit 2.
  const other = tempDir('kgate-shard-other-');
  await kgate(['run', '--target', 'local', '--family', 'ioctl-open', '--shard', '2/2', '--results', other]);
  for (const [dirs, why] of [[[only(a), only(a)], /both shard 1\/2/], [[only(a), only(other)], /different runs/], [[only(a), only(all)], /not a shard/]] as const) {
    const r = await kgate(['merge', ...dirs, '--out', join(tempDir('kgate-merged-'), 'x')]);
    assert.equal(r.exitCode, 2, r.stderr);
    assertSaid(r.stderr, new RegExp(`.*${why.source}`));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
