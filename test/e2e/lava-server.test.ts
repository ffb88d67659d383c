// End to end on a real LAVA server: scripts/lava-server.sh brings up
// Debian's lava-server (PostgreSQL, Django's runserver, the scheduler) and a
// lava-worker on 127.0.0.1, `kgate lava submit --wait` sends a generated job
// over REST, the worker runs it with lava-run under TCG, and the run directory
// kgate fetches back matches a local QEMU run of the same cases, case by case.
// Every process the lab started is ended by its pid at the end, pass or fail,
// and PostgreSQL is stopped again when the script had started it. The same lab
// then runs a nightly cell with `backend: lava`: the same cases again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { RunResult } from '../../src/model.js';
import { validatorMissing } from '../../src/lava/validate.js';
import { assertSaid, kgate, kgateBin, root, tempDir } from './helpers.js';
import { Started } from './lava-procs.js';

const SCRIPT = join(root, 'scripts', 'lava-server.sh');
const CASES = 'U01,U03';

async function serverMissing(): Promise<string | undefined> {
  for (const [bin, pkg] of [['/usr/bin/lava-server', 'lava-server'], ['/usr/bin/lava-worker', 'lava-worker'], ['/usr/bin/lava-run', 'lava-dispatcher'], ['/usr/bin/pg_ctlcluster', 'postgresql']]) {
    if (!existsSync(bin)) return `${bin} not installed (apt-get install ${pkg}; scripts/setup.sh)`;
  }
  if (process.getuid?.() !== 0) return 'lava-server.sh needs root (PostgreSQL, /etc/lava-server)';
  return validatorMissing();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a ? a.port : 0)); });
  });
}

/** The pids the script wrote (runserver, scheduler, worker). */
function labPids(state: string): number[] {
  if (!existsSync(state)) return [];
  return readdirSync(state).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(join(state, f), 'utf8').trim())).filter((p) => p > 0);
}

const row = (c: RunResult['cases'][number]) => ({ id: c.id, family: c.family, status: c.status, observed: c.observed, expected: c.expected, reason: c.reason });

