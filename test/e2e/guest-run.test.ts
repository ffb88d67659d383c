// `kgate run` end to end: real QEMU guests (TCG here), real Debian kernels, the
// real suite over SSH. These are the runs a user makes; each asserts what the
// user would check: the exit code, and the statuses in results.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { kgate, assertNotSaid, assertSaid, assertStatus, hasQemu, isRoot, tempDir } from './helpers.js';
import { selectCases } from '../../src/catalog/index.js';
import { orphanQemus, qemuPids } from './procs.js';

const skip = !hasQemu() ? 'qemu-system-x86_64 is not installed' : false;
const ACCEPTABLE = new Set(['PASS', 'XFAIL', 'SKIP']);

function assertNoGuestLeft(before: Set<number>) {
  // Orphans only: a guest of another kgate running on the machine is not this run's.
  assert.deepEqual(orphanQemus(before), [], 'every qemu the run started is gone');
}

test('debian:6.12: every upstream case PASS, XFAIL or SKIP with a reason; exit 0', { skip }, async () => {
  const before = qemuPids();
  const r = await kgate(['run', '--kernel', 'debian:6.12', '--api', 'upstream']);
  assert.ok(r.run, `results.json written; stderr: ${r.stderr}`);
  const upstream = selectCases({ apis: ['upstream'] }).map((c) => c.id);
  for (const id of upstream) {
    const c = r.run!.cases.find((x) => x.id === id);
    assert.ok(c, `${id} reported`);
    assert.ok(ACCEPTABLE.has(c!.status), `${id}: ${c!.status} ${c!.reason ?? ''}`);
    if (c!.status !== 'PASS') assert.ok(c!.reason && c!.reason.length > 3, `${id} ${c!.status} has a reason`);
  }
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.run!.kernel?.release ?? '', /^6\.12\./);
  // The guest booted with the suite in its image: nothing uploaded, and metadata.json names the binaries that ran.
  assertSaid(r.stderr, /target note: qemu: 6\.12\.\S+ up, .* with the suite \(\d+ binaries\)/);
  assertNotSaid(r.stderr, /suite note: qemu: uploaded/);
  const meta = JSON.parse(readFileSync(join(r.resultsDir, 'metadata.json'), 'utf8')) as { suite?: { binaries?: unknown } };
  assert.ok(meta.suite, 'metadata.json names the suite');
  // The happy path really went through the backing file, not the server.
  assertStatus(r, 'H1.read', 'PASS');
  assert.ok(existsSync(join(r.resultsDir, 'console.log')), 'console captured');
  assert.ok(existsSync(join(r.resultsDir, 'junit.xml')), 'junit written');
  assertNoGuestLeft(before);
});

test('debian:6.1 (no passthrough): every case that needs passthrough SKIP with that reason, the few that do not (CLONE, DIRECT_IO mmap) run; exit 0', { skip }, async () => {
  const r = await kgate(['run', '--kernel', 'debian:6.1', '--api', 'upstream']);
  assert.ok(r.run, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.run!.kernel?.release ?? '', /^6\.1\./);
  const upstream = selectCases({ apis: ['upstream'] });
  assert.deepEqual(r.run!.cases.map((c) => c.id).sort(), upstream.map((c) => c.id).sort(), 'every upstream case reported');
  for (const c of r.run!.cases) {
    if (upstream.find((d) => d.id === c.id)!.needsPassthrough) {
      assert.equal(c.status, 'SKIP', `${c.id}: ${c.status} ${c.reason ?? ''}`);
      assert.match(c.reason ?? '', /no FUSE passthrough/, `${c.id} says why`);
    } else {
      // What passthrough builds on (FUSE_DEV_IOC_CLONE since 4.2, FOPEN_DIRECT_IO's mmap rule) is tested here too.
      assert.ok(['PASS', 'XFAIL'].includes(c.status), `${c.id}: ${c.status} ${c.reason ?? ''}`);
    }
  }
  assert.ok(r.run!.cases.some((c) => c.status === 'SKIP') && r.run!.cases.filter((c) => c.status !== 'SKIP').length < 10, 'almost everything SKIPs');
});

test('a kernel panic during a case: that case CRASH, the rest still reported; exit 1', { skip }, async () => {
  const before = qemuPids();
  const r = await kgate(['run', '--kernel', 'debian:6.12', '--case', 'K2.panic,K3.pass,U01'], { KGATE_ALLOW_PANIC: '1' });
  assert.ok(r.run, r.stderr);
  assertStatus(r, 'K2.panic', 'CRASH');
  const crash = r.run!.cases.find((c) => c.id === 'K2.panic')!;
  assert.match(crash.reason ?? '', /panic/i);
  assert.ok((crash.console ?? []).some((l) => /Kernel panic/.test(l)), 'console excerpt kept');
  assertStatus(r, 'K3.pass', 'PASS', 'the case after the crash ran on a fresh guest');
  for (const c of r.run!.cases.filter((c) => c.id.startsWith('U01'))) assert.equal(c.status, 'PASS', c.id);
  assert.equal(r.code, 1);
  assertNoGuestLeft(before);
});

