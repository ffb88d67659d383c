// Each regression's life, read from a cell's history (history/<cell>.jsonl):
// a case that passed one night and fails on a later night's different kernel
// opens a regression; it stays open while it fails and is closed the night it
// passes again. What the report keeps of it: the night it appeared, the last
// night it passed (and that night's commit, where a bisect starts), whether
// it still fails, and the culprit once the cell's own bisect named one.
// A failure on the same kernel as the last pass is the test's or the
// machine's (the nightly calls it flaky): it opens nothing.
import { isFailure } from '../model.js';
import type { Regression } from '../report/matrix.js';
import type { NightEntry } from './history.js';

/** Every regression of the cell, oldest first: open ones, and closed ones with the night they closed. */
export function regressionsOf(cell: string, history: NightEntry[]): Regression[] {
  const nights = [...history].sort((a, b) => a.date.localeCompare(b.date));
  const lastPass = new Map<string, NightEntry>();
  const open = new Map<string, Regression>();
  const all: Regression[] = [];
  for (const night of nights) {
    for (const [id, status] of night.cases) {
      const was = open.get(id);
      if (!isFailure(status)) {
        if (was) { was.open = false; was.closed = night.date; open.delete(id); }
        lastPass.set(id, night);
        continue;
      }
      if (was) { was.lastSeen = night.date; continue; }
      const passed = lastPass.get(id);
      if (!passed || passed.kernel === night.kernel) continue;
      const r: Regression = {
        cell, case: id, appeared: night.date, lastSeen: night.date, open: true,
        lastPassed: { date: passed.date, ...(passed.commit ? { commit: passed.commit } : {}) },
      };
      open.set(id, r);
      all.push(r);
    }
    // A bisect names the culprit of the regressions it covered; the first one that ran is kept.
    if (night.bisect) {
      for (const id of night.bisect.cases) {
        const r = open.get(id);
        if (r && !r.bisect) r.bisect = { ...night.bisect, date: night.date };
      }
    }
  }
  return all;
}

/** What a night's report shows: the regressions still open, and those closed on `date`. */
export function reportedRegressions(cell: string, history: NightEntry[], date: string): Regression[] {
  return regressionsOf(cell, history).filter((r) => r.open || r.closed === date);
}
