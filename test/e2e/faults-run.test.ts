// Faults around a run (issue 15): kgate itself killed (kill -9 at boot and
// mid-suite, SIGINT at boot), a results filesystem that fills up or is
// read-only, the guest's qemu killed under it, a truncated bzImage, and two
// runs at once in one checkout. Each test asserts what the person whose run it
// was would check afterwards: the exit code, how many error lines stderr holds
// (beside the CI=1 progress lines), that no process the run started outlives
// it (by pid and start time, never by name), and that the results directory is
// still readable (`kgate parse DIR/ktap.log`).
//
// Every expectation of a row is checked and every one that failed is reported
// together, so a failing row says all it got wrong, not only the first thing.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa, execaSync, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { assertNoInternalError, hasQemu, isRoot, kgateBin, root, splitStderr, tempDir } from './helpers.js';
import { describeProc, qemuChildrenOf, watchDescendants, type ProcWatch } from './procs.js';

const skip = !hasQemu() ? 'qemu-system-x86_64 is not installed' : false;
const skipMount = skip || (!isRoot() ? 'mounting a tmpfs needs root' : false);
const TIMEOUT = 6 * 60_000;
const KERNEL = 'debian:6.12';

// ---- stderr: progress lines vs error lines (splitStderr: helpers.ts) -----

const CASE_LINE = /^kgate: (PASS|FAIL|XFAIL|SKIP|CRASH|TIMEOUT|ERROR|MISS|DONE) +(\S+)/;

/** What a fault must leave on stderr: exactly one error line, kgate's, naming `path` (when given) and saying `says`. */
function assertOneErrorLine(errors: string[], says: RegExp, path?: string): void {
  assert.equal(errors.length, 1, `error lines: ${JSON.stringify(errors)}`);
  assert.match(errors[0], /^kgate: /);
  if (path !== undefined) assert.ok(errors[0].includes(path), `names ${path}: ${errors[0]}`);
  assert.match(errors[0], says);
}

/** The case results stderr showed, in order. */
function caseLines(stderr: string): { status: string; id: string }[] {
  return stderr.split('\n').flatMap((l) => {
    const m = CASE_LINE.exec(l);
    return m ? [{ status: m[1], id: m[2] }] : [];
  });
}

// ---- a kgate run, watched -------------------------------------------------

interface Live {
  child: ResultPromise;
  pid: number;
  watch: ProcWatch;
  t0: number;
  stderr(): string;
  /** Resolves once `ready(stderr)`; rejects if kgate ends first or it never comes. */
  waitFor(what: string, ready: (stderr: string) => boolean, ms?: number): Promise<void>;
}

interface Ended {
  code?: number;
  signal?: string;
  stdout: string;
  stderr: string;
  ms: number;
  /** What the run started that still ran 2 s after kgate ended ("pid comm: cmdline"); killed since. */
  left: string[];
}

const running = new Set<Live>();
// A row that failed half-way must not leave its kgate, or what it started, to the next row.
afterEach(() => {
  for (const l of running) { l.child.kill('SIGKILL'); l.watch.killLeft(); }
  running.clear();
});

/**
 * Starts `kgate run ARGS` as CI would (CI=1: plain progress lines on stderr)
 * and watches every process below it. TMPDIR is a temp dir of the test's: a
 * kgate killed with -9 cannot remove its own (the guest's initramfs, 7 MB), and
 * it must not pile up in /tmp.
 */
