// The cases issue 12 added: counted, each with a note that names the source
// (file, function) deciding its outcome, and judged per kernel by its range:
// the SYNC_INIT cases XFAIL on 6.12 (ENOTTY / EPERM), PASS on 6.18 and 7.3,
// and the old outcome is a regression on a kernel past the range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, getCase, selectCases } from '../../../src/catalog/index.js';
import { judge } from '../../../src/verdict/judge.js';

const ADDED = [
  'U01.huge_fd', 'U06.proc_d2', 'U06.hugetlbfs', 'U09.memfd_read', 'U10.flags_bad_fd', 'U12.no_ext_open', 'U12.depth0_open',
  'U12.depth3_open', 'U12.init_offer', 'U12.before_init', 'U34.sync_init_unmounted', 'U34.sync_init_mounted', 'U34.sync_init_waits',
  'U17.overlay_d2_read', 'U18.d2_over_d1_read', 'U19.opath_d1', 'U19.rdonly_d2', 'U25.cache_dir', 'U25.zero_copy', 'U33.ro_client',
  'U30.no_allow_mmap', 'H2.rdonly_registered', 'H2.stale_size', 'H5.closed_id_new_open',
];

// issue 22 added the older generations' happy paths (A5.rw, A6.rw), issue 23 18 upstream cases for unreached error exits
test('issue 12: 24 new cases, in the catalog (161 cases in all since issues 22 and 23, 157 in the default selection)', () => {
  for (const id of ADDED) assert.ok(getCase(id), id);
  assert.equal(new Set(ADDED).size, 24);
  assert.equal(CASES.length, 161);
  assert.equal(selectCases().length, 157);
});

test('issue 12: every case whose outcome depends on the release names the source that decides it', () => {
  for (const id of ADDED) {
    const c = getCase(id);
    if (c.known.length === 0 && !c.note) continue;
    assert.match(c.note ?? '', /\.(c|h)\b|fuse_/, `${id} note cites a file or function`);
  }
  for (const id of ['U34.sync_init_unmounted', 'U34.sync_init_mounted', 'U34.sync_init_waits', 'U25.zero_copy']) {
    assert.match(getCase(id).note ?? '', /7\.3/, `${id} note says which release's source`);
  }
});

test('issue 12: SYNC_INIT judged by release: 6.12 XFAIL, 6.18 and 7.3 PASS, the old outcome on 7.3 a regression', () => {
  const un = getCase('U34.sync_init_unmounted');
  assert.equal(judge(un, 'ENOTTY', { version: '6.12.118+deb12-cloud-amd64' }).status, 'XFAIL');
  assert.equal(judge(un, 'ok', { version: '6.18.44' }).status, 'PASS');
  assert.equal(judge(un, 'ok', { version: '7.3.4+deb13-cloud-amd64' }).status, 'PASS');
  const r = judge(un, 'ENOTTY', { version: '7.3.4+deb13-cloud-amd64' });
  assert.equal(r.status, 'FAIL');
  assert.match(r.reason ?? '', /regressed to the 6\.9-6\.17 behaviour fixed by v6\.18/);
  const w = getCase('U34.sync_init_waits');
  assert.equal(judge(w, 'EPERM', { version: '6.12.118+deb12-cloud-amd64' }).status, 'XFAIL');
  assert.equal(judge(w, 'EPERM', { version: '7.2.13+deb14-cloud-amd64' }).status, 'FAIL');
  assert.equal(judge(w, 'EINTR', { version: '6.18.0' }).status, 'PASS');
  // a case with one outcome everywhere: anything else is FAIL on every release
  assert.equal(judge(getCase('U25.zero_copy'), 'ok', { version: '7.3.4' }).status, 'FAIL');
  assert.equal(judge(getCase('H2.stale_size'), 'kernel_size', { version: '6.12.118' }).status, 'FAIL');
});
