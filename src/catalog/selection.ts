// The cases a run asks for, computed once from the parsed --case/--family/--api
// (src/cli) and passed as this value to every stage after.
import { describeFilter, selectCases, type CaseFilter } from './index.js';

export interface Selection {
  filter: CaseFilter;
  /** The selected case ids, in catalog order. */
  ids: readonly string[];
  /** "--family ioctl-open", "the default selection": for messages and reports. */
  describe: string;
}

/** Throws KgateError('user') on an unknown case, family or API, or when nothing is left. */
export function makeSelection(filter: CaseFilter): Selection {
  return Object.freeze({ filter, ids: Object.freeze(selectCases(filter).map((c) => c.id)), describe: describeFilter(filter) });
}
