import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blank, errorExits, functions, testsForError } from '../../../src/coverage/exits.js';
import { judgeExit, judgeOverUnits } from '../../../src/coverage/judge.js';
import { parseInfo, totals } from '../../../src/coverage/info.js';

// Shaped as fs/fuse/passthrough.c and fs/backing-file.c of 6.12 (line numbers are this string's).
const SRC = `// SPDX-License-Identifier: GPL-2.0
#include <linux/fs.h>
#define ODD(x) { return -EINVAL; }

int fuse_backing_close(struct fuse_conn *fc, int backing_id)
{
	struct fuse_backing *fb = NULL;
	int err;

	/* return -EBUSY; in a comment is no exit */
	err = -EPERM;
	if (!fc->passthrough || !capable(CAP_SYS_ADMIN))
		goto out;

	err = -EINVAL;
	if (backing_id <= 0)
		goto out;

	err = -ENOENT;
	fb = fuse_backing_id_remove(fc, backing_id);
	if (!fb)
		goto out;

	fuse_backing_put(fb);
	err = 0;
out:
	pr_debug("%s: return -EIO; err=%i\\n", __func__, err);

	return err;
}

struct fuse_backing *fuse_backing_get(struct fuse_backing *fb)
{
	if (fb && refcount_inc_not_zero(&fb->count))
		return fb;
	return NULL;
}

struct file *backing_file_open(const struct file *user_file, int flags)
{
	struct file *f;
	int error;

	f = alloc_empty_backing_file(flags, user_file);
	if (IS_ERR(f))
		return f;

	error = vfs_open(real_path, f);
	if (error) {
		fput(f);
		f = ERR_PTR(error);
	}

	return f;
}

static int __init backing_aio_init(void)
{
	backing_aio_cachep = KMEM_CACHE(backing_aio, SLAB_HWCACHE_ALIGN);
	if (!backing_aio_cachep)
		return -ENOMEM;

	return 0;
}

static const struct file_operations fops = {
	.open = fuse_open,
};

static long fuse_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct fuse_dev *fud = fuse_get_dev(file);
	if (IS_ERR(fud))
		return PTR_ERR(fud);
	switch (cmd) {
	case FUSE_DEV_IOC_CLONE:
		return fuse_dev_ioctl_clone(file, argp);
	default:
		return -ENOTTY;
	}
}
`;

/** The 1-based line of the first line of SRC that contains `s` (after line `after`). */
const lineOf = (s: string, after = 0) => SRC.split('\n').findIndex((l, i) => i >= after && l.includes(s)) + 1;

test('blank: comments, strings and directives become spaces; lines and offsets are kept', () => {
  const t = blank(SRC);
  assert.equal(t.length, SRC.length);
  assert.equal(t.split('\n').length, SRC.split('\n').length);
  assert.doesNotMatch(t, /EBUSY|EIO|ODD/);
  assert.match(t, /return err;/);
});

test('functions: definitions at the top level, not struct initialisers; __init is marked', () => {
  const fns = functions(blank(SRC));
  assert.deepEqual(fns.map((f) => [f.name, f.line, f.init]), [
    ['fuse_backing_close', 5, false], ['fuse_backing_get', lineOf('fuse_backing_get('), false], ['backing_file_open', lineOf('*backing_file_open('), false],
    ['backing_aio_init', lineOf('backing_aio_init('), true], ['fuse_dev_ioctl', lineOf('fuse_dev_ioctl('), false]]);
  assert.equal(fns[0].endLine, lineOf('}', lineOf('return err;')));
});

test('errorExits: guarded gotos with the errno last set, callee errors passed on, returns of -E; not success paths', () => {
  const got = errorExits(SRC).map((e) => `${e.func}:${e.line} ${e.kind} ${e.errno}${e.init ? ' init' : ''}`);
  assert.deepEqual(got, [
    'fuse_backing_close:13 goto EPERM',
    'fuse_backing_close:17 goto EINVAL',
    'fuse_backing_close:22 goto ENOENT',
    `backing_file_open:${lineOf('return f;')} propagate from alloc_empty_backing_file`,
    `backing_file_open:${lineOf('f = ERR_PTR(error)')} propagate from vfs_open`,
    `backing_aio_init:${lineOf('return -ENOMEM')} return ENOMEM init`,
    `fuse_dev_ioctl:${lineOf('return PTR_ERR(fud)')} propagate from fuse_get_dev`,
    `fuse_dev_ioctl:${lineOf('return -ENOTTY')} return ENOTTY`,
  ]);
  const close = errorExits(SRC, (f) => f === 'fuse_backing_close');
  assert.equal(close.length, 3);
  assert.deepEqual(close[0].guard, { condFrom: 12, condTo: 12, end: 13, kind: 'if' });
  assert.equal(close[0].text, 'goto out;');
});

test('testsForError: an error test, not a success test', () => {
  assert.ok(testsForError('IS_ERR(f)', 'f'));
  assert.ok(testsForError('ret', 'ret'));
  assert.ok(testsForError('unlikely(ret < 0)', 'ret'));
  assert.ok(!testsForError('fb && refcount_inc_not_zero(&fb->count)', 'fb'));
});

