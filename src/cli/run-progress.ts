// A command that makes several runs (bisect steps, gate revisions, nightly
// cells) shows each run as its own display: the stages of the run on a
// terminal, plain lines in CI. Runs are told apart by the events' run key.
import type { KgateEvent } from '../events.js';
import { makeProgress, plainProgress, type Progress } from './progress.js';

/** One progress display per run of a step: stages on a terminal, plain lines in CI. */
export function runProgress(title: string): { emit: (e: KgateEvent) => void; done: () => Promise<void> } {
  let current: Progress | undefined;
  let run: string | undefined;
  return {
    emit(e) {
      if (e.run !== run) {
        void current?.done();
        run = e.run;
        current = makeProgress([
          { key: 'kernel', title: `${title}: kernel` }, { key: 'build', title: 'Build suite' },
          { key: 'target', title: 'Boot guest' }, { key: 'suite', title: 'Run cases' },
        ]);
      }
      current!.emit(e);
    },
    async done() { await current?.done(); },
  };
}


/** A job's own lines ("bisect: step 2 of about 4 ..."), plain, beside the runs' displays. */
export function jobLog(job: string): (line: string) => void {
  const plain = plainProgress();
  return (line) => plain.emit({ type: 'stage', stage: 'suite', state: 'note', detail: `${job}: ${line}` });
}
