// End to end on real LAVA: `kgate lava job` writes the job, Debian's lava-run
// (the dispatcher alone, no server) runs it under TCG on debian:6.12's kernel,
// `kgate lava fetch --dispatcher-output` turns the job's log into a run
// directory, and that matches a local QEMU run of the same kernel case by case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/model.js';
import { deviceDict, renderDevice, DEVICE_TYPE_DIRS } from '../../src/lava/device.js';
import { validatorMissing } from '../../src/lava/validate.js';
import { kgate, kgateBin, root, tempDir } from './helpers.js';
import { Started } from './lava-procs.js';

const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

async function lavaMissing(): Promise<string | undefined> {
  if (!existsSync('/usr/bin/lava-run')) return 'lava-run not installed (apt-get install lava-dispatcher; scripts/setup.sh)';
  if (!DEVICE_TYPE_DIRS.some((d) => existsSync(join(d, 'qemu.jinja2')))) return 'no LAVA device-type templates (lava-server not installed; scripts/setup.sh)';
  return validatorMissing();
}

/** `kgate lava job ARGS` -> the run directory it wrote. */
async function lavaJob(args: string[], env: Record<string, string> = {}): Promise<string> {
  const results = tempDir('kgate-lava-e2e-');
  const r = await execa('node', [kgateBin, 'lava', 'job', '--kernel', 'debian:6.12', '--results', results, ...args], { reject: false, cwd: root, env: { ...env, CI: '1' } });
  assert.equal(r.exitCode, 0, `kgate lava job: ${r.stderr}`);
  const job = String(r.stdout).trim().split('\n').at(-1)!;
  assert.ok(existsSync(job), job);
  return join(job, '..');
}

/** lava-run on the job, every process it started killed by pid at the end; returns the log it wrote (stderr). */
async function lavaRun(dir: string, started: Started): Promise<{ code: number; log: string; ms: number }> {
  const device = join(dir, 'device.yaml');
  writeFileSync(device, await renderDevice(deviceDict()));
  const out = tempDir('kgate-lava-out-');
  const jobId = `kgate-e2e-${process.pid}-${Date.now()}`;
  const t0 = Date.now();
  const p = execa('lava-run', ['--job-id', jobId, '--output-dir', out, '--device', device, join(dir, 'job.yaml')],
    { reject: false, env: { PATH: SYSTEM_PATH }, extendEnv: false, timeout: 15 * 60_000, stdin: 'ignore' });
  started.add(p.pid);
  // QEMU runs in a session of lava-run's: note its pid while its parent lives.
  const watch = setInterval(() => started.snapshot(), 300);
  try {
    const r = await p;
    const log = join(dir, 'dispatcher.log');
    writeFileSync(log, String(r.stderr));
    return { code: r.exitCode ?? -1, log, ms: Date.now() - t0 };
  } finally {
    clearInterval(watch);
  }
}

async function fetchDispatcher(dir: string, log: string) {
  const r = await execa('node', [kgateBin, 'lava', 'fetch', '--dir', dir, '--dispatcher-output', log], { reject: false, cwd: root, env: { CI: '1' } });
  const run = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), run };
}

const row = (c: RunResult['cases'][number]) => ({ id: c.id, family: c.family, status: c.status, observed: c.observed, expected: c.expected, reason: c.reason });

test('lava-run runs the generated job under TCG; the results match a local QEMU run case by case', { timeout: 20 * 60_000 }, async (t) => {
  const missing = await lavaMissing();
  if (missing) { t.skip(missing); return; }
  const started = new Started();
  try {
    const dir = await lavaJob([]);
    const lr = await lavaRun(dir, started);
    assert.equal(lr.code, 0, `lava-run exit ${lr.code}`);
    const f = await fetchDispatcher(dir, lr.log);
    assert.equal(f.code, 0, f.stderr);
    for (const file of ['results.json', 'junit.xml', 'ktap.log', 'console.log', 'metadata.json', 'job.yaml', 'lava-job.log']) assert.ok(existsSync(join(dir, file)), file);
    // LAVA saw every case as a test case of its family, with the errno as measurement.
    const logText = readFileSync(lr.log, 'utf8');
    assert.match(logText, /"case": "u03_dir", "definition": "ioctl-open", "extra": \{"test_case_id": "U03.dir"\}, "level": "[0-9.]+", "measurement": "21", "result": "pass", "units": "EISDIR"/);

    const local = await kgate(['run', '--kernel', 'debian:6.12', '--accel', 'tcg']);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(f.run.cases.length, local.run!.cases.length);
    assert.deepEqual(f.run.cases.map(row), local.run!.cases.map(row));
    assert.equal(f.run.kernel?.release, local.run!.kernel?.release);
    assert.deepEqual(f.run.problems, []);
    // The report of a local run reads it: kgate parse on its ktap.log counts the same cases.
    const parsed = await execa('node', [kgateBin, 'parse', join(dir, 'ktap.log')], { reject: false, cwd: root });
    assert.match(String(parsed.stdout), new RegExp(`Ran ${f.run.cases.length} tests`));
  } finally {
    await started.killAll();
    assert.deepEqual(started.alive(), []);
  }
});

test('a kernel panic under LAVA: the case CRASHes from the console by line position, the cases after it MISS, exit 1', { timeout: 10 * 60_000 }, async (t) => {
  const missing = await lavaMissing();
  if (missing) { t.skip(missing); return; }
  const started = new Started();
  try {
    const dir = await lavaJob(['--case', 'U01,K3.pass,K2.panic'], { KGATE_ALLOW_PANIC: '1' });
    const lr = await lavaRun(dir, started);
    assert.notEqual(lr.code, 0, 'the job cannot complete: QEMU ended with the panic');
    const f = await fetchDispatcher(dir, lr.log);
    const status = Object.fromEntries(f.run.cases.map((c) => [c.id, c.status]));
    assert.equal(status['U01.never_opened'], 'PASS');
    const all = JSON.stringify(f.run.cases.map((c) => [c.id, c.status, c.reason]), null, 1) + f.stderr;
    assert.equal(status['K2.panic'], 'CRASH', all);
    // K3.pass comes after K2.panic in the catalog: the guest died first; kept as MISS, not dropped.
    assert.equal(status['K3.pass'], 'MISS', all);
    assert.match(f.run.cases.find((c) => c.id === 'K3.pass')!.reason!, /^not run: /);
    const crash = f.run.cases.find((c) => c.id === 'K2.panic')!;
    assert.match(crash.reason!, /kernel (panic|oops)/);
    assert.ok(crash.console!.some((l) => /sysrq|Kernel panic/.test(l)), crash.console!.join('\n'));
    assert.equal(f.code, 1, f.stderr);
    // The job's own end is said in one line: LAVA's error type and message.
    assert.match(f.stderr, /^kgate: the LAVA job ended Incomplete: /m);
  } finally {
    await started.killAll();
    assert.deepEqual(started.alive(), []);
  }
});

