// --target ssh://user@host:port: a machine already up, its host key checked
// against the user's known_hosts (plain and hashed entries) or a pinned line.
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KgateError } from '../../model.js';
import { connect, publicKeyBlob, type Transport } from './transport.js';

export interface SshTarget { user: string; host: string; port: number }

export function parseSshTarget(url: string): SshTarget {
  const m = /^ssh:\/\/(?:([^@/:]+)@)?(\[[0-9a-fA-F:]+\]|[^@/:]+)(?::(\d+))?\/?$/.exec(url.trim());
  if (!m) throw new KgateError('user', `bad target '${url}'; expected ssh://[user@]host[:port]`);
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) throw new KgateError('user', `bad port in target '${url}'`);
  return { user: m[1] ?? 'root', host: m[2].replace(/^\[|\]$/g, ''), port };
}

/** Host keys known for host:port in an OpenSSH known_hosts text (plain and hashed entries). */
export function knownHostKeys(text: string, host: string, port: number): Buffer[] {
  const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  const out: Buffer[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@revoked')) continue;
    const fields = line.replace(/^@cert-authority\s+/, '').split(/\s+/);
    if (fields.length < 3) continue;
    const [hosts, , b64] = fields;
    const match = hosts.split(',').some((h) => {
      if (h.startsWith('|1|')) {
        const [, , salt, hash] = h.split('|');
        return names.some((n) => createHmac('sha1', Buffer.from(salt, 'base64')).update(n).digest('base64') === hash);
      }
      return names.includes(h);
    });
    if (match) out.push(Buffer.from(b64, 'base64'));
  }
  return out;
}

export interface ConnectTargetOptions {
  /** Private key file; default the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  identity?: string;
  /** Pinned host key line; default: the entries of ~/.ssh/known_hosts. */
  hostKey?: string;
  signal?: AbortSignal;
}

/** --target ssh://user@host:port: a machine already up, checked against known_hosts. */
export async function connectTarget(t: SshTarget, opts: ConnectTargetOptions = {}): Promise<Transport> {
  const url = `ssh://${t.user}@${t.host}:${t.port}`;
  const sshDir = path.join(os.homedir(), '.ssh');
  const identity = opts.identity ?? ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(sshDir, f)).find(existsSync);
  if (!identity || !existsSync(identity)) throw new KgateError('user', `no SSH key for ${url}: pass one (--identity) or create ~/.ssh/id_ed25519`);
  let hostKey: Buffer[];
  if (opts.hostKey) hostKey = [publicKeyBlob(opts.hostKey)];
  else {
    const kh = path.join(sshDir, 'known_hosts');
    hostKey = existsSync(kh) ? knownHostKeys(readFileSync(kh, 'utf8'), t.host, t.port) : [];
    if (hostKey.length === 0) {
      throw new KgateError('user', `${url}: host key unknown; add it with: ssh-keyscan -p ${t.port} ${t.host} >> ~/.ssh/known_hosts`);
    }
  }
  return connect({ ...t, privateKey: readFileSync(identity), hostKey, signal: opts.signal });
}
