import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { WorkItem } from '../../../src/runner/execute.js';
import { CASE_PATTERN, jobYaml, lavaCaseName, lavaJob } from '../../../src/lava/job.js';
import { binaryDeadlineSec, lavaAwk, lavaCmdline, lavaInit, MARK } from '../../../src/lava/guest.js';
import { validateJob, validatorMissing } from '../../../src/lava/validate.js';

const item = (family: string, cases: [string, number][]): WorkItem => ({
  binary: { name: `kgate-${family}`, path: `/b/kgate-${family}`, family, api: 'upstream', sha256: 'x', cases: cases.map(([id, timeoutSec]) => ({ id, timeoutSec })) },
  caseIds: cases.map(([id]) => id),
});
const items = [item('ioctl-open', [['U01.never_opened', 10], ['U03.dir', 10]]), item('init', [['I1.offered', 30]])];
const spec = { name: 'kgate test', kernelUrl: 'file:///a/bzImage', initrdUrl: 'file:///a/initrd.cpio', items };

test('the job deploys kernel and initramfs to tmpfs, boots qemu without prompts, one monitor per family', () => {
  const job = lavaJob(spec) as any;
  assert.equal(job.device_type, 'qemu');
  const [deploy, boot, t] = job.actions;
  assert.equal(deploy.deploy.to, 'tmpfs');
  assert.equal(deploy.deploy.images.kernel.url, 'file:///a/bzImage');
  assert.equal(deploy.deploy.images.initrd.url, 'file:///a/initrd.cpio');
  assert.equal(deploy.deploy.images.initrd.image_arg, '-initrd {initrd}');
  // The command line rides on image_arg (LAVA adds no -append for tmpfs), with kgate's init and -no-reboot.
  assert.match(deploy.deploy.images.kernel.image_arg, /^-kernel \{kernel\} -append "console=ttyS0 rdinit=\/kgate\/lava-init [^"]*panic=-1[^"]*" -no-reboot -smp 2$/);
  assert.deepEqual(boot.boot, { timeout: { minutes: 2 }, method: 'qemu', media: 'tmpfs' });
  assert.deepEqual(t.test.monitors.map((m: any) => m.name), ['ioctl-open', 'init']);
  assert.equal(t.test.monitors[0].start, 'kgate-lava: begin ioctl-open\\s');
  assert.equal(t.test.monitors[0].end, 'kgate-lava: end ioctl-open ');
  // Deadlines: the test action covers every binary's outer deadline.
  assert.equal(binaryDeadlineSec(items[0]), 35);
  assert.ok(t.test.timeout.minutes * 60 >= 35 + 45 + 60);
  assert.equal(job.metadata['kgate.cases'], '3');
});

test('the case pattern gives LAVA family.case, the result and the errno as measurement with the token as units', () => {
  const re = new RegExp(CASE_PATTERN.replace(/\(\?P</g, '(?<'));
  const m = re.exec(`${MARK.case} U03.dir pass 21 EISDIR ;`)!;
  assert.deepEqual({ ...m.groups }, { test_case_id: 'U03.dir', result: 'pass', measurement: '21', units: 'EISDIR' });
  assert.equal(re.exec(`${MARK.case} H1.read fail -1 bad_data ;`)!.groups!.measurement, '-1');
  // The monitor matches on what has arrived: half a line is no match yet, so the units are never cut short.
  assert.equal(re.exec(`${MARK.case} U03.dir pass 21 EI`), null);
  assert.equal(lavaCaseName('U03.dir'), 'u03_dir');
});

test('lava-init runs each binary between markers, under its deadline, through the filter, then powers off', () => {
  const s = lavaInit({ items, modules: ['/lib/modules/r/kernel/fs/overlayfs/overlay.ko'], env: { KGATE_FAKE_GENERATION: 'a1' } });
  assert.match(s, /^#!\/bin\/sh\n/);
  assert.match(s, /insmod \/lib\/modules\/r\/kernel\/fs\/overlayfs\/overlay.ko/);
  assert.match(s, /export KGATE_FAKE_GENERATION=a1/);
  assert.match(s, /\nrun ioctl-open 35 \/kgate\/bin\/kgate-ioctl-open U01.never_opened U03.dir\n/);
  assert.match(s, /\nrun init 45 \/kgate\/bin\/kgate-init I1.offered\n/);
  assert.ok(s.indexOf('kgate-lava: done') < s.indexOf('poweroff -f'));
  assert.doesNotMatch(s, /dropbear/);
  assert.equal(lavaCmdline(), 'console=ttyS0 rdinit=/kgate/lava-init loglevel=5 panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd');
  const awk = lavaAwk({ EISDIR: 21 });
  assert.match(awk, /e\["EISDIR"\]=21/);
});

test('the YAML is the data', () => {
  const job = lavaJob(spec);
  assert.deepEqual(parse(jobYaml(job)), job);
});

test('LAVA\'s own schema accepts the job and rejects one without device_type', async (t) => {
  const missing = await validatorMissing();
  if (missing) { t.skip(missing); return; }
  assert.deepEqual(await validateJob(jobYaml(lavaJob(spec))), { ok: true });
  const bad = lavaJob(spec);
  delete bad.device_type;
  const v = await validateJob(jobYaml(bad));
  assert.equal(v.ok, false);
  assert.match((v as { reason: string }).reason, /device_type/);
});
