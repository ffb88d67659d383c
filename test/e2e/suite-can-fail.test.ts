// The suite is not a set of tests that cannot fail. Real binaries, real
// /dev/fuse, this host's kernel:
//  1. expectation tampering: a suite rendered from a catalog whose every
//     expected token is "EWRONG" (known outcomes dropped) must report every
//     case that runs as `not ok` (FAIL): no case hard-codes its verdict;
//  2. server faults (KGATE_FAULT, templates/c/server.c.hbs): with the server
//     refusing passthrough, or registering corrupted backing files, every case
//     whose point is I/O that bypasses the server (or the reply it depends on)
//     must FAIL, and the same binaries without the fault PASS (the control).
// Needs root and /dev/fuse (skips without them); the kernel must offer
// upstream passthrough for anything but the skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { CASES, selectCases, type CaseDef } from '../../src/catalog/index.js';
import { buildSuite, ccIdentity, type BuildResult } from '../../src/gen/index.js';
import { parseLog } from '../../src/tap/index.js';
import type { CaseResult } from '../../src/model.js';
import { isRoot } from './helpers.js';

const skip = !isRoot() ? 'needs root (the binaries mount FUSE)'
  : !existsSync('/dev/fuse') ? 'needs /dev/fuse' : false;

const WRONG = 'EWRONG';

// Cases whose point is that reads/writes (or mmap) bypass the server. With
// KGATE_FAULT=no-passthrough the server answers them with a plain DIRECT_IO
// open and serves correct bytes itself: they must FAIL, on the FUSE_READ /
// FUSE_WRITE counters, or on a coherence check (bad_data: H3's mmap sees the
// FUSE page cache, not a later backing write; H8.dead_read reads a
// non-passthrough fd of a dead server). H8.dead_stat and H9.umount_busy
// check first that their fd is passthrough (their premise).
const BYPASS = [
  'H1.read', 'H2.write', 'H3.mmap', 'H4.splice', 'H4.sendfile', 'H7.fsync',
  'H5.server_close_fd', 'H5.close_after_reply', 'H8.dead_read', 'H8.dead_stat',
  'H9.umount_busy', 'H9.umount_lazy', 'U04.opath_file', 'U06.sysfs', 'U26.dio_all',
  'H10.aio', 'H10.io_uring', 'H10.aio_queued',
];
const BYPASS_TOKENS = new Set(['FUSE_READ', 'FUSE_WRITE', 'mmap_FUSE_READ', 'mmap_FUSE_WRITE', 'bad_data']);
// the server is dead before the read: no counter can move, the failed read is the evidence
const NO_COUNTER_EVIDENCE = new Set(['H8.dead_read']);
// Cases that assert what the kernel does with a FOPEN_PASSTHROUGH reply: with
// the flag stripped by the server they must not PASS (nor XFAIL: U41's older
// outcome, "ok", is what a plain open would give too, so those cases first
// check that no READ or WRITE reached the server).
const PT_REPLY = [
  'U12.no_flag_open', 'U13.writeback_open', 'U23.id0', 'U23.id_neg', 'U23.id_unknown',
  'U24.closed_before_reply', 'U25.keep_cache', 'U25.nonseekable', 'U25.stream',
  'U27.pt_then_plain', 'U27.pt_then_dio', 'U28.cached_then_pt', 'U29.two_ids',
  'U29.two_ids_same_file', 'U30.mmap_enodev', 'U31.create_bad_id', 'U33.ro_backing',
  // an append-only or immutable backing file: the kernel's refusal, or a write the server saw
  'U41.immutable_open', 'U41.append_open', 'U41.append_write', 'U41.append_splice', 'U41.append_mmap',
];
// KGATE_FAULT=corrupt-backing: kg_pt registers an inverted copy, the server
// inverts its READ replies. Every case with a data check on such a file.
const CORRUPT = [
  'H1.read', 'H2.write', 'H3.mmap', 'H4.splice', 'H4.sendfile', 'H7.fsync',
  'H5.server_close_fd', 'H5.close_after_reply', 'H8.dead_read', 'H8.dead_stat',
  'H9.umount_busy', 'H9.umount_lazy', 'U26.dio_all', 'H10.aio', 'H10.io_uring', 'H10.aio_queued',
];
// Both faults: the server itself serves wrong bytes, so every case that reads
// through the mount must fail on its data check, before any counter.
const SERVER_READ_CHECKED = [
  'H1.read', 'H3.mmap', 'H4.splice', 'H4.sendfile', 'H5.server_close_fd', 'H5.close_after_reply',
  'H8.dead_stat', 'H9.umount_busy', 'H9.umount_lazy', 'U04.opath_file', 'U06.sysfs',
  'U12.no_flag_open', 'U13.writeback_open', 'U26.dio_all', 'H10.aio', 'H10.io_uring',
  // not H10.aio_queued: its bytes pass two servers (the outer reads the inner's mount), whose two inversions cancel out
];
const DATA_TOKENS = new Set(['bad_data', 'bad_read']);

interface Run { cases: Map<string, CaseResult>; ms: number; raw: string }

