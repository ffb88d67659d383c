// The REST client and the fetch path against a small local HTTP server that
// replays LAVA v0.2's answers: the job log is a real one (lava-run under TCG on
// debian:6.12, test/fixtures/lava), served as the server serves logs (a YAML
// list); job states and the /yaml/ export have the shapes of LAVA 2023.01's
// serializers (lava_rest_app, lava_results_app.utils.export_testcase).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../../src/util/paths.js';
import { parseLavaLog } from '../../../src/lava/log.js';
import { LavaClient, backoff } from '../../../src/lava/rest.js';
import { fetchFromLava } from '../../../src/lava/run.js';
import type { LavaPlan } from '../../../src/lava/prepare.js';
import { KgateError, type RunResult } from '../../../src/model.js';

const fx = (f: string) => readFileSync(join(projectRoot(), 'test', 'fixtures', 'lava', f), 'utf8');
const realLog = fx('dispatcher-debian-6.12.log');
const serverLog = realLog.split('\n').filter(Boolean).map((l) => `- ${l}`).join('\n') + '\n';
const yamlExport = (log: string, drop = 0) => parseLavaLog(log).results.slice(0, parseLavaLog(log).results.length - drop).map((r, i) => [
  `- name: ${r.case}`, `  job: '7'`, `  suite: ${r.suite}`, `  result: ${r.result}`, `  measurement: '${r.measurement ?? 'None'}'`, `  unit: '${r.units ?? 'None'}'`,
  `  id: '${i + 1}'`, `  metadata:`, `    case: ${r.case}`, `    definition: ${r.suite}`, ...(r.testCaseId ? [`    extra:`, `      test_case_id: ${r.testCaseId}`] : []), `    result: ${r.result}`,
].join('\n')).join('\n') + '\n';

