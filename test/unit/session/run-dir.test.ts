// A run directory (src/session/run-dir.ts, metadata.ts): claimed once per run,
// results.json and metadata.json there from the start, metadata.json written
// by one writer that a later finish (a LAVA job fetched afterwards) reopens.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MetadataFile } from '../../../src/session/metadata.js';
import { commandLine } from '../../../src/cli/options.js';
import { RUN_FILES, RunDir, consoleLogs, readRunMetadata, readRunResult } from '../../../src/session/run-dir.js';

const root = mkdtempSync(join(tmpdir(), 'kgate-rundir-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('two runs of one second get two directories, each with results.json and metadata.json from the start', () => {
  const open = () => RunDir.open(root, '20261206T062000Z', { target: 'qemu', argv: ['run', '--case', 'U01'], onFault: () => {} });
  const a = open();
  const b = open();
  assert.deepEqual([a.runId, b.runId], ['20261206T062000Z', '20261206T062000Z-2']);
  assert.deepEqual(readRunResult(a.dir)?.cases, []);
  const meta = readRunMetadata(a.dir);
  assert.equal(meta.state, 'running');
  assert.equal(meta.reproducer, 'kgate run --case U01');
  assert.equal(a.file('ktap'), join(a.dir, 'ktap.log'));
});

test('a pinned kernel is written into the reproducer; a reopened metadata.json keeps what it said', () => {
  // The line as the option table gives it, and again with --kernel pinned.
  const line = commandLine('run', { kernel: 'debian:6.12' }, ['run', '--kernel', 'debian:6.12']);
  const d = RunDir.open(root, 'pin', { target: 'qemu', ...line, onFault: () => {} });
  d.meta.update({ kernel: { release: '6.12.57+deb13-cloud-amd64', pinned: 'debian:6.12.57' }, timings: { kernelMs: 5 } });
  const later = MetadataFile.reopen(d.dir);
  later.finish({ timings: { ...later.current.timings, parseMs: 7 } });
  const meta = JSON.parse(readFileSync(join(d.dir, RUN_FILES.metadata), 'utf8'));
  assert.equal(meta.reproducer, 'kgate run --kernel debian:6.12.57');
  assert.deepEqual(meta.timings, { kernelMs: 5, parseMs: 7 });
  assert.equal(meta.state, 'finished');
  assert.deepEqual(meta.argv, ['run', '--kernel', 'debian:6.12']);
});

test('a results root that cannot be written is the user\'s: one line naming it', () => {
  assert.throws(() => RunDir.open('/proc/kgate-no', 'x', { target: 'qemu', argv: [], onFault: () => {} }),
    (e: Error & { family?: string }) => e.family === 'user' && /cannot write results to \/proc\/kgate-no/.test(e.message));
});

test('the reproducer pins the kernel a default resolved to, from the option table, for any command that takes --kernel', () => {
  // kgate run with the default --kernel: the pinned spec is added; with the option given: replaced where it was.
  const run = commandLine('run', { kernel: 'debian:6.12', case: ['U01'] }, ['run', '--case', 'U01']);
  assert.deepEqual(run.pinKernel?.('debian:6.12.57'), ['run', '--case', 'U01', '--kernel', 'debian:6.12.57']);
  const job = commandLine('lava job', { kernel: 'debian:6.1' }, ['lava', 'job', '--kernel', 'debian:6.1']);
  assert.deepEqual(job.pinKernel?.('debian:6.1.158'), ['lava', 'job', '--kernel', 'debian:6.1.158']);
  // A command without --kernel (a bisect step builds the tree it stands in) has nothing to pin.
  assert.equal(commandLine('bisect-step', {}, ['bisect-step']).pinKernel, undefined);
  const d = RunDir.open(root, 'nopin', { target: 'qemu', argv: ['bisect-step'], onFault: () => {} });
  d.meta.update({ kernel: { release: '6.18.0', pinned: 'tree:/src/linux@abc' } });
  assert.equal(readRunMetadata(d.dir).reproducer, 'kgate bisect-step');
});

test('a directory reopened to be finished (a LAVA job fetched later): what it said kept, its KTAP written anew, the run finished with its Bail out!', () => {
  const d = RunDir.open(root, 'reopen', { target: 'lava', argv: ['lava', 'job'], onFault: () => {} });
  d.meta.update({ timings: { kernelMs: 3 } });
  writeFileSync(d.file('ktap'), 'KTAP version 1\n1..1\nok 1 an earlier fetch\n');
  const later = RunDir.reopen(d.dir, { onFault: (f) => { throw f; } });
  assert.equal(later.runId, 'reopen');
  assert.equal(later.run.startedAt, d.run.startedAt);
  assert.equal(existsSync(later.file('ktap')), false, 'the earlier fetch\'s KTAP is not appended to');
  later.keep('lava-job.log', 'the job\'s own log\n');
  later.run.abort = { family: 'infra', reason: 'LAVA job 7 ended Incomplete\nmore' };
  later.finish(2, { timings: { ...later.meta.current.timings, parseMs: 1 } });
  assert.equal(readFileSync(join(d.dir, 'lava-job.log'), 'utf8'), 'the job\'s own log\n');
  assert.match(readFileSync(later.file('ktap'), 'utf8'), /^KTAP version 1\n# kgate: .*\n1\.\.2\nBail out! LAVA job 7 ended Incomplete\n$/);
  const meta = readRunMetadata(d.dir);
  assert.equal(meta.state, 'finished');
  assert.deepEqual(meta.timings, { kernelMs: 3, parseMs: 1 });
  assert.equal(meta.abort?.reason, 'LAVA job 7 ended Incomplete\nmore');
  assert.ok(readRunResult(d.dir)?.finishedAt);
  assert.ok(existsSync(later.file('junit')));
});

test('a run directory\'s console logs, by name', () => {
  const d = RunDir.open(root, 'consoles', { target: 'qemu', argv: [], onFault: () => {} });
  for (const f of ['console-2.log', 'console.log']) writeFileSync(join(d.dir, f), '');
  assert.deepEqual(consoleLogs(d.dir), [join(d.dir, 'console-2.log'), join(d.dir, 'console.log')]);
  assert.deepEqual(consoleLogs(join(root, 'none')), []);
});
