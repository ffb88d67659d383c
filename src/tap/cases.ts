// The parsed tree (TapCase per test, KtapDocument per document) and its
// mapping to the result model: leaves become cases ("suite.case"), a parent
// whose own failure no subtest explains becomes one too, and kselftest's
// runner level gives one verdict per binary.
import type { CaseResult, KernelIdentity, Status } from '../model.js';
import { isFailure, worstStatus } from '../model.js';
import { FREEFORM_RE, STRUCTURED_RE, isBoringDiagnostic, selftestName, type DirectiveKind } from './lines.js';

export interface TapProblem {
  line: number;     // 1-based line number in the input; 0 when not tied to a line
  message: string;
}

export interface TapCase {
  number: number;           // test number within its parent (1-based)
  name: string;             // description; '' when the line had none
  /** ok / not ok; null when no result line was seen (MISS, or CRASH). */
  ok: boolean | null;
  status: Status;           // this test's own result line, directive and crash markers
  directive?: { kind: DirectiveKind; text: string };
  /** Diagnostic data after '#' that is not a directive ("exit=1", "rcode=0"). */
  comment?: string;
  reason?: string;          // why it is not PASS, where known
  line?: number;            // line number of the result line
  startLine: number;        // first line that belongs to this test
  plan?: number;            // subtests planned (1..N), for a parent
  subtests: TapCase[];
  diagnostics: string[];    // '#' lines before the result line, unindented
  console: string[];        // unknown lines (kernel messages, other writers)
  lines: string[];          // every line of this test in input order, as printed
  durationMs?: number;      // from "# time=..." / "duration_ms"
  crash?: { line: number; text: string };
  document: number;         // index into ParsedKtap.documents
}

export interface KtapDocument {
  version: string;          // "KTAP version 1", "TAP version 13"
  line: number;
  plan?: number;
  /** key=value pairs of a kgate header line "# kgate family=... api=..." */
  meta: Record<string, string>;
  /** Bail out! reason, if the top level bailed out. */
  bailout?: string;
}

export interface ParsedKtap {
  tests: TapCase[];         // top-level tests of every document, in order
  documents: KtapDocument[];
  problems: TapProblem[];
}

export interface ToCaseContext {
  family?: string;          // wins over the document header and the suite name
  api?: string;
  kernel?: KernelIdentity;
}

/** kselftest's runner level: one verdict per binary ("ok 1 selftests: dir: bin # SKIP", "# exit=1", "# TIMEOUT 45 seconds"). */
export interface RunnerVerdict { family: string; binary: string; status: Status; reason?: string; line?: number }

export function runnerVerdicts(tests: TapCase[]): RunnerVerdict[] {
  const out: RunnerVerdict[] = [];
  for (const t of tests) {
    const m = selftestName(t.name);
    if (!m) continue;
    const v: RunnerVerdict = { family: m.family, binary: m.binary, status: t.status };
    if (t.reason) v.reason = t.reason;
    if (t.line !== undefined) v.line = t.line;
    out.push(v);
  }
  return out;
}

/** Map parsed tests to CaseResults: leaves become cases ("suite.case"); a parent whose own failure no subtest explains becomes one too. */
export function toCaseResults(tap: Pick<ParsedKtap, 'tests' | 'documents'>, ctx: ToCaseContext = {}): CaseResult[] {
  const out: CaseResult[] = [];
  for (const top of tap.tests) out.push(...topToCases(top, tap.documents[top.document], ctx));
  return out;
}

