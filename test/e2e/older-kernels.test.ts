// `kgate run` on real kernels of the older passthrough APIs (../shared/kernels
// beside the checkout: Android V1 with ioctl 127, Android V2; its README says
// what each is). What kgate says is asserted, case by case: every case of the
// generation the kernel speaks PASS, every other case SKIP with the kernel's
// reason, the happy path served by the backing file, and the generation named
// in results.json and the summary. TCG: this is not about acceleration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kgate, hasQemu, root } from './helpers.js';
import { selectCases } from '../../src/catalog/index.js';
import type { CaseResult } from '../../src/model.js';

const KERNELS = resolve(root, '..', 'shared', 'kernels');

const ON = [
  { file: 'linux-5.10.223-android-v1-127.bzImage', api: 'a1', speaks: 'a1 (ioctl 127)', happy: 'A5.rw' },
  { file: 'linux-5.10.223-android-v2.bzImage', api: 'a2', speaks: 'a2', happy: 'A6.rw' },
];

for (const k of ON) {
  const image = join(KERNELS, k.file);
  const skip = !hasQemu() ? 'qemu-system-x86_64 is not installed'
    : !existsSync(image) ? `${image} is absent (CI has ../shared/kernels; a clone alone does not)` : false;

  test(`${k.file}: its ${k.api} cases PASS, every other case SKIP "kernel speaks ${k.speaks}"; exit 0`, { skip }, async () => {
    const r = await kgate(['run', '--kernel', image, '--accel', 'tcg']);
    assert.ok(r.run, `results.json written; stderr: ${r.stderr.slice(-2000)}`);
    const want = selectCases();
    assert.deepEqual(r.run!.cases.map((c) => c.id).sort(), want.map((c) => c.id).sort(), 'every case of the default selection reported');
    const mine = want.filter((c) => c.api === k.api);
    assert.ok(mine.length >= 8, `${k.api} has cases (${mine.length})`);
    for (const def of want) {
      const c: CaseResult = r.run!.cases.find((x) => x.id === def.id)!;
      const what = `${c.id}: ${c.status} ${c.reason ?? ''} (observed ${c.observed ?? '-'})`;
      if (def.api === k.api) assert.equal(c.status, 'PASS', what);
      // An upstream case that needs no passthrough (FUSE_DEV_IOC_CLONE, the DIRECT_IO mmap rule) runs on any kernel.
      else if (!def.needsPassthrough) assert.ok(['PASS', 'XFAIL'].includes(c.status), what);
      else {
        assert.equal(c.status, 'SKIP', what);
        assert.equal(c.reason, `kernel speaks ${k.speaks}`, what);
      }
      assert.equal(c.kernel?.speaks, k.speaks, `${c.id} says what the kernel speaks in results.json`);
    }
    // the happy path: the registered file's bytes, and nothing at the server
    const happy = r.run!.cases.find((c) => c.id === k.happy)!;
    assert.equal(happy.details?.fuse_read, '0', k.happy);
    assert.equal(happy.details?.fuse_write, '0', k.happy);
    assert.equal(happy.details?.bytes, '4096', k.happy);
    assert.equal(r.run!.kernel?.speaks, k.speaks, 'the run\'s kernel says it too');
    const meta = JSON.parse(readFileSync(join(r.resultsDir, 'metadata.json'), 'utf8')) as { kernel?: { speaks?: string } };
    assert.equal(meta.kernel?.speaks, k.speaks, 'metadata.json');
    assert.ok(readFileSync(join(r.resultsDir, 'junit.xml'), 'utf8').includes(`<property name="kernel.speaks" value="${k.speaks}"/>`), 'junit.xml');
    assert.match(r.stdout + r.stderr, new RegExp(`Verdict: PASS: ${want.length} cases as expected; kernel speaks ${k.speaks.replace(/[()]/g, '\\$&')}`));
    assert.equal(r.code, 0, r.stderr.slice(-2000));
  });

  test(`${k.file}: the happy path ${k.happy} can fail: a server that drops the id fails it on FUSE_READ; exit 1`, { skip }, async () => {
    const r = await kgate(['run', '--kernel', image, '--case', k.happy, '--accel', 'tcg'], { KGATE_FAULT: 'no-passthrough' });
    assert.ok(r.run, `results.json written; stderr: ${r.stderr.slice(-2000)}`);
    const c = r.run!.cases.find((x) => x.id === k.happy);
    assert.deepEqual([c?.status, c?.observed], ['FAIL', 'FUSE_READ'], c?.reason);
    assert.notEqual(c?.details?.fuse_read, '0');
    assert.equal(r.code, 1);
  });
}
