import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { knownHostKeys, parseSshTarget, publicKeyBlob } from '../../../src/runner/ssh.js';

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
