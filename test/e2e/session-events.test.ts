// runOnce is the function bisect, gate and nightly call: what it emits is
// what their progress displays and logs are made of. Here, on the host
// (--target local): every event carries the run's key, stages come from the
// closed set in order, one case event per selected case, and metadata.json
// says "finished" with the summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, isRoot, tempDir } from './helpers.js';
import { runOnce } from '../../src/session/run-once.js';
import { makeSelection } from '../../src/catalog/selection.js';
import { STAGES, type KgateEvent } from '../../src/events.js';

const skip = !isRoot() || !existsSync('/dev/fuse') ? 'needs root and /dev/fuse' : false;

test('runOnce on the host: events keyed by run, stages in order, one case event per case', { skip }, async () => {
  const events: KgateEvent[] = [];
  const selection = makeSelection({ cases: ['U01', 'U10.flags'] });
  const out = await runOnce({ target: { kind: 'local' }, selection }, {
    buildDir: join(root, 'build'), resultsRoot: tempDir('kgate-session-'),
    argv: ['run', '--target', 'local', '--case', 'U01,U10.flags'], signal: new AbortController().signal,
    emit: (e) => events.push(e),
  });
  assert.equal(out.exitCode, 0, JSON.stringify(out.run.cases.map((c) => [c.id, c.status, c.reason])));
  assert.ok(events.length > 0);
  for (const e of events) assert.equal(e.run, out.run.runId, `event without the run key: ${JSON.stringify(e)}`);
  const stages = events.filter((e) => e.type === 'stage');
  for (const e of stages) assert.ok((STAGES as readonly string[]).includes(e.stage), e.stage);
  // No kernel stage on the host: it tests the kernel it runs.
  assert.ok(!stages.some((e) => e.stage === 'kernel'));
  const at = (stage: string, state: string) => stages.findIndex((e) => e.stage === stage && e.state === state);
  assert.ok(at('build', 'start') >= 0 && at('build', 'start') < at('build', 'done'));
  assert.ok(at('target', 'start') < at('target', 'done'));
  assert.equal(stages.at(-1)!.stage, 'suite');
  assert.equal(stages.at(-1)!.state, 'done');
  const cases = events.filter((e) => e.type === 'case').map((e) => (e as { result: { id: string } }).result.id).sort();
  assert.deepEqual(cases, [...selection.ids].sort());
  const meta = JSON.parse(readFileSync(join(out.dir, 'metadata.json'), 'utf8'));
  assert.equal(meta.state, 'finished');
  assert.equal(meta.summary.total, selection.ids.length);
  assert.match(meta.reproducer, /^kgate run --target local --case U01,U10\.flags$/);
  // Which suite and which kgate judged it, for a results directory found months later.
  assert.deepEqual(meta.selection.cases, [...selection.ids]);
  assert.match(meta.kgate, /^\d+\.\d+\.\d+( \([0-9a-f]{12}(-dirty)?\))?$/);
  assert.match(meta.suite.sha256, /^[0-9a-f]{64}$/);
  assert.ok(Object.keys(meta.suite.binaries).includes('kgate-ioctl-open'), JSON.stringify(meta.suite));
});
