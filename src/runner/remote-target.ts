// --target ssh://user@host:port: a machine that is already up (a test box with
// the patched kernel). Same transport and upload as a guest; no console, so a
// crash shows up only as a lost connection (exit 125) or a case's own failure.
import type { Emit } from '../events.js';
import { targetName, type TargetSpec } from './target-spec.js';
import type { Transport } from './ssh/transport.js';
import { connectTarget } from './ssh/target.js';
import { transportRunner } from './guest-target.js';
import type { SuiteTarget } from './target.js';
import type { SuiteFile } from './image.js';

type SshSpec = Extract<TargetSpec, { kind: 'ssh' }>;

export async function sshTarget(spec: SshSpec, signal: AbortSignal, emit: Emit, suite?: Promise<SuiteFile[]>): Promise<SuiteTarget> {
  const url = targetName(spec);
  const transport: Transport = await connectTarget(spec, { identity: spec.identity, signal });
  let uname = '';
  await transport.exec('uname -r; uname -v', { onStdout: (l) => { uname += l + '\n'; } });
  const [release = 'unknown', version] = uname.trim().split('\n');
  emit({ type: 'stage', stage: 'target', state: 'note', detail: `${url}: ${release}` });
  // Tied: a machine that is not rebooted after the run must not keep a harness whose kgate is gone.
  const runner = transportRunner(() => transport, (name, bytes, ms) =>
    emit({ type: 'stage', stage: 'suite', state: 'note', detail: `${url}: uploaded ${name} (${Math.round(bytes / 1024)} KiB, ${ms} ms)` }), { tied: true, ...(suite ? { suite } : {}) });
  return {
    name: url,
    kernel: { release, version, source: url, pinned: undefined },
    prepare: (b) => runner.prepare(b),
    exec: (r) => runner.exec(r),
    consoleEventsSince: () => [],
    consoleLinesSince: () => [],
    alive: () => transport.alive(),
    stop: () => { runner.release(); return transport.close(); },
  };
}
