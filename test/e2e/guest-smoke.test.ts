// A real guest under --accel auto (KVM is tried where /dev/kvm can be opened and,
// where it fails, abandoned for TCG): boot Debian's 6.12 and 6.1 cloud kernels,
// log in over the pinned SSH transport, upload a static binary, run it, stop,
// and check that the QEMU we started is gone, after stop() and after an abort.
// Prints the timings, and which of the machines kgate meets this one is: no
// usable /dev/kvm, a KVM that works, or a KVM that fails at boot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGuest, stopGuest } from '../../src/runner/guest.js';
import { kvmUsable } from '../../src/runner/qemu.js';
import { buildImage } from '../../src/runner/image.js';
import { resolveKernel, parseKernelSpec } from '../../src/kernel/index.js';
import { KgateError } from '../../src/model.js';

function have(cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}
const skip = !have('qemu-system-x86_64') ? 'qemu-system-x86_64 missing'
  : !have('cc') ? 'cc missing'
  : !have('dropbearkey') ? 'dropbear-bin missing' : false;

/** QEMU processes that are children of this test process. */
function ourQemus(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && stat.includes('(qemu-system')) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}
function gone(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return true; }
  // A zombie still answers kill(0): look at its state.
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true; } catch { return true; }
}

const work = mkdtempSync(join(tmpdir(), 'kgate-guest-smoke-'));
let hello = '';
test.before(() => {
  if (skip) return;
  const src = join(work, 'hello.c');
  writeFileSync(src, '#include <stdio.h>\n#include <sys/utsname.h>\nint main(int c, char **v){struct utsname u; uname(&u); printf("hello from %s argc=%d\\n", u.release, c); fflush(stdout); fprintf(stderr, "to stderr\\n"); return 3;}\n');
  hello = join(work, 'hello');
  execFileSync('cc', ['-static', '-O2', '-o', hello, src]);
});
test.after(() => rmSync(work, { recursive: true, force: true }));

for (const spec of ['debian:6.12', 'debian:6.1']) {
  test(`${spec}: boot under --accel auto, upload and run a static binary, stop`, { skip, timeout: 300_000 }, async (t) => {
    const kernel = await resolveKernel({ spec: parseKernelSpec(spec) });
    // Cold image into a scratch cache, then warm: the numbers the report quotes.
    const cache = join(work, `cache-${spec.replace(/\W/g, '_')}`);
    const cold = await buildImage({ kernel, cacheDir: cache });
    const warm = await buildImage({ kernel, cacheDir: cache });
    assert.equal(cold.cached, false);
    assert.equal(warm.cached, true);
    assert.equal(warm.path, cold.path);

    const runDir = join(work, `run-${spec.replace(/\W/g, '_')}`);
    const notes: string[] = [];
    const ac = new AbortController();
    const g = await startGuest({ kernel, accel: 'auto', runDir, signal: ac.signal, onNote: (n) => notes.push(n) });
    try {
      assert.match(g.kernel.release, new RegExp(`^${spec.slice('debian:'.length).replace('.', '\\.')}\\.`));
      // What auto must have done on each kind of machine.
      const machine = !kvmUsable().ok ? `no usable /dev/kvm (${kvmUsable().why})`
        : g.accel === 'kvm' ? 'KVM works' : `KVM fails (${g.accelNote ?? 'no note'})`;
      t.diagnostic(`machine: ${machine}`);
      if (!kvmUsable().ok) assert.equal(g.accel, 'tcg', 'no KVM to try: TCG at once');
      if (!kvmUsable().ok) assert.match(g.accelNote ?? '', /^TCG: \/dev\/kvm /, 'says why KVM was not tried, and nothing fell back');
      // Tried and failed now, or failed within the day and remembered (src/runner/kvm-memory.ts).
      if (kvmUsable().ok && g.accel === 'tcg') assert.match(g.accelNote ?? '', /^(fell back to TCG: KVM failed|KVM failed on this host on )/);
      const t0 = performance.now();
      await g.transport.upload(hello, '/tmp/hello', 0o755);
      const out: string[] = [];
      const err: string[] = [];
      const r = await g.transport.exec('/tmp/hello a b', { onStdout: (l) => out.push(l), onStderr: (l) => err.push(l), timeoutMs: 30_000 });
      const runMs = performance.now() - t0;
      assert.equal(r.code, 3);
      assert.deepEqual(out, [`hello from ${g.kernel.release} argc=3`]);
      assert.deepEqual(err, ['to stderr']);
      // A command that outlives its deadline is reported, not waited for.
      const hung = await g.transport.exec('sleep 30', { timeoutMs: 500 });
      assert.equal(hung.killed, 'timeout');
      const still = await g.transport.exec('echo alive', { timeoutMs: 10_000 });
      assert.equal(still.code, 0);
      t.diagnostic(`${spec} ${g.kernel.release} accel=${g.accel}${g.accelNote ? ` (${g.accelNote})` : ''}`);
      t.diagnostic(`${spec} image cold ${Math.round(cold.ms)} ms (${cold.bytes} bytes), warm ${Math.round(warm.ms)} ms`);
      t.diagnostic(`${spec} boot to ready marker ${g.timings.boot} ms, marker to SSH login ${g.timings.ssh} ms, startGuest total ${g.timings.total} ms`);
      t.diagnostic(`${spec} upload+run of one static binary ${Math.round(runMs)} ms`);
      const log = readFileSync(join(runDir, 'console.log'), 'utf8');
      assert.match(log, /kgate: guest ready /);
    } finally {
      await stopGuest(g);
    }
    assert.ok(gone(g.guest.pid), `qemu ${g.guest.pid} still running after stopGuest`);
  });
}

