import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { decodeCrashCases, decodeStacktrace, sourceFrames } from '../../../src/kmsg/decode.js';
import type { CaseResult } from '../../../src/model.js';

// decode_stacktrace.sh of a real tree: the test tree's (scripts/test-tree.sh), else Debian's linux-source.
const TREE_SCRIPT = [join(process.env.KGATE_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'kgate'), 'test-tree', 'linux', 'scripts', 'decode_stacktrace.sh')]
  .find((f) => existsSync(f));
const noScript = TREE_SCRIPT ? false : 'no kernel tree with scripts/decode_stacktrace.sh (scripts/test-tree.sh makes one)';

test('sourceFrames reads the frames decode_stacktrace.sh wrote, first location of an inlined chain', () => {
  const decoded = [
    'WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237 fuse_backing_open+0x5c/0x1a0',
    'RIP: 0010:fuse_backing_open (fs/fuse/passthrough.c:237 (discriminator 1))',
    'RSP: 0018:ffffc900001cfe00 EFLAGS: 00010246',
    'Call Trace:',
    ' <TASK>',
    ' fuse_dev_ioctl (fs/fuse/dev.c:2379 fs/fuse/dev.c:2420)',
    ' ? __x64_sys_ioctl+0x82/0xb0',
    ' do_syscall_64+0x4b/0x110',
  ];
  assert.deepEqual(sourceFrames(decoded), [
    { fn: 'fuse_backing_open', location: 'fs/fuse/passthrough.c:237' },
    { fn: 'fuse_dev_ioctl', location: 'fs/fuse/dev.c:2379' },
  ]);
  assert.deepEqual(sourceFrames(['Call Trace:', ' do_syscall_64+0x4b/0x110']), [], 'an undecoded frame names no source');
});

test('decodeStacktrace runs the tree\'s script over a report: file:line of a function with DWARF, the rest as printed', { skip: noScript }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-decode-'));
  try {
    // A program with DWARF standing in for vmlinux: nm finds the symbol, addr2line its line.
    writeFileSync(join(dir, 'passthrough.c'), 'int fuse_backing_open(int x)\n{\n\tint y = x * 3;\n\treturn y + 1;\n}\nint main(void) { return fuse_backing_open(2); }\n');
    execaSync('gcc', ['-g', '-O0', '-o', join(dir, 'vmlinux'), join(dir, 'passthrough.c')]);
    const tools = { script: TREE_SCRIPT!, vmlinux: join(dir, 'vmlinux'), basePath: dir };
    return decodeStacktrace(tools, [
      'WARNING: CPU: 0 PID: 93 at fs/fuse/passthrough.c:237 fuse_backing_open+0x8/0x20',
      'RIP: 0010:fuse_backing_open+0x8/0x20',
      'Code: 90 90 90 <0f> 0b',
      'Call Trace:',
      ' unknown_caller+0x10/0x20',
    ]).then((out) => {
      assert.ok(out.some((l) => /^RIP: 0010:fuse_backing_open \(passthrough\.c:[1-4]\)$/.test(l)), `RIP decoded to passthrough.c:<line>, relative to the base path: ${out.join(' | ')}`);
      assert.ok(!out.some((l) => l.includes('Code:')), 'the Code: line is left out');
      assert.ok(out.includes(' unknown_caller+0x10/0x20') || out.includes('unknown_caller+0x10/0x20'), `a symbol vmlinux lacks stays as printed: ${out.join(' | ')}`);
      assert.equal(sourceFrames(out)[0]?.fn, 'fuse_backing_open');
    });
  } finally {
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 5000).unref();
  }
});

test('decodeCrashCases: only CRASH cases with a console; a failing script is a problem line, the case kept as it was', async () => {
  const crash: CaseResult = { id: 'U03.dir', family: 'ioctl-open', status: 'CRASH', tap: [], console: ['WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2'] };
  const fail: CaseResult = { id: 'U04.x', family: 'ioctl-open', status: 'FAIL', tap: [], console: ['WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2'] };
  const problems = await decodeCrashCases([crash, fail], { script: '/nonexistent/decode_stacktrace.sh', vmlinux: '/nonexistent/vmlinux', basePath: '/' });
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^U03\.dir: /);
  assert.equal(crash.trace, undefined);
  assert.equal(fail.trace, undefined);
});
