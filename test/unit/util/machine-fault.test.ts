import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { machineFault, MachineFault, writing } from '../../../src/util/machine-fault.js';
import { writeFileAtomic } from '../../../src/util/atomic.js';

/** What Node throws for a failed syscall, as its fs functions build it. */
function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${syscall}${path ? ` '${path}'` : ''}`) as NodeJS.ErrnoException;
  Object.assign(e, { code, syscall, ...(path ? { path } : {}) });
  return e;
}

test('a real ENOSPC (writing /dev/full) is one line naming the file and "no space left on device", not an error of kgate', () => {
  assert.throws(() => writing('/dev/full', () => writeFileSync('/dev/full', 'x')), (e: unknown) => {
    assert.ok(e instanceof MachineFault);
    assert.equal(e.message, 'cannot write /dev/full: no space left on device (ENOSPC)');
    assert.equal(e.family, 'infra');
    return true;
  });
});

test('the machine\'s errnos each say what they mean, with the path Node gave; other errors are not the machine\'s', () => {
  assert.equal(machineFault(errno('EROFS', 'open', '/r/x'))?.message, 'open /r/x: read-only file system (EROFS)');
  assert.equal(machineFault(errno('EACCES', 'mkdir', '/r'))?.message, 'mkdir /r: permission denied (EACCES)');
  assert.match(machineFault(errno('EMFILE', 'open', '/r/y'))!.message, /too many open files in kgate \(ulimit -n\) \(EMFILE\)/);
  assert.equal(machineFault(errno('ENOSPC', 'write'), '/r/results.json')?.message, 'cannot write /r/results.json: no space left on device (ENOSPC)');
  assert.equal(machineFault(errno('ENOSPC', 'write'))?.message, 'no space left on device (ENOSPC) in write()');
  assert.equal(machineFault(errno('ENOENT', 'open', '/nope')), undefined);
  assert.equal(machineFault(new Error('a bug')), undefined);
  assert.equal(machineFault(errno('EROFS', 'open', '/r'), undefined, 'user')?.family, 'user', 'before a run started it is the user\'s to fix (exit 2)');
});

test('writeFileAtomic names the file it could not write, and leaves no temp file behind', () => {
  assert.throws(() => writeFileAtomic('/proc/kgate-test/results.json', '{}'), (e: unknown) => {
    // /proc refuses the directory: ENOENT is not the machine's, so it stays Node's own error.
    assert.ok(!(e instanceof MachineFault));
    return true;
  });
  assert.throws(() => writeFileAtomic('/sys/kernel/kgate-test.json', '{}'), (e: unknown) => e instanceof MachineFault && /\/sys\/kernel\/kgate-test\.json/.test(e.message));
});

test('a host tool that fails on a full disk is the machine\'s fault, named by where it writes (apt-get into the cache, dpkg-deb)', async () => {
  const { runTool } = await import('../../../src/util/run-tool.js');
  await assert.rejects(runTool('dd', ['if=/dev/zero', 'of=/dev/full', 'count=1'], { writesTo: '/dev/full' }), (e: unknown) => {
    assert.ok(e instanceof MachineFault, String(e));
    assert.equal(e.message, 'cannot write /dev/full (dd if=/dev/zero): no space left on device (ENOSPC)');
    return true;
  });
  await assert.rejects(runTool('false', []), (e: unknown) => !(e instanceof MachineFault), 'a tool failing for its own reasons stays its own failure');
});
