// Shapes of the case catalog. The catalog is data: the C side only reads the
// expectations rendered from it, so a changed kernel range never touches C.

export const APIS = ['upstream', 'a1', 'a2', 'r8'] as const;
export type Api = (typeof APIS)[number];

/** An outcome some older kernels show instead of the current upstream one. */
export interface KnownOutcome {
  outcome: string;   // observed token, e.g. "ok", "EOPNOTSUPP"
  range: string;     // kernel versions that show it: "6.12-6.16", "6.9-rc", "6.9-6.10"
  what: string;      // one line, why those kernels differ
  fix: string;       // commit (12 hex) that brought today's behaviour
  /**
   * Stable releases inside `range` that already carry `fix` (backports), one
   * per series: from each on, within its series, the older outcome is a
   * regression, not an XFAIL. Exact releases: "6.12.48".
   */
  fixedIn?: string[];
}

export interface CaseDef {
  id: string;              // row id + optional variant suffix: "U03.dir"
  row: string;             // row of the API doc's §5 table: "U03"
  family: string;          // binary it is compiled into: kgate-<family>
  api: Api;                // API generation the case exercises
  setup: string;           // one line
  syscall: string;         // what the case observes
  expected: string;        // outcome token on current upstream (6.18)
  timeoutSec: number;
  needsPassthrough: boolean;
  known: KnownOutcome[];
  note?: string;           // where this catalog deviates from the API doc, and why
}

export interface FamilyDef {
  name: string;
  api: Api;
  hidden: boolean;         // not in the default selection (selftest)
  summary: string;
}
