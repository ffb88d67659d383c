// The KTAP line grammar: every shape of a line the parser knows, in one table
// (first match wins, as src/kmsg/crash.ts's report shapes), and the result
// line's own split into number, name and directive. A line is classified here
// once; the stream (stream.ts) decides what it means where it stands.
//
// Why not tap-parser's Parser for the structure: see stream.ts. tap-parser
// keeps what it does well: the grammar of a single line (its lineTypes for
// plans, bail-outs and pragmas, and parseDirective for SKIP/TODO/time spellings).
import { lineTypes, parseDirective } from 'tap-parser';
import type { Status } from '../model.js';

export type DirectiveKind = 'SKIP' | 'TODO' | 'XFAIL' | 'XPASS' | 'TIMEOUT' | 'ERROR';

export interface ParsedResult {
  ok: boolean;
  number?: number;
  name: string;
  directive?: { kind: DirectiveKind; text: string };
  comment?: string;
  durationMs?: number;
}

/** What one line is, once its level's lead (indentation or "# " nesting) is cut off. */
export type TapLine =
  | { type: 'version'; version: string }
  | { type: 'result'; result: ParsedResult }
  | { type: 'plan'; start: number; end: number; skipAll?: string }
  | { type: 'subtest'; name: string }
  | { type: 'bailout'; reason: string }
  | { type: 'pragma' }
  // kselftest.h ksft_print_cnts(): "# Totals: pass:N fail:N ...".
  | { type: 'totals'; counts: Record<string, number> }
  // kselftest's runner names the binary it starts: "# selftests: dir: bin".
  | { type: 'selftest'; family: string; binary: string }
  // The lines a counting binary prints for each check (kselftest's kcmp_test).
  | { type: 'counted' }
  | { type: 'other' };

export type StructuralLine = Extract<TapLine, { type: 'version' | 'result' | 'plan' | 'subtest' }>;

const RESULT_RE = /^(not ok|ok)\b(?:\s+(\d+))?(?:\s+-)?(?:\s+(.*))?$/;
const VERSION_LINE_RE = /^(K?TAP version \d+)\s*$/;
const SUBTEST_RE = /^# Subtest:\s*(.*)$/;
const SELFTEST_RE = /^# selftests: (.+?): (.+)$/;
const TOTALS_RE = /^# Totals: ((?:[a-z]+:\d+\s*)+)$/;
const COUNTED_RE = /^(PASS|FAIL|SKIP|XFAIL):\s/;

/**
 * The one table of line shapes: [type, read]. `read` returns the line's
 * fields or null; the first shape that reads the line wins, so a result
 * ("ok 1 # Subtest: x") is never a subtest header. The first four are the
 * structure (they open, fill and close levels); the rest are loose lines that
 * a level keeps and may learn from.
 */
const SHAPES: ReadonlyArray<readonly [TapLine['type'], (s: string) => TapLine | null]> = Object.freeze([
  ['version', (s) => { const m = VERSION_LINE_RE.exec(s); return m ? { type: 'version', version: m[1] } : null; }],
  ['result', (s) => { const r = parseResultLine(s); return r ? { type: 'result', result: r } : null; }],
  ['plan', (s) => {
    const m = (s + '\n').match(lineTypes.plan);
    if (!m) return null;
    const plan: TapLine = { type: 'plan', start: Number(m[1]), end: Number(m[2]) };
    const d = m[3] ? parseDirective(m[3]) : null;
    if (d && d[0] === 'skip') plan.skipAll = d[1] === true ? 'skipped' : String(d[1]);
    return plan;
  }],
  ['subtest', (s) => { const m = SUBTEST_RE.exec(s); return m ? { type: 'subtest', name: m[1].trim() } : null; }],
  ['bailout', (s) => { const m = (s + '\n').match(lineTypes.bailout); return m ? { type: 'bailout', reason: (m[1] ?? '').trim() } : null; }],
  ['pragma', (s) => (lineTypes.pragma.test(s + '\n') ? { type: 'pragma' } : null)],
  ['totals', (s) => {
    const m = TOTALS_RE.exec(s);
    if (!m) return null;
    const counts: Record<string, number> = {};
    for (const kv of m[1].trim().split(/\s+/)) { const [k, v] = kv.split(':'); counts[k] = Number(v); }
    return { type: 'totals', counts };
  }],
  ['selftest', (s) => { const m = SELFTEST_RE.exec(s); return m ? { type: 'selftest', family: m[1], binary: m[2].trim() } : null; }],
  ['counted', (s) => (COUNTED_RE.test(s) ? { type: 'counted' } : null)],
]);

/** The shape of one line (its level's lead cut off). */
export function classify(body: string): TapLine {
  for (const [, read] of SHAPES) {
    const l = read(body);
    if (l) return l;
  }
  return { type: 'other' };
}

