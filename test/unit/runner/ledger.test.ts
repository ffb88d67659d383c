// The ledger of a binary's cases (src/runner/ledger.ts): every case asked for
// ends exactly once, reported, stopped at or MISS, and MISS says why in one vocabulary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CaseResult } from '../../../src/model.js';
import { CaseLedger, missReason } from '../../../src/runner/ledger.js';

const binary = { name: 'kgate-k', family: 'k', api: 'upstream' };
const kernel = { release: '6.12.0-test' };

function ledgerOf(ids: string[]) {
  const out: CaseResult[] = [];
  const problems: string[] = [];
  return { ledger: new CaseLedger(binary, ids, (r) => out.push(r), (m) => problems.push(m)), out, problems };
}

test('a reported case leaves the ledger once; a case not asked for is a problem, not a result', () => {
  const { ledger, out, problems } = ledgerOf(['K1.a', 'K2.b']);
  assert.equal(ledger.reported({ id: 'K2.b', family: 'k', status: 'PASS', tap: ['ok 2 K2.b'] }, kernel, []), true);
  assert.equal(ledger.reported({ id: 'K9.z', family: 'k', status: 'PASS', tap: [] }, kernel, []), false);
  assert.deepEqual(ledger.owed, ['K1.a']);
  assert.deepEqual(out.map((c) => [c.id, c.status, c.kernel?.release]), [['K2.b', 'PASS', '6.12.0-test']]);
  assert.deepEqual(problems, ['kgate-k: result for K9.z, which was not asked for']);
});

test('a kernel report while the case ran makes it CRASH, whatever it printed', () => {
  const { ledger, out } = ledgerOf(['K1.a']);
  ledger.reported({ id: 'K1.a', family: 'k', status: 'PASS', tap: [] }, kernel, [{ kind: 'oops', line: 'BUG: kernel NULL pointer dereference', excerpt: ['BUG: x'], at: 0 }]);
  assert.equal(out[0].status, 'CRASH');
  assert.match(out[0].reason ?? '', /kernel oops while the case ran: BUG: kernel NULL/);
});

test('a binary that stopped: the case it ran gets the stop, the rest MISS naming it; a lost link blames nobody', () => {
  const { ledger, out } = ledgerOf(['K1.a', 'K2.b', 'K3.c']);
  const r = ledger.stopped({ kind: 'exited', code: 139, signal: 'SIGSEGV' }, { kernel }, { timeoutMs: 1000, consoleTail: () => [] });
  assert.equal(r?.status, 'ERROR');
  assert.equal(r?.reason, 'kgate-k exited (code 139, signal SIGSEGV) before reporting this case');
  ledger.missRest({ kind: 'stopped', binary: 'kgate-k', at: 'K1.a', status: 'ERROR' }, kernel);
  assert.deepEqual(out.map((c) => `${c.id}=${c.status}`), ['K1.a=ERROR', 'K2.b=MISS', 'K3.c=MISS']);
  assert.equal(out[1].reason, 'not run: kgate-k stopped at K1.a (ERROR)');
  assert.deepEqual(ledger.owed, []);

  const lost = ledgerOf(['K1.a']);
  assert.equal(lost.ledger.stopped({ kind: 'lost', why: 'the guest stopped' }, { kernel }, { timeoutMs: 1000, consoleTail: () => [] }), undefined);
  assert.deepEqual(lost.ledger.owed, ['K1.a'], 'still owed: the caller decides (an infra fault)');
});

test('MISS in one vocabulary: not run: <why> (first line), or never reported', () => {
  assert.equal(missReason({ kind: 'aborted', reason: 'guest did not boot\nconsole: ...' }), 'not run: guest did not boot');
  assert.equal(missReason({ kind: 'unreported' }), 'never reported');
});

test('casesReports: a report belongs to the case whose kernel-clock window holds its printk time, not to the case whose result came after it; without a stamp or a window, by when it came', async () => {
  const { casesReports, kernelEnd } = await import('../../../src/runner/ledger.js');
  const ev = (ts: number | undefined, at: number) => ({ kind: 'warning' as const, line: `W ${ts}`, excerpt: [], at, ...(ts !== undefined ? { ts } : {}) });
  // U03's WARN (1.204 s on the kernel's clock) reached kgate before U01's result did.
  const warn = ev(1_204_329, 100);
  const u01 = { id: 'U01', family: 'f', status: 'PASS' as const, tap: [], details: { kt: '1184792', kte: '1197941' } };
  assert.equal(kernelEnd(u01), 1_197_941);
  assert.deepEqual(casesReports([warn], { to: kernelEnd(u01) }, 50), [], 'not U01\'s: it came after U01 ended');
  assert.deepEqual(casesReports([warn], { from: 1_197_941, to: 1_230_024 }, 200), [warn], 'U03\'s, though it came before U03 started by kgate\'s clock');
  assert.deepEqual(casesReports([warn], { from: 1_197_941 }, 200), [warn], 'a binary that stopped: what came after its last case');
  const plain = ev(undefined, 150);
  assert.deepEqual(casesReports([plain], { to: 1 }, 100), [plain], 'no printk stamp: by arrival');
  assert.deepEqual(casesReports([warn, plain], undefined, 120), [plain], 'no window (LAVA, an old suite): by arrival');
  assert.equal(kernelEnd({ ...u01, details: {} }), undefined);
});

test('casesReports beside another lane: a report in another suite binary\'s task is not this case\'s; in this binary\'s, or in a kernel thread, it is', async () => {
  const { casesReports, taskName } = await import('../../../src/runner/ledger.js');
  const ev = (task?: string) => ({ kind: 'warning' as const, line: `W ${task}`, excerpt: [], at: 0, ts: 150, ...(task ? { task } : {}) });
  const beside = { mine: taskName('kgate-backing-file'), suite: new Set(['kgate-backing-file', 'kgate-data-path'].map(taskName)) };
  assert.equal(beside.mine, 'kgate-backing-f', 'the kernel keeps 15 characters');
  const theirs = ev('kgate-data-path'), mine = ev('kgate-backing-f'), kworker = ev('kworker/1:2'), none = ev();
  const w = { from: 100, to: 200 };
  assert.deepEqual(casesReports([theirs, mine, kworker, none], w, 0, beside), [mine, kworker, none]);
  assert.deepEqual(casesReports([theirs], w, 0), [theirs], 'one lane: by time alone, as before');
});
