// Bad input: one line, exit 2, no stack trace, nothing booted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { kgate, kgateBin } from './helpers.js';

const cases: { args: string[]; env?: Record<string, string>; says: RegExp }[] = [
  { args: ['run', '--jobs', '0'], says: /--jobs must be 1 or more/ },
  { args: ['run', '--accel', 'warp'], says: /^kgate: --accel \(or \$KGATE_ACCEL\) must be auto, kvm or tcg/ },
  { args: ['run'], env: { KGATE_ACCEL: 'warp' }, says: /^kgate: --accel \(or \$KGATE_ACCEL\) must be auto, kvm or tcg/ },
  { args: ['run', '--target', 'ftp://box'], says: /--target must be local, qemu or ssh:\/\/user@host/ },
  { args: ['run', '--kernel', 'debian:9.9'], says: /no Debian 9\.9 cloud kernel in the archive; series available: .*6\.12/ },
  { args: ['run', '--kernel', '/nonexistent/bzImage'], says: /\/nonexistent\/bzImage/ },
  { args: ['run', '--case', 'U99'], says: /unknown case 'U99'; known: / },
  { args: ['run', '--no-such-flag'], says: /unknown option/ },
  { args: ['frobnicate'], says: /unknown command/ },
  { args: ['parse', '/nonexistent.log'], says: /cannot read \/nonexistent\.log/ },
];

for (const c of cases) {
  test(`${c.env ? `${Object.entries(c.env).map(([k, v]) => `${k}=${v} `).join('')}` : ''}kgate ${c.args.join(' ')} -> exit 2 with one line`, async () => {
    const r = await kgate(c.args, c.env ?? {}, 120_000);
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
    // Progress lines may come first (plain mode); the error is the one last line.
    const lines = r.stderr.trim().split('\n');
    assert.match(lines.at(-1)!, c.says);
    assert.equal(lines.filter((l) => c.says.test(l)).length, 1, `said once: ${r.stderr}`);
    assert.equal(r.stdout.trim(), '', 'no summary table for a run that never started');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('kgate run --target local as an unprivileged user -> exit 2, says root is needed', { skip: process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv') ? 'needs root to drop to nobody' : false }, async () => {
  const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', kgateBin, 'run', '--target', 'local', '--case', 'U01'],
    { reject: false, env: { CI: '1', HOME: '/tmp' }, stdin: 'ignore' });
  assert.equal(r.exitCode, 2, String(r.stderr));
  assert.match(String(r.stderr).trim().split('\n').at(-1)!, /needs root/);
  assert.doesNotMatch(String(r.stderr), /\n\s+at /);
});

test('kgate run --results /proc/x (a directory that cannot be made) -> one line, exit 2, promptly', async () => {
  // Node 20's mkdirSync(..., { recursive: true }) never returns on /proc: this hung kgate (src/util/fs.ts).
  const r = await execa('node', [kgateBin, 'run', '--results', '/proc/x/results', '--case', 'U01'],
    { reject: false, env: { CI: '1' }, stdin: 'ignore', timeout: 5000, killSignal: 'SIGKILL' });
  assert.equal(r.timedOut, false, 'did not end within 5 s');
  assert.equal(r.exitCode, 2, String(r.stderr));
  assert.match(String(r.stderr).trim().split('\n').at(-1)!, /cannot write results to \/proc\/x\/results: ENOENT/);
});
