// `kgate merge` of a nightly's shards (src/nightly/merge.ts): the merged night
// keeps every shard's regressions, once each, a bisected one over a bare one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mergeShards } from '../../../src/nightly/merge.js';
import { writeNightlyReport } from '../../../src/nightly/report.js';
import type { MatrixReport, Regression } from '../../../src/report/matrix.js';
import { smallMatrix } from '../report/matrix-fixture.js';

test('merge of a nightly\'s shards: the regressions of every shard, once each, the bisected one kept; summary.txt lists them', () => {
  const root = mkdtempSync(join(tmpdir(), 'kgate-merge-'));
  try {
    const m = smallMatrix();
    const reg = (cell: string, id: string, culprit?: string): Regression => ({ cell, case: id, appeared: '2026-12-03', lastPassed: { date: '2026-12-02' }, lastSeen: '2026-12-03', open: true,
      ...(culprit ? { bisect: { date: '2026-12-03', cases: [id], good: { date: '2026-12-02', commit: 'a'.repeat(40) }, bad: { date: '2026-12-03', commit: 'b'.repeat(40) }, outcome: 'found' as const,
        culprit: { commit: culprit, subject: 'fuse: break it', verified: true, why: [] } } } : {}) });
    const shard = (i: number, cells: MatrixReport['cells'], regressions: Regression[]) => {
      const dir = join(root, `shard${i}`);
      mkdirSync(dir, { recursive: true });
      writeNightlyReport(dir, { plan: 'p1', report: { ...m, title: `${m.title} (shard ${i}/2)`, shard: `${i}/2`, cells, regressions } });
      return dir;
    };
    const one = shard(1, [m.cells[0]], [reg('debian', 'U03.dir'), reg('debian', 'K1.hang')]);
    const two = shard(2, [m.cells[1]], [reg('tree', 'K2.panic', 'c'.repeat(40)), reg('debian', 'U03.dir', 'd'.repeat(40))]);
    const out = join(root, 'merged');
    const r = mergeShards([one, two], out);
    const got = r.report!.regressions!.map((x) => [x.cell, x.case, x.bisect?.culprit?.commit.slice(0, 1)]);
    assert.deepEqual(got.sort(), [['debian', 'K1.hang', undefined], ['debian', 'U03.dir', 'd'], ['tree', 'K2.panic', 'c']]);
    assert.match(readFileSync(join(out, 'summary.txt'), 'utf8'), /^Open regressions \(3\):$/m);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