export function isStructural(l: TapLine): l is StructuralLine {
  return l.type === 'version' || l.type === 'result' || l.type === 'plan' || l.type === 'subtest';
}

// Shapes that are not a line's own but a line's place in the stream or in a diagnostic.

/** kselftest's runner prefixes a test's own TAP with "# ": a nested version line behind it. */
export const HASH_NESTED_VERSION_RE = /^# (\s*)(K?TAP version \d+)\s*$/;
/** A binary the runner started without a version line: its first result or plan behind "# ". */
export const HASH_NESTED_HEADERLESS_RE = /^# (\s*)((?:not ok|ok) 1\b.*|1\.\.\d+.*)$/;
/** What a headerless document starts with: test 1's result or a plan, at the start of the line. */
export const HEADERLESS_RE = /^(?:(?:not ok|ok) 1\b|1\.\.\d+(?:\s|$))/;
/** A result printed after text without a newline ("Diff too high: 3239020..not ok 1 ITIMER_VIRTUAL"). */
export const GLUED_RE = /(?<![A-Za-z])(?:not ok|ok) (\d+)\b/;
/** kgate's document header "# kgate family=... api=...". */
export const KGATE_HEADER_RE = /^# kgate((?:\s+[A-Za-z0-9_.-]+=\S*)+)\s*$/;
/** The lines after it that say in words what the kernel speaks and why (docs/suite-protocol.md). */
export const KGATE_SAYS_RE = /^# kgate (speaks|why): (.+)$/;
/** A case's structured diagnostic "# name key=value ...". */
export const STRUCTURED_RE = /^#\s*(\S+)((?:\s+[A-Za-z0-9_.-]+=\S*)+)\s*$/;
/** A case's free-form diagnostic "# name: text". */
export const FREEFORM_RE = /^#\s*(\S+):\s+(.*)$/;

/** Free-form diagnostic text ("# name: text") that says nothing about why a test failed. */
export function isBoringDiagnostic(name: string, text: string): boolean {
  return name === 'selftests' || /^(initializing|.* passed|.* failed|.* skipped)$/.test(text) || /^timeout set to/.test(`${name}: ${text}`);
}

/** A top-level test's name as kselftest's runner gives it ("selftests: dir: bin"). */
export function selftestName(name: string): { family: string; binary: string } | undefined {
  const m = SELFTEST_RE.exec(`# ${name}`);
  return m ? { family: m[1], binary: m[2].trim() } : undefined;
}

/** The KTAP directive table (Documentation/dev-tools/ktap.rst, kselftest.h). */
const DIRECTIVES: readonly [RegExp, DirectiveKind][] = Object.freeze([
  [/^XFAIL\b[:\s]*/i, 'XFAIL'],
  [/^XPASS\b[:\s]*/i, 'XPASS'],
  [/^TIMEOUT\b[:\s]*/i, 'TIMEOUT'],
  [/^ERROR\b[:\s]*/i, 'ERROR'],
]);

/** Split a result line the way tap-parser's Result does: at a '#' after whitespace, not escaped. */
export function parseResultLine(s: string): ParsedResult | null {
  const m = RESULT_RE.exec(s);
  if (!m) return null;
  const rest = (m[3] ?? '').replace(/\\\\/g, '\n');
  const [head, ...tail] = rest.split(/(?<=\s|^)(?<!\\)#/);
  const unescape = (x: string) => x.replace(/\\#/g, '#').replace(/\n/g, '\\');
  const r: ParsedResult = { ok: m[1] === 'ok', name: unescape(head ?? '').trim() };
  if (m[2] !== undefined) r.number = Number(m[2]);
  const after = unescape(tail.join('#')).trim();
  if (after === '') return r;
  for (const [re, kind] of DIRECTIVES) {
    const d = re.exec(after);
    if (d) { r.directive = { kind, text: after.slice(d[0].length).trim() }; return r; }
  }
  const d = parseDirective(after);
  if (d && d[0] === 'skip') r.directive = { kind: 'SKIP', text: d[1] === true ? '' : String(d[1]) };
  else if (d && d[0] === 'todo') r.directive = { kind: 'TODO', text: d[1] === true ? '' : String(d[1]) };
  else if (d && d[0] === 'time') r.durationMs = Number(d[1]);
  else r.comment = after;
  return r;
}

/** A result line's status: its ok and its directive. */
export function statusOf(ok: boolean, directive?: { kind: DirectiveKind }): Status {
  switch (directive?.kind) {
    case 'SKIP': return 'SKIP';
    case 'XFAIL': return 'XFAIL';
    case 'TIMEOUT': return 'TIMEOUT';
    case 'ERROR': return 'ERROR';
    case 'XPASS': return 'FAIL';               // kselftest: an unexpected pass is not a pass
    case 'TODO': return ok ? 'PASS' : 'XFAIL'; // TAP's TODO: a failure that was expected
    default: return ok ? 'PASS' : 'FAIL';
  }
}