function start(args: string[], env: Record<string, string> = {}): Live {
  const t0 = Date.now();
  const child = execa('node', [kgateBin, 'run', ...args], {
    reject: false, cwd: root, env: { CI: '1', TMPDIR: tempDir('kgate-faults-tmp-'), ...env }, stdin: 'ignore', timeout: 5 * 60_000, killSignal: 'SIGKILL',
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const live: Live = {
    child, pid: child.pid!, watch: watchDescendants(child.pid), t0, stderr: () => err,
    waitFor: (what, ready, ms = 3 * 60_000) => new Promise<void>((resolve, reject) => {
      const stop = () => { clearInterval(poll); clearTimeout(t); };
      const check = () => { if (ready(err)) { stop(); resolve(); } };
      const poll = setInterval(check, 20);
      const t = setTimeout(() => { stop(); reject(new Error(`${what} never showed: ${err}`)); }, ms);
      void child.then(() => { if (!ready(err)) { stop(); reject(new Error(`kgate ended before ${what}: ${err}`)); } });
      check();
    }),
  };
  running.add(live);
  return live;
}

/** Waits for kgate to end, then up to 2 s for everything it started to end too; kills (by pid) whatever did not. */
async function end(live: Live): Promise<Ended> {
  const r = await live.child;
  const ms = Date.now() - live.t0;
  live.watch.stop();
  const left = (await live.watch.leftAfter(2000)).map(describeProc);
  live.watch.killLeft();
  running.delete(live);
  return { code: r.exitCode, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr), ms, left };
}

// ---- what a row checks ----------------------------------------------------

/** Checks each expectation of a row, then fails with every one that did not hold. */
class Expect {
  private failed: string[] = [];
  constructor(private r?: Ended) {}
  async that(what: string, fn: () => unknown): Promise<void> {
    try { await fn(); } catch (e) { this.failed.push(`${what}: ${e instanceof Error ? e.message : String(e)}`); }
  }
  done(): void {
    if (this.failed.length === 0) return;
    const tail = this.r ? `\n--- kgate exit ${this.r.code ?? this.r.signal}, ${this.r.ms} ms; stderr:\n${this.r.stderr.trim().split('\n').slice(-25).join('\n')}` : '';
    assert.fail(`${this.failed.length} expectation(s) failed:\n- ${this.failed.join('\n- ')}${tail}`);
  }
}

function assertNothingLeft(r: Ended): void {
  assert.ok(r.left.length === 0, `every process the run started is gone within 2 s of kgate ending; left:\n    ${r.left.join('\n    ')}`);
}

/** The one run directory under a results root. */
function runDir(results: string): string {
  const runs = existsSync(results) ? readdirSync(results) : [];
  assert.equal(runs.length, 1, `one run directory under ${results}: ${runs.join(', ') || 'none'}`);
  return join(results, runs[0]);
}

function readJson(file: string): any {
  assert.ok(existsSync(file), `${file} exists`);
  const text = readFileSync(file, 'utf8');
  try { return JSON.parse(text); } catch (e) { assert.fail(`${file} is not JSON (${(e as Error).message}): ${text.slice(0, 200)}`); }
}

/** `kgate parse DIR` (the results directory: its ktap.log) reads it: exit 0 or 1 and its summary line. */
async function assertParses(dir: string): Promise<void> {
  assert.ok(existsSync(join(dir, 'ktap.log')), `${dir}/ktap.log exists`);
  const p = await execa('node', [kgateBin, 'parse', dir], { reject: false, cwd: root, stdin: 'ignore' });
  assert.ok(p.exitCode === 0 || p.exitCode === 1, `kgate parse ${dir}: exit ${p.exitCode}: ${p.stderr}`);
  assert.match(String(p.stdout), /Testing complete\. Ran \d+ test/, `kgate parse ${dir} prints its summary`);
}

/** Where (outside argv and the reproducer, which only echo the command line) metadata.json names `spec`. */
function fieldsNaming(meta: Record<string, unknown>, spec: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (v === spec) out.push(path);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  };
  for (const [k, v] of Object.entries(meta)) if (k !== 'argv' && k !== 'reproducer') walk(v, k);
  return out;
}

/** The case ids a selection holds, as `kgate list` says. */
function selected(cases: string): string[] {
  const r = execaSync('node', [kgateBin, 'list', '--case', cases], { cwd: root, stdin: 'ignore' });
  return String(r.stdout).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]);
}

/**
 * Resolves while the guest boots: kgate said so and a qemu of its own has run
 * for 300 ms (with --accel auto on a host whose KVM fails, the first qemu
 * exits at once and a TCG one follows: the kill must find a guest booting).
 */