type Route = (req: IncomingMessage, res: ServerResponse) => void;
async function serve(routes: Record<string, Route | Route[]>): Promise<{ url: string; seen: string[]; auth: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const auth: string[] = [];
  const counts = new Map<string, number>();
  const srv = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    seen.push(key);
    auth.push(String(req.headers.authorization));
    const r = routes[key];
    if (!r) { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"detail":"Not found."}'); return; }
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    (Array.isArray(r) ? r[Math.min(n, r.length - 1)] : r)(req, res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/`, seen, auth, close: () => new Promise((r) => srv.close(() => r())) };
}
const json = (status: number, body: unknown): Route => (_q, s) => { s.writeHead(status, { 'content-type': 'application/json' }); s.end(JSON.stringify(body)); };
const text = (body: string): Route => (_q, s) => { s.writeHead(200, { 'content-type': 'application/yaml' }); s.end(body); };
const job = (state: string, health: string, failure_comment: string | null = null) => json(200, { id: 7, state, health, failure_comment, description: 'kgate', submitter: 'kgate' });

function runDir(): { dir: string; token: string } {
  const root = mkdtempSync(join(tmpdir(), 'kgate-lava-rest-'));
  const dir = join(root, 'run');
  mkdirSync(dir);
  const plan = JSON.parse(fx('dispatcher-debian-6.12.plan.json')) as LavaPlan;
  writeFileSync(join(dir, 'lava-plan.json'), JSON.stringify(plan));
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ runId: 'run', startedAt: '2026-12-03T11:17:43.000Z', state: 'running' }));
  const token = join(root, 'token');
  writeFileSync(token, 'sekrit-token-1234\n');
  return { dir, token };
}
const fetchArgs = (url: string, dir: string, token: string, job = '7') => ({ job, dir, resultsRoot: dir, server: { url, tokenFile: token }, argv: [], pollTimeoutSec: 5, pollFirstMs: 10 });
const results = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;

test('a finished job: polled with backoff until Finished, its log and results become a run directory (105 cases, as lava-run gave them)', async () => {
  const { dir, token } = runDir();
  const s = await serve({
    'GET /api/v0.2/jobs/7/': [job('Submitted', 'Unknown'), job('Running', 'Unknown'), job('Finished', 'Complete')],
    'GET /api/v0.2/jobs/7/logs/': text(serverLog),
    'GET /api/v0.2/jobs/7/yaml/': text(yamlExport(realLog)),
  });
  try {
    const out = await fetchFromLava(fetchArgs(s.url, dir, token));
    assert.equal(out.exitCode, 0, out.line);
    const run = results(dir);
    assert.equal(run.cases.length, 105);
    assert.deepEqual(run.summary.counts, { PASS: 72, SKIP: 33 });
    assert.deepEqual(run.problems, []);
    assert.equal(s.seen.filter((x) => x === 'GET /api/v0.2/jobs/7/').length, 3);
    // The token goes in the header, and nowhere in what kgate writes.
    assert.ok(s.auth.every((a) => a === 'Token sekrit-token-1234'));
    for (const f of ['results.json', 'metadata.json', 'junit.xml', 'lava-plan.json']) assert.doesNotMatch(readFileSync(join(dir, f), 'utf8'), /sekrit/);
  } finally { await s.close(); }
});

test('fewer results than submitted: the missing cases are MISS, not dropped, one line, exit 125', async () => {
  const { dir, token } = runDir();
  // The console lost the last family (older-r8: 13 cases), as a cut log would.
  const cut = realLog.split('\n');
  const at = cut.findIndex((l) => l.includes('kgate-lava: begin older-r8'));
  const s = await serve({
    'GET /api/v0.2/jobs/7/': job('Finished', 'Complete'),
    'GET /api/v0.2/jobs/7/logs/': text(cut.slice(0, at).map((l) => `- ${l}`).join('\n')),
    'GET /api/v0.2/jobs/7/yaml/': text(yamlExport(realLog, 15)),
  });
  try {
    const out = await fetchFromLava(fetchArgs(s.url, dir, token));
    assert.equal(out.exitCode, 125);
    assert.match(out.line!, /^LAVA job 7 returned 92 of 105 cases; 13 MISS$/);
    const run = results(dir);
    assert.equal(run.cases.filter((c) => c.status === 'MISS').length, 13);
    assert.ok(run.cases.filter((c) => c.status === 'MISS').every((c) => c.family === 'older-r8'));
  } finally { await s.close(); }
});

test('a job that ended Incomplete: LAVA\'s error type and message in one line, what it ran kept, exit 125', async () => {
  const { dir, token } = runDir();
  const half = realLog.split('\n');
  const at = half.findIndex((l) => l.includes('kgate-lava: begin iomode'));
  const s = await serve({
    'GET /api/v0.2/jobs/7/': job('Finished', 'Incomplete', 'lava test monitoring has timed out'),
    'GET /api/v0.2/jobs/7/logs/': text(half.slice(0, at + 4).map((l) => `- ${l}`).join('\n')),
    'GET /api/v0.2/jobs/7/yaml/': text(`- name: job\n  suite: lava\n  result: fail\n  measurement: 'None'\n  unit: ''\n  metadata:\n    case: job\n    definition: lava\n    error_msg: lava test monitoring has timed out\n    error_type: Test\n    result: fail\n`),
  });
  try {
    const out = await fetchFromLava(fetchArgs(s.url, dir, token));
    assert.equal(out.exitCode, 125);
    assert.match(out.line!, /^LAVA job 7 ended Incomplete: Test: lava test monitoring has timed out \(\d+ of 105 cases MISS\)$/);
    const run = results(dir);
    assert.equal(run.cases.find((c) => c.id === 'U03.dir')?.status, 'PASS');
    assert.equal(run.abort?.family, 'infra');
  } finally { await s.close(); }
});

test('a canceled job: Canceled, exit 125', async () => {
  const { dir, token } = runDir();
  const s = await serve({ 'GET /api/v0.2/jobs/7/': job('Finished', 'Canceled', 'Canceled by kgate'), 'GET /api/v0.2/jobs/7/logs/': text(''), 'GET /api/v0.2/jobs/7/yaml/': text('[]\n') });
  try {
    const out = await fetchFromLava(fetchArgs(s.url, dir, token));
    assert.equal(out.exitCode, 125);
    assert.match(out.line!, /^LAVA job 7 ended Canceled: Canceled by kgate/);
  } finally { await s.close(); }
});

test('a bad token (401, 403) is the user\'s: one line without the token, exit 2; the run directory says so', async () => {
  for (const status of [401, 403]) {
    const { dir, token } = runDir();
    const s = await serve({ 'GET /api/v0.2/jobs/7/': json(status, { detail: 'Invalid token.' }) });
    try {
      const out = await fetchFromLava(fetchArgs(s.url, dir, token));
      assert.equal(out.exitCode, 2);
      assert.match(out.line!, new RegExp(`refused the token from the token file \\(HTTP ${status}: Invalid token\\.\\)`));
      assert.doesNotMatch(out.line!, /sekrit/);
      assert.equal(results(dir).abort?.family, 'user');
    } finally { await s.close(); }
  }
});

test('an unreachable server is infra: one line, exit 125', async () => {
  const { dir, token } = runDir();
  const s = await serve({});
  await s.close(); // nothing listens there now
  const out = await fetchFromLava(fetchArgs(s.url, dir, token));
  assert.equal(out.exitCode, 125);
  assert.match(out.line!, /^LAVA server http:\/\/127\.0\.0\.1:\d+ unreachable: ECONNREFUSED/);
});

test('polling that times out: infra, the job left running, the log so far kept', async () => {
  const { dir, token } = runDir();
  const s = await serve({ 'GET /api/v0.2/jobs/7/': job('Running', 'Unknown'), 'GET /api/v0.2/jobs/7/logs/': text(serverLog.split('\n').slice(0, 400).join('\n')) });
  try {
    const out = await fetchFromLava({ ...fetchArgs(s.url, dir, token), pollTimeoutSec: 0.3 });
    assert.equal(out.exitCode, 125);
    assert.match(out.line!, /^LAVA job 7 still Running after 0 s of polling \(left running; kgate lava fetch 7 later\)/);
    assert.ok(results(dir).cases.some((c) => c.status === 'PASS'), 'the cases the log already had are kept');
    assert.ok(readFileSync(join(dir, 'lava-job.log'), 'utf8').length > 0);
  } finally { await s.close(); }
});

test('submit answers the job id; a token file that cannot be read is the user\'s', async () => {
  const { token } = runDir();
  let body = '';
  const s = await serve({ 'POST /api/v0.2/jobs/': (q, r) => { q.on('data', (d) => { body += d; }); q.on('end', () => json(201, { job_ids: [42] })(q, r)); } });
  try {
    assert.equal(await new LavaClient({ url: s.url, tokenFile: token }).submit('device_type: qemu\n'), 42);
    assert.deepEqual(JSON.parse(body), { definition: 'device_type: qemu\n' });
  } finally { await s.close(); }
  assert.throws(() => new LavaClient({ url: s.url, tokenFile: '/nonexistent/token' }), (e: unknown) => e instanceof KgateError && e.family === 'user' && /cannot read the token file/.test(e.message));
  assert.deepEqual([0, 1, 2, 3, 10].map((a) => backoff(a)), [2000, 3000, 4500, 6750, 30000]);
});
