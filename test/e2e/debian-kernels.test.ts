// Every Debian kernel through kgate's own apt (issue 12): `kgate kernels` lists
// the series Debian ships, `kgate run --kernel debian:7.3` and `debian:7.2`
// (the split linux-binary + linux-modules layout) boot and run the default
// selection with no FAIL, a cached kernel needs no network even with stale
// lists, and the host's /etc/apt is the same afterwards, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { kgate, assertNotSaid, assertSaid, hasQemu, isRoot, tempDir } from './helpers.js';
import { cacheRoot } from '../../src/util/cache.js';
import { getCase, type CaseDef } from '../../src/catalog/index.js';
import { buildSuite } from '../../src/gen/index.js';
import { parseLog } from '../../src/tap/index.js';
import type { CaseResult } from '../../src/model.js';

const skip = !hasQemu() || !isRoot() ? 'needs qemu-system-x86_64 and root' : !existsSync('/usr/bin/apt-get') ? 'needs apt-get' : false;

/** sha256 over every path, mode, link target and file content under a tree. */
function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (p: string) => {
    const st = lstatSync(p);
    h.update(`${p}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
    else if (st.isFile()) h.update(readFileSync(p));
  };
  walk(dir);
  return h.digest('hex');
}

const etcBefore = existsSync('/etc/apt') ? hashTree('/etc/apt') : '';

test('kgate kernels --refresh lists 6.1, 6.12, 7.1, 7.2 and 7.3 from kgate\'s own lists', { skip }, async () => {
  const r = await kgate(['kernels', '--refresh'], {}, 5 * 60_000);
  assert.equal(r.code, 0, r.stderr);
  const series = new Set(r.stdout.split('\n').map((l) => /^(\d+\.\d+)\s/.exec(l)?.[1]).filter(Boolean));
  for (const s of ['6.1', '6.12', '7.1', '7.2', '7.3']) assert.ok(series.has(s), `series ${s} listed:\n${r.stdout.slice(0, 2000)}`);
  assert.match(r.stdout, /^7\.3\s+7\.3\.\d+\s+\S+\s+trixie-backports\s+split\s+\S+\s+debian:7\.3, debian:latest$/m);
  assert.match(r.stdout, new RegExp(`lists in ${cacheRoot()}/apt`));
  const j = await kgate(['kernels', '--json', '--series', '7.1']);
  assert.equal(j.code, 0, j.stderr);
  const ks = (JSON.parse(j.stdout) as { kernels: { series: string; runnable: boolean; missing: string[] }[] }).kernels;
  assert.ok(ks.length > 0 && ks.every((k) => k.series === '7.1'));
  // 7.1 is in the archive as linux-binary only: listed, and says why it cannot run.
  assert.ok(ks.every((k) => !k.runnable && /^linux-modules-7\.1\./.test(k.missing[0])), j.stdout);
});

for (const series of ['7.3', '7.2']) {
  test(`kgate run --kernel debian:${series} --accel tcg: the default selection, no FAIL, exit 0`, { skip }, async () => {
    const r = await kgate(['run', '--kernel', `debian:${series}`, '--accel', 'tcg']);
    assert.ok(r.run, r.stderr);
    assert.equal(r.code, 0, `exit ${r.code}:\n${r.stderr.split('\n').slice(-15).join('\n')}`);
    assert.match(r.run!.kernel?.release ?? '', new RegExp(`^${series.replace('.', '\\.')}\\.\\d+\\+deb\\d+-cloud-amd64$`));
    const bad = r.run!.cases.filter((c) => !['PASS', 'XFAIL', 'SKIP'].includes(c.status));
    assert.deepEqual(bad.map((c) => `${c.id} ${c.status} ${c.reason ?? ''}`), []);
    assert.ok(r.run!.cases.filter((c) => c.status === 'PASS').length > 60, 'passthrough engaged: most upstream cases PASS');
    const meta = JSON.parse(readFileSync(join(r.resultsDir, 'metadata.json'), 'utf8')) as { reproducer?: string; kernel?: { pinned?: string } };
    assert.match(JSON.stringify(meta), new RegExp(`debian:${series.replace('.', '\\.')}\\.\\d+`), 'the reproducer pins the exact release');
  });
}

test('a cached kernel needs no network: stale lists and a dead proxy, kernel build still says cached', { skip }, async () => {
  const stamp = join(cacheRoot(), 'apt', 'updated');
  const saved = readFileSync(stamp, 'utf8');
  try {
    const s = JSON.parse(saved) as { at: number };
    writeFileSync(stamp, JSON.stringify({ ...s, at: s.at - 3 * 24 * 3600_000 }));
    const dead = { http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9' };
    const r = await kgate(['kernel', 'build', '--kernel', 'debian:7.3'], dead, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /how\s+cached/);
    assertNotSaid(r.stderr, /.*apt-get update/);
  } finally {
    writeFileSync(stamp, saved);
  }
});

test('debian:7.1 cannot run (no linux-modules in the archive): exit 2 naming the package and the series that run', { skip }, async () => {
  const r = await kgate(['kernel', 'build', '--kernel', 'debian:7.1'], {}, 60_000);
  assert.equal(r.code, 2, r.stderr);
  assertSaid(r.stderr, /.*7\.1 cloud kernels cannot run: .*linux-modules-7\.1\.\d+\+deb13-cloud-amd64 in no suite.*series that run: .*7\.3/);
});

test('the host\'s /etc/apt is unchanged by all of the above', { skip }, () => {
  assert.equal(hashTree('/etc/apt'), etcBefore);
});

// The cases issue 12 added, each shown able to fail on this host's kernel
// (root, /dev/fuse, upstream passthrough): with its expectation tampered every
// one is `not ok`; with the server's faults (KGATE_FAULT, server.c.hbs) every
// one whose point is I/O that bypasses the server, or a FOPEN_PASSTHROUGH
// reply, FAILs; without them all PASS (the control).
const NEW_CASES = [
  'U01.huge_fd', 'U06.proc_d2', 'U06.hugetlbfs', 'U09.memfd_read', 'U10.flags_bad_fd', 'U12.no_ext_open', 'U12.depth0_open',
  'U12.depth3_open', 'U12.init_offer', 'U12.before_init', 'U34.sync_init_unmounted', 'U34.sync_init_mounted', 'U34.sync_init_waits',
  'U17.overlay_d2_read', 'U18.d2_over_d1_read', 'U19.opath_d1', 'U19.rdonly_d2', 'U25.cache_dir', 'U25.zero_copy', 'U33.ro_client',
  'U30.no_allow_mmap', 'H2.rdonly_registered', 'H2.stale_size', 'H5.closed_id_new_open',
];
const NO_PT_MUST_FAIL = [
  'U09.memfd_read', 'U17.overlay_d2_read', 'U18.d2_over_d1_read', 'U33.ro_client', 'H2.rdonly_registered', 'H2.stale_size',
  'H5.closed_id_new_open', 'U12.no_ext_open', 'U12.depth0_open', 'U12.depth3_open', 'U25.cache_dir', 'U25.zero_copy', 'U30.no_allow_mmap',
];
const CORRUPT_MUST_FAIL = [
  'U09.memfd_read', 'U17.overlay_d2_read', 'U18.d2_over_d1_read', 'U33.ro_client', 'H2.rdonly_registered', 'H2.stale_size', 'H5.closed_id_new_open',
];
const hostSkip = !isRoot() || !existsSync('/dev/fuse') ? 'needs root and /dev/fuse' : false;

async function runBuilt(defs: CaseDef[], fault?: string): Promise<Map<string, CaseResult>> {
  const work = tempDir('kgate-new-cases-');
  const b = await buildSuite({ caseDefs: defs, srcDir: join(work, 'src'), binDir: join(work, 'bin') });
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  if (fault) env.KGATE_FAULT = fault;
  const out = new Map<string, CaseResult>();
  for (const bin of b.manifest.binaries) {
    const r = await execa(bin.path, [], { reject: false, extendEnv: false, env, timeout: 60_000, stdin: 'ignore' });
    for (const c of parseLog(String(r.stdout)).cases) out.set(c.id, c);
  }
  return out;
}
const show = (m: Map<string, CaseResult>, id: string) => `${id}: ${m.get(id)?.status ?? 'missing'} observed=${m.get(id)?.observed ?? '?'}`;

test('the new cases: PASS on the host, not ok with a tampered expectation, FAIL under the server faults', { skip: hostSkip }, async () => {
  const defs = NEW_CASES.map(getCase);
  assert.equal(defs.length, 24);
  const real = await runBuilt(defs);
  for (const id of NEW_CASES) assert.ok(['PASS', 'SKIP'].includes(real.get(id)?.status ?? ''), show(real, id));
  const wrong = await runBuilt(defs.map((c) => ({ ...c, expected: 'EWRONG', known: [] })));
  for (const id of NEW_CASES) if (real.get(id)?.status === 'PASS') assert.equal(wrong.get(id)?.status, 'FAIL', show(wrong, id));
  const noPt = await runBuilt(NO_PT_MUST_FAIL.map(getCase), 'no-passthrough');
  for (const id of NO_PT_MUST_FAIL) assert.equal(noPt.get(id)?.status, 'FAIL', show(noPt, id));
  const corrupt = await runBuilt(CORRUPT_MUST_FAIL.map(getCase), 'corrupt-backing');
  for (const id of CORRUPT_MUST_FAIL) assert.equal(corrupt.get(id)?.status, 'FAIL', show(corrupt, id));
});
