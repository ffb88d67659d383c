// Faults that used to hang kgate, and SIGTERM (what CI job timeouts and
// timeout(1) send) at each stage of a run. Each asserts what the person whose
// CI job it was would check: it ended, promptly, with the documented code, and
// left nothing behind (no qemu it started, no FUSE mount, no temp dir) but a
// results directory that `kgate parse` reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNotSaid, assertSaid, hasQemu, kgateBin, root, tempDir } from './helpers.js';
import { qemuChildrenOf, stillQemu, watchQemuOf } from './procs.js';

const skip = !hasQemu() ? 'qemu-system-x86_64 is not installed' : false;

/** kgate run that must fail before it builds or boots anything; the qemu it started, if any, by parent pid. */
async function early(args: string[]): Promise<{ code?: number; stdout: string; stderr: string; ms: number; timedOut: boolean; qemu: Set<number> }> {
  const t0 = Date.now();
  const child = execa('node', [kgateBin, 'run', ...args], {
    reject: false, cwd: root, env: { CI: '1' }, stdin: 'ignore', timeout: 10_000, killSignal: 'SIGKILL',
  });
  const qemu = watchQemuOf(child.pid);
  const r = await child.finally(() => qemu.stop());
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - t0, timedOut: r.timedOut, qemu: qemu.pids };
}

