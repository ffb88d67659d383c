// --target ssh://user@host:port against a machine that is already up: here a
// guest this test boots itself, reached like any test box, with the key and
// known_hosts entry a user would have in ~/.ssh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { kgate, hasQemu, assertStatus } from './helpers.js';
import { startGuest, stopGuest } from '../../src/runner/guest.js';
import { resolveKernel, parseKernelSpec } from '../../src/kernel/index.js';

test('kgate run --target ssh://root@127.0.0.1:PORT runs the suite on a machine that is already up', { skip: hasQemu() ? false : 'no qemu' }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'kgate-home-'));
  const ac = new AbortController();
  const g = await startGuest({ kernel: await resolveKernel({ spec: parseKernelSpec('debian:6.12') }), accel: 'tcg', runDir: home, signal: ac.signal });
  const guest = g.guest;
  const keys = g.keys;
  try {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'id_ed25519'), keys.clientPrivate, { mode: 0o600 });
    writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${guest.sshPort} ${keys.hostPublic}\n`);
    const r = await kgate(['run', '--target', `ssh://root@127.0.0.1:${guest.sshPort}`, '--family', 'ioctl-close'], { HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.run!.kernel?.release ?? '', /^6\.12\./);
    assertStatus(r, 'U22.double', 'PASS');

    // A host key that does not match known_hosts is refused: exit 2 or 125, never a run.
    writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${guest.sshPort} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8\n`);
    const bad = await kgate(['run', '--target', `ssh://root@127.0.0.1:${guest.sshPort}`, '--family', 'ioctl-close'], { HOME: home });
    assert.notEqual(bad.code, 0);
    assert.ok(!bad.run?.cases.some((c) => c.status === 'PASS'), 'nothing ran against an unverified host');
    assert.match(bad.stderr, /host key/i);
  } finally {
    await stopGuest(g);
    ac.abort();
    rmSync(home, { recursive: true, force: true });
  }
});
