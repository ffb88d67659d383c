// The run's sink (src/runner/sink.ts): results.json lists the cases in the
// selection's order, whichever lane or guest reported first, rewritten as each lands.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { RunSink } from '../../../src/runner/sink.js';
import { summarise, type CaseResult, type RunResult } from '../../../src/model.js';

test('results.json: the cases in the order the suite runs them one after another, as each lands; a case not asked for at the end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-sink-'));
  try {
    const run: RunResult = { runId: 'r', startedAt: '', target: 'qemu', cases: [], problems: [], summary: summarise([]) };
    const sink = new RunSink(dir, run, () => {});
    sink.orderAs(['U01.a', 'U01.b', 'H1.read', 'H2.write']);
    const c = (id: string): CaseResult => ({ id, family: 'f', status: 'PASS', tap: [] });
    const saved = () => (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult).cases.map((x) => x.id);
    sink.add(c('H1.read'));
    sink.add(c('U01.a'));
    assert.deepEqual(saved(), ['U01.a', 'H1.read']);
    sink.add(c('X9.other'));
    sink.add(c('H2.write'));
    sink.add(c('U01.b'));
    assert.deepEqual(saved(), ['U01.a', 'U01.b', 'H1.read', 'H2.write', 'X9.other']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
