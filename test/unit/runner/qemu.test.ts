import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCHES, freePort, kernelCmdline, qemuArgv, showCommand } from '../../../src/runner/qemu.js';

const spec = { kernel: '/k/vmlinuz', initrd: '/i/initrd.cpio', memMB: 1024, smp: 2, accel: 'tcg' as const, sshPort: 40022 };

test('qemuArgv: the whole command for TCG', () => {
  assert.deepEqual(qemuArgv(spec), [
    'qemu-system-x86_64', '-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'tcg',
    '-m', '1024', '-smp', '2', '-display', 'none', '-serial', 'stdio',
    '-kernel', '/k/vmlinuz', '-initrd', '/i/initrd.cpio',
    '-append', 'console=ttyS0 loglevel=5 panic=-1 printk.devkmsg=on printk.time=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd',
    '-no-reboot',
    '-netdev', 'user,id=n0,ipv6=off,hostfwd=tcp:127.0.0.1:40022-:22', '-device', 'virtio-net-pci,netdev=n0',
    '-device', 'virtio-rng-pci',
  ]);
});

test('qemuArgv: KVM adds -cpu host; one accelerator only; a cpu override wins', () => {
  const a = qemuArgv({ ...spec, accel: 'kvm' });
  assert.deepEqual(a.slice(a.indexOf('-accel'), a.indexOf('-accel') + 4), ['-accel', 'kvm', '-cpu', 'host']);
  assert.equal(a.filter((w) => w === '-accel').length, 1);
  const b = qemuArgv({ ...spec, accel: 'kvm', cpu: 'qemu64' });
  assert.equal(b[b.indexOf('-cpu') + 1], 'qemu64');
});

test('qemuArgv: orderings the comments promise', () => {
  const a = qemuArgv({ ...spec, append: ['rdinit=/x'] });
  assert.equal(a[1], '-nodefaults');
  assert.ok(a.indexOf('-netdev') < a.indexOf('-device'));
  assert.ok(a.includes('-no-reboot'));
  assert.match(a[a.indexOf('-append') + 1], /panic=-1 .* rdinit=\/x$/);
  assert.ok(!/\bquiet\b/.test(kernelCmdline({})), 'quiet would hide WARN reports');
  assert.match(a[a.indexOf('-netdev') + 1], /hostfwd=tcp:127\.0\.0\.1:/);
});

test('per-arch data is frozen', () => {
  assert.ok(Object.isFrozen(ARCHES) && Object.isFrozen(ARCHES.x86_64) && Object.isFrozen(ARCHES.x86_64.cpu));
});

test('showCommand quotes only what needs it', () => {
  assert.equal(showCommand(['qemu', '-append', "console=ttyS0 a='b'", '-m', '1024']), `qemu -append 'console=ttyS0 a='\\''b'\\''' -m 1024`);
});

test('freePort gives a bindable loopback port', async () => {
  const p = await freePort();
  assert.ok(p > 1024 && p < 65536);
});
