// Where the suite runs, parsed once at the edge (src/cli) into this value;
// every stage after takes it as it is.
import { KgateError } from '../model.js';
import { parseSshTarget, type SshTarget } from './ssh/target.js';

export type Accel = 'auto' | 'kvm' | 'tcg';

export type TargetSpec =
  | { kind: 'local' }
  /** lanes: families run at once in each guest, one per vCPU (runner/guest-target.ts GuestLane). */
  | { kind: 'qemu'; accel: Accel; memMB: number; smp: number; jobs: number; lanes: number; bootTimeoutSec: number }
  | ({ kind: 'ssh'; identity?: string } & SshTarget);

export interface TargetOptions {
  accel?: Accel; memMB?: number; jobs?: number; lanes?: number; bootTimeoutSec?: number; identity?: string;
}

/** --target local | qemu | ssh://[user@]host[:port] (IPv6 in brackets; user defaults to root). */
export function parseTarget(text: string, o: TargetOptions = {}): TargetSpec {
  const t = text.trim();
  if (t === 'local') return { kind: 'local' };
  if (t === 'qemu') {
    const jobs = o.jobs ?? 1;
    // MTTCG boots faster with 2 vCPUs; with several guests each gets one.
    const smp = jobs > 1 ? 1 : 2;
    // A lane per vCPU unless asked: under TCG two families at once take about 0.6 of the time of one after the other.
    return { kind: 'qemu', accel: o.accel ?? 'auto', memMB: o.memMB ?? 1024, smp, jobs, lanes: o.lanes ?? smp, bootTimeoutSec: o.bootTimeoutSec ?? 120 };
  }
  if (t.startsWith('ssh:')) return { kind: 'ssh', ...parseSshTarget(t), ...(o.identity ? { identity: o.identity } : {}) };
  throw new KgateError('user', `--target must be local, qemu or ssh://user@host[:port] (user defaults to root), not '${text}'`);
}

/** How a target is named in results and reports. */
export function targetName(spec: TargetSpec): string {
  if (spec.kind !== 'ssh') return spec.kind;
  return `ssh://${spec.user}@${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
}
