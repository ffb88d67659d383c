// A small SSH server for the transport's unit tests: any key accepted, the
// session handed to the test. The same paths against a real guest's dropbear
// are the e2e tests'.
import type { Session } from 'ssh2';

export interface TestSshServer { port: number; hostPublic: string; close: () => void }

export async function testSshServer(onSession: (session: Session, end: () => void) => void): Promise<TestSshServer> {
  const { default: ssh2 } = await import('ssh2');
  // kgate's own keygen: ssh2's makes a pair it cannot parse back about once in 256 (keys.ts)
  const { parseableKeyPair } = await import('../../../src/runner/ssh/keys.js');
  const host = parseableKeyPair();
  const server = new ssh2.Server({ hostKeys: [host.private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => client.on('session', (accept) => onSession(accept(), () => client.end())));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, hostPublic: host.public, close: () => server.close() };
}

