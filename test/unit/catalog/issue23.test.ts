import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getCase, selectCases } from '../../../src/catalog/index.js';
import { judge } from '../../../src/verdict/judge.js';

/** The cases kgate run --coverage showed were missing: each reaches an error exit no other case reached. */
const ADDED: Record<string, { errno: string; source: RegExp }> = {
  'U12.no_flag_close': { errno: 'EPERM', source: /fuse_backing_close/ },
  'U35.open_efault': { errno: 'EFAULT', source: /fuse_dev_ioctl_backing_open/ },
  'U35.close_efault': { errno: 'EFAULT', source: /fuse_dev_ioctl_backing_close/ },
  'U36.clone': { errno: 'ok', source: /fuse_device_clone/ },
  'U36.efault': { errno: 'EFAULT', source: /fuse_dev_ioctl_clone/ },
  'U36.bad_fd': { errno: 'EINVAL', source: /fuse_dev_ioctl_clone/ },
  'U36.not_fuse': { errno: 'EINVAL', source: /fuse_dev_ioctl_clone/ },
  'U36.unmounted': { errno: 'EPERM', source: /fuse_dev_ioctl_clone/ },
  'U36.twice': { errno: 'EINVAL', source: /fuse_device_clone/ },
  'U30.dio_no_allow_mmap': { errno: 'ENODEV', source: /fuse_file_mmap/ },
  'U37.bad_inode_read': { errno: 'EIO', source: /fuse_file_read_iter/ },
  'U37.bad_inode_write': { errno: 'EIO', source: /fuse_file_write_iter/ },
  'U38.odirect_read_sysfs': { errno: 'EINVAL', source: /backing_file_read_iter/ },
  'U38.odirect_write_debugfs': { errno: 'EINVAL', source: /backing_file_write_iter/ },
  'U39.splice_write_debugfs': { errno: 'EINVAL', source: /backing_file_splice_write/ },
  'U39.mmap_debugfs': { errno: 'ENODEV', source: /backing_file_mmap/ },
  'U40.remove_privs_write': { errno: 'EPERM', source: /backing_file_write_iter/ },
  'U40.remove_privs_splice': { errno: 'EPERM', source: /backing_file_splice_write/ },
};

test('issue 23: each new case expects its exit\'s errno and names the kernel function that returns it', () => {
  for (const [id, want] of Object.entries(ADDED)) {
    const c = getCase(id);
    assert.equal(c.expected, want.errno, id);
    assert.equal(c.api, 'upstream', `${id}: upstream (issue 22 owns the older generations)`);
    assert.match(c.note ?? '', want.source, `${id} note names the function`);
  }
  const selected = new Set(selectCases().map((c) => c.id));
  for (const id of Object.keys(ADDED)) assert.ok(selected.has(id), `${id} is in the default selection`);
});

test('issue 23: the CLONE argument checks run on any kernel (CLONE predates passthrough); the clone that registers a backing file needs passthrough', () => {
  for (const id of ['U36.efault', 'U36.bad_fd', 'U36.unmounted', 'U36.not_fuse', 'U36.twice', 'U30.dio_no_allow_mmap']) assert.equal(getCase(id).needsPassthrough, false, id);
  assert.equal(getCase('U36.clone').needsPassthrough, true);
});

test('issue 23: U36.unmounted is EPERM from the SYNC_INIT release on (7.3), EINVAL before it: XFAIL on 6.12, a regression on 7.3', () => {
  const c = getCase('U36.unmounted');
  assert.equal(judge(c, 'EINVAL', { version: '6.12.118+' }).status, 'XFAIL');
  assert.equal(judge(c, 'EINVAL', { version: '6.1.158' }).status, 'XFAIL');
  assert.equal(judge(c, 'EPERM', { version: '7.3.4+' }).status, 'PASS');
  assert.equal(judge(c, 'EINVAL', { version: '7.3.4+' }).status, 'FAIL');
});
