import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLdd, renderInit, secretsArchive } from '../../../src/runner/image.js';
import { CpioArchive, listCpio } from '../../../src/runner/cpio.js';
import { GUEST_MODULES, loadWaves, moduleClosure } from '../../../src/runner/guest-modules.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot as packageRoot } from '../../../src/util/paths.js';

test('cpio newc round trip with parents, symlinks, device nodes, 512 padding', () => {
  const buf = new CpioArchive().file('usr/bin/x', 'hello', 0o755).symlink('bin/sh', '/bin/busybox').chardev('dev/console', 5, 1).toBuffer();
  assert.equal(buf.length % 512, 0);
  assert.equal(buf.toString('latin1', 0, 6), '070701');
  const e = listCpio(buf);
  assert.deepEqual(e.map((x) => x.name), ['usr', 'usr/bin', 'usr/bin/x', 'bin', 'bin/sh', 'dev', 'dev/console']);
  assert.equal(e[2].data.toString(), 'hello');
  assert.equal(e[2].mode, 0o100755);
  assert.equal(e[4].data.toString(), '/bin/busybox');
  assert.equal(e[6].mode & 0o170000, 0o020000);
});

test('equal inputs give equal bytes', () => {
  const a = () => new CpioArchive().file('a', 'x').toBuffer();
  assert.ok(a().equals(a()));
});

test('secrets archive holds the host key and authorized_keys, 0600', () => {
  const e = listCpio(secretsArchive(Buffer.from('KEY'), 'ssh-ed25519 AAAA k\n'));
  const key = e.find((x) => x.name === 'etc/dropbear/dropbear_ed25519_host_key')!;
  assert.equal(key.mode & 0o777, 0o600);
  assert.equal(e.find((x) => x.name === 'root/.ssh/authorized_keys')!.data.toString(), 'ssh-ed25519 AAAA k\n');
  assert.equal(e.find((x) => x.name === 'root/.ssh')!.mode & 0o777, 0o700);
});

const DEP_612 = `kernel/fs/overlayfs/overlay.ko.xz:
kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz
kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
kernel/drivers/char/hw_random/virtio-rng.ko.xz:
`;
const BUILTIN_612 = 'kernel/fs/fuse/fuse.ko\nkernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/char/hw_random/rng-core.ko\n';

test('moduleClosure: deps first, built-ins skipped, - and _ alike (6.12 shape)', () => {
  assert.deepEqual(moduleClosure(DEP_612, BUILTIN_612, GUEST_MODULES), [
    'kernel/net/core/failover.ko.xz', 'kernel/drivers/net/net_failover.ko.xz', 'kernel/drivers/net/virtio_net.ko.xz',
    'kernel/drivers/char/hw_random/virtio-rng.ko.xz', 'kernel/fs/overlayfs/overlay.ko.xz',
  ]);
});

test('loadWaves: a module loads after its dependencies, beside the modules that do not need each other', () => {
  const files = moduleClosure(DEP_612, BUILTIN_612, GUEST_MODULES);
  assert.deepEqual(loadWaves(DEP_612, files), [
    ['kernel/net/core/failover.ko.xz', 'kernel/drivers/char/hw_random/virtio-rng.ko.xz', 'kernel/fs/overlayfs/overlay.ko.xz'],
    ['kernel/drivers/net/net_failover.ko.xz'],
    ['kernel/drivers/net/virtio_net.ko.xz'],
  ]);
  assert.deepEqual(loadWaves('', []), []);
});

test('moduleClosure: a wanted module that is nowhere is an infra error', () => {
  assert.throws(() => moduleClosure('', '', ['overlay']), /overlay is neither built in nor in modules.dep/);
});

test('parseLdd: libraries and the loader', () => {
  const out = `\tlinux-vdso.so.1 (0x00007ffd)\n\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n`;
  assert.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
});

test('init template renders with every variable (strict mode)', () => {
  const init = renderInit(readFileSync(join(packageRoot(), 'templates', 'guest', 'init.hbs'), 'utf8'), [['/lib/modules/r/a.ko', '/lib/modules/r/b.ko'], ['/lib/modules/r/c.ko']]);
  assert.match(init, /^#!\/bin\/sh/);
  assert.match(init, /insmod \/lib\/modules\/r\/a\.ko[^\n]*&\n[^\n]*insmod \/lib\/modules\/r\/b\.ko[^\n]*&\nwait\n[^\n]*insmod \/lib\/modules\/r\/c\.ko[^\n]*&\nwait\n/, 'a and b at once, c after them');
  assert.match(init, /ip addr add 10\.0\.2\.15\/24 dev eth0/);
  assert.match(init, /ip route add default via 10\.0\.2\.2/);
  assert.match(init, /echo "kgate: guest ready \$\(uname -r\)"/);
  assert.match(init, /exec dropbear -F .* -p 22 -r \/etc\/dropbear\/dropbear_ed25519_host_key/);
});

test('the suite archive: each binary under SUITE_DIR, 0755, cached by the hashes; a binary changed since its hash is refused', async () => {
  const { createHash } = await import('node:crypto');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { suiteArchive, SUITE_DIR } = await import('../../../src/runner/image.js');
  const dir = mkdtempSync(join(tmpdir(), 'kgate-suite-unit-'));
  try {
    const bin = join(dir, 'kgate-x');
    writeFileSync(bin, 'ELF x');
    const sha256 = createHash('sha256').update('ELF x').digest('hex');
    const p = await suiteArchive([{ name: 'kgate-x', path: bin, sha256 }], dir);
    const e = listCpio(readFileSync(p)).find((x) => x.name === `${SUITE_DIR.slice(1)}/kgate-x`)!;
    assert.equal(e.data.toString(), 'ELF x');
    assert.equal(e.mode, 0o100755);
    assert.equal(await suiteArchive([{ name: 'kgate-x', path: bin, sha256 }], dir), p, 'the same suite: the same cached archive');
    writeFileSync(bin, 'ELF y');
    await assert.rejects(suiteArchive([{ name: 'kgate-x', path: bin, sha256: createHash('sha256').update('ELF z').digest('hex') }], dir), /changed since the suite was built/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
