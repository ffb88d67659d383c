// The KTAP stream: normalised lines -> a tree of TapCase, problems as data.
// Each line is classified once (lines.ts's table); what it means depends on
// where it stands: which open level its lead matches, what that level has seen.
//
// Why not tap-parser's Parser for the structure: it nests only by 4-space
// indentation after "# Subtest", so KTAP's 2-space nesting with a version line
// per subtest, old KUnit's tab nesting and kselftest's "# "-prefixed child
// output are invisible to it; it folds XFAIL/TIMEOUT/ERROR into the test name;
// and its errors carry no line numbers. So the structure and the directive
// table are ours (after kunit_parser.py).
import type { CaseResult, Status } from '../model.js';
import { KtapNormaliser, type NormLine } from './normalise.js';
import { textLines } from '../util/lines.js';
import {
  GLUED_RE, HASH_NESTED_HEADERLESS_RE, HASH_NESTED_VERSION_RE, HEADERLESS_RE, KGATE_HEADER_RE, KGATE_SAYS_RE,
  FREEFORM_RE, classify, isBoringDiagnostic, isStructural, parseResultLine, statusOf,
  type ParsedResult, type StructuralLine, type TapLine,
} from './lines.js';
import { topToCases, type KtapDocument, type ParsedKtap, type TapCase, type TapProblem, type ToCaseContext } from './cases.js';

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
      const v = classify(text.trim());
      if (v.type !== 'version') return;
      if (this.stack.length > 0) this.closeDocument(nl.n - 1);
      this.endMarker = undefined;
      this.lateCrash = undefined;
      this.openDocument(v.version, nl.n);
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
    const hashNested = HASH_NESTED_VERSION_RE.exec(body);
    if (hashNested) { childLead = frame.lead + ws + '# ' + hashNested[1]; body = hashNested[2]; }
    // A binary the runner started that prints no version line of its own: its
    // first result or plan behind "# ", right after "# selftests: dir: bin", opens its level.
    const hashHeaderless = !hashNested && fi === this.stack.length - 1 && frame.selftestHeader ? HASH_NESTED_HEADERLESS_RE.exec(body) : null;
    if (hashHeaderless) { childLead = frame.lead + ws + '# ' + hashHeaderless[1]; body = hashHeaderless[2]; frame.selftestHeader = false; }
    const deeper = childLead !== frame.lead;

    const line = classify(body);

    if (!isStructural(line)) {
      // A result glued behind a test's own text: only the next number expected, never inside a '#' line.
      const glued = line.type === 'bailout' || ws !== '' || body.startsWith('#') ? null : GLUED_RE.exec(body);
      const gluedResult = glued && glued.index > 0 && Number(glued[1]) === nextNumber(frame) ? parseResultLine(body.slice(glued.index)) : null;
      if (glued && gluedResult) {
        const head = body.slice(0, glued.index);
        this.problem(nl.n, `result of test ${glued[1]} printed after '${head.length > 40 ? head.slice(0, 40) + '...' : head}' without a newline`);
        this.addLoose({ ...nl, text: frame.lead + head, raw: frame.lead + head });
        this.structuralAt(fi, { type: 'result', result: gluedResult }, { ...nl, text: frame.lead + body.slice(glued.index) }, false, childLead);
        return;
      }
      if (line.type === 'bailout') {
        this.top.bailout = { line: nl.n, reason: line.reason };
        this.problem(nl.n, `bail out${line.reason ? `: ${line.reason}` : ''}`);
      }
      if (line.type === 'pragma') return;
      if (line.type === 'totals' && !frame.totals) frame.totals = { line: nl.n, counts: line.counts };
      if (line.type === 'selftest') frame.selftestHeader = true;
      if (line.type === 'counted') frame.counted.push(body);
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
      const innermost = text.slice(t.lead.length).trimStart();
      // Cut at another lead, the line may read differently: a structural line there is taken as such.
      const there = innermost === body ? line : classify(innermost);
      if (isStructural(there)) this.structuralAt(this.stack.length - 1, there, nl, false, t.lead);
      return;
    }
    this.structuralAt(fi, line, nl, deeper, childLead);
  }

  private structuralAt(fi: number, line: StructuralLine, nl: NormLine, deeper: boolean, childLead: string): void {
    const version = line.type === 'version' ? line : null;
    const result = line.type === 'result' ? line.result : null;
    const plan = line.type === 'plan' ? line : null;
    const subtest = line.type === 'subtest' ? line : null;

    if (deeper) {
      // The start of a nested level (or an indented result without a header).
      const parent = this.stack[fi];
      const child = this.openFrame(childLead, nl.n, result !== null);
      if (parent.pendingName !== undefined) { child.name = parent.pendingName; parent.pendingName = undefined; }
      if (subtest) child.name = subtest.name;
      if (version) child.version = version.version;
      if (plan) this.setPlan(child, plan, nl);
      if (result) this.addResult(child, result, nl);
      else this.addStructuralLine(child, nl);
      return;
    }

    const frame = this.stack[fi];
    if (version) {
      if (!frame.version && frame.plan === undefined && frame.tests.length === 0) {
        frame.version = version.version;
        this.addStructuralLine(frame, nl);
      } else if (fi === 0) {
        // Another binary's output (or the same suite after a restart).
        this.closeDocument(nl.n - 1);
        this.openDocument(version.version, nl.n);
      } else {
        this.problem(nl.n, `unexpected version line inside a subtest: ${version.version}`);
        this.addStructuralLine(this.top, nl);
      }
      return;
    }
    if (subtest) {
      if (fi > 0 && frame.tests.length === 0 && frame.plan === undefined && frame.name === undefined) {
        frame.name = subtest.name;    // KTAP: version line, then "# Subtest: name"
      } else {
        frame.pendingName = subtest.name; // TAP14: the header precedes the indented child
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

  private setPlan(frame: Frame, plan: Extract<TapLine, { type: 'plan' }>, nl: NormLine): void {
    const { start, end } = plan;
    if (frame.plan !== undefined) {
      this.problem(nl.n, `second plan ${start}..${end}; keeping 1..${frame.plan}`);
      return;
    }
    if (start !== 1 && !(start === 1 && end === 0)) this.problem(nl.n, `plan ${start}..${end} does not start at 1`);
    frame.plan = Math.max(0, end - start + 1);
    frame.planLine = nl.n;
    if (end === 0) frame.plan = 0;
    if (plan.skipAll !== undefined) frame.skipAll = plan.skipAll;
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

/** The most telling free-form diagnostic of a failed test ("# name: text", KUnit and kgate). */
function freeFormReason(tc: TapCase): string | undefined {
  for (const d of tc.diagnostics) {
    const m = FREEFORM_RE.exec(d);
    if (!m) continue;
    const text = m[2].trim();
    if (isBoringDiagnostic(m[1], text)) continue;
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
