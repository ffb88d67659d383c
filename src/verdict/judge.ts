// The one verdict: the test binary reports what it observed (an outcome token
// on its "# <id> observed=<tok> expected=<tok> ..." line), and the catalog and
// the kernel's version decide. The C harness's own PASS/XFAIL/FAIL judges by
// token alone (any known older outcome is an XFAIL on any kernel); this one
// makes an older outcome on a kernel that has the fix a FAIL, so a regression
// is not hidden as "known in 6.12-6.16".
import { CASES } from '../catalog/index.js';
import type { CaseDef, KnownOutcome } from '../catalog/index.js';
import type { CaseResult, KernelIdentity } from '../model.js';
import {
  formatVersion, kernelVersionOf, parseFixedIn, parseKernelVersion, parseRange, placeVersion,
  type KernelRange, type KernelVersion, type Placement,
} from './version.js';

export interface Verdict {
  status: 'PASS' | 'XFAIL' | 'FAIL';
  reason?: string;
}

interface Placed { k: KnownOutcome; range: KernelRange; p?: Placement }

function place(k: KnownOutcome, v: KernelVersion | undefined): Placed {
  const range = parseRange(k.range);
  return { k, range, p: v ? placeVersion(range, parseFixedIn(range, k.fixedIn ?? []), v) : undefined };
}

/** The end of a range, for "the newest" of several known outcomes. */
function rangeEnd(r: KernelRange): number {
  const s = r.kind === 'rc' ? r.series : r.to;
  return (s.major * 10000 + s.minor) * 2 + (r.kind === 'rc' ? 0 : 1);
}

const known = (k: KnownOutcome) => `known in ${k.range}: ${k.what} (fixed by ${k.fix})`;

/**
 * Judge one observed outcome of a case on a kernel. `kernel.version` is a
 * version or release string ("6.18.0", "6.12.57+deb12-cloud-amd64") or a
 * parsed version; undefined or unparseable means the version is unknown, and
 * a known older outcome then keeps the lenient XFAIL of the C harness.
 */
export function judge(def: CaseDef, observed: string, kernel: { version?: string | KernelVersion }): Verdict {
  if (observed === def.expected) return { status: 'PASS' };
  const matches = def.known.filter((k) => k.outcome === observed);
  if (matches.length === 0) return { status: 'FAIL', reason: `observed ${observed}, expected ${def.expected}` };

  const v = typeof kernel.version === 'string' ? parseKernelVersion(kernel.version) : kernel.version;
  if (!v) return { status: 'XFAIL', reason: `${known(matches[0])}; kernel version unknown` };

  const placed = matches.map((k) => place(k, v));
  const inRange = placed.find((x) => x.p?.where === 'in');
  if (inRange) return { status: 'XFAIL', reason: known(inRange.k) };
  const unsure = placed.find((x) => x.p?.where === 'unsure');
  if (unsure && unsure.p?.where === 'unsure') {
    return {
      status: 'XFAIL',
      reason: `${known(unsure.k)}; ${formatVersion(v)} may predate its backport in ${formatVersion(unsure.p.backport)}`,
    };
  }
  const newest = placed.reduce((a, b) => (rangeEnd(b.range) > rangeEnd(a.range) ? b : a));
  const ver = formatVersion(v);
  if (newest.p?.where === 'after') {
    const since = newest.p.backport ? `, which has the fix since ${formatVersion(newest.p.backport)}` : '';
    return {
      status: 'FAIL',
      reason: `regressed to the ${newest.k.range} behaviour fixed by ${newest.k.fix}: ${newest.k.what} (kernel ${ver}${since})`,
    };
  }
  return {
    status: 'FAIL',
    reason: `observed ${observed}, expected ${def.expected}: the ${newest.k.range} behaviour (${newest.k.what}) on an older kernel (${ver})`,
  };
}

const JUDGED = new Set(['PASS', 'XFAIL', 'FAIL']);

/**
 * Re-judge a case result by the catalog and the kernel's version. Only a
 * PASS, XFAIL or FAIL of a catalog case (same id and family) that carries the
 * observed token of its diagnostic line is judged again; everything else
 * (SKIP, ERROR, TIMEOUT, CRASH, MISS, foreign ids, no diagnostic line) comes
 * back as it was. A FAIL stays a FAIL: the harness fails only a token that is
 * neither expected nor known, so a FAIL whose token judges as PASS or XFAIL
 * failed for another reason (or comes from another binary) and is kept.
 * `kernel` falls back to the result's own identity.
 */
export function judgeResult(r: CaseResult, kernel: KernelIdentity | undefined): CaseResult {
  if (!JUDGED.has(r.status) || r.observed === undefined) return r;
  const def = CASES.find((c) => c.id === r.id);
  if (!def || def.family !== r.family) return r;
  const v = judge(def, r.observed, { version: kernelVersionOf(kernel ?? r.kernel) });
  if (r.status === 'FAIL' && v.status !== 'FAIL') return r;
  if (r.status === 'FAIL' && v.reason?.startsWith('observed ') && r.reason) return r; // same verdict; keep the harness's more telling reason
  const out: CaseResult = { ...r, status: v.status, expected: def.expected };
  if (v.reason) out.reason = v.reason;
  else delete out.reason;
  return out;
}