test('two lanes: a panic in one lane\'s case while the other lane runs a family: the panic is that case\'s alone, the other family runs again on the restarted guest and passes', { skip }, async () => {
  const before = qemuPids();
  const r = await kgate(['run', '--kernel', 'debian:6.12', '--case', 'K2.panic,H1,H2,H10'], { KGATE_ALLOW_PANIC: '1' });
  assert.ok(r.run, r.stderr);
  assertSaid(r.stderr, /target note: qemu: .* up, .*; 2 lanes/);
  assertSaid(r.stderr, /data-path: \d+ case\(s\) on qemu\/\d/);
  assertSaid(r.stderr, /selftest: 1 case\(s\) on qemu\/\d/);
  assertStatus(r, 'K2.panic', 'CRASH');
  const data = r.run!.cases.filter((c) => c.family === 'data-path');
  assert.ok(data.length >= 5, r.stderr);
  for (const c of data) assert.equal(c.status, 'PASS', `${c.id}: ${c.status} ${c.reason ?? ''}`);
  assert.deepEqual(r.run!.problems, []);
  assert.equal(r.code, 1);
  assertNoGuestLeft(before);
});

test('a case that hangs: TIMEOUT, the rest still run; exit 1', { skip }, async () => {
  const r = await kgate(['run', '--kernel', 'debian:6.12', '--case', 'K1.hang,K3.pass']);
  assert.ok(r.run, r.stderr);
  assertStatus(r, 'K1.hang', 'TIMEOUT');
  assertStatus(r, 'K3.pass', 'PASS');
  assert.equal(r.code, 1);
});

test('a binary that stops answering altogether: TIMEOUT by the runner\'s deadline, guest restarted, the rest run', { skip }, async () => {
  const before = qemuPids();
  const r = await kgate(['run', '--kernel', 'debian:6.12', '--case', 'K4.wedge,K3.pass']);
  assert.ok(r.run, r.stderr);
  assertStatus(r, 'K4.wedge', 'TIMEOUT');
  assert.match(r.run!.cases.find((c) => c.id === 'K4.wedge')!.reason ?? '', /harness did not end it/);
  assertStatus(r, 'K3.pass', 'PASS', 'ran on the restarted guest');
  assertSaid(r.stderr, /restart done/);
  assert.equal(r.code, 1);
  assertNoGuestLeft(before);
});

test('a kernel that cannot boot: exit 125 with kgate\'s one line saying the guest did not boot', { skip }, async () => {
  const dir = tempDir('kgate-badkernel-');
  const { cachedKernelImage } = await import('../../src/kernel/debian.js');
  const good = cachedKernelImage('6.12');
  if (!good) return; // the debian:6.12 test above fetches it
  // A real bzImage of its full size whose compressed kernel is zeroed: QEMU loads it (not truncated, so kgate
  // does not refuse it up front), the decompressor fails, nothing ever answers.
  const img = readFileSync(good);
  img.fill(0, Math.floor(img.length / 3));
  const bad = join(dir, 'bzImage');
  writeFileSync(bad, img);
  const before = qemuPids();
  const r = await kgate(['run', '--kernel', bad, '--case', 'K3.pass', '--boot-timeout', '30']);
  assert.equal(r.code, 125, r.stderr);
  assertSaid(r.stderr, /guest did not boot/);
  assertNoGuestLeft(before);
});

test('a bzImage given without its modules (no network in the guest): exit 125 in bounded time, and the console says why', { skip }, async () => {
  const { cachedKernelImage } = await import('../../src/kernel/debian.js');
  const bz = cachedKernelImage('6.12');
  if (!bz) return; // the debian:6.12 test above fetches it
  const before = qemuPids();
  const t0 = Date.now();
  const r = await kgate(['run', '--kernel', bz, '--case', 'K3.pass']);
  assert.equal(r.code, 125, r.stderr);
  assert.ok(Date.now() - t0 < 90_000, 'SSH login deadline held');
  assertSaid(r.stderr, /guest did not boot: SSH never accepted a login/);
  assert.match(r.stderr, /\| init: no network device eth0: virtio_net missing\?/);
  assertNoGuestLeft(before);
});

test('--jobs 2: the suite sharded over two guests gives the same verdict', { skip }, async () => {
  const r = await kgate(['run', '--kernel', 'debian:6.12', '--jobs', '2', '--family', 'ioctl-open,ioctl-close']);
  assert.ok(r.run, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.run!.cases.length > 5);
  for (const c of r.run!.cases) assert.ok(ACCEPTABLE.has(c.status), `${c.id}: ${c.status}`);
});

test('--target local: the suite on this machine\'s kernel', { skip: !isRoot() || !existsSync('/dev/fuse') ? 'needs root and /dev/fuse' : false }, async () => {
  const r = await kgate(['run', '--target', 'local', '--api', 'upstream']);
  assert.ok(r.run, r.stderr);
  for (const c of r.run!.cases) {
    assert.ok(ACCEPTABLE.has(c.status), `${c.id}: ${c.status} ${c.reason ?? ''}`);
  }
  assert.equal(r.code, 0, r.stderr);
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  assert.doesNotMatch(mounts, /kgate/, 'no mount left behind');
});
