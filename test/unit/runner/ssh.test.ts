import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { knownHostKeys, parseSshTarget } from '../../../src/runner/ssh/target.js';
import { publicKeyBlob } from '../../../src/runner/ssh/transport.js';
import { testSshServer, type TestSshServer } from './ssh-server.js';

test('parseSshTarget', () => {
  assert.deepEqual(parseSshTarget('ssh://root@box:2222'), { user: 'root', host: 'box', port: 2222 });
  assert.deepEqual(parseSshTarget('ssh://box'), { user: 'root', host: 'box', port: 22 });
  assert.deepEqual(parseSshTarget('ssh://me@[::1]:22'), { user: 'me', host: '::1', port: 22 });
  assert.throws(() => parseSshTarget('box:22'), /expected ssh:\/\/\[user@\]host\[:port\]/);
});

test('publicKeyBlob decodes the base64 field', () => {
  assert.deepEqual(publicKeyBlob('ssh-ed25519 AAAAC3Nz root@x'), Buffer.from('AAAAC3Nz', 'base64'));
  assert.throws(() => publicKeyBlob('nonsense'));
});

test('knownHostKeys: plain, [host]:port and hashed entries', () => {
  const salt = Buffer.from('0123456789abcdef0123');
  const hash = createHmac('sha1', salt).update('[box]:2222').digest('base64');
  const text = [
    'box ssh-ed25519 AAAA1111',
    '[box]:2222 ssh-ed25519 AAAA2222',
    `|1|${salt.toString('base64')}|${hash} ssh-ed25519 AAAA3333`,
    'other ssh-ed25519 AAAA4444',
  ].join('\n');
  assert.deepEqual(knownHostKeys(text, 'box', 22), [Buffer.from('AAAA1111', 'base64')]);
  assert.deepEqual(knownHostKeys(text, 'box', 2222), [Buffer.from('AAAA2222', 'base64'), Buffer.from('AAAA3333', 'base64')]);
});

// A server that takes the connection and then drops it in the middle of what the client asked for.
async function droppingServer(drop: 'sftp-write' | 'session'): Promise<TestSshServer> {
  return testSshServer((session, end) => {
    if (drop === 'session') { end(); return; }
    session.on('sftp', (acceptSftp) => {
      const sftp = acceptSftp();
      sftp.on('OPEN', (reqid) => sftp.handle(reqid, Buffer.from('h')));
      sftp.on('WRITE', () => end()); // the guest killed mid-upload
    });
  });
}

test('an upload whose connection drops mid-transfer fails, instead of never settling (SIGTERM during an upload ended kgate with exit 0)', async () => {
  const { connect } = await import('../../../src/runner/ssh/transport.js');
  const { parseableKeyPair } = await import('../../../src/runner/ssh/keys.js');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const srv = await droppingServer('sftp-write');
  const dir = mkdtempSync(join(tmpdir(), 'kgate-ssh-test-'));
  try {
    const file = join(dir, 'bin');
    writeFileSync(file, Buffer.alloc(512 * 1024, 1));
    const t = await connect({ host: '127.0.0.1', port: srv.port, user: 'root', privateKey: parseableKeyPair().private, hostKey: srv.hostPublic });
    const settled = await Promise.race([
      t.upload(file, '/x/bin').then(() => 'resolved', (e: Error) => `rejected: ${e.message}`),
      new Promise<string>((r) => setTimeout(() => r('still pending after 15 s'), 15_000).unref()),
    ]);
    assert.match(settled, /^rejected: upload bin to ssh:\/\/root@127\.0\.0\.1:\d+:\/x\/bin failed/);
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ssh2 calls back a channel open that the closing connection cut short (unlike an SFTP write): kept, as the other half of the rule.
test('a command whose channel never opens because the connection dropped is a lost command or an error, not a hang', async () => {
  const { connect } = await import('../../../src/runner/ssh/transport.js');
  const { parseableKeyPair } = await import('../../../src/runner/ssh/keys.js');
  const srv = await droppingServer('session');
  try {
    const t = await connect({ host: '127.0.0.1', port: srv.port, user: 'root', privateKey: parseableKeyPair().private, hostKey: srv.hostPublic });
    const settled = await Promise.race([
      t.exec('true').then((r) => (r.lost ? 'lost' : `exited ${r.code}`), (e: Error) => `rejected: ${e.message}`),
      new Promise<string>((r) => setTimeout(() => r('still pending after 15 s'), 15_000).unref()),
    ]);
    assert.ok(settled === 'lost' || settled.startsWith('rejected:'), settled);
  } finally {
    srv.close();
  }
});

test('run keys: a pair ssh2 cannot parse back (its ed25519 keygen makes one in ~256) is made again; thousands in a row all parse', async () => {
  const { parseableKeyPair } = await import('../../../src/runner/ssh/keys.js');
  const { default: ssh2 } = await import('ssh2');
  // The keygen's own failure, found by searching: a pair whose public key parse rejects.
  let bad: { private: string; public: string } | undefined;
  for (let i = 0; i < 20_000 && !bad; i++) {
    const kp = ssh2.utils.generateKeyPairSync('ed25519');
    if (ssh2.utils.parseKey(kp.public) instanceof Error || ssh2.utils.parseKey(kp.private) instanceof Error) bad = kp;
  }
  assert.ok(bad, 'ssh2 still makes unparseable ed25519 pairs (if this fails, ssh2 fixed it and the retry can go)');
  let calls = 0;
  const kp = parseableKeyPair(() => (calls++ === 0 ? bad! : ssh2.utils.generateKeyPairSync('ed25519')));
  assert.equal(calls, 2, 'the bad pair was refused and another made');
  assert.ok(!(ssh2.utils.parseKey(kp.private) instanceof Error));
  for (let i = 0; i < 2000; i++) {
    const p = parseableKeyPair();
    assert.ok(!(ssh2.utils.parseKey(p.private) instanceof Error) && !(ssh2.utils.parseKey(p.public) instanceof Error));
  }
});