test('kgate run --results /proc/x (a results directory that cannot be made): one line naming it and why, exit 2, within 5 s', async () => {
  // Node 20's mkdirSync(recursive) never returns on /proc, and with kgate's SIGTERM handler installed the
  // blocked event loop never ran it: this hung until SIGKILL (src/util/fs.ts mkdirp).
  const r = await early(['--results', '/proc/x', '--kernel', 'debian:6.12', '--case', 'K3.pass']);
  assert.equal(r.timedOut, false, `did not end within 10 s: ${r.stderr}`);
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, before any stage started: ${r.stderr}`);
  assert.match(lines[0], /^kgate: cannot write results to \/proc\/x: ENOENT/);
  assert.equal(r.stdout, '');
});

test('kgate run --build-dir /proc/x: exit 2 within 5 s, without waiting for the guest it had started to boot', { skip }, async () => {
  const results = tempDir('kgate-faults-');
  const r = await early(['--build-dir', '/proc/x', '--results', results, '--kernel', 'debian:6.12', '--case', 'K3.pass']);
  assert.equal(r.timedOut, false, `did not end within 10 s: ${r.stderr}`);
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trim().split('\n').at(-1)!, /^kgate: cannot write the suite to \/proc\/x\/src: ENOENT/);
  assertNotSaid(r.stderr, /target done/);
  assert.deepEqual(stillQemu(r.qemu), [], 'no qemu it started is left');
});

/** Command lines of running processes that name `path` (a compiler of that build directory, say). */
function processesMentioning(path: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(path)) out.push(`${d}: ${cmd}`);
    } catch { /* gone */ }
  }
  return out;
}

const fuseMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => /^\S+ \S+ fuse/.test(l));

interface Terminated { code?: number; stderr: string; results: string; tmp: string; ms: number; qemu: Set<number> }

/**
 * Runs `kgate run ARGS`, sends SIGTERM once `ready(stderr)` says the stage is
 * under way, and returns how it ended. TMPDIR is a directory of the test's own,
 * so any temp dir kgate left is seen there.
 */
async function terminateWhen(args: string[], ready: (stderr: string, pid: number | undefined) => boolean, what: string): Promise<Terminated> {
  const results = tempDir('kgate-term-');
  const tmp = tempDir('kgate-term-tmp-');
  const child = execa('node', [kgateBin, 'run', ...args, '--results', results], {
    reject: false, cwd: root, env: { CI: '1', TMPDIR: tmp }, stdin: 'ignore', timeout: 5 * 60_000, killSignal: 'SIGKILL',
  });
  const qemu = watchQemuOf(child.pid);
  let err = '';
  await new Promise<void>((resolve, reject) => {
    void child.finally(() => qemu.stop());
    const t = setTimeout(() => { clearInterval(poll); child.kill('SIGKILL'); reject(new Error(`${what} never showed: ${err}`)); }, 3 * 60_000);
    const check = () => { if (ready(err, child.pid)) { clearTimeout(t); clearInterval(poll); resolve(); } };
    const poll = setInterval(check, 100);
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); check(); });
    void child.then(() => { clearTimeout(t); clearInterval(poll); reject(new Error(`kgate ended before ${what}: ${err}`)); });
  });
  const t0 = Date.now();
  qemu.sample(); // what runs now, at the moment TERM is sent
  child.kill('SIGTERM');
  const r = await child;
  qemu.stop();
  return { code: r.exitCode, stderr: String(r.stderr), results, tmp, ms: Date.now() - t0, qemu: qemu.pids };
}

/** What every stage must leave: exit 143, nothing running or mounted, no temp dir, metadata finished, a log parse reads. */
async function assertTerminatedCleanly(r: Terminated, mountsBefore: string[]): Promise<{ dir: string; cases: { id: string; status: string }[] }> {
  assert.equal(r.code, 143, r.stderr);
  assert.ok(r.ms < 30_000, `took ${r.ms} ms to stop after SIGTERM`);
  assertSaid(r.stderr, /terminated \(SIGTERM\), stopping guests/);
  assert.deepEqual(stillQemu(r.qemu), [], 'every qemu the run started is gone');
  assert.deepEqual(fuseMounts().filter((m) => !mountsBefore.includes(m)), [], 'no FUSE mount left');
  assert.deepEqual(readdirSync(r.tmp), [], 'no temp dir of kgate\'s left');
  const runs = readdirSync(r.results);
  assert.equal(runs.length, 1, `one run directory: ${runs}`);
  const dir = join(r.results, runs[0]);
  const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
  assert.equal(meta.state, 'finished', 'metadata.json completed');
  assert.equal(meta.abort?.reason, 'interrupted by SIGTERM');
  assert.ok(existsSync(join(dir, 'ktap.log')), 'ktap.log written');
  const parsed = await execa('node', [kgateBin, 'parse', join(dir, 'ktap.log')], { reject: false, cwd: root, stdin: 'ignore' });
  assert.ok(parsed.exitCode === 0 || parsed.exitCode === 1, `kgate parse reads ${dir}/ktap.log: exit ${parsed.exitCode} ${parsed.stderr}`);
  assert.match(String(parsed.stdout), /Testing complete\. Ran \d+ test/);
  const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  return { dir, cases: saved.cases };
}

test('SIGTERM while the suite compiles: exit 143, no qemu, mount or temp dir left, results readable', { skip, timeout: 6 * 60_000 }, async () => {
  const mountsBefore = fuseMounts();
  // A build directory of its own is a cold build (12 binaries, several seconds): sent at the first compiled binary, TERM lands mid-compile.
  const buildDir = tempDir('kgate-term-build-');
  const r = await terminateWhen(['--build-dir', buildDir, '--kernel', 'debian:6.12', '--case', 'K3.pass'],
    (e) => /^kgate: build note: compiled/m.test(e), 'the suite build');
  assertNotSaid(r.stderr, /build done/, 'the build was under way when TERM came');
  const { cases } = await assertTerminatedCleanly(r, mountsBefore);
  assert.ok(cases.every((c) => c.status === 'MISS'), JSON.stringify(cases));
  const bin = join(buildDir, 'bin');
  assert.deepEqual(readdirSync(bin).filter((f) => /\.tmp|cc-tmp/.test(f)), [], 'no half-written binary or compiler temp dir');
  assert.deepEqual(processesMentioning(buildDir), [], 'no compiler of this build left running');
});

test('SIGTERM while the guest boots: exit 143, its qemu killed, nothing left, results readable', { skip, timeout: 6 * 60_000 }, async () => {
  const mountsBefore = fuseMounts();
  // Booting: kgate said so and its qemu is running.
  const r = await terminateWhen(['--kernel', 'debian:6.12', '--case', 'K3.pass'],
    (e, pid) => /^kgate: target start: qemu/m.test(e) && qemuChildrenOf(pid).length > 0, 'the guest booting');
  assertNotSaid(r.stderr, /target done/, 'the guest was still booting when TERM came');
  assert.ok(r.qemu.size > 0, 'a qemu was running when TERM came');
  const { cases } = await assertTerminatedCleanly(r, mountsBefore);
  assert.deepEqual(cases.map((c) => [c.id, c.status]), [['K3.pass', 'MISS']]);
});

test('SIGTERM while the suite runs: exit 143, the results obtained kept, nothing left, results readable', { skip, timeout: 6 * 60_000 }, async () => {
  const mountsBefore = fuseMounts();
  // U01's cases report first (ioctl-open); TERM comes as the selftest binary starts, after them.
  // (It once hung there: ssh2 never called back an SFTP write whose guest was killed, and kgate exited 0.)
  const first = /^kgate: (PASS|FAIL|XFAIL|SKIP|CRASH|TIMEOUT|ERROR)\s+(\S+)/m;
  const r = await terminateWhen(['--kernel', 'debian:6.12', '--case', 'U01,K1.hang,K3.pass'],
    (e) => first.test(e) && /^kgate: selftest: \d+ case\(s\) on/m.test(e), 'the first case result, then the next binary starting');
  const [, status, id] = first.exec(r.stderr)!;
  const { cases } = await assertTerminatedCleanly(r, mountsBefore);
  const byId = Object.fromEntries(cases.map((c) => [c.id, c.status]));
  assert.equal(byId[id], status, `${id}'s result, obtained before TERM, is kept`);
  assert.equal(byId['K3.pass'], 'MISS', 'the case after TERM was not run');
});
