// Kernel versions and the catalog's kernel ranges.
//
// A version comes from the kernel identity (uname -r, the tree's Makefile, an
// exact Debian upstream version), never from the case. A range names the
// releases that show an older outcome: "6.12-6.16" is every release of the
// series 6.12 up to and including every 6.16.x (rcs of 6.12 included), "6.9-rc"
// the -rc releases of 6.9 only, "6.16" or "6.16.y" the one series. Ranges are
// series-granular; the stable releases inside a range that already got the fix
// (backports) are listed beside it (KnownOutcome.fixedIn) and parsed here too.

export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;       // SUBLEVEL; 0 for "6.18-rc3"
  rc?: number;         // -rcN; undefined for a final or stable release
  /**
   * False when the release string does not carry the real sublevel: Debian's
   * and Ubuntu's ABI names ("6.1.0-50-cloud-amd64" is some 6.1.y). The series
   * is right, the sublevel is not, so backport checks cannot be decided.
   */
  exact: boolean;
}

/** A parsed catalog range. */
export type KernelRange =
  | { kind: 'series'; text: string; from: Series; to: Series }   // "6.12-6.16", "6.16", "6.16.y"
  | { kind: 'rc'; text: string; series: Series };                // "6.9-rc"

export interface Series { major: number; minor: number }

const NUM = '(0|[1-9]\\d{0,3})';
// version at the start of a release: 6.12.57+deb12-cloud-amd64, 6.18.0-rc3, 6.18-rc3+, 7.3.4
const RELEASE_RE = new RegExp(`^${NUM}\\.${NUM}(?:\\.${NUM})?(?:-rc([1-9]\\d{0,2}))?(?=$|[^0-9.])`);
// Debian's/Ubuntu's ABI release: X.Y.0-ABI-flavour or X.Y.0-ABI; the sublevel is a placeholder
const ABI_RELEASE_RE = /^\d+\.\d+\.0-\d+(?:[-.+~]|$)/;
// uname -v of a Debian kernel: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)"
const DEBIAN_UNAME_V_RE = /\bDebian (\d+\.\d+\.\d+(?:-rc\d+)?)[-~+ ]/;
const SERIES_RE = new RegExp(`^${NUM}\\.${NUM}(?:\\.y)?$`);

/**
 * The version at the start of a release or version string, or undefined when
 * it has none. "6.12.57+deb12-cloud-amd64" -> 6.12.57, "6.18.0-rc3" ->
 * 6.18.0-rc3, "6.1.0-50-cloud-amd64" -> 6.1.0 (not exact).
 */
export function parseKernelVersion(s: string): KernelVersion | undefined {
  const t = s.trim();
  const m = RELEASE_RE.exec(t);
  if (!m) return undefined;
  const v: KernelVersion = {
    major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? 0 : Number(m[3]),
    exact: m[4] !== undefined || !ABI_RELEASE_RE.test(t),
  };
  if (m[4] !== undefined) v.rc = Number(m[4]);
  return v;
}

/** "6.12.57", "6.18.0-rc3"; a version whose sublevel is not known: "6.1.x". */
export function formatVersion(v: KernelVersion): string {
  if (!v.exact) return `${v.major}.${v.minor}.x`;
  return `${v.major}.${v.minor}.${v.patch}${v.rc !== undefined ? `-rc${v.rc}` : ''}`;
}

/** Negative, zero or positive, like a sort comparator; an -rc comes before its final release. */
export function compareVersions(a: KernelVersion, b: KernelVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch
    || (a.rc ?? Number.POSITIVE_INFINITY) - (b.rc ?? Number.POSITIVE_INFINITY) || 0;
}

function compareSeries(a: Series, b: Series): number {
  return a.major - b.major || a.minor - b.minor;
}

/**
 * The version that the verdict should use for a kernel identity: the explicit
 * kernelVersion (a tree's Makefile, an exact Debian upstream version) first,
 * then `version` when it is a dotted version or a Debian uname -v that names
 * the upstream version, then the release. Undefined when none has one.
 */
