// src/events.ts: one stage's start, notes, done and fail, timed, from timedStage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KgateError } from '../../src/model.js';
import { timedStage, type KgateEvent } from '../../src/events.js';

const states = (events: KgateEvent[]) => events.map((e) => (e.type === 'stage' ? `${e.stage} ${e.state}${e.detail ? `: ${e.detail}` : ''}` : e.type));

test('a stage that returns: start, its notes, done with what it made and its time', async () => {
  const events: KgateEvent[] = [];
  const r = await timedStage((e) => events.push(e), 'target', { detail: 'qemu', done: (n: number) => `${n} guests` }, async (note) => { note('booting'); return 2; });
  assert.equal(r, 2);
  assert.deepEqual(states(events), ['target start: qemu', 'target note: booting', 'target done: 2 guests']);
  assert.equal(typeof (events.at(-1) as { ms?: number }).ms, 'number');
});

test('a stage whose result says it failed (a suite whose run stopped) ends fail with why, and still returns it', async () => {
  const events: KgateEvent[] = [];
  const abort = { reason: 'the guest went away\nconsole tail' };
  const r = await timedStage((e) => events.push(e), 'suite', { done: () => undefined, failed: (a: typeof abort | undefined) => a?.reason.split('\n')[0] }, async () => abort);
  assert.equal(r, abort);
  assert.deepEqual(states(events), ['suite start', 'suite fail: the guest went away']);
  const ok: KgateEvent[] = [];
  await timedStage((e) => ok.push(e), 'suite', { done: () => undefined, failed: (a: typeof abort | undefined) => a?.reason }, async () => undefined);
  assert.deepEqual(states(ok), ['suite start', 'suite done']);
});

test('a stage that throws: fail, without words for the user\'s mistake (said once, by whoever renders the error)', async () => {
  const events: KgateEvent[] = [];
  await assert.rejects(timedStage((e) => events.push(e), 'build', { done: () => 'x' }, async () => { throw new KgateError('user', 'no such case'); }));
  await assert.rejects(timedStage((e) => events.push(e), 'build', { done: () => 'x' }, async () => { throw new Error('cc died\nmore'); }));
  assert.deepEqual(states(events), ['build start', 'build fail', 'build start', 'build fail: cc died']);
});
