import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { standbyShell, tiedToChannel } from '../../../src/runner/guest-target.js';

/** Runs the wrapped command as sshd would (sh -c, stdin a pipe: the channel); closes that pipe after `closeAfterMs`. */
function run(shell: string[], cmd: string, closeAfterMs?: number): Promise<{ code: number | null; signal: string | null; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const c = spawn(shell[0], [...shell.slice(1), '-c', tiedToChannel(cmd)], { stdio: ['pipe', 'ignore', 'ignore'] });
    if (closeAfterMs !== undefined) setTimeout(() => c.stdin!.end(), closeAfterMs);
    c.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - t0 }));
  });
}

// The guest's shell is busybox's; a test box's is dash or bash.
const shells: [string, string[]][] = [['dash', ['/bin/sh']], ['busybox sh', ['/bin/busybox', 'sh']]];
for (const [name, shell] of shells) {
  test(`${name}: a command tied to its channel is killed when the channel closes, and otherwise ends as it would`, { skip: existsSync(shell[0]) ? false : `no ${shell[0]}` }, async () => {
    const hung = await run(shell, 'exec sleep 30', 200);
    assert.equal(hung.signal, 'SIGKILL', 'the channel closed (kgate gone, or its deadline): the command is killed');
    assert.ok(hung.ms < 5000, `killed at once, not after its 30 s: ${hung.ms} ms`);
    const exited = await run(shell, 'exit 3');
    assert.deepEqual([exited.code, exited.signal], [3, null], 'its exit code is the command\'s');
    assert.equal((await run(shell, 'sh -c "kill -SEGV \\$\\$"')).signal, 'SIGSEGV', 'a command killed by a signal reads as killed by it (a crash stays a crash)');
  });
}

/** The standby shell as sshd would run it; `line` sent on its stdin after `afterMs` (undefined: its stdin just ends). */
function standby(shell: string[], o: { tied?: boolean }, line: string | undefined, closeAfterMs?: number): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(shell[0], [...shell.slice(1), '-c', standbyShell(o)], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    c.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    setTimeout(() => {
      if (line === undefined) c.stdin!.end();
      else c.stdin!.write(`${line}\n`);
      if (closeAfterMs !== undefined) setTimeout(() => c.stdin!.end(), closeAfterMs);
    }, 100);
    c.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

for (const [name, shell] of shells) {
  test(`${name}: a standby shell runs the one line it is sent, as that command (env, arguments, exit, signal), and nothing when its stdin ends first`, { skip: existsSync(shell[0]) ? false : `no ${shell[0]}` }, async () => {
    {
      for (const tied of [false, true]) {
        const ran = await standby(shell, { tied }, `KG_X='a b' exec sh -c 'echo "$KG_X" "$1"; exit 4' arg0 'c d'`);
        assert.deepEqual([ran.out, ran.code], ['a b c d\n', 4], `tied=${tied}: the line's command, its environment and exit status`);
        assert.equal((await standby(shell, { tied }, `exec sh -c 'kill -SEGV $$'`)).signal, 'SIGSEGV', `tied=${tied}: a command killed by a signal reads as killed by it`);
        // Its stdin ends before any line: it must exit at once, not wait on (kgate's guest stops with it anyway, a test box does not).
        const idle = await standby(shell, { tied }, undefined);
        assert.deepEqual([idle.code, idle.out], [0, ''], `tied=${tied}: a standby never used exits 0 and runs nothing`);
      }
      const hung = await standby(shell, { tied: true }, 'exec sleep 30', 200);
      assert.equal(hung.signal, 'SIGKILL', 'tied: the channel closed under the running command: it is killed');
    }
  });
}
