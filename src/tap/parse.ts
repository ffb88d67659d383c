// KTAP parser: normalised lines -> a tree of TapCase, problems as data.
//
// Why not tap-parser's Parser for the structure: it nests only by 4-space
// indentation after "# Subtest", so KTAP's 2-space nesting with a version line
// per subtest, old KUnit's tab nesting and kselftest's "# "-prefixed child
// output are invisible to it; it folds XFAIL/TIMEOUT/ERROR into the test name;
// and its errors carry no line numbers. So the structure and the directive
// table are ours (after kunit_parser.py), and tap-parser keeps what it does
// well: the grammar of a single line (its lineTypes for plans, bail-outs and
// pragmas, and parseDirective for SKIP/TODO/time spellings).
import { lineTypes, parseDirective } from 'tap-parser';
import type { CaseResult, KernelIdentity, Status } from '../model.js';
import { isFailure, worstStatus } from '../model.js';
import { KtapNormaliser, type NormLine } from './normalise.js';
import { textLines } from '../util/lines.js';

export interface TapProblem {
  line: number;     // 1-based line number in the input; 0 when not tied to a line
  message: string;
}

export type DirectiveKind = 'SKIP' | 'TODO' | 'XFAIL' | 'XPASS' | 'TIMEOUT' | 'ERROR';

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

// ---------------------------------------------------------------------------
// Line grammar: every shape the parser knows, in one table. `lead` (the
// indentation or "# " nesting) has been cut off before these are tried.

const RESULT_RE = /^(not ok|ok)\b(?:\s+(\d+))?(?:\s+-)?(?:\s+(.*))?$/;
const SUBTEST_RE = /^# Subtest:\s*(.*)$/;
const SELFTEST_RE = /^# selftests: (.+?): (.+)$/;
const KGATE_HEADER_RE = /^# kgate((?:\s+[A-Za-z0-9_.-]+=\S*)+)\s*$/;
// The lines after it that say in words what the kernel speaks and why (docs/suite-protocol.md).
const KGATE_SAYS_RE = /^# kgate (speaks|why): (.+)$/;
const VERSION_LINE_RE = /^(K?TAP version \d+)\s*$/;
// kselftest.h ksft_print_cnts().
const TOTALS_RE = /^# Totals: ((?:[a-z]+:\d+\s*)+)$/;
// A result printed after text without a newline ("Diff too high: 3239020..not ok 1 ITIMER_VIRTUAL").
const GLUED_RE = /(?<![A-Za-z])(?:not ok|ok) (\d+)\b/;
// What a headerless document starts with: test 1's result or a plan, at the start of the line.
const HEADERLESS_RE = /^(?:(?:not ok|ok) 1\b|1\.\.\d+(?:\s|$))/;
// The lines a counting binary prints for each check (kselftest's kcmp_test).
const COUNTED_RE = /^(PASS|FAIL|SKIP|XFAIL):\s/;

function isPlan(s: string): RegExpMatchArray | null {
  return (s + '\n').match(lineTypes.plan);
}
function isBailout(s: string): RegExpMatchArray | null {
  return (s + '\n').match(lineTypes.bailout);
}
function isPragma(s: string): boolean {
  return lineTypes.pragma.test(s + '\n');
}

/** The KTAP directive table (Documentation/dev-tools/ktap.rst, kselftest.h). */
const DIRECTIVES: readonly [RegExp, DirectiveKind][] = Object.freeze([
  [/^XFAIL\b[:\s]*/i, 'XFAIL'],
  [/^XPASS\b[:\s]*/i, 'XPASS'],
  [/^TIMEOUT\b[:\s]*/i, 'TIMEOUT'],
  [/^ERROR\b[:\s]*/i, 'ERROR'],
]);

interface ParsedResult {
  ok: boolean;
  number?: number;
  name: string;
  directive?: { kind: DirectiveKind; text: string };
  comment?: string;
  durationMs?: number;
}

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

