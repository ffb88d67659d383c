import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KVM_MEMORY_MS, rememberedNote, trustedFailure, type KvmFailureRecord } from '../../../src/runner/kvm-memory.js';

const key = { hostKernel: '6.18.0-1-cloud-amd64', qemu: 'QEMU emulator version 7.2.22', cpu: 'AMD EPYC 7B13' };
const at = '2026-12-06T03:00:00.000Z';
const rec: KvmFailureRecord = { key, at, why: 'qemu exited: kvm_buf_set_msrs: Assertion failed' };
const t = Date.parse(at);

test('a failure of this host within a day is trusted: auto boots under TCG at once', () => {
  assert.equal(trustedFailure(rec, key, t + 60_000), rec);
  assert.equal(trustedFailure(rec, key, t + KVM_MEMORY_MS - 1), rec);
});

test('after a day, or on another host kernel, QEMU or CPU, KVM is tried again', () => {
  assert.equal(trustedFailure(rec, key, t + KVM_MEMORY_MS), undefined);
  for (const k of ['hostKernel', 'qemu', 'cpu'] as const) assert.equal(trustedFailure(rec, { ...key, [k]: 'other' }, t + 1), undefined, k);
  assert.equal(trustedFailure(undefined, key, t), undefined);
  // A record from the future (a clock set back) proves nothing.
  assert.equal(trustedFailure(rec, key, t - 1), undefined);
});

test('the note names the date, says TCG and how to try KVM again', () => {
  assert.match(rememberedNote(rec), /^KVM failed on this host on 2026-12-06 03:00 UTC \(.*\); TCG; --accel kvm tries again$/);
});
