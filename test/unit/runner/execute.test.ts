// runSuite against a scripted target: the classification rules (CRASH, TIMEOUT,
// ERROR, infra abort, MISS) on exact event orders. The same paths run for real
// in test/e2e/guest-run.test.ts; this pins down the corner cases a guest can't
// be made to hit on demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSuite, workPieces, type WorkItem } from '../../../src/runner/execute.js';
import type { ConsoleEvent, ExecRequest, SuiteTarget } from '../../../src/runner/target.js';
import type { BuiltBinary } from '../../../src/gen/manifest.js';
import type { CaseResult } from '../../../src/model.js';
import { claimRunDir } from '../../../src/session/run-dir.js';
import { exitCodeOf } from '../../../src/model.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { summarise } from '../../../src/model.js';

const bin = (ids: string[], timeoutSec = 1): BuiltBinary => ({
  name: 'kgate-fam', path: '/nonexistent', family: 'fam', api: 'upstream', sha256: 'x',
  cases: ids.map((id) => ({ id, timeoutSec })),
});

type Script = (req: ExecRequest, t: ScriptedTarget) => Promise<{ code: number | null; killed?: 'timeout' }>;
class ScriptedTarget implements SuiteTarget {
  name = 'fake';
  kernel = { release: '6.18.0-test' };
  events: ConsoleEvent[] = [];
  dead = false;
  restarts = 0;
  calls: string[][] = [];
  constructor(private script: Script) {}
  async prepare() {}
  exec(req: ExecRequest) { this.calls.push(req.caseIds); return this.script(req, this); }
  consoleEventsSince(t: number) { return this.events.filter((e) => e.at >= t); }
  consoleLinesSince() { return []; }
  alive() { return !this.dead; }
  async restart() { this.dead = false; this.restarts++; }
  acceleratorFailed?: () => string | undefined;
  async stop() {}
}

function collect() {
  const results: CaseResult[] = [];
  const problems: string[] = [];
  return { results, problems, sink: { add: (r: CaseResult) => results.push(r), ktap: () => {}, problem: (m: string) => problems.push(m) } };
}
const ok = (req: ExecRequest, n: number, id: string) => { req.onLine(`# ${id} observed=ok expected=ok ms=1`); req.onLine(`ok ${n} ${id}`); };
const header = (req: ExecRequest) => { req.onLine('KTAP version 1'); req.onLine(`1..${req.caseIds.length}`); };

