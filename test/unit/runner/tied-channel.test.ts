import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tiedToChannel } from '../../../src/runner/guest-target.js';

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
    const hung = await run(shell, 'sleep 30', 200);
    assert.equal(hung.signal, 'SIGKILL', 'the channel closed (kgate gone, or its deadline): the command is killed');
    assert.ok(hung.ms < 5000, `killed at once, not after its 30 s: ${hung.ms} ms`);
    const exited = await run(shell, 'exit 3');
    assert.deepEqual([exited.code, exited.signal], [3, null], 'its exit code is the command\'s');
    assert.equal((await run(shell, 'sh -c "kill -SEGV \\$\\$"')).signal, 'SIGSEGV', 'a command killed by a signal reads as killed by it (a crash stays a crash)');
  });
}