test('judgeExit: own line, else condition less fall-through; a zero-count condition is not hit; no count is not judged', () => {
  const [eperm, einval, enoent] = errorExits(SRC, (f) => f === 'fuse_backing_close');
  // -Os: the gotos have no line of their own. EPERM's condition ran 5 times, fell through 3: hit twice.
  const cov = parseInfo(['SF:/k/fs/fuse/passthrough.c', 'FN:5,fuse_backing_close', 'FNDA:5,fuse_backing_close',
    'DA:11,5', 'DA:12,5', 'DA:15,3', 'DA:16,3', 'DA:19,3', 'DA:20,3', 'DA:21,3', 'DA:22,1', 'DA:24,2',
    'BRDA:12,0,0,1', 'BRDA:12,0,1,4', 'BRDA:12,1,0,1', 'BRDA:12,1,1,3', 'end_of_record'].join('\n')).get('/k/fs/fuse/passthrough.c')!;
  assert.deepEqual(judgeExit(eperm, cov), { hit: true, count: 2, by: 'arc' });
  // EINVAL: ran 3, fell through 3.
  assert.deepEqual(judgeExit(einval, cov), { hit: false, count: 0, by: 'arc' });
  assert.deepEqual(judgeExit(enoent, cov), { hit: true, count: 1, by: 'line' });
  assert.deepEqual(judgeExit(einval, undefined), { hit: undefined, by: 'none' });
  assert.deepEqual(totals(cov, 5, 30), { lines: [9, 9], branches: [4, 4], functions: [1, 1] });
});

test('judgeExit: a two-arc condition taken both ways is hit even when a loop after it outcounts the condition (7.x fuse_get_dev)', () => {
  const src = 'struct fuse_dev *fuse_get_dev(struct file *file)\n{\n\tstruct fuse_dev *fud = f(file);\n\tint err;\n\tif (!fud->sync_init)\n\t\treturn ERR_PTR(-EPERM);\n\terr = wait_event_interruptible(q, c(fud));\n\tif (err)\n\t\treturn ERR_PTR(err);\n\treturn fud;\n}\n';
  const [eperm] = errorExits(src);
  assert.equal(eperm.errno, 'EPERM');
  const at = (arcs: string) => parseInfo(`SF:/k/dev.c\nDA:5,3\nDA:7,4\n${arcs}end_of_record\n`).get('/k/dev.c')!;
  // ran 3, "fell through" 4 (the wait loops): the subtraction says 0, the arcs say both ways.
  assert.deepEqual(judgeExit(eperm, at('BRDA:5,0,0,1\nBRDA:5,0,1,2\n')), { hit: true, count: 1, by: 'arc' });
  assert.deepEqual(judgeExit(eperm, at('BRDA:5,0,0,0\nBRDA:5,0,1,0\n')), { hit: false, count: 0, by: 'arc' });
  // One arc never taken, and control fell through: that arc is the exit's.
  assert.deepEqual(judgeExit(eperm, at('BRDA:5,0,0,0\nBRDA:5,0,1,3\n')), { hit: false, count: 0, by: 'arc' });
});

test('judgeOverUnits: an exit the sum hides (other paths join the next counted line) is hit when a unit shows it; a unit never unhits the sum', () => {
  // 7.3 backing_file_open: the append-only check is the last of `if (not read-only) {}`; read-only opens join at the next line.
  const src = 'struct file *bfo(int flags, struct inode *ri)\n{\n\tstruct file *f;\n\tif ((flags & O_ACCMODE) != O_RDONLY) {\n\t\tif (IS_IMMUTABLE(ri))\n\t\t\treturn ERR_PTR(-EPERM);\n\t\tif (IS_APPEND(ri) && !(flags & O_APPEND))\n\t\t\treturn ERR_PTR(-EPERM);\n\t}\n\tf = alloc(flags);\n\treturn f;\n}\n';
  const exits = errorExits(src);
  const append = exits.find((e) => e.line === 8)!;
  assert.ok(append, JSON.stringify(exits));
  const at = (da: string, brda = '') => parseInfo(`SF:/k/backing-file.c\n${da}${brda}end_of_record\n`).get('/k/backing-file.c')!;
  // the whole run: the append check ran 30 times, the alloc after the block 56 (27 read-only opens joined it)
  const sum = at('DA:4,58\nDA:5,31\nDA:7,30\nDA:10,56\n', 'BRDA:7,0,0,4\nBRDA:7,0,1,26\nBRDA:7,0,2,3\nBRDA:7,0,3,1\n');
  assert.deepEqual(judgeExit(append, sum), { hit: false, count: 0, by: 'arc' });
  // the case that took it: the check ran once, nothing after it
  const unit = at('DA:4,1\nDA:5,1\nDA:7,1\nDA:10,0\n');
  const other = at('DA:4,2\nDA:5,1\nDA:7,1\nDA:10,2\n');
  const j = (c: typeof sum | undefined) => judgeExit(append, c);
  assert.deepEqual(judgeOverUnits(j, sum, [other, unit]), { judgement: { hit: true, count: 1, by: 'arc' }, hitBy: [1] });
  // no unit shows it: not hit, nobody named
  assert.deepEqual(judgeOverUnits(j, sum, [other]), { judgement: { hit: false, count: 0, by: 'arc' }, hitBy: [] });
  // a sum that says hit by its own line is kept, and names the units that hit it
  const immutable = exits.find((e) => e.line === 6)!;
  const own = at('DA:6,1\n');
  assert.deepEqual(judgeOverUnits((c) => judgeExit(immutable, c), own, [own, undefined]).hitBy, [0]);
});
