// A run directory (src/session/run-dir.ts, metadata.ts): claimed once per run,
// results.json and metadata.json there from the start, metadata.json written
// by one writer that a later finish (a LAVA job fetched afterwards) reopens.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MetadataFile } from '../../../src/session/metadata.js';
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
  const d = RunDir.open(root, 'pin', { target: 'qemu', argv: ['run', '--kernel', 'debian:6.12'], onFault: () => {} });
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
