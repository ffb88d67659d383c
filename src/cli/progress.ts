// Renders stage events: listr2 on a terminal, plain lines in CI or a pipe.
// State lives in the events; this file only draws them.
import type { ListrTaskWrapper } from 'listr2';
import type { Emit, KgateEvent } from '../events.js';
import { isFailure, type Status } from '../model.js';

export interface Progress { emit: Emit; done(): Promise<void> }

const fmtMs = (ms?: number) => (ms === undefined ? '' : ` ${(ms / 1000).toFixed(1)} s`);

export function wantsTty(): boolean {
  // listr2 draws on stdout: with stdout redirected (`kgate run > out.txt`) the file gets the summary only, and the progress is plain lines on stderr.
  return Boolean(process.stderr.isTTY) && Boolean(process.stdout.isTTY) && !process.env.CI && process.env.TERM !== 'dumb';
}

/** Plain lines on stderr: one per stage change and one per case, greppable. */
export function plainProgress(write: (s: string) => void = (s) => process.stderr.write(s)): Progress {
  return {
    emit(e: KgateEvent) {
      if (e.type === 'stage') {
        write(`kgate: ${e.stage} ${e.state}${fmtMs(e.ms)}${e.detail ? `: ${e.detail}` : ''}\n`);
      } else if (e.type === 'family') {
        if (e.state === 'start') write(`kgate: ${e.family}: ${e.total} case(s) on ${e.shard}\n`);
      } else {
        const r = e.result;
        const why = r.status === 'PASS' ? '' : r.reason ? `  ${r.reason.split('\n')[0]}` : '';
        write(`kgate: ${r.status.padEnd(7)} ${r.id}${why}\n`);
      }
    },
    async done() {},
  };
}

interface Deferred { promise: Promise<void>; resolve(): void; reject(e: Error): void }
function deferred(): Deferred {
  let resolve!: () => void, reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** listr2 view: one task per stage, the suite task counting cases as they land. */
export function ttyProgress(stages: { key: string; title: string }[]): Progress {
  const gates = new Map(stages.map((s) => [s.key, deferred()]));
  const wrappers = new Map<string, ListrTaskWrapper<unknown, any, any>>();
  const pending = new Map<string, { title?: string; output?: string }>();
  const setTitle = (key: string, t: string) => {
    const w = wrappers.get(key);
    if (w) w.title = t; else pending.set(key, { ...pending.get(key), title: t });
  };
  const setOutput = (key: string, o: string) => {
    const w = wrappers.get(key);
    if (w) w.output = o; else pending.set(key, { ...pending.get(key), output: o });
  };
  const counts: Partial<Record<Status, number>> = {};
  let cases = 0;
  const tallyText = () => Object.entries(counts).map(([k, v]) => `${k.toLowerCase()} ${v}`).join(', ');
  // listr2 loaded here, not with kgate: plain lines (CI, a pipe, the benches) never need it.
  const running = import('listr2').then(({ Listr }) => new Listr(
    stages.map((s) => ({
      title: s.title,
      task: async (_: unknown, task: ListrTaskWrapper<unknown, any, any>) => {
        wrappers.set(s.key, task);
        // Stages may report before their row starts (the build and the boot overlap).
        const early = pending.get(s.key);
        if (early?.title) task.title = early.title;
        if (early?.output) task.output = early.output;
        await gates.get(s.key)!.promise;
      },
    })),
    { concurrent: false, exitOnError: false, rendererOptions: { collapseErrors: false }, fallbackRenderer: 'simple' },
  ).run()).catch(() => {});
  const title = (key: string) => stages.find((s) => s.key === key)?.title ?? key;
  return {
    emit(e) {
      if (e.type === 'stage') {
        const g = gates.get(e.stage);
        if (e.state === 'done') {
          const tally = e.stage === 'suite' && cases > 0 ? `: ${cases} done (${tallyText()})` : '';
          setTitle(e.stage, `${title(e.stage)}${tally}${fmtMs(e.ms)}${e.detail ? ` (${e.detail})` : ''}`);
          g?.resolve();
        } else if (e.state === 'fail') {
          g?.reject(new Error(`${title(e.stage)}: ${e.detail ?? 'failed'}`));
        } else if (e.detail) {
          setOutput(e.stage, e.detail);
        }
      } else if (e.type === 'family') {
        const w = wrappers.get('suite');
        if (w && e.state === 'start') w.output = `${e.family} (${e.total}) on ${e.shard}`;
      } else {
        cases++;
        counts[e.result.status] = (counts[e.result.status] ?? 0) + 1;
        const w = wrappers.get('suite');
        if (w) {
          w.title = `${title('suite')}: ${cases} done (${tallyText()})`;
          if (isFailure(e.result.status)) {
            w.output = `${e.result.status} ${e.result.id}: ${e.result.reason ?? ''}`;
          }
        }
      }
    },
    async done() {
      for (const g of gates.values()) g.resolve();
      await running;
    },
  };
}

export function makeProgress(stages: { key: string; title: string }[]): Progress {
  return wantsTty() ? ttyProgress(stages) : plainProgress();
}
