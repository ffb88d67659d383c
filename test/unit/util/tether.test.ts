import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onPath, tethered, tetheredGroup } from '../../../src/util/tether.js';
import { descendants } from '../../../src/util/procs.js';

const tetherModule = fileURLToPath(new URL('../../../src/util/tether.js', import.meta.url));

/** Alive means running: a killed child reparented to an init that does not reap it stays a zombie (state Z). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

test('a tethered child dies when its parent is killed with SIGKILL (no exit hook of the parent runs)', { skip: onPath('setpriv') ? false : 'no setpriv' }, async () => {
  // A parent of its own, as kgate is: it starts `sleep` tethered, says both pids, and waits to be killed.
  const parent = execa('node', ['--input-type=module', '-e', `
    import { spawn } from 'node:child_process';
    const { tethered } = await import(${JSON.stringify(tetherModule)});
    const c = spawn(...tethered('sleep', ['300']), { stdio: 'ignore' });
    c.on('spawn', () => console.log(c.pid));
    setInterval(() => {}, 1000);
  `], { reject: false, buffer: false, stdin: 'ignore' });
  const child = await new Promise<number>((resolve) => parent.stdout!.once('data', (b: Buffer) => resolve(Number(String(b).trim()))));
  try {
    assert.ok(running(child), 'the tethered child runs');
    // The spawn event comes once setpriv runs; its exec of the command follows (later on a loaded machine): wait for it.
    const cmdline = () => { try { return readFileSync(`/proc/${child}/cmdline`, 'utf8'); } catch { return ''; } };
    for (const t0 = Date.now(); /^\/usr\/bin\/setpriv\x00/.test(cmdline()) && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 10));
    assert.match(cmdline(), /^sleep\x00300\x00$/, 'setpriv exec()s the command: the pid held is the command\'s');
    parent.kill('SIGKILL');
    await parent;
    const t0 = Date.now();
    while (running(child) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(running(child), false, 'the child outlived its parent by 2 s');
  } finally {
    parent.kill('SIGKILL');
    try { process.kill(child, 'SIGKILL'); } catch { /* gone, as it should be */ }
  }
});

test('tethered() leaves a command that is not installed as it is, so its spawn fails with ENOENT as before', () => {
  assert.deepEqual(tethered('kgate-no-such-tool', ['-x']), ['kgate-no-such-tool', ['-x']]);
  if (onPath('setpriv')) assert.deepEqual(tethered('sleep', ['1'], 'TERM').slice(1), [['--pdeathsig=TERM', '--', 'sleep', '1']]);
});

test('a tethered group (make and its jobs, a compiler and cc1) goes whole when its parent is killed with SIGKILL', { skip: onPath('setpriv') ? false : 'no setpriv' }, async () => {
  // The group: a shell standing for make, with two jobs of its own, as make's recipes are.
  const parent = execa('node', ['--input-type=module', '-e', `
    import { spawn } from 'node:child_process';
    const { tetheredGroup } = await import(${JSON.stringify(tetherModule)});
    const c = spawn(...tetheredGroup('sh', ['-c', 'sleep 300 & sleep 300 & wait']), { stdio: 'ignore', detached: true });
    c.on('spawn', () => console.log(c.pid));
    setInterval(() => {}, 1000);
  `], { reject: false, buffer: false, stdin: 'ignore' });
  const leader = await new Promise<number>((resolve) => parent.stdout!.once('data', (b: Buffer) => resolve(Number(String(b).trim()))));
  let group: number[] = [];
  for (let i = 0; i < 50 && group.filter((p) => /^sleep\x00/.test(cmdline(p))).length < 2; i++) { await new Promise((r) => setTimeout(r, 20)); group = [leader, ...descendants(leader)]; }
  try {
    assert.equal(group.filter((p) => /^sleep\x00300/.test(cmdline(p))).length, 2, 'the two jobs run');
    parent.kill('SIGKILL');
    await parent;
    const t0 = Date.now();
    while (group.some(running) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(group.filter(running).map(cmdline), [], 'nothing of the group outlived its parent by 2 s');
  } finally {
    parent.kill('SIGKILL');
    for (const p of group) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
});

test('a tethered group exits with its command\'s code', async () => {
  const r = await execa(...tetheredGroup('sh', ['-c', 'echo out; exit 7']), { reject: false });
  assert.equal(r.exitCode, 7);
  assert.equal(String(r.stdout), 'out');
});

function cmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; }
}
