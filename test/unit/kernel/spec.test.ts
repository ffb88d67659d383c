import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bzImageRelease, choosePackage, compareVersions, parseKernelSpec, parseMadison } from '../../../src/kernel/spec.js';
import { KgateError } from '../../../src/model.js';

test('kernel spec forms', () => {
  assert.deepEqual(parseKernelSpec('debian:6.12'), { kind: 'debian', series: '6.12', text: 'debian:6.12' });
  assert.deepEqual(parseKernelSpec('debian:6.12.107'), { kind: 'debian', series: '6.12', exact: '6.12.107', text: 'debian:6.12.107' });
  assert.deepEqual(parseKernelSpec('debian:6.1'), { kind: 'debian', series: '6.1', text: 'debian:6.1' });
  assert.deepEqual(parseKernelSpec('debian:6.1.0-50'), { kind: 'debian', series: '6.1', exact: '6.1.0-50', text: 'debian:6.1.0-50' });
  assert.deepEqual(parseKernelSpec('./arch/x86/boot/bzImage'), { kind: 'path', bzImage: './arch/x86/boot/bzImage', text: './arch/x86/boot/bzImage' });
  assert.deepEqual(parseKernelSpec('debian:latest'), { kind: 'debian', series: 'latest', text: 'debian:latest' });
  assert.deepEqual(parseKernelSpec('debian:7.3.4'), { kind: 'debian', series: '7.3', exact: '7.3.4', text: 'debian:7.3.4' });
  for (const bad of ['debian:', 'debian:newest', 'ubuntu:6.8', '6.12', 'debian']) {
    assert.throws(() => parseKernelSpec(bad), (e: unknown) => e instanceof KgateError && e.family === 'user' && /accepted: debian:6\.12/.test(e.message), bad);
  }
});

const MADISON = [
  'linux-image-6.12.107+deb12-cloud-amd64-unsigned | 6.12.107-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
  'linux-image-6.12.111+deb12-cloud-amd64-unsigned | 6.12.111-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
  'linux-image-6.12.117+deb12-cloud-amd64-unsigned | 6.12.117-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
  'linux-image-6.1.0-50-cloud-amd64-unsigned | 6.1.158-1 | http://deb.debian.org/debian bookworm/main amd64 Packages',
  'linux-image-6.1.0-56-cloud-amd64-unsigned | 6.1.192-2 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
  'linux-image-6.1.0-9-cloud-amd64-unsigned | 6.1.27-1 | http://deb.debian.org/debian bookworm/main amd64 Packages',
].join('\n');

test('choosePackage: newest of a series, by version not by text', () => {
  const pkgs = parseMadison(MADISON);
  assert.equal(choosePackage({ kind: 'debian', series: '6.12', text: '' }, pkgs).name, 'linux-image-6.12.117+deb12-cloud-amd64-unsigned');
  assert.equal(choosePackage({ kind: 'debian', series: '6.1', text: '' }, pkgs).name, 'linux-image-6.1.0-56-cloud-amd64-unsigned');
});

test('choosePackage: exact release by upstream version or ABI name', () => {
  const pkgs = parseMadison(MADISON);
  assert.equal(choosePackage(parseKernelSpec('debian:6.12.107') as never, pkgs).version, '6.12.107-1~deb12u1');
  assert.equal(choosePackage(parseKernelSpec('debian:6.1.158') as never, pkgs).name, 'linux-image-6.1.0-50-cloud-amd64-unsigned');
  assert.equal(choosePackage(parseKernelSpec('debian:6.1.0-56') as never, pkgs).upstream, '6.1.192');
});

test('choosePackage: an unknown release lists what the archive has', () => {
  assert.throws(() => choosePackage(parseKernelSpec('debian:6.12.999') as never, parseMadison(MADISON)),
    (e: unknown) => e instanceof KgateError && e.family === 'user' && e.message === 'no Debian 6.12.x kernel 6.12.999 in the archive; available: 6.12.107, 6.12.111, 6.12.117');
  assert.throws(() => choosePackage(parseKernelSpec('debian:5.10') as never, parseMadison(MADISON)), /series available: 6\.1, 6\.12/);
});

test('compareVersions is numeric', () => {
  assert.ok(compareVersions('6.1.192-2', '6.1.27-1') > 0);
  assert.ok(compareVersions('6.12.9', '6.12.117') < 0);
});

test('bzImageRelease reads the setup header', () => {
  const b = Buffer.alloc(0x1000);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x300, 0x20e);
  b.write('6.12.117+deb12-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0', 0x500, 'latin1');
  assert.equal(bzImageRelease(b), '6.12.117+deb12-cloud-amd64');
  assert.equal(bzImageRelease(Buffer.alloc(0x1000)), undefined);
});