let work: string | undefined;
let builds: Promise<{ real: BuildResult; wrong: BuildResult } | string> | undefined;

/** Both suites, built once into a temp dir: the real catalog, and the tampered one. */
function getBuilds(): Promise<{ real: BuildResult; wrong: BuildResult } | string> {
  builds ??= (async () => {
    try { await ccIdentity(process.env.CC ?? 'cc'); } catch (e) { return (e as Error).message; }
    work = mkdtempSync(join(tmpdir(), 'kgate-can-fail-'));
    const selected = selectCases();
    const tampered: CaseDef[] = selected.map((c) => ({ ...c, expected: WRONG, known: [] }));
    const real = await buildSuite({ caseDefs: selected, srcDir: join(work, 'real', 'src'), binDir: join(work, 'real', 'bin') });
    const wrong = await buildSuite({ caseDefs: tampered, srcDir: join(work, 'wrong', 'src'), binDir: join(work, 'wrong', 'bin') });
    return { real, wrong };
  })();
  return builds;
}

/** Runs every binary of a build (in parallel: each has its own mount namespace), parses with src/tap. */
async function runAll(b: BuildResult, fault?: string): Promise<Run> {
  const t0 = performance.now();
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  if (fault) env.KGATE_FAULT = fault;
  const outs = await Promise.all(b.manifest.binaries.map(async (bin) => {
    const limitMs = (bin.cases.reduce((n, c) => n + c.timeoutSec, 0) + 5) * 1000;
    const r = await execa(bin.path, [], { reject: false, extendEnv: false, env, timeout: limitMs + 5000, stdin: 'ignore' });
    assert.ok(!r.timedOut, `${bin.name} ran past its time limit`);
    assert.ok(r.exitCode === 0 || r.exitCode === 1, `${bin.name} exit ${r.exitCode}: ${r.stderr}`);
    const parsed = parseLog(String(r.stdout));
    assert.deepEqual(parsed.problems, [], `${bin.name}: KTAP problems`);
    assert.deepEqual(parsed.cases.map((c) => c.id), bin.cases.map((c) => c.id), `${bin.name}: every case reported`);
    if (fault) assert.match(String(r.stdout), new RegExp(`^# kgate .* fault=${fault}$`, 'm'), `${bin.name}: header names the fault`);
    return { parsed, raw: String(r.stdout) };
  }));
  const cases = new Map<string, CaseResult>();
  for (const o of outs) for (const c of o.parsed.cases) cases.set(c.id, c);
  return { cases, ms: performance.now() - t0, raw: outs.map((o) => o.raw).join('\n') };
}

const fmt = (c: CaseResult | undefined) => (c ? `${c.status} observed=${c.observed ?? '?'} ${c.reason ?? ''}`.trim() : 'missing');

function counts(run: Run): string {
  const n: Record<string, number> = {};
  for (const c of run.cases.values()) n[c.status] = (n[c.status] ?? 0) + 1;
  return Object.entries(n).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Server I/O the case counted: every fuse_read / fuse_write style counter. */
function serverIo(c: CaseResult): number {
  return Object.entries(c.details ?? {}).filter(([k]) => /fuse_(read|write)$/.test(k)).reduce((n, [, v]) => n + Number(v), 0);
}

let control: Run | undefined;
async function getControl(b: BuildResult): Promise<Run> {
  control ??= await runAll(b);
  return control;
}

function fuseMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => /\bfuse/.test(l.split(' ')[2] ?? ''));
}
// names the binaries would leave in /tmp if their private tmpfs scratch leaked
const caseIds = new Set(CASES.map((c) => c.id));
const leaked = (name: string) => name === 'kgate' || name === '.probe' || name === '.fusectl' || caseIds.has(name);
const tmpBefore = new Set(readdirSync(tmpdir()));
const mountsBefore = new Set(isRoot() ? fuseMounts() : []);

test('the named cases exist in the catalog', () => {
  for (const id of [...BYPASS, ...PT_REPLY, ...CORRUPT, ...SERVER_READ_CHECKED]) {
    assert.ok(caseIds.has(id), `${id} is a catalog case`);
  }
});

test('tampered expectations: every case that runs reports not ok', { skip, timeout: 10 * 60_000 }, async (t) => {
  const b = await getBuilds();
  if (typeof b === 'string') return t.skip(b);
  const run = await runAll(b.wrong);
  t.diagnostic(`tampered run: ${run.cases.size} cases in ${run.ms.toFixed(0)} ms: ${counts(run)}`);
  const ran = [...run.cases.values()].filter((c) => c.status !== 'SKIP');
  if (ran.length === 0) return t.skip('every case SKIPs on this kernel');
  const bad: string[] = [];
  for (const c of ran) {
    assert.equal(c.expected, WRONG, `${c.id}: the tampered expectation was compiled in`);
    if (c.status !== 'FAIL' || c.observed === WRONG) bad.push(`${c.id}: ${fmt(c)}`);
  }
  assert.deepEqual(bad, [], 'cases that did not FAIL against a wrong expectation');
  // the same cases run, and pass, with the real expectations
  const ctl = await getControl(b.real);
  t.diagnostic(`control run: ${ctl.cases.size} cases in ${ctl.ms.toFixed(0)} ms: ${counts(ctl)}`);
  const ranIds = ran.map((c) => c.id).sort();
  assert.deepEqual(ranIds, [...ctl.cases.values()].filter((c) => c.status !== 'SKIP').map((c) => c.id).sort(), 'tampered and control run the same cases');
  // and observe the same thing: an observation is the kernel's, never derived from the expectation
  const moved = ran.filter((c) => c.observed !== ctl.cases.get(c.id)?.observed).map((c) => `${c.id}: ${c.observed} vs control ${ctl.cases.get(c.id)?.observed}`);
  assert.deepEqual(moved, [], 'observations that changed with the expectation');
});