test('an abort kills the guest, after boot and during boot', { skip, timeout: 300_000 }, async () => {
  const kernel = await resolveKernel({ spec: parseKernelSpec('debian:6.12') });
  const ac = new AbortController();
  const g = await startGuest({ kernel, accel: 'tcg', runDir: join(work, 'abort'), signal: ac.signal });
  ac.abort();
  await g.guest.exited;
  assert.ok(gone(g.guest.pid));
  await stopGuest(g);

  const ac2 = new AbortController();
  const p = startGuest({ kernel, accel: 'tcg', runDir: join(work, 'abort2'), signal: ac2.signal });
  setTimeout(() => ac2.abort(), 1_000);
  await assert.rejects(p, (e: unknown) => e instanceof KgateError && e.family === 'interrupt');
  assert.deepEqual(ourQemus(), []);
});

test('a kernel that panics at boot is an infra error with the console tail', { skip, timeout: 120_000 }, async () => {
  const kernel = await resolveKernel({ spec: parseKernelSpec('debian:6.12') });
  const ac = new AbortController();
  // init=/nonexistent with rdinit broken: the kernel finds no init and panics.
  const p = startGuest({ kernel, accel: 'tcg', runDir: join(work, 'panic'), signal: ac.signal, append: ['rdinit=/nonexistent', 'root=/dev/nonexistent'] });
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KgateError);
    assert.equal(e.family, 'infra');
    assert.match(e.message, /^guest did not boot: kernel panic/);
    assert.match(e.detail ?? '', /Kernel panic/);
    return true;
  });
  // Booted twice (TCG has panicked a good kernel's boot once in a while); a kernel that cannot boot panics both times.
  const consoleLog = readdirSync(join(work, 'panic')).find((f) => f.startsWith('console'));
  assert.match(readFileSync(join(work, 'panic', consoleLog!), 'utf8'), /kgate: the first boot panicked \(kernel panic[^\n]*\); what follows is the second\n[\s\S]*Kernel panic/);
  assert.deepEqual(ourQemus(), []);
});