/** The CaseResults of one top-level test (for the streaming path). */
export function topToCases(top: TapCase, doc: KtapDocument | undefined, ctx: ToCaseContext = {}): CaseResult[] {
  const meta = doc?.meta ?? {};
  const selftest = selftestName(top.name);
  let family = ctx.family ?? meta.family;
  let topName = top.name;
  if (selftest) {
    family ??= selftest.family;
    topName = selftest.binary;
  }
  // A foreign suite (KUnit, a kselftest binary with subtests): the top level is the family.
  if (!family) family = top.subtests.length > 0 ? topName || `#${top.number}` : 'tap';
  const base: Omit<CaseResult, 'id' | 'status' | 'tap'> = { family };
  const api = ctx.api ?? meta.api;
  if (api) base.api = api;
  const kernel = ctx.kernel ?? (meta.release ? { release: meta.release } : undefined);
  if (kernel) base.kernel = meta.speaks ? { ...kernel, speaks: meta.speaks } : kernel;

  const out: CaseResult[] = [];
  const walk = (tc: TapCase, path: string[]): boolean => {
    const id = [...path, tc.name || `#${tc.number}`].join('.');
    if (tc.subtests.length === 0) { out.push(leafCase(tc, id, base)); return isFailure(out[out.length - 1].status); }
    let childFailed = false;
    for (const s of tc.subtests) childFailed = walk(s, [...path, tc.name || `#${tc.number}`]) || childFailed;
    // kselftest's runner: a binary that timed out (or crashed, or errored) says more than its cut-short cases: both count.
    const runnerOwn = selftest !== undefined && path.length === 0 && (tc.status === 'TIMEOUT' || tc.status === 'CRASH' || tc.status === 'ERROR');
    // ... except where it left planned cases unreported: those are its cases, exactly as many as it
    // planned, and the first of them names the binary's fault (an extra case would count it twice).
    const firstMiss = runnerOwn && tc.status !== 'CRASH' ? out.find((c) => c.status === 'MISS') : undefined;
    if (firstMiss) firstMiss.reason = `${firstMiss.reason ?? 'never reported'}: ${topName} ${tc.status === 'TIMEOUT' ? 'timed out' : 'ended in ERROR'}${tc.reason ? ` (${tc.reason})` : ''}`;
    else if (isFailure(tc.status) && (!childFailed || runnerOwn)) out.push(leafCase(tc, id, base));
    return childFailed || isFailure(tc.status);
  };
  walk(selftest ? { ...top, name: topName } : top, []);
  return out;
}

function leafCase(tc: TapCase, id: string, base: Omit<CaseResult, 'id' | 'status' | 'tap'>): CaseResult {
  const console = tc.console;
  const consoleSet = new Set(console);
  const c: CaseResult = { ...base, id, status: tc.status, tap: tc.lines.filter((l) => !consoleSet.has(l)) };
  if (console.length > 0) c.console = [...console];
  const details: Record<string, string> = {};
  const notes: string[] = [];
  for (const d of tc.diagnostics) {
    const s = STRUCTURED_RE.exec(d);
    if (s && (s[1] === tc.name || s[1] === tc.name.split(' ')[0])) {
      for (const kv of s[2].trim().split(/\s+/)) {
        const i = kv.indexOf('=');
        const k = kv.slice(0, i);
        const v = kv.slice(i + 1);
        if (k === 'observed') c.observed = v;
        else if (k === 'expected') c.expected = v;
        else if (k === 'ms' && /^\d+(\.\d+)?$/.test(v)) c.durationMs = Number(v);
        else details[k] = v;
      }
      continue;
    }
    const f = FREEFORM_RE.exec(d);
    if (f && f[1] === tc.name && !isBoringDiagnostic(f[1], f[2].trim())) notes.push(f[2].trim());
  }
  if (Object.keys(details).length > 0) c.details = details;
  if (c.durationMs === undefined && tc.durationMs !== undefined) c.durationMs = tc.durationMs;
  let reason = tc.reason;
  if (c.status !== 'PASS') {
    // kgate's own free-form line explains a failure better than the generic text.
    if (c.status === 'FAIL' && notes.length > 0 && !tc.directive && !tc.comment) reason = notes[0];
    if (!reason && c.status === 'FAIL' && c.observed !== undefined && c.expected !== undefined) {
      reason = `observed ${c.observed}, expected ${c.expected}`;
    }
  }
  if (reason) c.reason = oneLine(reason);
  return c;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Lowest-common status of a tree, for callers that need a test's summary. */
export function treeStatus(tc: TapCase): Status {
  return worstStatus([tc.status, ...tc.subtests.map(treeStatus)]);
}
