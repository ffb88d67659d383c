// The command loop a guest's pieces go through (Transport.queue with
// guest-target's commandLoop): the loop is the real shell script, run by dash
// and by busybox sh behind a small ssh2 server that does what sshd does with
// an exec request (sh -c, stdin the channel, exit status back). The same path
// against a real guest's dropbear: the e2e tests (guest-run, faults-run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLoop, transportRunner } from '../../../src/runner/guest-target.js';
import { SUITE_DIR } from '../../../src/runner/image.js';
import type { BuiltBinary } from '../../../src/gen/manifest.js';
import type { ExecResult } from '../../../src/runner/ssh/transport.js';
import { testSshServer, type TestSshServer } from './ssh-server.js';

async function execServer(shell: string[], o: { suiteDir?: string; refuse?: number } = {}): Promise<TestSshServer & { execs: () => number }> {
  let execs = 0;
  const srv = await testSshServer((session) => {
    session.on('exec', (acceptExec, reject, info) => {
      // dropbear now and then answers an exec with a failure
      if (execs++ < (o.refuse ?? 0)) { reject(); return; }
      const ch = acceptExec();
      // the guest's suite directory, here
      const cmd = o.suiteDir ? info.command.split(SUITE_DIR).join(o.suiteDir) : info.command;
      const p = spawn(shell[0], [...shell.slice(1), '-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      p.stdin!.on('error', () => {}); // the shell gone first
      if (o.suiteDir) {
        const dirOf = (b: Buffer) => Buffer.from(b.toString().split(SUITE_DIR).join(o.suiteDir!));
        ch.on('data', (b: Buffer) => p.stdin!.write(dirOf(b)));
        ch.on('end', () => p.stdin!.end());
      } else ch.pipe(p.stdin!);
      p.stdout!.pipe(ch, { end: false });
      p.stderr!.pipe(ch.stderr, { end: false });
      p.on('close', (code) => { ch.exit(code ?? 0); ch.end(); });
      // what a guest's restart does to what the loop left running: all of it killed, by the group of the pid started
      ch.on('close', () => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } });
    });
  });
  return { ...srv, execs: () => execs };
}

const shells: [string, string[]][] = [['dash', ['/bin/sh']], ['busybox sh', ['/bin/busybox', 'sh']]];
for (const [name, shell] of shells) {
  test(`${name}: queued lines run one after another, each with its own output and end; a run that does not end normally stops what is queued behind it`, { skip: existsSync(shell[0]) ? false : `no ${shell[0]}` }, async () => {
    const { connect } = await import('../../../src/runner/ssh/transport.js');
    const { parseableKeyPair } = await import('../../../src/runner/ssh/keys.js');
    const srv = await execServer(shell);
    const client = parseableKeyPair();
    const t = await connect({ host: '127.0.0.1', port: srv.port, user: 'root', privateKey: client.private, hostKey: srv.hostPublic });
    try {
      const marker = '# kgate-loop-test';
      const q = t.queue(commandLoop(marker), marker);
      const collect = async (r: { follow: (o: object) => Promise<ExecResult & { started: boolean }> }) => {
        const out: string[] = [];
        const res = await r.follow({ onStdout: (l: string) => out.push(l), onStderr: (l: string) => out.push(`err: ${l}`) });
        return { out, res };
      };
      // All sent at once: the second and third wait in the loop's stdin, and start when the one before ends.
      const a = q.push(`KG_X='a b' sh -c 'echo "$KG_X"; read x || echo "stdin is not the queue"; exit 0'`);
      const b = q.push(`sh -c 'echo one; echo two >&2; exit 1'`);
      const c = q.push(`echo three`);
      const ra = await collect(a);
      assert.deepEqual(ra.out, ['a b', 'stdin is not the queue'], 'its output only, its env; it cannot read the lines queued behind it');
      assert.deepEqual([ra.res.code, ra.res.signal, ra.res.started], [0, null, true]);
      // Followed late: what it printed meanwhile comes first.
      await new Promise((r) => setTimeout(r, 300));
      const rb = await collect(b);
      assert.deepEqual([rb.out.sort(), rb.res.code], [['err: two', 'one'], 1], 'exit 1 (a harness with a failed case) is a normal end');
      const rc = await collect(c);
      assert.deepEqual([rc.out, rc.res.code], [['three'], 0], 'the loop went on after exit 1');
      assert.ok(a.startedAt! <= b.startedAt! && b.startedAt! <= c.startedAt!, 'in order');

      // A run killed by a signal: reported as that signal, and the one behind it never starts.
      const d = q.push(`sh -c 'kill -SEGV $$'`);
      const e = q.push('echo never');
      const rd = await collect(d);
      assert.deepEqual([rd.res.code, rd.res.signal], [null, 'SIGSEGV'], 'a crash stays a crash');
      const re = await collect(e);
      assert.deepEqual([re.res.started, re.out, re.res.lost], [false, [], undefined], 'queued behind a run that did not end normally: never started, and not a lost connection');
      assert.equal(q.open(), false);

      // Another loop: exit 3 stops it too, a deadline kills the run (and the loop).
      const q2 = t.queue(commandLoop(marker), marker);
      assert.equal((await collect(q2.push("sh -c 'exit 3'"))).res.code, 3);
      assert.equal((await collect(q2.push('echo late'))).res.started, false);
      const q3 = t.queue(commandLoop(marker), marker);
      const slow = q3.push('sleep 20');
      const t0 = Date.now();
      const rs = await slow.follow({ timeoutMs: 300 });
      assert.equal(rs.killed, 'timeout');
      assert.ok(Date.now() - t0 < 5000, 'killed at its deadline');
      assert.equal(q3.open(), false, 'a run killed ends its loop');
      // Nothing pushed, then its stdin ends: the loop exits, and a queue ended takes no more.
      const q4 = t.queue(commandLoop(marker), marker);
      q4.end();
      assert.equal(q4.open(), false);
    } finally {
      await t.close();
      srv.close();
    }
  });
}

