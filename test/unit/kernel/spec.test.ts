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
  for (const bad of ['debian:', 'debian:latest', 'ubuntu:6.8', '6.12', 'debian']) {
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
