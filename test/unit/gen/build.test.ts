import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildSuite } from '../../../src/gen/build.js';
import { generateAndBuild } from '../../../src/gen/stage.js';
import type { BuildManifest } from '../../../src/gen/manifest.js';
import { KgateError } from '../../../src/model.js';
import { SUITE_FAULTS, suiteEnv } from '../../../src/cli/run-command.js';

async function haveStaticCc(): Promise<boolean> {
  try {
    await execa('cc', ['--version']);
    return existsSync('/usr/lib/x86_64-linux-gnu/libc.a') || existsSync('/usr/lib/libc.a') || existsSync('/usr/lib64/libc.a');
  } catch { return false; }
}
const canRunFuse = () => process.getuid?.() === 0 && existsSync('/dev/fuse');

test('buildSuite compiles, then skips unchanged binaries; manifest matches', { timeout: 300_000 }, async (t) => {
  if (!(await haveStaticCc())) return t.skip('no cc with a static libc');
  const dir = await mkdtemp(join(tmpdir(), 'kgate-build-'));
  try {
    const req = { srcDir: join(dir, 'src'), binDir: join(dir, 'bin'), families: ['selftest'] };
    const a = await buildSuite(req);
    assert.deepEqual(a.steps.map((s) => [s.name, s.cached]), [['kgate-selftest', false]]);
    const m = JSON.parse(await readFile(a.manifestPath, 'utf8')) as BuildManifest;
    assert.equal(m.version, 1);
    assert.equal(m.binaries[0].name, 'kgate-selftest');
    assert.equal(m.binaries[0].api, 'upstream');
    assert.deepEqual(m.binaries[0].cases, [{ id: 'K1.hang', timeoutSec: 3 }, { id: 'K2.panic', timeoutSec: 10 }, { id: 'K4.wedge', timeoutSec: 2 }, { id: 'K3.pass', timeoutSec: 3 }]);
    assert.match(m.binaries[0].sha256, /^[0-9a-f]{64}$/);
    const b = await buildSuite(req);
    assert.equal(b.steps[0].cached, true);
    assert.equal(b.manifest.binaries[0].sha256, m.binaries[0].sha256);
    const c = await buildSuite({ ...req, cflags: ['-static', '-O1', '-Wall', '-Werror', '-pthread'] });
    assert.equal(c.steps[0].cached, false, 'new flags rebuild');

    const list = await execa(m.binaries[0].path, ['-l']);
    assert.deepEqual(list.stdout.split('\n'), ['K1.hang', 'K2.panic', 'K4.wedge', 'K3.pass']);
    const usage = await execa(m.binaries[0].path, ['nope'], { reject: false });
    assert.equal(usage.exitCode, 2);
    // KGATE_FAULT's names: the binary's list is kgate's (which refuses a bad one before a run starts)
    const fault = await execa(m.binaries[0].path, ['-l'], { reject: false, env: { KGATE_FAULT: 'nope' } });
    assert.equal(fault.exitCode, 2);
    assert.match(fault.stderr, new RegExp(`KGATE_FAULT=nope: unknown fault \\(known: ${SUITE_FAULTS.join(', ')}\\)`));
    assert.throws(() => suiteEnv({ KGATE_FAULT: 'no-passthrough,nope' }), (e: unknown) => e instanceof KgateError && e.family === 'user'
      && e.message === `KGATE_FAULT=no-passthrough,nope: unknown fault 'nope'; known: ${SUITE_FAULTS.join(', ')}`);
    assert.deepEqual(suiteEnv({ KGATE_FAULT: SUITE_FAULTS.join(',') }), { KGATE_FAULT: SUITE_FAULTS.join(',') });

    if (!canRunFuse()) return t.diagnostic('not root or no /dev/fuse: not running the binary');
    const run = await execa(m.binaries[0].path, ['K3.pass', 'K2.panic'], { reject: false, env: { KGATE_ALLOW_PANIC: '' } });
    assert.equal(run.exitCode, 0, run.stdout);
    const lines = run.stdout.split('\n');
    assert.equal(lines[0], 'KTAP version 1');
    assert.match(lines[1], /^# kgate family=selftest api=upstream release=\S+ generation=\S+ passthrough=(yes|no)/);
    // then what it speaks and why, in words ("# kgate speaks: upstream", "# kgate why: ...")
    const plan = lines.indexOf('1..2');
    assert.ok(plan >= 3, run.stdout);
    for (const l of lines.slice(2, plan)) assert.match(l, /^# kgate (speaks|why): \S/);
    assert.match(lines[plan + 1], /^# K3\.pass observed=ok expected=ok ms=\d+$/);
    assert.equal(lines[plan + 2], 'ok 1 K3.pass');
    assert.match(lines.at(-1)!, /^ok 2 K2\.panic # SKIP refusing to crash the kernel/);

    // a hung case is killed at its timeout and leaves no mount behind
    const hang = await execa(m.binaries[0].path, ['-t', '1', 'K1.hang'], { reject: false });
    assert.equal(hang.exitCode, 1);
    assert.match(hang.stdout, /\n# K1\.hang observed=timeout expected=ok ms=\d+\nnot ok 1 K1\.hang # TIMEOUT after 1 s$/);
    assert.ok(!/kgate/.test(await readFile('/proc/self/mountinfo', 'utf8')), 'a kgate mount leaked');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('generateAndBuild puts src/ and bin/ under buildDir and summarises', { timeout: 300_000 }, async (t) => {
  if (!(await haveStaticCc())) return t.skip('no cc with a static libc');
  const dir = await mkdtemp(join(tmpdir(), 'kgate-stage-'));
  try {
    const r = await generateAndBuild({ buildDir: dir, filter: { cases: ['K3'] } });
    assert.equal(r.binDir, join(dir, 'bin'));
    assert.ok(existsSync(join(dir, 'src', 'kgate-selftest.c')));
    assert.match(r.summary, /^1 binaries \(1 compiled, 0 up to date\), 1 cases/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing compiler is an infra error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kgate-nocc-'));
  try {
    await assert.rejects(buildSuite({ srcDir: join(dir, 'src'), binDir: join(dir, 'bin'), families: ['selftest'], cc: '/nonexistent/cc' }),
      (e: unknown) => e instanceof KgateError && e.family === 'infra' && /C compiler '\/nonexistent\/cc' not usable/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