// Rows as kgate's own apt gives them (trimmed), one per layout: 6.1 and 6.12 one
// package (-unsigned), 6.12 backports and 6.18 only the signed full image, 7.2/7.3
// split (binary-unsigned + modules + base), 7.1 split without a modules package.
const MADISON_ALL = [
  'linux-image-6.12.95+deb12-cloud-amd64 | 6.12.95-1~bpo12+1 | http://deb.debian.org/debian bookworm-backports/main amd64 Packages',
  'linux-image-6.12.94+deb12-cloud-amd64 | 6.12.94-1~bpo12+1 | http://deb.debian.org/debian bookworm-backports/main amd64 Packages',
  'linux-image-6.12.118+deb12-cloud-amd64 | 6.12.118-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
  'linux-image-6.12.118+deb12-cloud-amd64-unsigned | 6.12.118-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
  'linux-image-6.12.118+deb12-cloud-amd64-dbg | 6.12.118-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
  'linux-image-6.18.15+deb13-cloud-amd64 | 6.18.15-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-image-7.1.13+deb13-cloud-amd64 | 7.1.13-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-binary-7.1.13+deb13-cloud-amd64 | 7.1.13-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-image-7.2.13+deb14-cloud-amd64 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages',
  'linux-binary-7.2.13+deb14-cloud-amd64 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages',
  'linux-binary-unsigned-7.2.13+deb14-cloud-amd64 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages',
  'linux-modules-7.2.13+deb14-cloud-amd64 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages',
  'linux-base-7.2.13+deb14-cloud-amd64 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages',
  'linux-image-7.3.4+deb13-cloud-amd64 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-binary-7.3.4+deb13-cloud-amd64 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-binary-unsigned-7.3.4+deb13-cloud-amd64 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-modules-7.3.4+deb13-cloud-amd64 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-base-7.3.4+deb13-cloud-amd64 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
  'linux-image-cloud-amd64 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
].join('\n');

test('parseMadison: each package layout, with what to download', () => {
  const ks = parseMadison(MADISON_ALL);
  const by = (abi: string) => ks.find((k) => k.abi === abi)!;
  assert.deepEqual(ks.map((k) => k.upstream), ['6.12.94', '6.12.95', '6.12.118', '6.18.15', '7.1.13', '7.2.13', '7.3.4']);
  assert.deepEqual(by('6.12.118+deb12').packages, ['linux-image-6.12.118+deb12-cloud-amd64-unsigned']);
  assert.equal(by('6.12.118+deb12').suite, 'bookworm-security');
  assert.deepEqual(by('6.12.95+deb12').packages, ['linux-image-6.12.95+deb12-cloud-amd64']);
  assert.deepEqual(by('6.18.15+deb13'), {
    name: 'linux-image-6.18.15+deb13-cloud-amd64', version: '6.18.15-1~bpo13+1', series: '6.18', upstream: '6.18.15', abi: '6.18.15+deb13',
    release: '6.18.15+deb13-cloud-amd64', suite: 'trixie-backports', layout: 'image', packages: ['linux-image-6.18.15+deb13-cloud-amd64'], missing: [],
  });
  assert.deepEqual(by('7.3.4+deb13').packages, ['linux-binary-unsigned-7.3.4+deb13-cloud-amd64', 'linux-modules-7.3.4+deb13-cloud-amd64', 'linux-base-7.3.4+deb13-cloud-amd64']);
  assert.equal(by('7.3.4+deb13').layout, 'split');
  assert.equal(by('7.2.13+deb14').suite, 'sid');
  assert.deepEqual(by('7.1.13+deb13').missing, ['linux-modules-7.1.13+deb13-cloud-amd64']);
});

test('choosePackage: 7.x series, exact, latest, and a series the archive cannot run', () => {
  const ks = parseMadison(MADISON_ALL);
  assert.equal(choosePackage(parseKernelSpec('debian:7.3') as never, ks).name, 'linux-binary-unsigned-7.3.4+deb13-cloud-amd64');
  assert.equal(choosePackage(parseKernelSpec('debian:7.2.13') as never, ks).version, '7.2.13-1');
  assert.equal(choosePackage(parseKernelSpec('debian:latest') as never, ks).upstream, '7.3.4');
  assert.equal(choosePackage(parseKernelSpec('debian:6.12') as never, ks).upstream, '6.12.118');
  assert.throws(() => choosePackage(parseKernelSpec('debian:7.1') as never, ks),
    (e: unknown) => e instanceof KgateError && e.family === 'user' && /7\.1 cloud kernels cannot run: .*linux-modules-7\.1\.13\+deb13-cloud-amd64 in no suite.*series that run: 6\.12, 6\.18, 7\.2, 7\.3/.test(e.message));
  assert.throws(() => choosePackage(parseKernelSpec('debian:7.1.13') as never, ks), /7\.1\.13 cannot run/);
});