async function whileBooting(live: Live): Promise<void> {
  for (;;) {
    await live.waitFor('the guest booting', (e) => /^kgate: target start: qemu/m.test(e) && qemuChildrenOf(live.pid).length > 0);
    const [qemu] = qemuChildrenOf(live.pid);
    await new Promise((r) => setTimeout(r, 300));
    if (qemuChildrenOf(live.pid).includes(qemu)) return;
  }
}

/** A qemu was among what the run started (else "nothing left" would prove little). */
function assertSawQemu(live: Live): void {
  assert.ok([...live.watch.seen.values()].some((p) => /(^|\/)qemu-system-/.test(p.cmdline)), 'a qemu was seen under kgate');
}

// ---- a tmpfs of our own as the results root -------------------------------

const mounts = new Set<string>();
process.once('exit', () => { for (const m of mounts) unmount(m); });

/** A tmpfs mounted on a fresh directory (not one of helpers' temp dirs: their removal at exit must not reach into a mount). */
function mountTmpfs(options: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-faults-tmpfs-'));
  execaSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.add(dir);
  return dir;
}

/** `fn` with a tmpfs of its own (mount -o OPTIONS), unmounted lazily after, whatever `fn` did. */
async function withTmpfs(options: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mountTmpfs(options);
  try {
    await fn(dir);
  } finally {
    unmount(dir);
  }
}

function unmount(dir: string): void {
  try { execaSync('umount', ['-l', dir]); } catch { /* already */ }
  try { rmdirSync(dir); } catch { /* not empty or gone */ }
  mounts.delete(dir);
}

// ---- the rows -------------------------------------------------------------

test('kill -9 of kgate while the guest boots: nothing it started outlives it, metadata.json says what was running', { skip, timeout: TIMEOUT }, async () => {
  const results = tempDir('kgate-faults-run-');
  const args = ['--kernel', KERNEL, '--case', 'K3.pass', '--results', results];
  const live = start(args);
  await whileBooting(live);
  const booting = !/^kgate: target done/m.test(live.stderr());
  live.watch.sample(); // what runs at the moment of the kill
  live.child.kill('SIGKILL');
  const r = await end(live);

  const x = new Expect(r);
  await x.that('killed while booting', () => { assert.equal(r.signal, 'SIGKILL'); assert.ok(booting, 'target done had not shown yet'); });
  await x.that('no error line (nothing had gone wrong, and a killed kgate says nothing)', () => assert.deepEqual(splitStderr(r.stderr).errors, []));
  await x.that('nothing left (the guest\'s qemu included)', () => { assertSawQemu(live); assertNothingLeft(r); });
  await x.that('metadata.json: running, argv and the requested kernel', () => {
    const meta = readJson(join(runDir(results), 'metadata.json'));
    assert.equal(meta.state, 'running');
    assert.deepEqual(meta.argv, ['run', ...args]);
    assert.notDeepEqual(fieldsNaming(meta, KERNEL), [], `a field of metadata.json besides argv names ${KERNEL}: ${JSON.stringify(meta)}`);
  });
  await x.that('results.json is JSON', () => readJson(join(runDir(results), 'results.json')));
  // Killed before the suite printed anything, the run has no KTAP: `kgate parse DIR` says so in one line, exit 125 (not tested).
  await x.that('kgate parse DIR: no KTAP, said in one line naming the kill, exit 125', async () => {
    const dir = runDir(results);
    assert.equal(existsSync(join(dir, 'ktap.log')), false, 'no suite output yet');
    const p = await execa('node', [kgateBin, 'parse', dir], { reject: false, cwd: root, stdin: 'ignore' });
    assert.equal(p.exitCode, 125, String(p.stderr));
    assert.deepEqual(String(p.stderr).trim().split('\n'), [`kgate: ${dir} holds no KTAP log: its run (started ${readJson(join(dir, 'metadata.json')).startedAt} on ${KERNEL}) never finished: it was killed before the suite printed anything`]);
  });
  x.done();
});