// [fault, cases that must FAIL, extra check per case]
const FAULTS: { fault: string; ids: string[]; check: (c: CaseResult) => string | undefined }[] = [
  {
    fault: 'no-passthrough',
    ids: BYPASS,
    check: (c) => (!BYPASS_TOKENS.has(c.observed ?? '') ? 'not failed on FUSE_READ/FUSE_WRITE/bad_data'
      : !NO_COUNTER_EVIDENCE.has(c.id) && serverIo(c) === 0 ? 'no FUSE_READ/FUSE_WRITE counted' : undefined),
  },
  { fault: 'no-passthrough', ids: PT_REPLY, check: () => undefined },
  { fault: 'corrupt-backing', ids: CORRUPT, check: (c) => (DATA_TOKENS.has(c.observed ?? '') ? undefined : 'not failed on its data check') },
  {
    fault: 'no-passthrough,corrupt-backing', ids: SERVER_READ_CHECKED,
    check: (c) => (DATA_TOKENS.has(c.observed ?? '') ? undefined : 'not failed on its data check'),
  },
];

const faultRuns = new Map<string, Promise<Run>>();
for (const [i, f] of FAULTS.entries()) {
  const what = i === 1 ? 'cases on a FOPEN_PASSTHROUGH reply' : 'data cases';
  test(`KGATE_FAULT=${f.fault}: ${what} FAIL, and PASS without the fault`, { skip, timeout: 10 * 60_000 }, async (t) => {
    const b = await getBuilds();
    if (typeof b === 'string') return t.skip(b);
    const ctl = await getControl(b.real);
    const ids = f.ids.filter((id) => ctl.cases.get(id)?.status !== 'SKIP');
    if (ids.length === 0) return t.skip('these cases SKIP on this kernel');
    let p = faultRuns.get(f.fault);
    const first = !p;
    if (!p) { p = runAll(b.real, f.fault); faultRuns.set(f.fault, p); }
    const run = await p;
    if (first) {
      t.diagnostic(`${f.fault}: ${run.cases.size} cases in ${run.ms.toFixed(0)} ms: ${counts(run)}`);
      const stillPass = [...run.cases.values()].filter((c) => c.status === 'PASS' || c.status === 'XFAIL').map((c) => c.id);
      t.diagnostic(`${f.fault}: still PASS/XFAIL (not touched by this fault): ${stillPass.join(' ')}`);
    }
    const bad: string[] = [];
    for (const id of ids) {
      const want = ctl.cases.get(id);
      // as expected without the fault: PASS, or XFAIL where this kernel is inside a known older range (U41 on 6.18)
      if (want?.status !== 'PASS' && want?.status !== 'XFAIL') bad.push(`${id} control: ${fmt(want)}`);
      const c = run.cases.get(id);
      if (!c || c.status !== 'FAIL') { bad.push(`${id}: ${fmt(c)}`); continue; }
      const why = f.check(c);
      if (why) bad.push(`${id}: ${why}: ${fmt(c)}`);
    }
    assert.deepEqual(bad, [], `KGATE_FAULT=${f.fault}`);
  });
}

test('an unknown KGATE_FAULT is a usage error', { skip }, async (t) => {
  const b = await getBuilds();
  if (typeof b === 'string') return t.skip(b);
  const r = await execa(b.real.manifest.binaries[0].path, [], { reject: false, extendEnv: false, env: { KGATE_FAULT: 'no-such-fault' } });
  assert.equal(r.exitCode, 2);
  assert.match(String(r.stderr), /KGATE_FAULT=no-such-fault: unknown fault/);
  assert.equal(String(r.stdout), '');
});

test('nothing left behind: no FUSE mount, no scratch in /tmp', { skip }, async () => {
  await builds?.catch(() => undefined);
  await Promise.all([...faultRuns.values()].map((p) => p.catch(() => undefined)));
  const newMounts = fuseMounts().filter((m) => !mountsBefore.has(m));
  assert.deepEqual(newMounts, [], 'FUSE mounts left in this namespace');
  const newTmp = readdirSync(tmpdir()).filter((n) => !tmpBefore.has(n) && leaked(n));
  assert.deepEqual(newTmp, [], 'scratch left in /tmp');
  if (work) rmSync(work, { recursive: true, force: true });
  const left = readdirSync(tmpdir()).filter((n) => !tmpBefore.has(n) && n.startsWith('kgate-can-fail-'));
  assert.deepEqual(left, [], 'this test\'s build dir removed');
});
