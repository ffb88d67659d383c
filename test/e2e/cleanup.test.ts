// Nothing outlives a run on the host: not a case stuck in the kernel waiting
// for its server, not the server, not their mounts; whether the harness is
// SIGKILLed by a runner or kgate itself is interrupted with Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, kgateBin, isRoot, tempDir } from './helpers.js';
import { pidsWhere } from './procs.js';

const skip = !isRoot() || !existsSync('/dev/fuse') ? 'needs root and /dev/fuse' : false;
const selftest = join(root, 'build', 'bin', 'kgate-selftest');

const pidsOf = (binary: string) => pidsWhere((a) => a === binary);

async function gone(binary: string, ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let left = pidsOf(binary);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = pidsOf(binary);
  }
  return left;
}

test('harness SIGKILLed while its case waits in the kernel for a server: case, server and mount all go', { skip }, async () => {
  await execa('node', [kgateBin, 'build', '--family', 'selftest'], { cwd: root });
  const h = execa(selftest, ['K1.hang'], { reject: false });
  await new Promise((r) => setTimeout(r, 1000));
  const before = pidsOf(selftest);
  assert.ok(before.length >= 3, `harness, case and server running: ${before}`);
  h.kill('SIGKILL');
  await h;
  assert.deepEqual(await gone(selftest, 3000), [], 'no process of the suite left');
});

test('Ctrl-C on kgate run --target local mid-case: exit 130, nothing left, results kept', { skip }, async () => {
  const results = tempDir('kgate-e2e-int-');
  const run = execa('node', [kgateBin, 'run', '--target', 'local', '--case', 'U01,K1.hang', '--results', results],
    { cwd: root, reject: false, env: { CI: '1' } });
  // Wait for U01's results and the start of the selftest family, then interrupt while K1.hang hangs.
  let seen = '';
  await new Promise<void>((resolve) => {
    run.stderr!.on('data', (b: Buffer) => { seen += b.toString(); if (/PASS\s+U01\.minus_one[\s\S]*selftest: /.test(seen)) resolve(); });
  });
  await new Promise((r) => setTimeout(r, 500));
  run.kill('SIGINT');
  const r = await run;
  assert.equal(r.exitCode, 130, String(r.stderr));
  assert.deepEqual(await gone(selftest, 3000), []);
  const dir = join(results, readdirSync(results)[0]);
  const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  const status = Object.fromEntries(saved.cases.map((c: { id: string; status: string }) => [c.id, c.status]));
  assert.equal(status['U01.minus_one'], 'PASS', 'the results obtained before Ctrl-C are kept');
  assert.equal(status['K1.hang'], 'MISS');
});
