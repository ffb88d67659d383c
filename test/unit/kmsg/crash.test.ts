import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CrashDetector, classifyLine, detectCrashes } from '../../../src/kmsg/crash.js';
import { stripPrintk } from '../../../src/kmsg/printk.js';
import { projectRoot as packageRoot } from '../../../src/util/paths.js';

const fixture = (f: string) => readFileSync(join(packageRoot(), 'test', 'fixtures', 'console', f), 'utf8');

test('stripPrintk removes time, caller id and syslog level', () => {
  assert.equal(stripPrintk('[  772.918915] BUG: x'), 'BUG: x');
  assert.equal(stripPrintk('[    1.000000] [  T123] Oops: 0002'), 'Oops: 0002');
  assert.equal(stripPrintk('<4>WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2'), 'WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2');
  assert.equal(stripPrintk('[1] Nov 24 dropbear'), '[1] Nov 24 dropbear');
});

test('the table classifies specific shapes before generic ones', () => {
  assert.equal(classifyLine('BUG: KASAN: slab-out-of-bounds in f'), 'kasan');
  assert.equal(classifyLine('BUG: KFENCE: use-after-free read in f'), 'kfence');
  assert.equal(classifyLine('BUG: unable to handle page fault for address: 0'), 'oops');
  assert.equal(classifyLine('general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT SMP KASAN'), 'oops');
  assert.equal(classifyLine('watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [a:1]'), 'lockup');
  assert.equal(classifyLine('UBSAN: shift-out-of-bounds in fs/fuse/inode.c:1'), 'ubsan');
  assert.equal(classifyLine('WARNING: possible circular locking dependency detected'), 'lockdep');
  assert.equal(classifyLine('rcu: INFO: rcu_sched self-detected stall on CPU'), 'rcu_stall');
  assert.equal(classifyLine('Kernel panic - not syncing: Fatal exception'), 'panic');
  assert.equal(classifyLine('kgate: guest ready 6.12.1'), undefined);
  assert.equal(classifyLine('ok 3 H1.read'), undefined);
});

test('real panic from a kgate guest: one panic with its call trace', () => {
  const ev = detectCrashes(fixture('panic-no-root-6.12.log'));
  assert.equal(ev.length, 1);
  assert.equal(ev[0].kind, 'panic');
  assert.match(ev[0].line, /^Kernel panic - not syncing: VFS: Unable to mount root fs/);
  assert.ok(ev[0].excerpt.some((l) => l.includes('mount_root_generic')));
  assert.ok(!ev[0].excerpt[0].startsWith('['), 'printk time stripped');
});

test('a clean boot has no events', () => {
  assert.deepEqual(detectCrashes(fixture('boot-clean-6.12.log')), []);
});

test('oops: the BUG: line and its Oops: line are one report', () => {
  const ev = detectCrashes(fixture('oops-paging-syzkaller.log'));
  assert.equal(ev.length, 1);
  assert.equal(ev[0].kind, 'oops');
  assert.match(ev[0].line, /^BUG: unable to handle kernel paging request/);
  assert.ok(ev[0].excerpt.some((l) => l.startsWith('Oops: 0002')));
});

