// A KVM that failed is remembered (issue 24): on a host whose KVM fails, the
// next `--accel auto` run boots under TCG at once, saying so in one line, and
// `--accel kvm` still tries KVM. On a machine without /dev/kvm or with a KVM
// that works there is nothing to remember: the test says which machine it met.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kgate, assertNotSaid, assertSaid, hasQemu } from './helpers.js';
import { kvmUsable } from '../../src/runner/qemu.js';
import { clearKvmFailure, readKvmFailure } from '../../src/runner/kvm-memory.js';

const skip = !hasQemu() ? 'qemu-system-x86_64 is not installed' : !kvmUsable().ok ? `no KVM to remember: ${kvmUsable().why}` : false;
const CASE = ['--kernel', 'debian:6.12', '--case', 'U01.never_opened'];

test('a failed KVM is remembered: the second auto run does not try it, --accel kvm does', { skip, timeout: 10 * 60_000 }, async (t) => {
  clearKvmFailure();
  const first = await kgate(['run', ...CASE, '--accel', 'auto']);
  assert.equal(first.code, 0, first.stderr);
  if (first.run?.accel === 'kvm') {
    t.diagnostic('machine: KVM works; nothing to remember');
    assert.equal(readKvmFailure(), undefined, 'a KVM that booted leaves no failure on record');
    return;
  }
  t.diagnostic(`machine: KVM fails (${readKvmFailure()?.why ?? 'not recorded'})`);
  assertSaid(first.stderr, /target note: qemu: fell back to TCG: KVM failed/);
  assert.ok(readKvmFailure(), 'the failure is on record in the cache');

  const second = await kgate(['run', ...CASE, '--accel', 'auto']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.run?.accel, 'tcg');
  assertSaid(second.stderr, /target note: qemu: KVM failed on this host on \d{4}-\d\d-\d\d \d\d:\d\d UTC .*; TCG; --accel kvm tries again$/);
  assertNotSaid(second.stderr, /target note: qemu: fell back/, 'no KVM attempt');
  const console = readFileSync(join(second.resultsDir, 'console.log'), 'utf8');
  assert.doesNotMatch(console, /what follows is the TCG boot/, 'one boot, under TCG, in the console');

  const forced = await kgate(['run', ...CASE, '--accel', 'kvm']);
  assert.equal(forced.code, 125, forced.stderr);
  assertSaid(forced.stderr, /.*guest did not boot: KVM failed \(/, '--accel kvm tried KVM');
  assert.ok(existsSync(join(forced.resultsDir, 'metadata.json')));
});