test('a guest\'s runner sends the next piece ahead: it starts when this one ends, says it started then, and a refused loop channel is tried once more', { skip: existsSync('/bin/busybox') ? false : 'no busybox' }, async () => {
  const { connect } = await import('../../../src/runner/ssh/transport.js');
  const { parseableKeyPair } = await import('../../../src/runner/ssh/keys.js');
  const dir = mkdtempSync(join(tmpdir(), 'kgate-queue-'));
  // Two "families": each prints the ids it was given and the time it started.
  for (const name of ['kgate-a', 'kgate-b']) {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $* $KG_X"\nsleep 0.3\n`, { mode: 0o755 });
  }
  const srv = await execServer(['/bin/busybox', 'sh'], { suiteDir: dir, refuse: 1 });
  const t = await connect({ host: '127.0.0.1', port: srv.port, user: 'root', privateKey: parseableKeyPair().private, hostKey: srv.hostPublic });
  try {
    const bin = (name: string): BuiltBinary => ({ name, path: join(dir, name), family: name, api: 'upstream', cases: [], sha256: name });
    const runner = transportRunner(() => t);
    runner.preload([{ name: 'kgate-a', path: join(dir, 'kgate-a'), sha256: 'kgate-a' }, { name: 'kgate-b', path: join(dir, 'kgate-b'), sha256: 'kgate-b' }]);
    runner.warm(); // its channel refused: the first piece opens another
    const lines: string[] = [];
    const signal = new AbortController().signal;
    const t0 = Date.now();
    const a = await runner.exec({ binary: bin('kgate-a'), caseIds: ['A.1'], onLine: (l) => lines.push(l), signal, timeoutMs: 10_000, env: { KG_X: 'x y' }, next: { binary: bin('kgate-b'), caseIds: ['B.1', 'B.2'] } });
    assert.equal(a.code, 0);
    // kgate-b was sent ahead and has been running (or has run) since kgate-a ended.
    await new Promise((r) => setTimeout(r, 150));
    const tCall = Date.now();
    let started: number | undefined;
    const b = await runner.exec({ binary: bin('kgate-b'), caseIds: ['B.1', 'B.2'], onLine: (l) => lines.push(l), signal, timeoutMs: 10_000, env: { KG_X: 'x y' }, onStarted: (at) => { started = at; } });
    assert.equal(b.code, 0);
    assert.deepEqual(lines, ['kgate-a A.1 x y', 'kgate-b B.1 B.2 x y'], 'each piece its own output, its ids and env');
    assert.ok(started !== undefined && started < tCall && started >= t0, `the piece sent ahead says when it started (${started! - t0} ms in), before it was asked for (${tCall - t0} ms in)`);
    assert.ok(Date.now() - tCall < 300, 'it did not start again when asked for');
    // A piece that is not what was sent ahead runs after it, on the same loop.
    const c = await runner.exec({ binary: bin('kgate-a'), caseIds: ['A.2'], onLine: (l) => lines.push(l), signal, timeoutMs: 10_000 });
    assert.equal(c.code, 0);
    assert.equal(lines.at(-1), 'kgate-a A.2 ');
    assert.equal(srv.execs(), 2, 'one refused channel, then one loop for every piece');
    runner.release();
  } finally {
    await t.close();
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an exec channel the server refuses once (as dropbear now and then does) is opened again; refused twice, the exec fails in one line', async () => {
  const { connect } = await import('../../../src/runner/ssh/transport.js');
  const { parseableKeyPair } = await import('../../../src/runner/ssh/keys.js');
  for (const [refuse, ok] of [[1, true], [2, false]] as const) {
    const srv = await execServer(['/bin/sh'], { refuse });
    const client = parseableKeyPair();
    const t = await connect({ host: '127.0.0.1', port: srv.port, user: 'root', privateKey: client.private, hostKey: srv.hostPublic });
    try {
      const out: string[] = [];
      const r = t.exec('echo hello', { onStdout: (l) => out.push(l) });
      if (ok) {
        assert.equal((await r).code, 0);
        assert.deepEqual(out, ['hello']);
      } else {
        await assert.rejects(r, /^Error: exec on ssh:\/\/root@127\.0\.0\.1:\d+ failed: /);
      }
      assert.equal(srv.execs(), refuse + (ok ? 1 : 0));
    } finally {
      await t.close();
      await srv.close();
    }
  }
});