export function kernelVersionOf(k: { release?: string; version?: string; kernelVersion?: string } | undefined): KernelVersion | undefined {
  if (!k) return undefined;
  const explicit = k.kernelVersion !== undefined ? parseKernelVersion(k.kernelVersion) : undefined;
  if (explicit) return explicit;
  if (k.version !== undefined) {
    const dotted = /^\d+\.\d+(\.\d+)?(-rc\d+)?$/.test(k.version.trim()) ? parseKernelVersion(k.version) : undefined;
    if (dotted) return dotted;
    const deb = DEBIAN_UNAME_V_RE.exec(`${k.version} `);
    const fromDebian = deb ? parseKernelVersion(deb[1]) : undefined;
    if (fromDebian) return fromDebian;
  }
  return k.release !== undefined ? parseKernelVersion(k.release) : undefined;
}

function parseSeries(s: string): Series | undefined {
  const m = SERIES_RE.exec(s);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/**
 * Parse a catalog range. Throws an Error naming the range when it is not one
 * of "A-B" (A <= B), "A-rc" or "A", where A and B are series ("6.12", "6.16.y").
 */
export function parseRange(text: string): KernelRange {
  const bad = (why: string) => new Error(`bad kernel range '${text}': ${why} (want "6.12-6.16", "6.9-rc" or "6.16")`);
  if (text !== text.trim() || text === '') throw bad('empty or padded');
  const parts = text.split('-');
  if (parts.length > 2) throw bad('more than one "-"');
  const from = parseSeries(parts[0]);
  if (!from) throw bad(`'${parts[0]}' is not a series like 6.12`);
  if (parts.length === 1) return { kind: 'series', text, from, to: from };
  if (parts[1] === 'rc') {
    if (parts[0].endsWith('.y')) throw bad('the -rc releases of a stable series');
    return { kind: 'rc', text, series: from };
  }
  const to = parseSeries(parts[1]);
  if (!to) throw bad(`'${parts[1]}' is not a series like 6.16 or "rc"`);
  if (compareSeries(from, to) > 0) throw bad('its start is after its end');
  return { kind: 'series', text, from, to };
}

/** Does the range hold this version? Series ranges hold the rcs of their first series too. */
export function rangeContains(r: KernelRange, v: KernelVersion): boolean {
  if (r.kind === 'rc') return compareSeries(v, r.series) === 0 && v.rc !== undefined;
  return compareSeries(v, r.from) >= 0 && compareSeries(v, r.to) <= 0;
}

/** Is the version after every release of the range (a newer kernel), rather than before it? */
export function rangeBefore(r: KernelRange, v: KernelVersion): boolean {
  if (r.kind === 'rc') return compareSeries(v, r.series) > 0 || (compareSeries(v, r.series) === 0 && v.rc === undefined);
  return compareSeries(v, r.to) > 0;
}

/**
 * Parse the fixedIn list of a known outcome: exact releases ("6.12.48",
 * "6.17.0-rc5"), at most one per series, each inside the range. Throws on a
 * malformed entry.
 */
export function parseFixedIn(range: KernelRange, fixedIn: readonly string[]): KernelVersion[] {
  const seen = new Set<string>();
  return fixedIn.map((s) => {
    const v = /^\d+\.\d+\.\d+(-rc\d+)?$/.test(s) ? parseKernelVersion(s) : undefined;
    if (!v) throw new Error(`bad fixedIn '${s}' of range '${range.text}': want an exact release like 6.12.48`);
    if (!rangeContains(range, v)) throw new Error(`fixedIn '${s}' is outside its range '${range.text}'`);
    const key = `${v.major}.${v.minor}`;
    if (seen.has(key)) throw new Error(`fixedIn of range '${range.text}' names series ${key} twice`);
    seen.add(key);
    return v;
  });
}

/**
 * Where a version stands against a known outcome's range and its backports:
 * 'in' (the older outcome is expected there), 'after' (newer than the range,
 * or a stable release at or after the backport of the fix), 'before' (older
 * than the range), or 'unsure' (in the range, but the sublevel is not known
 * and the series got the fix in a stable release).
 */
export type Placement =
  | { where: 'in' }
  | { where: 'after'; backport?: KernelVersion }
  | { where: 'before' }
  | { where: 'unsure'; backport: KernelVersion };

export function placeVersion(range: KernelRange, fixedIn: readonly KernelVersion[], v: KernelVersion): Placement {
  if (!rangeContains(range, v)) return rangeBefore(range, v) ? { where: 'after' } : { where: 'before' };
  const backport = fixedIn.find((f) => compareSeries(f, v) === 0);
  if (!backport) return { where: 'in' };
  if (!v.exact) return { where: 'unsure', backport };
  return compareVersions(v, backport) >= 0 ? { where: 'after', backport } : { where: 'in' };
}