test('kill -9 of kgate mid-suite: nothing left, the case already reported is in results.json, ktap.log parses', { skip, timeout: TIMEOUT }, async () => {
  // K1.hang hangs for seconds (selftest family), so the kill lands while the run is well under way.
  const results = tempDir('kgate-faults-run-');
  const live = start(['--kernel', KERNEL, '--case', 'U01,K1.hang,K3.pass', '--results', results]);
  await live.waitFor('the first case result', (e) => caseLines(e).length > 0);
  const [first] = caseLines(live.stderr());
  live.watch.sample();
  live.child.kill('SIGKILL');
  const r = await end(live);

  const x = new Expect(r);
  await x.that('killed', () => assert.equal(r.signal, 'SIGKILL'));
  await x.that('no error line', () => assert.deepEqual(splitStderr(r.stderr).errors, []));
  await x.that('nothing left (the guest\'s qemu included)', () => { assertSawQemu(live); assertNothingLeft(r); });
  await x.that(`results.json holds ${first.id} as ${first.status}`, () => {
    const run = readJson(join(runDir(results), 'results.json'));
    assert.equal(run.cases?.find((c: { id: string }) => c.id === first.id)?.status, first.status, JSON.stringify(run.cases?.map((c: { id: string; status: string }) => [c.id, c.status])));
  });
  await x.that('metadata.json: running, with the kernel\'s identity', () => {
    const meta = readJson(join(runDir(results), 'metadata.json'));
    assert.equal(meta.state, 'running');
    assert.match(String(meta.kernel?.release), /^6\.12\./, `kernel.release: ${JSON.stringify(meta.kernel)}`);
  });
  await x.that('ktap.log parses', () => assertParses(runDir(results)));
  x.done();
});

const skipLocal = !isRoot() || !existsSync('/dev/fuse') ? 'needs root and /dev/fuse' : false;
const fuseMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => /^\S+ \S+ fuse/.test(l));

test('kill -9 of kgate run --target local while a case waits in the kernel for its FUSE server: harness, case, server and mount all go', { skip: skipLocal, timeout: TIMEOUT }, async () => {
  // K1.hang's server never answers OPEN: the case blocks in open() on a FUSE mount of the host, the server holds /dev/fuse.
  const mountsBefore = fuseMounts();
  const results = tempDir('kgate-faults-run-');
  const live = start(['--target', 'local', '--case', 'U01,K1.hang', '--results', results]);
  await live.waitFor('K1.hang under way', (e) => /PASS\s+U01\.minus_one[\s\S]*selftest: /.test(e));
  await new Promise((r) => setTimeout(r, 500));
  live.watch.sample();
  const suite = [...live.watch.seen.values()].filter((p) => /kgate-selftest/.test(p.cmdline));
  live.child.kill('SIGKILL');
  const r = await end(live);

  const x = new Expect(r);
  await x.that('killed', () => assert.equal(r.signal, 'SIGKILL'));
  // The harness, the case it forked and the case's server: three processes of the suite binary.
  await x.that('the suite was running: harness, case and server', () => assert.ok(suite.length >= 3, JSON.stringify(suite.map((p) => p.cmdline))));
  await x.that('nothing left (the suite\'s binary and its FUSE server included)', () => assertNothingLeft(r));
  await x.that('no FUSE mount left', () => assert.deepEqual(fuseMounts().filter((m) => !mountsBefore.includes(m)), []));
  await x.that('results.json holds U01 as PASS', () => {
    const run = readJson(join(runDir(results), 'results.json'));
    assert.equal(run.cases?.find((c: { id: string }) => c.id === 'U01.minus_one')?.status, 'PASS');
  });
  x.done();
});