test('WARNING ends at its end-trace marker; the KTAP line after it is not in the excerpt', () => {
  const ev = detectCrashes(fixture('warning-fuse-request-end.log'));
  assert.equal(ev.length, 1);
  assert.equal(ev[0].kind, 'warning');
  assert.match(ev[0].excerpt.at(-1)!, /^---\[ end trace/);
  assert.ok(!ev[0].excerpt.includes('ok 3 H1.read'));
});

test('KASAN report runs to its closing rule', () => {
  const ev = detectCrashes(fixture('kasan-uaf-doc.log'));
  assert.equal(ev.length, 1);
  assert.equal(ev[0].kind, 'kasan');
  assert.match(ev[0].line, /slab-out-of-bounds in kmalloc_oob_right/);
  assert.match(ev[0].excerpt.at(-1)!, /^={30,}$/);
  assert.ok(!ev[0].excerpt.some((l) => l.startsWith('ok 28')));
});

test('hung task: each blocked task is a report', () => {
  const ev = detectCrashes(fixture('hung-task-syzbot.log'));
  assert.deepEqual(ev.map((e) => e.kind), ['hung_task', 'hung_task']);
  assert.match(ev[1].line, /syz-executor412:6368 blocked for more than 143 seconds/);
});

test('RCU stall is reported at flush when nothing ends it', () => {
  const d = new CrashDetector();
  const done = fixture('rcu-stall-syzbot.log').split('\n').flatMap((l) => d.push(l, 5));
  assert.deepEqual(done, []);
  assert.equal(d.current()?.kind, 'rcu_stall');
  const ev = d.flush();
  assert.equal(ev.length, 1);
  assert.equal(ev[0].kind, 'rcu_stall');
  assert.equal(ev[0].at, 5);
  assert.deepEqual(d.flush(), []);
});

test('a panic after an oops closes the oops and starts its own report', () => {
  const ev = detectCrashes(['[ 1.0] Oops: 0000 [#1] SMP', '[ 1.1] RIP: x', '[ 1.2] ---[ end trace 0000000000000000 ]---', '[ 1.3] Kernel panic - not syncing: Fatal exception'].join('\n'));
  assert.deepEqual(ev.map((e) => e.kind), ['oops', 'panic']);
});

test("a report carries its printk time, the kernel's own clock, which places it among the cases", async () => {
  const { CrashDetector, printkTime } = await import('../../../src/kmsg/crash.js');
  assert.equal(printkTime('[    3.310000] WARNING: CPU: 0'), 3310000);
  assert.equal(printkTime('<4>[ 1234.000042] x'), 1234000042);
  assert.equal(printkTime('WARNING: CPU: 0 PID: 45 at x'), undefined);
  const d = new CrashDetector();
  const events = [
    '[    3.310000] WARNING: CPU: 0 PID: 45 at fs/fuse/passthrough.c:237 fuse_backing_open+0x7c/0x13b',
    '[    3.310100] ---[ end trace 0000000000000000 ]---',
    'WARNING: CPU: 0 PID: 46 at fs/fuse/file.c:1 f+0x1/0x2',
    '---[ end trace 0000000000000000 ]---',
  ].flatMap((l) => d.push(l, 1));
  assert.deepEqual(events.map((e) => e.ts), [3310000, undefined]);
});

test('a report names the task it was raised in: the dump\'s Comm (old and new header), a hung task, KASAN\'s "by task"; an RCU stall names none', async () => {
  const { reportTask } = await import('../../../src/kmsg/crash.js');
  assert.equal(reportTask(['WARNING: CPU: 0 PID: 54 at fs/fuse/passthrough.c:237 fuse_backing_open+0x7c/0x13b', 'Modules linked in:', 'CPU: 0 UID: 0 PID: 54 Comm: kgate-ioctl-ope Not tainted 6.12.118+ #1']), 'kgate-ioctl-ope');
  assert.equal(reportTask(['BUG: kernel NULL pointer dereference, address: 0000000000000000', 'CPU: 1 PID: 77 Comm: kgate-data-path Tainted: G        W          5.10.43 #1']), 'kgate-data-path');
  assert.equal(reportTask(['INFO: task kgate-stacking:301 blocked for more than 120 seconds.']), 'kgate-stacking');
  assert.equal(reportTask(['BUG: KASAN: slab-use-after-free in fuse_file_put+0x1/0x2', 'Read of size 8 at addr ffff888003a1b000 by task kgate-lifecycle/88']), 'kgate-lifecycle');
  assert.equal(reportTask(['rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:']), undefined);
  // Parsed as the report closes, from the whole excerpt.
  const [e] = detectCrashes('[    1.154242] WARNING: CPU: 0 PID: 54 at fs/fuse/passthrough.c:237 x+0x1/0x2\n[    1.154577] CPU: 0 UID: 0 PID: 54 Comm: kgate-ioctl-ope Not tainted 6.12.118+ #1\n[    1.160000] ---[ end trace 0000000000000000 ]---\n');
  assert.equal(e.task, 'kgate-ioctl-ope');
});
