// --target ssh://user@host:port against a machine that is already up: here a
// guest this test boots itself, reached like any test box, with the key and
// known_hosts entry a user would have in ~/.ssh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { kgate, kgateBin, root, hasQemu, assertSaid, assertStatus, saidLines } from './helpers.js';
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
    // The suite went over as one archive, not a round trip per binary.
    assertSaid(r.stderr, /suite note: ssh:\/\/\S+: uploaded the suite \(1 binaries, one archive\)/);
    assert.equal(saidLines(r.stderr, /suite note: .*: uploaded /).length, 1, 'one upload');

    // A host key that does not match known_hosts is refused: exit 2 or 125, never a run.
    writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${guest.sshPort} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8\n`);
    const bad = await kgate(['run', '--target', `ssh://root@127.0.0.1:${guest.sshPort}`, '--family', 'ioctl-close'], { HOME: home });
    assert.notEqual(bad.code, 0);
    assert.ok(!bad.run?.cases.some((c) => c.status === 'PASS'), 'nothing ran against an unverified host');
    assertSaid(bad.stderr, /.*(host key unknown|offered a host key that is not the pinned one)/);
    writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${guest.sshPort} ${keys.hostPublic}\n`);

    // kgate killed with -9 while a case hangs on the machine (K1.hang: its server never answers OPEN). sshd
    // signals nothing to a command without a pty whose client went away: the harness, its case and server
    // would run on, on a box that is not rebooted as a guest is. They must be gone within 3 s.
    const suite = async () => {
      let ps = '';
      await g.transport.exec('ps -o pid,args', { onStdout: (l) => { ps += l + '\n'; } });
      return ps.split('\n').filter((l) => l.includes('/kgate/bin/kgate-selftest'));
    };
    const run = execa('node', [kgateBin, 'run', '--target', `ssh://root@127.0.0.1:${guest.sshPort}`, '--case', 'K1.hang', '--results', join(home, 'results')],
      { reject: false, cwd: root, env: { CI: '1', HOME: home }, stdin: 'ignore' });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      run.stderr!.on('data', (b: Buffer) => { err += b.toString(); if (/selftest: 1 case\(s\) on/.test(err)) resolve(); });
      void run.then(() => reject(new Error(`kgate ended before K1.hang started: ${err}`)));
    });
    let running: string[] = [];
    for (let i = 0; i < 50 && running.length < 3; i++) { await new Promise((r) => setTimeout(r, 100)); running = await suite(); }
    assert.ok(running.length >= 3, `harness, case and server run on the machine: ${running.join(' | ')}`);
    run.kill('SIGKILL');
    await run;
    let left = running;
    for (let i = 0; i < 30 && left.length > 0; i++) { await new Promise((r) => setTimeout(r, 100)); left = await suite(); }
    assert.deepEqual(left, [], 'nothing of the suite is left on the machine 3 s after kgate was killed');
  } finally {
    await stopGuest(g);
    ac.abort();
    rmSync(home, { recursive: true, force: true });
  }
});
