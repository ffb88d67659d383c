// The runner's view of the KTAP parser: lines in, one CaseResult per case as
// soon as its result line arrives. Missing cases are named by the runner,
// which knows which ids it asked for, so the parser's own MISS is off.
import { KtapStream } from '../tap/index.js';
import type { CaseResult } from '../model.js';

export function openCaseStream(o: { family: string; api?: string; onCase: (r: CaseResult) => void }) {
  const stream = new KtapStream({
    context: { family: o.family, api: o.api },
    // No case of kgate's expects an oops: one while a case ran is CRASH whatever it printed.
    source: 'kgate-suite',
    missing: false,
    onCaseResult: o.onCase,
  });
  return { push: (line: string) => stream.push(line), end: () => stream.end(), problems: stream.problems };
}
