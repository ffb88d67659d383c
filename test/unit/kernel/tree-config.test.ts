import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inertForBuild, kconfigDepends, lostOptions, mergeFragments, touchesKconfig, parseConfig, readEntries, renderConfig, REQUIRED_FRAGMENT, ConfigSyntaxError, undefinedButNeedless, type Fragment } from '../../../src/kernel/tree/config.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKey, configKey } from '../../../src/kernel/tree/cache.js';
import { makefileVersion } from '../../../src/kernel/tree/source.js';
import { firstError } from '../../../src/kernel/tree/make.js';

const kgate: Fragment = { name: 'kgate required fragment', text: REQUIRED_FRAGMENT, owner: 'kgate' };
const user = (name: string, text: string): Fragment => ({ name, text, owner: 'user' });

test('parseConfig reads set, unset and string values and rejects garbage with file:line', () => {
  const m = parseConfig('# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\n\nCONFIG_D=0x10\n');
  assert.deepEqual([...m], [['CONFIG_A', 'y'], ['CONFIG_B', 'n'], ['CONFIG_C', '"x y"'], ['CONFIG_D', '0x10']]);
  assert.equal(renderConfig(m), 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=0x10\n');
  assert.throws(() => parseConfig('CONFIG_A=y\nFUSE=y\n', 'my.frag'), (e: unknown) => e instanceof ConfigSyntaxError && e.message === 'my.frag:2: not a config line: FUSE=y');
});

test('merge: later fragments win, as merge_config.sh does, and each option remembers who set it', () => {
  const base = parseConfig('CONFIG_FUSE_FS=m\nCONFIG_X=y\n');
  const { merged, asked } = mergeFragments(base, [kgate, user('a.frag', 'CONFIG_X=n\n'), user('b.frag', 'CONFIG_X=y\nCONFIG_KASAN=y\n')]);
  assert.equal(merged.get('CONFIG_FUSE_FS'), 'y');
  assert.equal(merged.get('CONFIG_X'), 'y');
  assert.equal(asked.get('CONFIG_X')?.from.name, 'b.frag');
  assert.deepEqual(asked.get('CONFIG_X')?.overrode.map((o) => [o.from.name, o.value]), [['a.frag', 'n']]);
  assert.equal(asked.get('CONFIG_FUSE_PASSTHROUGH')?.from.owner, 'kgate');
});

const deps = new Map<string, string[]>([['FUSE_PASSTHROUGH', ['FUSE_FS']], ['FUSE_FS', []], ['OVERLAY_FS', []]]);
const kconfig = (o: string) => deps.get(o);

test('survival: every asked option present in the final config means nothing lost', () => {
  const { merged, asked } = mergeFragments(new Map(), [kgate]);
  assert.deepEqual(lostOptions(asked, merged, kconfig), []);
});

test('survival: a user fragment turning FUSE_PASSTHROUGH off is named, and is the user\'s doing', () => {
  const { merged, asked } = mergeFragments(new Map(), [kgate, user('off.config', '# CONFIG_FUSE_PASSTHROUGH is not set\n')]);
  const lost = lostOptions(asked, merged, kconfig);
  assert.equal(lost.length, 1);
  assert.equal(lost[0].option, 'CONFIG_FUSE_PASSTHROUGH');
  assert.equal(lost[0].blame, 'user');
  assert.match(lost[0].why, /off\.config sets it n, kgate needs y/);
});

test('survival: an option Kconfig dropped names the dependency and its value; blame follows who set the dependency', () => {
  // kgate asked for it, Kconfig dropped it on its own: this commit cannot be tested (infra).
  const a = mergeFragments(new Map(), [kgate]);
  const final = new Map(a.merged);
  final.set('CONFIG_FUSE_PASSTHROUGH', 'n');
  final.set('CONFIG_FUSE_FS', 'y');
  const lost = lostOptions(a.asked, final, kconfig);
  assert.deepEqual(lost.map((l) => [l.option, l.blame]), [['CONFIG_FUSE_PASSTHROUGH', 'kconfig']]);
  assert.equal(lost[0].why, 'depends on FUSE_FS (FUSE_FS=y)');
  // The user turned the dependency off: theirs.
  const b = mergeFragments(new Map(), [kgate, user('nofuse.config', 'CONFIG_FUSE_FS=n\n')]);
  const final2 = new Map(b.merged);
  final2.set('CONFIG_FUSE_PASSTHROUGH', 'n');
  const lost2 = lostOptions(b.asked, final2, kconfig);
  assert.deepEqual(lost2.map((l) => [l.option, l.blame]).sort(), [['CONFIG_FUSE_FS', 'user'], ['CONFIG_FUSE_PASSTHROUGH', 'user']]);
  assert.match(lost2.find((l) => l.option === 'CONFIG_FUSE_PASSTHROUGH')!.why, /FUSE_FS=n/);
});

test('survival: an option no Kconfig defines is "no such option in this tree"', () => {
  const a = mergeFragments(new Map(), [user('typo.config', 'CONFIG_FUSE_PASSTRHOUGH=y\n')]);
  const lost = lostOptions(a.asked, new Map(), kconfig);
  assert.deepEqual(lost.map((l) => [l.option, l.why, l.blame]), [['CONFIG_FUSE_PASSTRHOUGH', 'no such option in this tree', 'user']]);
});

test('Kconfig entries: depends on lines per config, menuconfig too, stopping at the next block', () => {
  const out = new Map<string, string[]>();
  readEntries('menuconfig FUSE_FS\n\ttristate "FUSE"\n\tselect FS_POSIX_ACL\n\nconfig FUSE_PASSTHROUGH\n\tbool "passthrough"\n\tdepends on FUSE_FS\n\tdepends on A || B\n\nif X\nconfig OTHER\n\tbool\nendif\n', out);
  assert.deepEqual(out.get('FUSE_PASSTHROUGH'), ['FUSE_FS', '(A || B)']);
  assert.deepEqual(out.get('FUSE_FS'), []);
  assert.deepEqual(out.get('OTHER'), []);
});

test('build key: the same inputs give the same key; each input changes it; the config key ignores the source', () => {
  const config = { base: 'tiny', fragments: [{ name: 'k', text: REQUIRED_FRAGMENT }] };
  const k = { sourceTree: 'a'.repeat(40), config, compiler: 'gcc (Debian 12.2.0-14) 12.2.0' };
  assert.equal(buildKey(k), buildKey({ ...k, config: { ...config, fragments: [...config.fragments] } }));
  const variants = [
    { ...k, sourceTree: 'b'.repeat(40) },
    { ...k, dirtyHash: 'c'.repeat(64) },
    { ...k, compiler: 'gcc (Debian 13.1.0) 13.1.0' },
    { ...k, config: { ...config, base: 'defconfig' } },
    { ...k, config: { ...config, fragments: [...config.fragments, { name: 'u', text: 'CONFIG_KASAN=y\n' }] } },
  ];
  const keys = new Set([buildKey(k), ...variants.map(buildKey)]);
  assert.equal(keys.size, variants.length + 1);
  assert.equal(configKey(config), configKey({ ...config }));
  assert.notEqual(configKey(config), configKey({ ...config, baseHash: 'x' }));
});

test('makefileVersion reads VERSION.PATCHLEVEL.SUBLEVEL', () => {
  assert.equal(makefileVersion('# SPDX\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\nEXTRAVERSION =\nNAME = Baby Opossum Posse\n'), '6.12.118');
  assert.equal(makefileVersion('all:\n\techo hi\n'), undefined);
});

test('firstError: the first compiler error, path relative to the tree; make\'s own error otherwise', () => {
  const log = [
    '  CC      fs/fuse/dir.o',
    '/cache/trees/linux-abc/src/fs/fuse/inode.c:12:1: error: unknown type name \'this\'',
    '/cache/trees/linux-abc/src/fs/fuse/inode.c:14:1: error: expected \';\'',
    'make[4]: *** [/cache/trees/linux-abc/src/scripts/Makefile.build:229: fs/fuse/inode.o] Error 1',
  ];
  assert.equal(firstError(log, '/cache/trees/linux-abc/src'), 'fs/fuse/inode.c:12:1: error: unknown type name \'this\'');
  assert.equal(firstError(['../src/fs/fuse/file.c:3:5: fatal error: nope.h: No such file or directory'], '/x/src'), 'fs/fuse/file.c:3:5: error: nope.h: No such file or directory');
  assert.equal(firstError(['ld: vmlinux.o: undefined reference to `foo\''], '/x'), 'ld: vmlinux.o: undefined reference to `foo\'');
});

test('a .config is made again only when the diff touches a Kconfig input', () => {
  for (const f of ['fs/fuse/Kconfig', 'Kconfig', 'arch/x86/Kconfig.debug', 'scripts/kconfig/conf.c', 'arch/x86/configs/tiny.config',
    'kernel/configs/tiny.config', 'Makefile', 'arch/x86/Makefile', 'scripts/Kconfig.include', 'scripts/min-tool-version.sh']) {
    assert.equal(touchesKconfig(f), true, f);
  }
  for (const f of ['fs/fuse/inode.c', 'fs/fuse/Makefile', 'README', 'init/main.c', 'Documentation/Kconfig.txt/x', 'scripts/checkpatch.pl']) {
    assert.equal(touchesKconfig(f), false, f);
  }
});

test('a commit touching only files no build reads gets its parent\'s kernel; Kconfig under Documentation is not one of them', () => {
  for (const f of ['README', 'Documentation/filesystems/fuse.rst', 'MAINTAINERS', 'LICENSES/preferred/GPL-2.0', 'fs/fuse/README.md', '.mailmap']) {
    assert.equal(inertForBuild(f), true, f);
  }
  for (const f of ['Documentation/Kconfig', 'fs/fuse/inode.c', 'Makefile', 'tools/objtool/check.c', 'scripts/setlocalversion', 'include/uapi/linux/fuse.h']) {
    assert.equal(inertForBuild(f), false, f);
  }
});

// Old trees: 5.10-based Android trees build passthrough with FUSE_FS and have no
// FUSE_PASSTHROUGH option; a tree that has the option and drops it is another matter.
// A tiny Kconfig tree on disk, read by the same walker a real build uses.
function fakeTree(fuseKconfig: string, o: { pvh?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kgate-kconfig-'));
  mkdirSync(join(dir, 'fs', 'fuse'), { recursive: true });
  mkdirSync(join(dir, 'arch', 'x86'), { recursive: true });
  writeFileSync(join(dir, 'Kconfig'), 'source "fs/fuse/Kconfig"\nsource "arch/x86/Kconfig"\n');
  writeFileSync(join(dir, 'fs', 'fuse', 'Kconfig'), fuseKconfig);
  // Where PVH came from (4.11+): inside "Linux guest support"
  writeFileSync(join(dir, 'arch', 'x86', 'Kconfig'), o.pvh === false ? '' : 'menuconfig HYPERVISOR_GUEST\n\tbool "Linux guest support"\n\nif HYPERVISOR_GUEST\n\nconfig PVH\n\tbool "Support for running PVH guests"\n\nendif\n');
  return dir;
}

test('old trees: kgate\'s FUSE_PASSTHROUGH that the tree does not have is not a loss, and is said in one line', (t) => {
  const dir = fakeTree('config FUSE_FS\n\ttristate "FUSE (Filesystem in Userspace) support"\n\nconfig IO_URING\n\tbool "io_uring"\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { merged, asked } = mergeFragments(new Map(), [kgate]);
  const final = new Map(merged);
  final.delete('CONFIG_FUSE_PASSTHROUGH');   // olddefconfig drops a symbol no Kconfig defines
  const kc = kconfigDepends(dir);
  assert.deepEqual(lostOptions(asked, final, kc), []);
  const said = undefinedButNeedless(asked, kc);
  assert.equal(said.length, 1);
  assert.match(said[0], /^CONFIG_FUSE_PASSTHROUGH: no such option in this tree, not asked for: /);
  assert.ok(!said[0].includes('\n'));
  // the same option asked for by the user's fragment is still theirs to fix
  const u = mergeFragments(new Map(), [kgate, user('pt.config', 'CONFIG_FUSE_PASSTHROUGH=y\n')]);
  assert.deepEqual(lostOptions(u.asked, final, kc).map((l) => [l.option, l.why, l.blame]), [['CONFIG_FUSE_PASSTHROUGH', 'no such option in this tree', 'user']]);
  // any other option of kgate's the tree lacks is still lost: the guest needs it
  const noNet = new Map(final);
  noNet.delete('CONFIG_VIRTIO_NET');
  assert.deepEqual(lostOptions(asked, noNet, kc).map((l) => [l.option, l.blame]), [['CONFIG_VIRTIO_NET', 'kconfig']]);
  // a tree from before io_uring (5.1) does without it: its case SKIPs
  const before51 = fakeTree('config FUSE_FS\n\ttristate "FUSE"\n');
  t.after(() => rmSync(before51, { recursive: true, force: true }));
  const noUring = new Map(final);
  noUring.delete('CONFIG_IO_URING');
  const kc51 = kconfigDepends(before51);
  assert.deepEqual(lostOptions(asked, noUring, kc51), []);
  assert.deepEqual(undefinedButNeedless(asked, kc51).map((l) => l.split(':')[0]), ['CONFIG_FUSE_PASSTHROUGH', 'CONFIG_IO_URING']);
  // a tree without PVH boots from its bzImage: one line each, no loss
  const noPvh = fakeTree('config FUSE_FS\n\ttristate "FUSE"\n\nconfig IO_URING\n\tbool "io_uring"\n\nconfig FUSE_PASSTHROUGH\n\tbool "passthrough"\n', { pvh: false });
  t.after(() => rmSync(noPvh, { recursive: true, force: true }));
  const final2 = new Map(merged);
  final2.delete('CONFIG_HYPERVISOR_GUEST');
  final2.delete('CONFIG_PVH');
  assert.deepEqual(lostOptions(asked, final2, kconfigDepends(noPvh)), []);
  assert.deepEqual(undefinedButNeedless(asked, kconfigDepends(noPvh)).map((l) => l.split(':')[0]), ['CONFIG_HYPERVISOR_GUEST', 'CONFIG_PVH']);
});

test('old trees: a tree that defines FUSE_PASSTHROUGH and drops it still loses it (125)', (t) => {
  const dir = fakeTree('config FUSE_FS\n\ttristate "FUSE"\n\nconfig IO_URING\n\tbool "io_uring"\n\nconfig FUSE_PASSTHROUGH\n\tbool "passthrough"\n\tdepends on FUSE_FS && BROKEN\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { merged, asked } = mergeFragments(new Map(), [kgate]);
  const final = new Map(merged);
  final.set('CONFIG_FUSE_PASSTHROUGH', 'n');
  const kc = kconfigDepends(dir);
  const lost = lostOptions(asked, final, kc);
  assert.deepEqual(lost.map((l) => [l.option, l.blame, l.why]), [['CONFIG_FUSE_PASSTHROUGH', 'kconfig', 'depends on (FUSE_FS && BROKEN) (FUSE_FS=y, BROKEN=n)']]);
  assert.deepEqual(undefinedButNeedless(asked, kc), []);
});