test('a panic mid-case: that case CRASH with the console excerpt, the rest run on a restarted target', async () => {
  const t = new ScriptedTarget(async (req, t) => {
    header(req);
    if (req.caseIds[0] === 'A1') {
      ok(req, 1, 'A1');
      t.events.push({ kind: 'panic', line: 'Kernel panic - not syncing: sysrq triggered crash', excerpt: ['Kernel panic - not syncing: sysrq triggered crash'], at: Date.now() });
      t.dead = true;
      throw new Error('connection reset');
    }
    req.caseIds.forEach((id, i) => ok(req, i + 1, id));
    return { code: 0 };
  });
  const c = collect();
  const r = await runSuite({ targets: [t], items: [{ binary: bin(['A1', 'A2', 'A3']), caseIds: ['A1', 'A2', 'A3'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal, slackMs: 100 });
  assert.equal(r.abort, undefined);
  assert.deepEqual(c.results.map((x) => [x.id, x.status]), [['A1', 'PASS'], ['A2', 'CRASH'], ['A3', 'PASS']]);
  assert.match(c.results[1].reason!, /panic/);
  assert.deepEqual(c.results[1].console, ['Kernel panic - not syncing: sysrq triggered crash']);
  assert.equal(t.restarts, 1);
  assert.deepEqual(t.calls, [['A1', 'A2', 'A3'], ['A3']]);
});

test('a binary that stops answering: the running case TIMEOUT, target restarted, the rest still run', async () => {
  const t = new ScriptedTarget(async (req) => {
    header(req);
    if (req.caseIds[0] === 'B1') return { code: null, killed: 'timeout' };
    req.caseIds.forEach((id, i) => ok(req, i + 1, id));
    return { code: 0 };
  });
  const c = collect();
  await runSuite({ targets: [t], items: [{ binary: bin(['B1', 'B2']), caseIds: ['B1', 'B2'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal, slackMs: 100 });
  assert.deepEqual(c.results.map((x) => [x.id, x.status]), [['B1', 'TIMEOUT'], ['B2', 'PASS']]);
  assert.equal(t.restarts, 1);
});

test('a WARN on the console while a case passes: the case is CRASH, not PASS', async () => {
  const t = new ScriptedTarget(async (req, t) => {
    header(req);
    t.events.push({ kind: 'warning', line: 'WARNING: CPU: 0 PID: 1 at fs/fuse/iomode.c:42', excerpt: ['WARNING: CPU: 0 PID: 1 at fs/fuse/iomode.c:42'], at: Date.now() });
    ok(req, 1, 'C1');
    return { code: 0 };
  });
  const c = collect();
  await runSuite({ targets: [t], items: [{ binary: bin(['C1']), caseIds: ['C1'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal });
  assert.equal(c.results[0].status, 'CRASH');
  assert.match(c.results[0].reason!, /warning/);
});

test('the connection drops with nothing on the console: infra abort, unreported cases MISS, nothing lost', async () => {
  const t = new ScriptedTarget(async (req, t) => {
    header(req);
    ok(req, 1, 'D1');
    t.dead = true;
    throw new Error('read ECONNRESET');
  });
  const c = collect();
  const r = await runSuite({ targets: [t], items: [{ binary: bin(['D1', 'D2', 'D3']), caseIds: ['D1', 'D2', 'D3'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal, slackMs: 100 });
  assert.equal(r.abort?.family, 'infra');
  assert.match(r.abort!.reason, /ECONNRESET/);
  assert.deepEqual(c.results.map((x) => [x.id, x.status]), [['D1', 'PASS'], ['D2', 'MISS'], ['D3', 'MISS']]);
  const run = { runId: 'x', startedAt: '', target: 'fake', cases: c.results, problems: [], summary: summarise(c.results), abort: r.abort };
  assert.equal(exitCodeOf(run), 125, 'untestable, so git bisect run skips this commit');
});

test('KVM fails under the guest mid-case (nested KVM does): not the case\'s fault; restarted (on TCG) and the case run again, once', async () => {
  let kvm: string | undefined;
  const t = new ScriptedTarget(async (req, t) => {
    header(req);
    ok(req, 1, req.caseIds[0]);
    if (req.caseIds.includes('K2') && t.restarts === 0) {
      kvm = 'KVM internal error. Suberror: 1';
      t.dead = true;
      throw new Error('SSH connection lost');
    }
    req.caseIds.slice(1).forEach((id, i) => ok(req, i + 2, id));
    return { code: 0 };
  });
  t.acceleratorFailed = () => (t.restarts === 0 ? kvm : undefined);
  const c = collect();
  const r = await runSuite({ targets: [t], items: [{ binary: bin(['K1', 'K2', 'K3']), caseIds: ['K1', 'K2', 'K3'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal, slackMs: 100 });
  assert.equal(r.abort, undefined, 'not an infra abort');
  assert.deepEqual(c.results.map((x) => [x.id, x.status]), [['K1', 'PASS'], ['K2', 'PASS'], ['K3', 'PASS']]);
  assert.equal(t.restarts, 1);
  assert.deepEqual(t.calls, [['K1', 'K2', 'K3'], ['K2', 'K3']]);
  assert.match(c.problems.join('\n'), /KVM failed while kgate-fam ran K2 \(KVM internal error/);
});

test('a binary that exits early without a crash: ERROR for that case, the rest rerun', async () => {
  let first = true;
  const t = new ScriptedTarget(async (req) => {
    header(req);
    if (first) { first = false; return { code: 139 }; }
    req.caseIds.forEach((id, i) => ok(req, i + 1, id));
    return { code: 0 };
  });
  const c = collect();
  await runSuite({ targets: [t], items: [{ binary: bin(['E1', 'E2']), caseIds: ['E1', 'E2'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal });
  assert.deepEqual(c.results.map((x) => [x.id, x.status]), [['E1', 'ERROR'], ['E2', 'PASS']]);
  assert.match(c.results[0].reason!, /code 139/);
});

test('workPieces keeps every case once, in catalog order, and cuts a family larger than an even share', () => {
  const items: WorkItem[] = [
    { binary: bin(['a', 'b', 'c', 'd', 'e', 'f']), caseIds: ['a', 'b', 'c', 'd', 'e', 'f'] },
    { binary: { ...bin(['g', 'h']), name: 'kgate-other' }, caseIds: ['g', 'h'] },
  ];
  const pieces = workPieces(items, 2);
  assert.deepEqual(pieces.map((p) => p.caseIds), [['a', 'b', 'c', 'd'], ['e', 'f'], ['g', 'h']]);
  assert.deepEqual(workPieces(items, 1).map((p) => p.caseIds), [['a', 'b', 'c', 'd', 'e', 'f'], ['g', 'h']]);
});

test('two targets, one slow to start: the first takes work at once, the second joins when up', async () => {
  const ids = ['P1', 'P2', 'P3', 'P4'];
  const script: Script = async (req) => { header(req); req.caseIds.forEach((id, i) => ok(req, i + 1, id)); return { code: 0 }; };
  const fast = new ScriptedTarget(script);
  const slow = new ScriptedTarget(script);
  slow.name = 'slow';
  const late = new Promise<SuiteTarget>((res) => setTimeout(() => res(slow), 50));
  const items = ids.map((id) => ({ binary: { ...bin([id]), name: `kgate-${id}` }, caseIds: [id] }));
  const c = collect();
  const r = await runSuite({ targets: [fast, late], items, sink: c.sink, emit: () => {}, signal: new AbortController().signal });
  assert.equal(r.abort, undefined);
  assert.deepEqual(c.results.map((x) => x.id).sort(), ids);
  assert.ok(fast.calls.length >= 1 && fast.calls[0][0] === 'P1', 'the ready target started with the first piece');
});

test('a second guest that never comes up is a problem, not an abort: the first does all the work', async () => {
  const t = new ScriptedTarget(async (req) => { header(req); req.caseIds.forEach((id, i) => ok(req, i + 1, id)); return { code: 0 }; });
  const c = collect();
  const r = await runSuite({ targets: [t, Promise.reject(new Error('guest did not boot'))], items: [{ binary: bin(['Q1', 'Q2']), caseIds: ['Q1', 'Q2'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal });
  assert.equal(r.abort, undefined);
  assert.deepEqual(c.results.map((x) => [x.id, x.status]), [['Q1', 'PASS'], ['Q2', 'PASS']]);
  assert.match(c.problems[0], /did not start.*guest did not boot/);
});

test('exit codes: FAIL/CRASH/TIMEOUT -> 1 even after an infra abort; infra alone -> 125; all fine -> 0', () => {
  const mk = (statuses: CaseResult['status'][], abort?: { family: 'infra'; reason: string }) => {
    const cases = statuses.map((status, i) => ({ id: `X${i}`, family: 'f', status, tap: [] }));
    return { runId: 'x', startedAt: '', target: 't', cases, problems: [], summary: summarise(cases), abort };
  };
  assert.equal(exitCodeOf(mk(['PASS', 'SKIP', 'XFAIL'])), 0);
  assert.equal(exitCodeOf(mk(['PASS', 'FAIL'])), 1);
  assert.equal(exitCodeOf(mk(['PASS', 'CRASH'], { family: 'infra', reason: 'x' })), 1);
  assert.equal(exitCodeOf(mk(['PASS', 'MISS'], { family: 'infra', reason: 'x' })), 125);
  assert.equal(exitCodeOf(mk(['TIMEOUT'])), 1);
});

test('claimRunDir: two runs with the same id get two directories', () => {
  const root = mkdtempSync(join(tmpdir(), 'kgate-claim-'));
  try {
    const a = claimRunDir(root, '20261124T090000Z');
    const b = claimRunDir(root, '20261124T090000Z');
    assert.equal(a.runId, '20261124T090000Z');
    assert.equal(b.runId, '20261124T090000Z-2');
    assert.notEqual(a.dir, b.dir);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Lanes of one fake machine: one console, one restart for both. */
class FakeLane extends ScriptedTarget {
  constructor(name: string, readonly machine: string, private shared: { events: ConsoleEvent[] }, script: Script) {
    super(script);
    this.name = name;
  }
  override consoleEventsSince(t: number) { return this.shared.events.filter((e) => e.at >= t); }
  replaced = false;
  async replacedUnder() { const r = this.replaced; this.replaced = false; return r; }
}

test('two lanes of one guest, two families: each lane takes one at once; a report names the task of the binary it is in, and is that case\'s alone, though the windows overlap', async () => {
  const shared = { events: [] as ConsoleEvent[] };
  const diag = (req: ExecRequest, n: number, id: string, kt: number, kte: number) => { req.onLine(`# ${id} observed=ok expected=ok ms=1 kt=${kt} kte=${kte}`); req.onLine(`ok ${n} ${id}`); };
  let inFlight = 0;
  let both = false;
  const script: Script = async (req) => {
    inFlight++;
    await new Promise((r) => setTimeout(r, 30));
    both ||= inFlight === 2;
    header(req);
    // A WARN at 150 µs in kgate-a's task: inside A1's window and inside B1's.
    if (req.binary.name === 'kgate-a') shared.events.push({ kind: 'warning', line: 'WARNING: CPU: 0 PID: 7 at fs/fuse/passthrough.c:237', excerpt: [], at: Date.now(), ts: 150, task: 'kgate-a' });
    await new Promise((r) => setTimeout(r, 10));
    diag(req, 1, req.caseIds[0], req.binary.name === 'kgate-a' ? 100 : 90, req.binary.name === 'kgate-a' ? 200 : 210);
    inFlight--;
    return { code: 0 };
  };
  const a = new FakeLane('qemu/1', 'qemu', shared, script);
  const b = new FakeLane('qemu/2', 'qemu', shared, script);
  const items = [{ binary: { ...bin(['A1']), name: 'kgate-a', family: 'a' }, caseIds: ['A1'] }, { binary: { ...bin(['B1']), name: 'kgate-b', family: 'b' }, caseIds: ['B1'] }];
  const c = collect();
  const logs: string[] = [];
  const r = await runSuite({ targets: [a, b], machines: 1, items, sink: { ...c.sink, ktap: (shard) => logs.push(shard) }, emit: () => {}, signal: new AbortController().signal });
  assert.equal(r.abort, undefined);
  assert.ok(both, 'the two families ran at once');
  assert.deepEqual([a.calls, b.calls], [[['A1']], [['B1']]], 'one piece each');
  assert.deepEqual(Object.fromEntries(c.results.map((x) => [x.id, x.status])), { A1: 'CRASH', B1: 'PASS' });
  assert.deepEqual([...new Set(logs)].sort(), ['qemu/1', 'qemu/2'], 'a KTAP log per lane, written as it comes (ktap.log, ktap-2.log)');
  assert.deepEqual(c.problems, []);
});

test('a lane whose guest another lane restarted under it: its cases run again on the new boot, blamed on nobody', async () => {
  const shared = { events: [] as ConsoleEvent[] };
  let first = true;
  const lane = new FakeLane('qemu/2', 'qemu', shared, async (req) => {
    header(req);
    if (first) { first = false; throw new Error('SSH connection lost'); }
    req.caseIds.forEach((id, i) => ok(req, i + 1, id));
    return { code: 0 };
  });
  lane.replaced = true;
  const c = collect();
  const r = await runSuite({ targets: [lane], items: [{ binary: bin(['C1', 'C2']), caseIds: ['C1', 'C2'] }], sink: c.sink, emit: () => {}, signal: new AbortController().signal });
  assert.equal(r.abort, undefined);
  assert.deepEqual(c.results.map((x) => [x.id, x.status]), [['C1', 'PASS'], ['C2', 'PASS']]);
  assert.deepEqual(lane.calls, [['C1', 'C2'], ['C1', 'C2']]);
  assert.equal(lane.restarts, 0, 'the other lane restarted it, not this one');
});