test('results on a filesystem that fills up: exit 125, one line naming the file and ENOSPC, the summary so far, nothing left', { skip: skipMount, timeout: TIMEOUT }, async () => {
  // 32 KiB: metadata.json and ktap.log fit at the start; results.json, rewritten as each case
  // finishes, outgrows it within ioctl-open's 27 cases (U01,U02 alone fit, at 4 cases).
  await withTmpfs('size=32k', async (mnt) => {
    const live = start(['--kernel', KERNEL, '--family', 'ioctl-open', '--results', mnt]);
    const r = await end(live);
    const { errors } = splitStderr(r.stderr);
    const x = new Expect(r);
    await x.that('exit 125', () => assert.equal(r.code, 125));
    await x.that('one error line: kgate: <a path under the results root>: no space left on device', () => {
      assertOneErrorLine(errors, /no space left on device/i, `${mnt}/`);
    });
    await x.that('no "kgate: internal error"', () => assertNoInternalError(r.stderr));
    await x.that('stdout: the summary of the results obtained so far', () => {
      assert.match(r.stdout, /Verdict:/);
      const passed = caseLines(r.stderr).filter((c) => c.status === 'PASS').length;
      const row = /^ioctl-open\s+(\d+)\s+(\d+|-)/m.exec(r.stdout);
      assert.ok(row, `the family table has ioctl-open: ${r.stdout}`);
      assert.equal(Number(row[2] === '-' ? 0 : row[2]), passed, `its pass column counts the ${passed} PASS lines printed`);
    });
    await x.that('nothing left', () => assertNothingLeft(r));
    await x.that('ktap.log parses', () => assertParses(runDir(mnt)));
    x.done();
  });
});

test('results on a read-only filesystem: exit 2 before anything ran, one line naming it and EROFS', { skip: skipMount, timeout: TIMEOUT }, async () => {
  await withTmpfs('size=32k,ro', async (mnt) => {
    const r = await end(start(['--kernel', KERNEL, '--case', 'U01', '--results', mnt]));
    const { progress, errors } = splitStderr(r.stderr);
    const x = new Expect(r);
    await x.that('exit 2', () => assert.equal(r.code, 2));
    await x.that('no stage started', () => assert.deepEqual(progress, []));
    await x.that('one error line naming the path and "read-only file system"', () => {
      assertOneErrorLine(errors, /read-only file system/i, mnt);
    });
    await x.that('stdout empty', () => assert.equal(r.stdout, ''));
    await x.that('nothing left', () => assertNothingLeft(r));
    x.done();
  });
});

test('a cache on a read-only filesystem: exit 125 once the run started, one line naming the cache path and EROFS, no internal error', { skip: skipMount, timeout: TIMEOUT }, async () => {
  await withTmpfs('size=32k,ro', async (cache) => {
    const results = tempDir('kgate-faults-run-');
    const r = await end(start(['--kernel', KERNEL, '--case', 'U01', '--results', results], { KGATE_CACHE: cache }));
    const { errors } = splitStderr(r.stderr);
    const x = new Expect(r);
    // The run had started (its directory and metadata.json exist): the kernel was not judged, so 125, as for a guest that does not boot.
    await x.that('exit 125', () => assert.equal(r.code, 125));
    await x.that('one error line naming the cache and "read-only file system"', () => {
      assertOneErrorLine(errors, /read-only file system \(EROFS\)/, cache);
    });
    await x.that('no "kgate: internal error"', () => assertNoInternalError(r.stderr));
    await x.that('the case asked for is MISS, in a results directory that parses', async () => {
      const saved = readJson(join(runDir(results), 'results.json'));
      assert.deepEqual(saved.cases.map((c: { id: string; status: string }) => [c.id, c.status]), selected('U01').map((id) => [id, 'MISS']));
      await assertParses(runDir(results));
    });
    await x.that('nothing left', () => assertNothingLeft(r));
    x.done();
  });
});

