// The keys of one run: a client key pair (ssh2's) and the guest's host key
// (dropbear's), made fresh per run and never kept in the cached image.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';
import { KgateError } from '../../model.js';
import { runTool } from '../../util/run-tool.js';
import { scratchDir } from '../../util/scratch.js';

const { utils } = ssh2;

export interface RunKeys {
  /** Client key, OpenSSH private key text. */
  clientPrivate: string;
  /** Client public key line for authorized_keys. */
  clientPublic: string;
  /** The guest's host key in dropbear's format (goes into the secrets archive). */
  hostKey: Buffer;
  /** Its public half, "ssh-ed25519 AAAA...", which the client pins. */
  hostPublic: string;
}

/** Fresh keys for one run: nothing is reused across runs or kept in the cached image. */
/**
 * ssh2's ed25519 keygen drops a leading zero byte of the public key, so about
 * one key in 256 is one ssh2 itself cannot parse (mscdex/ssh2#1513, #1390):
 * the login then failed with "Malformed OpenSSH private key" and the run was
 * untestable. With a guest booted per run, CI met it about once a run. A pair
 * that does not parse back is made again.
 */
export function parseableKeyPair(generate = () => utils.generateKeyPairSync('ed25519', { comment: 'kgate-run' })): { private: string; public: string } {
  for (let i = 0; i < 32; i++) {
    const kp = generate();
    if (!(utils.parseKey(kp.private) instanceof Error) && !(utils.parseKey(kp.public) instanceof Error)) return kp;
  }
  throw new KgateError('bug', 'ssh2 made 32 ed25519 key pairs in a row that it cannot parse');
}

export async function makeRunKeys(signal?: AbortSignal): Promise<RunKeys> {
  const client = parseableKeyPair();
  // dropbearkey writes only to a path that does not exist yet.
  const dir = await scratchDir('kgate-keys-');
  try {
    const keyPath = path.join(dir, 'host_ed25519');
    await runTool('dropbearkey', ['-t', 'ed25519', '-f', keyPath], { signal });
    const pub = (await runTool('dropbearkey', ['-y', '-f', keyPath], { signal })).stdout
      .split('\n').find((l) => l.startsWith('ssh-ed25519 '));
    if (!pub) throw new KgateError('infra', 'dropbearkey -y printed no ssh-ed25519 line');
    return {
      clientPrivate: client.private,
      clientPublic: client.public.trim(),
      hostKey: await readFile(keyPath),
      hostPublic: pub.split(' ').slice(0, 2).join(' '),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
