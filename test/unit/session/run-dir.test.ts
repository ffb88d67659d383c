// A run directory (src/session/run-dir.ts, metadata.ts): claimed once per run,
// results.json and metadata.json there from the start, metadata.json written
// by one writer that a later finish (a LAVA job fetched afterwards) reopens.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MetadataFile } from '../../../src/session/metadata.js';
import { commandLine } from '../../../src/cli/options.js';
import { RUN_FILES, RunDir, readRunMetadata, readRunResult } from '../../../src/session/run-dir.js';

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