test('kgate lava submit --wait, and a nightly cell with backend: lava, on a real lava-server + lava-worker: the results match a local QEMU run case by case', { timeout: 10 * 60_000 }, async (t) => {
  const missing = await serverMissing();
  if (missing) { t.skip(missing); return; }
  const state = tempDir('kgate-lava-lab-');
  const started = new Started();
  // The lab's daemons and what the worker starts (lava-run, QEMU): noted while their parents live.
  const watch = setInterval(() => { for (const p of labPids(state)) started.add(p); started.snapshot(); }, 500);
  const pgWasUp = (await execa('pg_lsclusters', ['-h'], { reject: false })).stdout.split('\n').some((l) => l.split(/\s+/)[3] === 'online');
  try {
    const port = await freePort();
    const t0 = Date.now();
    // The worker asks for work every 3 s instead of LAVA's 20 (the scheduler still runs every 20 s).
    const up = await execa('bash', [SCRIPT, 'start', state, String(port)], { reject: false, env: { LAVA_PING: '3' }, timeout: 5 * 60_000, stdin: 'ignore' });
    for (const p of labPids(state)) started.add(p);
    assert.equal(up.exitCode, 0, `lava-server.sh start: ${up.stderr}\n${existsSync(join(state, 'setup.log')) ? readFileSync(join(state, 'setup.log'), 'utf8').slice(-2000) : ''}`);
    const setupMs = Date.now() - t0;
    const url = readFileSync(join(state, 'url'), 'utf8').trim();
    const token = readFileSync(join(state, 'token'), 'utf8').trim();
    assert.match(token, /^\S{16,}$/, 'the REST token');

    const results = tempDir('kgate-lava-rest-');
    const t1 = Date.now();
    const sub = await execa('node', [kgateBin, 'lava', 'submit', '--kernel', 'debian:6.12', '--case', CASES, '--url', url,
      '--token-file', join(state, 'token'), '--wait', '--poll-timeout', '300', '--results', results],
    { reject: false, cwd: root, env: { CI: '1' }, timeout: 8 * 60_000, stdin: 'ignore' });
    const submitMs = Date.now() - t1;
    const worker = existsSync(join(state, 'worker.log')) ? readFileSync(join(state, 'worker.log'), 'utf8') : '';
    assert.equal(sub.exitCode, 0, `kgate lava submit: ${sub.stderr}\nworker.log ends:\n${worker.slice(-1500)}`);
    assert.doesNotMatch(worker, /Invalid 'token'/);
    assertSaid(String(sub.stderr), /.*LAVA job \d+: Finished \(Complete\)$/);
    // The token is never printed.
    assert.ok(!String(sub.stdout).includes(token) && !String(sub.stderr).includes(token));
    const dir = join(results, readdirSync(results)[0]);
    for (const file of ['results.json', 'junit.xml', 'ktap.log', 'console.log', 'metadata.json', 'job.yaml', 'lava-job.log', 'lava-plan.json']) assert.ok(existsSync(join(dir, file)), file);
    const lava = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    assert.equal(meta.lava.health, 'Complete');
    assert.ok(meta.lava.jobId > 0);
    assert.equal(meta.lava.lavaTestCases, lava.cases.length, 'LAVA holds one test case per kgate case');

    const local = await kgate(['run', '--kernel', 'debian:6.12', '--accel', 'tcg', '--case', CASES]);
    assert.equal(local.code, 0, local.stderr);
    assert.ok(lava.cases.length > 0);
    assert.deepEqual(lava.cases.map(row), local.run!.cases.map(row));
    assert.equal(lava.kernel?.release, local.run!.kernel?.release);
    assert.deepEqual(lava.problems, []);

    // A nightly cell on the lab (backend: lava in defaults): the same run directory, the same cases.
    const work = tempDir('kgate-lava-rest-nightly-');
    const cfg = join(work, 'nightly.yaml');
    writeFileSync(cfg, `kernels:\n  - { name: lab612, debian: "6.12" }\nselections:\n  - { name: few, cases: [${CASES}] }\n`
      + `defaults:\n  backend: lava\n  lava: { url: "${url}", token-file: ${join(state, 'token')} }\nresults: out\n`);
    const t2 = Date.now();
    const n = await execa('node', [kgateBin, 'nightly', '--config', cfg, '--date', '2026-01-01'], { reject: false, cwd: root, env: { CI: '1' }, timeout: 8 * 60_000, stdin: 'ignore' });
    const nightMs = Date.now() - t2;
    assert.equal(n.exitCode, 0, `${n.stdout}\n${n.stderr}`);
    const cellDir = join(work, 'out', '2026-01-01', 'lab612');
    const cell = JSON.parse(readFileSync(join(cellDir, 'results.json'), 'utf8')) as RunResult;
    assert.equal(cell.target, `lava ${url.replace(/\/+$/, '')}`);
    assert.deepEqual(cell.cases.map(row), local.run!.cases.map(row));
    assert.ok(existsSync(join(work, 'out', '2026-01-01', 'report.html')));
    assert.ok(!String(n.stdout).includes(token) && !String(n.stderr).includes(token));
    t.diagnostic(`nightly cell on the lab ${(nightMs / 1000).toFixed(1)} s`);
    t.diagnostic(`lab up in ${(setupMs / 1000).toFixed(1)} s; submit --wait ${(submitMs / 1000).toFixed(1)} s for ${lava.cases.length} cases`);
  } finally {
    clearInterval(watch);
    started.snapshot();
    const stop = await execa('bash', [SCRIPT, 'stop', state], { reject: false, timeout: 60_000 });
    await started.killAll();
    assert.equal(stop.exitCode, 0, `lava-server.sh stop: ${stop.stderr}`);
    // The lab's worker is retired, so no later lab's scheduler counts it.
    assert.doesNotMatch(String(stop.stderr), /could not retire/);
    assert.deepEqual(started.alive(), []);
    if (!pgWasUp) {
      const pg = await execa('pg_lsclusters', ['-h'], { reject: false });
      assert.ok(!pg.stdout.split('\n').some((l) => l.split(/\s+/)[3] === 'online'), `PostgreSQL still up: ${pg.stdout}`);
    }
  }
});