function statusOf(ok: boolean, directive?: { kind: DirectiveKind }): Status {
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

// ---------------------------------------------------------------------------
// The streaming parser.

interface Pending {
  lines: string[];
  diagnostics: string[];
  console: string[];
  crash?: { line: number; text: string };
  startLine: number;
}

interface Frame {
  lead: string;             // exact leading text of this level's lines
  implicit: boolean;        // opened by an indented result line without a header
  name?: string;            // from "# Subtest: name"
  pendingName?: string;     // TAP14: "# Subtest: x" at the parent's level names the next child
  version?: string;
  plan?: number;
  planLine?: number;
  skipAll?: string;
  tests: TapCase[];
  seen: Set<number>;
  pending: Pending;
  header: string[];         // this level's version, plan and subtest lines
  bailout?: { line: number; reason: string };
  /** kselftest.h's "# Totals: pass:N fail:N ..." line of this level. */
  totals?: { line: number; counts: Record<string, number> };
  /** A "# selftests: dir: bin" line (kselftest's runner) since this level's last result. */
  selftestHeader?: boolean;
  /** "PASS: ..." / "FAIL: ..." lines of a binary that counts instead of listing (kcmp_test). */
  counted: string[];
  startLine: number;
}

/**
 * Where a log comes from decides what a console crash inside a test means.
 * 'kgate-suite': kgate's own suite, where no case expects one: an oops or WARN
 * while a case ran makes it CRASH, whatever it reported. 'saved-log' (kgate
 * parse on any captured log): a test's own `ok` after an oops stands (KUnit's
 * kunit_fault suite oopses on purpose and then passes), kept as PASS with the
 * crash as a note; a crash makes a test CRASH only when it never reported,
 * reported `not ok`, or the kernel died.
 */
export type LogSource = 'kgate-suite' | 'saved-log';

export interface KtapStreamOptions {
  /** Default 'saved-log'; the runner passes 'kgate-suite'. */
  source?: LogSource;
  /** Each top-level test, as soon as its result line arrives (or at end(), for those that never did). */
  onCase?: (tc: TapCase) => void;
  /** Each problem as it is found. */
  onProblem?: (p: TapProblem) => void;
  /** The same top-level tests mapped to the model (topToCases with `context`), as they arrive. */
  onCaseResult?: (c: CaseResult) => void;
  context?: ToCaseContext;
  /**
   * Report planned-but-never-reported tests (as MISS "#N") at end(). A runner
   * that knows the case ids it asked for may turn this off and name them itself.
   */
  missing?: boolean;
}

function emptyPending(line: number): Pending {
  return { lines: [], diagnostics: [], console: [], startLine: line };
}

export class KtapStream {
  readonly tests: TapCase[] = [];
  readonly documents: KtapDocument[] = [];
  readonly problems: TapProblem[] = [];
  private norm = new KtapNormaliser();
  private stack: Frame[] = [];
  private lastLine = 0;
  private endMarker?: { line: number; text: string };
  private lateCrash?: { line: number; text: string };
  private done = false;

  constructor(private readonly opts: KtapStreamOptions = {}) {}

  /** Feed one line (without its newline). Never throws. */
  push(line: string): void {
    if (this.done) return;
    const nl = this.norm.push(line);
    this.lastLine = nl.n;
    try {
      this.handle(nl);
    } catch (e) {
      // A parser bug must not lose the run: keep it as a problem.
      this.problem(nl.n, `internal parser error: ${(e as Error).message}`);
    }
  }

  /** Feed a chunk of text that may hold several lines; a trailing partial line is kept for later. */
  private partial = '';
  write(chunk: string): void {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.push(p);
  }

  /** The input is over: close what is open, planned-but-missing tests become MISS. */
  end(): ParsedKtap {
    if (!this.done) {
      if (this.partial !== '') { this.push(this.partial); this.partial = ''; }
      this.done = true;
      try {
        if (this.stack.length === 0) {
          this.problem(0, this.lastLine === 0 ? 'empty input: no test output' : 'no KTAP/TAP version line found: no test output');
        } else {
          this.closeDocument(this.lastLine);
        }
      } catch (e) {
        this.problem(this.lastLine, `internal parser error: ${(e as Error).message}`);
      }
    }
    return { tests: this.tests, documents: this.documents, problems: this.problems };
  }

  private problem(line: number, message: string): void {
    const p = { line, message };
    this.problems.push(p);
    this.opts.onProblem?.(p);
  }

  private get top(): Frame { return this.stack[this.stack.length - 1]; }

  private handle(nl: NormLine): void {
    if (nl.kind === 'pre') {
      // No version line at all (kselftest.h prints none under KSFT_TAP_LEVEL, or
      // when a binary never calls ksft_print_header): test 1 or a plan at the
      // start of a line, before any document, starts one.
      if (this.documents.length === 0 && HEADERLESS_RE.test(nl.raw)) {
        this.norm.startWithoutVersion();
        this.problem(nl.n, 'no TAP version line: the document starts here');
        this.openDocument('(no version line)', nl.n);
        this.handle({ ...nl, kind: 'tap', text: nl.raw });
      }
      return;
    }
    if (nl.kind === 'end' || nl.kind === 'post') {
      if (nl.kind === 'end' && !this.endMarker) this.endMarker = { line: nl.n, text: nl.text.replace(/\s+/g, ' ').trim() };
      if (nl.crash && !this.lateCrash) this.lateCrash = { line: nl.n, text: nl.crash };
      if (nl.kind === 'end' && this.stack.length > 0) this.addLoose(nl);
      return;
    }
    if (nl.kind === 'noise') { if (this.stack.length > 0) this.addLoose(nl); return; }

    const text = nl.text;
    if (this.stack.length === 0 || this.endMarker) {
      // First version line of the stream, or a new one after an end marker.
      const v = VERSION_LINE_RE.exec(text.trim());
      if (!v) return;
      if (this.stack.length > 0) this.closeDocument(nl.n - 1);
      this.endMarker = undefined;
      this.lateCrash = undefined;
      this.openDocument(v[1], nl.n);
      return;
    }

    // Which open level does this line belong to: the deepest whose lead it carries.
    let fi = this.stack.length - 1;
    while (fi > 0 && !text.startsWith(this.stack[fi].lead)) fi -= 1;
    const frame = this.stack[fi];
    const rest = text.slice(frame.lead.length);
    const ws = /^[ \t]*/.exec(rest)![0];
    let body = rest.slice(ws.length);
    let childLead = frame.lead + ws;
    // kselftest's runner prefixes a test's own TAP with "# ": a nested version
    // line behind "# " opens a level whose lead includes it.
    const hashNested = /^# (\s*)(K?TAP version \d+)\s*$/.exec(body);
    if (hashNested) { childLead = frame.lead + ws + '# ' + hashNested[1]; body = hashNested[2]; }
    // A binary the runner started that prints no version line of its own: its
    // first result or plan behind "# ", right after "# selftests: dir: bin", opens its level.
    const hashHeaderless = !hashNested && fi === this.stack.length - 1 && frame.selftestHeader ? /^# (\s*)((?:not ok|ok) 1\b.*|1\.\.\d+.*)$/.exec(body) : null;
    if (hashHeaderless) { childLead = frame.lead + ws + '# ' + hashHeaderless[1]; body = hashHeaderless[2]; frame.selftestHeader = false; }
    const deeper = childLead !== frame.lead;

    const version = VERSION_LINE_RE.exec(body);
    const result = version ? null : parseResultLine(body);
    const plan = version || result ? null : isPlan(body);
    const subtest = version || result || plan ? null : SUBTEST_RE.exec(body);
    const bail = version || result || plan || subtest ? null : isBailout(body);
    const structural = Boolean(version || result || plan || subtest);

    if (!structural) {
      // A result glued behind a test's own text: only the next number expected, never inside a '#' line.
      const glued = bail || ws !== '' || body.startsWith('#') ? null : GLUED_RE.exec(body);
      if (glued && glued.index > 0 && Number(glued[1]) === nextNumber(frame) && parseResultLine(body.slice(glued.index))) {
        const head = body.slice(0, glued.index);
        this.problem(nl.n, `result of test ${glued[1]} printed after '${head.length > 40 ? head.slice(0, 40) + '...' : head}' without a newline`);
        this.addLoose({ ...nl, text: frame.lead + head, raw: frame.lead + head });
        this.structuralAt(fi, body.slice(glued.index), { ...nl, text: frame.lead + body.slice(glued.index) }, false, childLead);
        return;
      }
      if (bail) {
        const target = this.top;
        target.bailout = { line: nl.n, reason: (bail[1] ?? '').trim() };
        this.problem(nl.n, `bail out${bail[1]?.trim() ? `: ${bail[1].trim()}` : ''}`);
      }
      if (isPragma(body)) return;
      const totals = TOTALS_RE.exec(body);
      if (totals && !frame.totals) {
        const counts: Record<string, number> = {};
        for (const kv of totals[1].trim().split(/\s+/)) { const [k, v] = kv.split(':'); counts[k] = Number(v); }
        frame.totals = { line: nl.n, counts };
      }
      if (SELFTEST_RE.test(body)) frame.selftestHeader = true;
      if (COUNTED_RE.test(body)) frame.counted.push(body);
      // Diagnostics and unknown lines do not close levels: KTAP allows them
      // unindented inside a subtest (old KUnit prints "init_suite" that way).
      this.addLoose(nl, body.startsWith('#') ? body.trim() : undefined);
      return;
    }

    // A deeper line inside a level that is not the innermost: indentation
    // that matches no open level. Tolerate it as the innermost level's.
    if (deeper && fi !== this.stack.length - 1) {
      this.problem(nl.n, 'inconsistent indentation: line does not match its level');
      const t = this.top;
      this.structuralAt(this.stack.length - 1, text.slice(t.lead.length).trimStart(), nl, false, t.lead);
      return;
    }
    this.structuralAt(fi, body, nl, deeper, childLead);
  }

  private structuralAt(fi: number, body: string, nl: NormLine, deeper: boolean, childLead: string): void {
    const version = VERSION_LINE_RE.exec(body);
    const result = version ? null : parseResultLine(body);
    const plan = version || result ? null : isPlan(body);
    const subtest = version || result || plan ? null : SUBTEST_RE.exec(body);

    if (deeper) {
      // The start of a nested level (or an indented result without a header).
      const parent = this.stack[fi];
      const child = this.openFrame(childLead, nl.n, result !== null);
      if (parent.pendingName !== undefined) { child.name = parent.pendingName; parent.pendingName = undefined; }
      if (subtest) child.name = subtest[1].trim();
      if (version) child.version = version[1];
      if (plan) this.setPlan(child, plan, nl);
      if (result) this.addResult(child, result, nl);
      else this.addStructuralLine(child, nl);
      return;
    }

    const frame = this.stack[fi];
    if (version) {
      if (!frame.version && frame.plan === undefined && frame.tests.length === 0) {
        frame.version = version[1];
        this.addStructuralLine(frame, nl);
      } else if (fi === 0) {
        // Another binary's output (or the same suite after a restart).
        this.closeDocument(nl.n - 1);
        this.openDocument(version[1], nl.n);
      } else {
        this.problem(nl.n, `unexpected version line inside a subtest: ${version[1]}`);
        this.addStructuralLine(this.top, nl);
      }
      return;
    }
    if (subtest) {
      if (fi > 0 && frame.tests.length === 0 && frame.plan === undefined && frame.name === undefined) {
        frame.name = subtest[1].trim();    // KTAP: version line, then "# Subtest: name"
      } else {
        frame.pendingName = subtest[1].trim(); // TAP14: the header precedes the indented child
      }
      this.addStructuralLine(this.top, nl);
      return;
    }
    if (plan) {
      this.popTo(fi, nl.n, null);
      this.setPlan(frame, plan, nl);
      this.addStructuralLine(frame, nl);
      return;
    }
    if (result) {
      const child = this.popTo(fi, nl.n, result);
      this.addResult(frame, result, nl, child);
    }
  }

  private openDocument(version: string, line: number): void {
    this.documents.push({ version, line, meta: {} });
    const root = this.openFrame('', line, false);
    root.version = version;
  }

  private openFrame(lead: string, line: number, implicit: boolean): Frame {
    const f: Frame = { lead, implicit, tests: [], seen: new Set(), pending: emptyPending(line), header: [], counted: [], startLine: line };
    this.stack.push(f);
    return f;
  }

  private setPlan(frame: Frame, m: RegExpMatchArray, nl: NormLine): void {
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (frame.plan !== undefined) {
      this.problem(nl.n, `second plan ${start}..${end}; keeping 1..${frame.plan}`);
      return;
    }
    if (start !== 1 && !(start === 1 && end === 0)) this.problem(nl.n, `plan ${start}..${end} does not start at 1`);
    frame.plan = Math.max(0, end - start + 1);
    frame.planLine = nl.n;
    if (end === 0) frame.plan = 0;
    if (m[3]) {
      const d = parseDirective(m[3]);
      if (d && d[0] === 'skip') frame.skipAll = d[1] === true ? 'skipped' : String(d[1]);
    }
    if (this.stack[0] === frame) this.documents[this.documents.length - 1].plan = frame.plan;
  }

  /** Header lines of a level go with the test that owns the level; the top level's are the document's. */
  private addStructuralLine(frame: Frame, nl: NormLine): void {
    if (frame !== this.stack[0]) frame.header.push(nl.text);
  }

  /** A diagnostic or unknown line: it belongs to the test now running, the innermost level's next one. */
  private addLoose(nl: NormLine, diagnostic?: string): void {
    const f = this.top;
    const text = nl.kind === 'tap' ? nl.text : nl.raw;
    f.pending.lines.push(text);
    if (diagnostic !== undefined) {
      f.pending.diagnostics.push(diagnostic);
      if (this.stack.length === 1) this.documentHeader(diagnostic);
    } else {
      f.pending.console.push(text);
    }
    if (nl.crash && !f.pending.crash) f.pending.crash = { line: nl.n, text: nl.crash };
  }

  private documentHeader(d: string): void {
    const doc = this.documents[this.documents.length - 1];
    const root = this.stack[0];
    if (root.tests.length > 0) return;
    const said = KGATE_SAYS_RE.exec(d);
    if (said && Object.keys(doc.meta).length > 0) {
      // "speaks" once; "why" may come once per generation: joined
      doc.meta[said[1]] = doc.meta[said[1]] ? `${doc.meta[said[1]]}; ${said[2]}` : said[2];
    } else {
      const m = Object.keys(doc.meta).length === 0 ? KGATE_HEADER_RE.exec(d) : null;
      if (!m) return;
      for (const kv of m[1].trim().split(/\s+/)) {
        const i = kv.indexOf('=');
        doc.meta[kv.slice(0, i)] = kv.slice(i + 1);
      }
    }
    // The header describes the document, not the first case.
    root.pending.diagnostics.pop();
    root.pending.lines.pop();
  }

  /**
   * Close every level above stack[fi]. Returns the closed level directly
   * above fi, to be adopted as subtests by `result` (a result line at fi's
   * level); without a result, closed levels become tests without a result.
   */
  private popTo(fi: number, line: number, result: ParsedResult | null): Frame | undefined {
    let adopted: Frame | undefined;
    while (this.stack.length - 1 > fi) {
      const f = this.stack.pop()!;
      const parentIndex = this.stack.length - 1;
      this.closeFrame(f, line);
      if (parentIndex === fi && result) {
        // Lines after the level's last result belong to the parent's result.
        mergePending(this.stack[fi].pending, f.pending);
        adopted = f;
        break;
      }
      const parent = this.stack[parentIndex];
      if (f.implicit && parentIndex !== fi) {
        // An indented run of results without a header whose parent line never
        // came: mis-indented results of the level below, not a subtest.
        for (const t of f.tests) this.pushTest(parent, t);
        mergePending(parent.pending, f.pending);
        continue;
      }
      this.orphan(parent, f, line);
    }
    return adopted;
  }

  /** A nested level whose parent result line never came: a test without a result. */
  private orphan(parent: Frame, f: Frame, line: number): void {
    const crashed = f.tests.some((t) => t.status === 'CRASH') || f.pending.crash !== undefined;
    const number = nextNumber(parent);
    const tc = this.makeCase(parent, number, f.name ?? '', null, f.pending, f.startLine);
    tc.status = crashed ? 'CRASH' : 'MISS';
    tc.subtests = f.tests;
    tc.lines = [...f.header, ...tc.lines];
    if (f.plan !== undefined) tc.plan = f.plan;
    tc.reason = crashed ? 'kernel crashed while its subtests ran' : 'its result line never came';
    this.problem(line, `subtest ${f.name ? `'${f.name}' ` : ''}(from line ${f.startLine}) has no result line`);
    this.pushTest(parent, tc);
  }

  /** Planned tests that never reported become MISS; the first after a crash marker, CRASH. */
  private closeFrame(f: Frame, line: number): void {
    if (f.skipAll !== undefined) return;
    if (f.tests.length === 0 && f.totals && !f.bailout) this.countedResults(f);
    let crash = f.pending.crash ?? (this.stack.length === 0 || f === this.stack[0] ? this.lateCrash : undefined);
    if (f.plan !== undefined && f.plan > 0) {
      const missing: number[] = [];
      for (let i = 1; i <= f.plan; i++) if (!f.seen.has(i)) missing.push(i);
      if (missing.length > 0) {
        const where = this.endMarker ? `; output ended at line ${this.endMarker.line}: ${this.endMarker.text}` : '';
        this.problem(line, `planned ${f.plan} tests${f.name ? ` in '${f.name}'` : ''} (line ${f.planLine}), got ${f.plan - missing.length}: missing ${fmtRange(missing)}${where}`);
        let first = true;
        for (const n of missing) {
          const tc = this.makeCase(f, n, '', null, first ? f.pending : emptyPending(line), first ? f.pending.startLine : line);
          if (first && (crash ?? this.lateCrash)) {
            const c = (crash ?? this.lateCrash)!;
            tc.status = 'CRASH';
            tc.crash = c;
            tc.reason = `kernel crashed before the result: ${c.text} (line ${c.line})`;
          } else {
            tc.status = 'MISS';
            tc.reason = f.bailout ? `not run: bailed out (line ${f.bailout.line})${f.bailout.reason ? `: ${f.bailout.reason}` : ''}`
              : `planned as test ${n} of ${f.plan}, never reported`;
          }
          first = false;
          crash = undefined;
          this.pushTest(f, tc);
        }
        f.pending = emptyPending(line);
      }
    }
    if (f.bailout) {
      // One ERROR for the level that bailed out, with its reason: a reader sees why the rest is MISS.
      const tc = this.makeCase(f, 0, 'bail out', false, emptyPending(f.bailout.line), f.bailout.line);
      tc.status = 'ERROR';
      tc.line = f.bailout.line;
      tc.reason = `bailed out (line ${f.bailout.line})${f.bailout.reason ? `: ${f.bailout.reason}` : ''}`;
      tc.lines = [`Bail out! ${f.bailout.reason}`.trim()];
      this.pushTest(f, tc);
    }
  }

  /**
   * A level with a plan (or none), no result line and a "# Totals:" line: a
   * kselftest.h binary that only bumps counters (kcmp_test prints "PASS: ..."
   * and ksft_inc_pass_cnt). The Totals line is the truth: one test per count,
   * named by its "PASS:"/"FAIL:" line where those are as many.
   */
  private countedResults(f: Frame): void {
    const t = f.totals!;
    const order: [string, Status, string][] = [['pass', 'PASS', 'PASS'], ['fail', 'FAIL', 'FAIL'], ['xfail', 'XFAIL', 'XFAIL'],
      ['xpass', 'FAIL', 'XPASS'], ['skip', 'SKIP', 'SKIP'], ['error', 'ERROR', 'ERROR']];
    const total = order.reduce((n, [k]) => n + (t.counts[k] ?? 0), 0);
    if (total === 0) return;
    this.problem(t.line, `no result lines: ${total} results counted, not listed, taken from # Totals (line ${t.line})`);
    const named = f.counted.length === total;
    let n = 0;
    for (const [key, status, word] of order) {
      const lines = f.counted.filter((l) => l.startsWith(`${word}:`));
      for (let i = 0; i < (t.counts[key] ?? 0); i++) {
        n += 1;
        const tc = this.makeCase(f, n, named && lines[i] ? lines[i].slice(word.length + 1).trim() : '', status === 'PASS' || status === 'SKIP', emptyPending(t.line), t.line);
        tc.status = status;
        tc.line = t.line;
        if (status !== 'PASS') tc.reason = `counted as ${key} by # Totals (line ${t.line})${named && lines[i] ? `: ${lines[i]}` : ''}`;
        this.pushTest(f, tc);
      }
    }
  }

  private closeDocument(line: number): void {
    if (this.stack.length === 0) return;
    this.popTo(0, line, null);
    const root = this.stack.pop()!;
    this.closeFrame(root, line);
    if (root.bailout) this.documents[this.documents.length - 1].bailout = root.bailout.reason;
    if (root.skipAll !== undefined && root.tests.length === 0) {
      // "1..0 # SKIP reason": the whole binary skipped (exit 4, KSFT_SKIP): one SKIP with that reason.
      const tc = this.makeCase(root, 1, '', true, root.pending, root.startLine);
      tc.status = 'SKIP';
      tc.line = root.planLine;
      tc.reason = root.skipAll;
      this.pushTest(root, tc);
    }
    if (root.tests.length === 0 && root.plan === undefined) {
      this.problem(root.startLine, 'version line without plan or results');
    }
  }

  private makeCase(frame: Frame, number: number, name: string, ok: boolean | null, p: Pending, startLine: number): TapCase {
    const tc: TapCase = {
      number, name, ok, status: ok === null ? 'MISS' : ok ? 'PASS' : 'FAIL',
      startLine, subtests: [], diagnostics: p.diagnostics, console: p.console, lines: p.lines,
      document: this.documents.length - 1,
    };
    if (p.crash) tc.crash = p.crash;
    void frame;
    return tc;
  }

  private addResult(frame: Frame, r: ParsedResult, nl: NormLine, child?: Frame): void {
    const number = r.number ?? nextNumber(frame);
    if (r.number === undefined) this.problem(nl.n, 'result line without a test number');
    else if (frame.seen.has(number)) this.problem(nl.n, `test number ${number} reported twice`);
    else if (number !== nextNumber(frame)) this.problem(nl.n, `expected test ${nextNumber(frame)}, got ${number}`);
    if (frame.plan !== undefined && number > frame.plan) {
      this.problem(nl.n, `test ${number} is beyond the plan 1..${frame.plan}${frame.planLine ? ` (line ${frame.planLine})` : ''}`);
    }
    frame.selftestHeader = false;
    const p = frame.pending;
    p.lines.push(nl.text);
    const tc = this.makeCase(frame, number, r.name, r.ok, p, p.startLine);
    frame.pending = emptyPending(nl.n + 1);
    tc.line = nl.n;
    tc.status = statusOf(r.ok, r.directive);
    if (r.directive) tc.directive = r.directive;
    if (r.comment !== undefined) tc.comment = r.comment;
    if (r.durationMs !== undefined) tc.durationMs = r.durationMs;
    const reason = tc.status === 'PASS' && !r.directive ? undefined : reasonOf(tc);
    if (reason) tc.reason = reason;
    if (child) {
      tc.subtests = child.tests;
      tc.lines = [...child.header, ...tc.lines];
      if (child.plan !== undefined) tc.plan = child.plan;
      if (child.name && r.name && child.name !== r.name) {
        this.problem(nl.n, `subtest header said '${child.name}', result line says '${r.name}'`);
      }
      if (!tc.name && child.name) tc.name = child.name;
      if (child.skipAll !== undefined && (tc.status === 'PASS' || tc.status === 'SKIP')) {
        tc.status = 'SKIP';
        tc.reason ??= child.skipAll;
      }
    }
    if (tc.crash && tc.status !== 'SKIP') {
      if ((this.opts.source ?? 'saved-log') === 'saved-log' && r.ok && tc.status !== 'FAIL') {
        // The test saw the crash and still reported ok (kunit_fault does this on purpose): it stands.
        tc.reason = `reported ok after a kernel crash marker while it ran: ${tc.crash.text} (line ${tc.crash.line})`;
        this.problem(nl.n, `test ${number}${r.name ? ` '${r.name}'` : ''} reported ok after '${tc.crash.text}' (line ${tc.crash.line}): kept as ${tc.status} (saved log)`);
      } else {
        tc.status = 'CRASH';
        tc.reason = `kernel crash marker while it ran: ${tc.crash.text} (line ${tc.crash.line})`;
      }
    }
    this.pushTest(frame, tc);
  }

  private pushTest(frame: Frame, tc: TapCase): void {
    frame.tests.push(tc);
    frame.seen.add(tc.number);
    if (frame === this.stack[0] || (this.stack.length === 0)) {
      if (tc.line === undefined && tc.status === 'MISS' && this.opts.missing === false) return;
      this.tests.push(tc);
      this.opts.onCase?.(tc);
      if (this.opts.onCaseResult) {
        for (const c of topToCases(tc, this.documents[tc.document], this.opts.context)) this.opts.onCaseResult(c);
      }
    }
  }
}

function nextNumber(f: Frame): number {
  let n = f.tests.length + 1;
  while (f.seen.has(n)) n++;
  return n;
}

function mergePending(into: Pending, from: Pending): void {
  into.lines.push(...from.lines);
  into.diagnostics.push(...from.diagnostics);
  into.console.push(...from.console);
  if (!into.crash && from.crash) into.crash = from.crash;
}

function reasonOf(tc: TapCase): string | undefined {
  if (tc.directive?.text) return tc.directive.kind === 'TIMEOUT' && !/^after\b/i.test(tc.directive.text) ? `timeout ${tc.directive.text}` : tc.directive.text;
  if (tc.comment) return tc.comment;
  if (tc.directive && tc.directive.kind !== 'SKIP') return tc.directive.kind.toLowerCase();
  return tc.status === 'SKIP' ? undefined : freeFormReason(tc);
}

/** Free-form text that says nothing about why a test failed. */
function boring(name: string, text: string): boolean {
  return name === 'selftests' || /^(initializing|.* passed|.* failed|.* skipped)$/.test(text) || /^timeout set to/.test(`${name}: ${text}`);
}

/** The most telling free-form diagnostic of a failed test ("# name: text", KUnit and kgate). */
function freeFormReason(tc: TapCase): string | undefined {
  for (const d of tc.diagnostics) {
    const m = /^#\s*(\S+?):\s+(.*)$/.exec(d);
    if (!m) continue;
    const text = m[2].trim();
    if (boring(m[1], text)) continue;
    return text;
  }
  return undefined;
}

function fmtRange(ns: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < ns.length) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
    parts.push(i === j ? `${ns[i]}` : `${ns[i]}-${ns[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** Parse a whole log (text or lines). Never throws. */
export function parseKtap(input: string | Iterable<string>): ParsedKtap {
  const s = new KtapStream();
  const lines = typeof input === 'string' ? textLines(input) : input;
  for (const l of lines) s.push(l);
  return s.end();
}

// ---------------------------------------------------------------------------
// TapCase tree -> the result model.

export interface ToCaseContext {
  family?: string;          // wins over the document header and the suite name
  api?: string;
  kernel?: KernelIdentity;
}

const STRUCTURED_RE = /^#\s*(\S+)((?:\s+[A-Za-z0-9_.-]+=\S*)+)\s*$/;
const FREEFORM_RE = /^#\s*(\S+):\s+(.*)$/;

/** Map parsed tests to CaseResults: leaves become cases ("suite.case"); a parent whose own failure no subtest explains becomes one too. */
/** kselftest's runner level: one verdict per binary ("ok 1 selftests: dir: bin # SKIP", "# exit=1", "# TIMEOUT 45 seconds"). */
export interface RunnerVerdict { family: string; binary: string; status: Status; reason?: string; line?: number }

export function runnerVerdicts(tests: TapCase[]): RunnerVerdict[] {
  const out: RunnerVerdict[] = [];
  for (const t of tests) {
    const m = SELFTEST_RE.exec(`# ${t.name}`);
    if (!m) continue;
    const v: RunnerVerdict = { family: m[1], binary: m[2].trim(), status: t.status };
    if (t.reason) v.reason = t.reason;
    if (t.line !== undefined) v.line = t.line;
    out.push(v);
  }
  return out;
}

export function toCaseResults(tap: Pick<ParsedKtap, 'tests' | 'documents'>, ctx: ToCaseContext = {}): CaseResult[] {
  const out: CaseResult[] = [];
  for (const top of tap.tests) out.push(...topToCases(top, tap.documents[top.document], ctx));
  return out;
}

/** The CaseResults of one top-level test (for the streaming path). */
export function topToCases(top: TapCase, doc: KtapDocument | undefined, ctx: ToCaseContext = {}): CaseResult[] {
  const meta = doc?.meta ?? {};
  const selftest = SELFTEST_RE.exec(`# ${top.name}`);
  let family = ctx.family ?? meta.family;
  let topName = top.name;
  if (selftest) {
    family ??= selftest[1];
    topName = selftest[2].trim();
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
    const runnerOwn = selftest !== null && path.length === 0 && (tc.status === 'TIMEOUT' || tc.status === 'CRASH' || tc.status === 'ERROR');
    if (isFailure(tc.status) && (!childFailed || runnerOwn)) out.push(leafCase(tc, id, base));
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
    if (f && f[1] === tc.name && !boring(f[1], f[2].trim())) notes.push(f[2].trim());
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