test('no file descriptors left (ulimit -n 64): exit 125, one line saying so, never Node\'s stack and exit 1 (which git bisect run reads as bad)', { timeout: TIMEOUT }, async () => {
  const results = tempDir('kgate-faults-run-');
  const r = await execa('bash', ['-c', `ulimit -n 64 && exec node ${kgateBin} run --case U01 --results ${results}`], { reject: false, cwd: root, env: { CI: '1' }, stdin: 'ignore', timeout: 60_000 });
  const { errors } = splitStderr(String(r.stderr));
  assert.equal(r.exitCode, 125, String(r.stderr));
  assertOneErrorLine(errors, /^kgate: .*too many open files/);
  assertNoInternalError(String(r.stderr));
});

test('the guest\'s qemu killed mid-suite: exit 125, the cases reported kept, the rest MISS for the lost connection, nothing left', { skip, timeout: TIMEOUT }, async () => {
  const results = tempDir('kgate-faults-run-');
  const cases = 'U01,K1.hang,K3.pass';
  const live = start(['--kernel', KERNEL, '--case', cases, '--results', results]);
  await live.waitFor('the first case result', (e) => caseLines(e).length > 0);
  const qemu = qemuChildrenOf(live.pid);
  assert.equal(qemu.length, 1, `one qemu under kgate: ${qemu}`);
  live.watch.sample();
  process.kill(qemu[0], 'SIGKILL');
  const r = await end(live);

  const { errors } = splitStderr(r.stderr);
  // What kgate printed with a status of its own (before it noticed the loss, output already in flight included) is what it obtained.
  const reported = caseLines(r.stderr).filter((c) => c.status !== 'MISS');
  const x = new Expect(r);
  await x.that('exit 125', () => assert.equal(r.code, 125));
  await x.that('one error line saying the connection to qemu was lost, then the console tail', () => {
    assert.match(errors[0] ?? '', /^kgate: .*connection to qemu lost/);
    const tail = errors.slice(1);
    assert.ok(tail.length === 0 || /^ {2}console( tail)? \(/.test(tail[0]), `console header: ${tail[0]}`);
    assert.deepEqual(tail.slice(1).filter((l) => !l.startsWith('  | ')), [], 'then console lines only');
    assert.ok(tail.length <= 16, `${tail.length} console lines`);
  });
  await x.that('results.json: the cases reported kept, the rest MISS with the lost connection as reason', () => {
    const run = readJson(join(runDir(results), 'results.json'));
    const got = new Map<string, { status: string; reason?: string }>(run.cases.map((c: { id: string; status: string; reason?: string }) => [c.id, c]));
    assert.ok(reported.length > 0, 'a case was reported before the kill');
    for (const c of reported) assert.equal(got.get(c.id)?.status, c.status, `${c.id} kept as ${c.status}`);
    const rest = selected(cases).filter((id) => !reported.some((c) => c.id === id));
    assert.ok(rest.includes('K3.pass'), `K3.pass came after the kill: ${rest}`);
    for (const id of rest) {
      assert.equal(got.get(id)?.status, 'MISS', `${id}: ${JSON.stringify(got.get(id))}`);
      assert.match(got.get(id)?.reason ?? '', /connection to qemu lost/, `${id}'s reason`);
    }
  });
  await x.that('nothing left', () => assertNothingLeft(r));
  await x.that('ktap.log parses', () => assertParses(runDir(results)));
  x.done();
});

test('a truncated bzImage: exit 125 at once, a few lines naming the image and how short it is, not booted', { skip, timeout: TIMEOUT }, async () => {
  const art = JSON.parse(String((await execa('node', [kgateBin, 'kernel', 'build', '--kernel', KERNEL, '--json'], { cwd: root, env: { CI: '1' }, stdin: 'ignore' })).stdout));
  const whole = readFileSync(art.bzImage);
  const image = join(tempDir('kgate-faults-img-'), 'bzImage');
  writeFileSync(image, whole.subarray(0, Math.floor(whole.length / 2)));
  const results = tempDir('kgate-faults-run-');
  const r = await end(start(['--kernel', image, '--modules', art.modulesDir, '--boot-timeout', '60', '--case', 'K3.pass', '--results', results]));

  const { errors } = splitStderr(r.stderr);
  const x = new Expect(r);
  await x.that('exit 125', () => assert.equal(r.code, 125));
  await x.that('well before the 60 s boot timeout', () => assert.ok(r.ms < 30_000, `took ${r.ms} ms`));
  await x.that('at most 5 error lines', () => assert.ok(errors.length <= 5, `${errors.length}: ${JSON.stringify(errors)}`));
  await x.that('one names the image', () => assert.ok(errors.some((l) => l.includes(image)), `none names ${image}: ${JSON.stringify(errors)}`));
  // Found before QEMU loads it (which it does without a word, and the guest prints nothing): how short it is, and that it was not booted.
  await x.that('one says it is truncated and was not booted', () => assert.ok(errors.some((l) => /truncated: [\d.]+ MiB of the [\d.]+ MiB .*not booted/.test(l)), JSON.stringify(errors)));
  await x.that('nothing left', () => assertNothingLeft(r));
  await x.that('ktap.log parses', () => assertParses(runDir(results)));
  x.done();
});

test('two kgate runs at once in one checkout (one build dir, one results root): both pass, each in a run directory of its own', { skip, timeout: TIMEOUT }, async () => {
  const results = tempDir('kgate-faults-run-');
  const cases = 'U01,K3.pass';
  const args = ['--kernel', KERNEL, '--case', cases, '--results', results];
  const [a, b] = await Promise.all([end(start(args)), end(start(args))]);
  const want = Object.fromEntries(selected(cases).map((id) => [id, 'PASS']));

  const x = new Expect();
  for (const [name, r] of [['first', a], ['second', b]] as const) {
    await x.that(`${name}: exit 0`, () => assert.equal(r.code, 0, r.stderr));
    await x.that(`${name}: no error line`, () => assert.deepEqual(splitStderr(r.stderr).errors, []));
    await x.that(`${name}: nothing left`, () => assertNothingLeft(r));
  }
  await x.that('two run directories, each with every case PASS, each parsed', async () => {
    const dirs = readdirSync(results);
    assert.equal(dirs.length, 2, `run directories: ${dirs}`);
    const named = [a, b].map((r) => /^results: (.*)$/m.exec(r.stdout)?.[1]);
    assert.equal(new Set(named).size, 2, `each run names its own directory: ${named}`);
    for (const d of dirs) {
      const run = readJson(join(results, d, 'results.json'));
      assert.deepEqual(Object.fromEntries(run.cases.map((c: { id: string; status: string }) => [c.id, c.status])), want, d);
      await assertParses(join(results, d));
    }
  });
  x.done();
});

test('SIGINT while the guest boots: exit 130, nothing left, metadata.json finished as interrupted, ktap.log parses', { skip, timeout: TIMEOUT }, async () => {
  const results = tempDir('kgate-faults-run-');
  const live = start(['--kernel', KERNEL, '--case', 'K3.pass', '--results', results]);
  await whileBooting(live);
  const booting = !/^kgate: target done/m.test(live.stderr());
  live.watch.sample();
  live.child.kill('SIGINT');
  const r = await end(live);

  const x = new Expect(r);
  await x.that('interrupted while booting: exit 130', () => { assert.equal(r.code, 130); assert.ok(booting, 'target done had not shown yet'); });
  await x.that('the error lines: the notice, then the reason', () => {
    const { errors } = splitStderr(r.stderr);
    assert.equal(errors.length, 2, JSON.stringify(errors));
    assert.match(errors[0], /^kgate: interrupted, stopping guests/);
    assert.equal(errors[1], 'kgate: interrupted by SIGINT');
  });
  await x.that('nothing left (the guest\'s qemu included)', () => { assertSawQemu(live); assertNothingLeft(r); });
  await x.that('metadata.json finished, aborted "interrupted by SIGINT"', () => {
    const meta = readJson(join(runDir(results), 'metadata.json'));
    assert.equal(meta.state, 'finished');
    assert.equal(meta.abort?.reason, 'interrupted by SIGINT');
  });
  await x.that('ktap.log parses', () => assertParses(runDir(results)));
  x.done();
});
