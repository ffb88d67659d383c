// A command that makes several runs (bisect steps, gate revisions, nightly
// cells) shows each run as its own display: the stages of the run on a
// terminal, plain lines in CI. Runs are told apart by the events' run key.
import type { KgateEvent } from '../events.js';
import { makeProgress, plainProgress, type Progress } from './progress.js';

/**
 * One progress display per run of a step: stages on a terminal, plain lines in CI.
 * On a terminal a display takes over the output until it is done, so the next
 * run's display starts only when the last one has ended: its events wait in a
 * queue meanwhile (a display started beside a live one swallowed the job's
 * summary on stdout).
 */
export function runProgress(title: string): { emit: (e: KgateEvent) => void; done: () => Promise<void> } {
  const stages = [
    { key: 'kernel', title: `${title}: kernel` }, { key: 'build', title: 'Build suite' },
    { key: 'target', title: 'Boot guest' }, { key: 'suite', title: 'Run cases' },
  ];
  let current: Progress | undefined;
  let run: string | undefined;
  let queue: KgateEvent[] | undefined;
  let ready: Promise<void> = Promise.resolve();
  return {
    emit(e) {
      if (e.run !== run) {
        run = e.run;
        const prev = current;
        current = undefined;
        const q: KgateEvent[] = [e];
        queue = q;
        ready = ready.then(async () => {
          await prev?.done();
          const p = makeProgress(stages);
          for (const x of q) p.emit(x);
          if (queue === q) { queue = undefined; current = p; } else await p.done(); // a later run took over meanwhile
        });
        return;
      }
      if (queue) queue.push(e); else current!.emit(e);
    },
    async done() {
      await ready;
      await current?.done();
    },
  };
}


/** A job's own lines ("bisect: step 2 of about 4 ..."), plain, beside the runs' displays. */
export function jobLog(job: string): (line: string) => void {
  const plain = plainProgress();
  return (line) => plain.emit({ type: 'stage', stage: 'suite', state: 'note', detail: `${job}: ${line}` });
}
