// A nightly cell on LAVA: `backend: lava-run` in nightly.yaml runs the cell
// with Debian's lava-run (the dispatcher alone, under TCG), and the cell's run
// directory is a local run's: its cases match a local QEMU run of the same
// kernel case by case, the night's reports are written, and the second night
// compares with the first as for any cell. Every process ended by pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/model.js';
import { DEVICE_TYPE_DIRS } from '../../src/lava/device.js';
import { validatorMissing } from '../../src/lava/validate.js';
import { kgate, kgateBin, root, tempDir } from './helpers.js';
import { Started } from './lava-procs.js';

async function lavaMissing(): Promise<string | undefined> {
  if (!existsSync('/usr/bin/lava-run')) return 'lava-run not installed (apt-get install lava-dispatcher; scripts/setup.sh)';
  if (!DEVICE_TYPE_DIRS.some((d) => existsSync(join(d, 'qemu.jinja2')))) return 'no LAVA device-type templates (lava-server not installed; scripts/setup.sh)';
  return validatorMissing();
}

const row = (c: RunResult['cases'][number]) => ({ id: c.id, family: c.family, status: c.status, observed: c.observed, expected: c.expected, reason: c.reason });

test('nightly: a cell with backend: lava-run gives a local run\'s directory, reports and comparison', { timeout: 10 * 60_000 }, async (t) => {
  const missing = await lavaMissing();
  if (missing) { t.skip(missing); return; }
  const work = tempDir('kgate-lava-nightly-');
  const cfg = join(work, 'nightly.yaml');
  writeFileSync(cfg, `kernels:
  - { name: deb612, debian: "6.12", backend: lava-run }
selections:
  - { name: few, cases: [U01, U03] }
results: out
`);
  const started = new Started();
  const night = async (date: string) => {
    const p = execa('node', [kgateBin, 'nightly', '--config', cfg, '--date', date], { reject: false, cwd: root, env: { CI: '1' }, timeout: 8 * 60_000, stdin: 'ignore' });
    started.add(p.pid);
    const watch = setInterval(() => started.snapshot(), 300);
    try { return await p; } finally { clearInterval(watch); }
  };
  try {
    const plan = await execa('node', [kgateBin, 'nightly', '--config', cfg, '--plan'], { reject: false, cwd: root, env: { CI: '1' } });
    assert.equal(plan.exitCode, 0, plan.stderr);
    assert.match(String(plan.stdout), /deb612 .*run by lava-run/);

    const n1 = await night('2026-01-01');
    assert.equal(n1.exitCode, 0, `${n1.stdout}\n${n1.stderr}`);
    const cellDir = join(work, 'out', '2026-01-01', 'deb612');
    for (const f of ['results.json', 'junit.xml', 'ktap.log', 'console.log', 'metadata.json', 'job.yaml', 'lava-job.log', 'device.yaml']) assert.ok(existsSync(join(cellDir, f)), f);
    for (const f of ['report.html', 'summary.txt', 'junit.xml', 'kcidb.json', 'nightly.json']) assert.ok(existsSync(join(work, 'out', '2026-01-01', f)), f);
    const lava = JSON.parse(readFileSync(join(cellDir, 'results.json'), 'utf8')) as RunResult;
    assert.equal(lava.target, 'lava-run');

    const local = await kgate(['run', '--kernel', 'debian:6.12', '--accel', 'tcg', '--case', 'U01,U03']);
    assert.equal(local.code, 0, local.stderr);
    assert.ok(lava.cases.length > 0);
    assert.deepEqual(lava.cases.map(row), local.run!.cases.map(row));
    assert.deepEqual(lava.problems, []);

    // The second night: the cell's history and the comparison with the first, as for a local cell.
    const n2 = await night('2026-01-02');
    assert.equal(n2.exitCode, 0, `${n2.stdout}\n${n2.stderr}`);
    const nj = JSON.parse(readFileSync(join(work, 'out', '2026-01-02', 'nightly.json'), 'utf8'));
    const cell = nj.report.cells[0];
    assert.equal(cell.vsLast?.date, '2026-01-01', JSON.stringify(cell.vsLast));
    assert.deepEqual(cell.vsLast.comparison.changes, []);
    assert.equal(readFileSync(join(work, 'out', 'history', 'deb612.jsonl'), 'utf8').trim().split('\n').length, 2);
  } finally {
    await started.killAll();
    assert.deepEqual(started.alive(), []);
  }
});
