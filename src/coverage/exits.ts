// The error exits of a C file, found in its text: what coverage.txt judges
// hit or not. Not a C parser: comments, strings and preprocessor lines are
// blanked, functions are found by their braces at the top level, and each
// exit by its statement and the `if` (or else, case, loop) that guards it.
//
// An exit is one of:
//   return    `return -EXXX;`, `return ERR_PTR(-EXXX);` (guarded or not)
//   goto      a guarded `goto L;` whose error variable was last set to -EXXX
//             (or to a call's result: errno "from <call>"; set to 0: no exit)
//   assign    a guarded `VAR = -EXXX;` (or ERR_PTR(-EXXX)) of the variable the
//             function returns, with no goto or return after it in its block
//   propagate a guarded `return X;` of the variable the guard tests
//             (`if (IS_ERR(f)) return f;`, `if (ret) return ret;`)

export interface Guard {
  /** Lines of the condition: its evaluation count is the highest line count among them. */
  condFrom: number;
  condTo: number;
  /** Last line of the guarded statement or block: the first counted line after it is where the condition falls through to. */
  end: number;
  /** 'if' guards can be judged by their arcs; else/case/loop guards only by a line of their own. */
  kind: 'if' | 'other';
}

export interface ErrorExit {
  func: string;
  line: number;
  kind: 'return' | 'goto' | 'assign' | 'propagate';
  /** EINVAL, or "from fget_raw" for a propagated error, "?" when unknown. */
  errno: string;
  /** The statement's source line, trimmed. */
  text: string;
  /** In an __init function: it ran at boot, before the counters were reset. */
  init?: boolean;
  /** A goto's label. */
  label?: string;
  /** An unguarded exit after this label: reached by the gotos to it. */
  under?: string;
  /** Lines of the function's block, for judging a fall-through. */
  funcEnd: number;
  guard?: Guard;
}

export interface CFunction { name: string; line: number; endLine: number; bodyStart: number; bodyEnd: number; /** __init: runs at boot, before kgate resets the counters. */ init: boolean }

/** Comments, string and char literals and preprocessor lines replaced by spaces (newlines kept, so offsets and lines hold). */
export function blank(src: string): string {
  const out = src.split('');
  const wipe = (a: number, b: number) => { for (let k = a; k < b; k++) if (out[k] !== '\n') out[k] = ' '; };
  let i = 0;
  let lineStart = true;
  while (i < src.length) {
    const c = src[i];
    if (lineStart && /[ \t]/.test(c)) { i++; continue; }
    if (lineStart && c === '#') {
      // A directive runs to the end of the line and its backslash continuations.
      let j = i;
      while (j < src.length && !(src[j] === '\n' && src[j - 1] !== '\\')) j++;
      wipe(i, j);
      i = j;
      continue;
    }
    lineStart = c === '\n';
    if (c === '/' && src[i + 1] === '*') {
      const j = src.indexOf('*/', i + 2);
      const e = j < 0 ? src.length : j + 2;
      wipe(i, e);
      i = e;
    } else if (c === '/' && src[i + 1] === '/') {
      let j = i;
      while (j < src.length && src[j] !== '\n') j++;
      wipe(i, j);
      i = j;
    } else if (c === '"' || c === '\'') {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      wipe(i + 1, j);
      i = j + 1;
    } else i++;
  }
  return out.join('');
}

function lineAt(starts: number[], off: number): number {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= off) lo = mid; else hi = mid - 1;
  }
  return lo + 1;
}

function matchForward(t: string, open: number): number {
  const o = t[open], c = o === '(' ? ')' : o === '{' ? '}' : ']';
  let d = 0;
  for (let i = open; i < t.length; i++) {
    if (t[i] === o) d++;
    else if (t[i] === c && --d === 0) return i;
  }
  return t.length - 1;
}

function matchBackward(t: string, close: number): number {
  const c = t[close], o = c === ')' ? '(' : c === '}' ? '{' : '[';
  let d = 0;
  for (let i = close; i >= 0; i--) {
    if (t[i] === c) d++;
    else if (t[i] === o && --d === 0) return i;
  }
  return 0;
}

/** Functions defined at the top level: a `{` whose header ends with a parameter list. */
export function functions(t: string): CFunction[] {
  const starts = lineStarts(t);
  const out: CFunction[] = [];
  let headerFrom = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === ';') { headerFrom = i + 1; continue; }
    if (c !== '{') continue;
    const end = matchForward(t, i);
    const header = t.slice(headerFrom, i).trimEnd();
    if (header.endsWith(')') && !/=\s*$/.test(header) && !/\b(struct|union|enum)\s+\w+\s*$/.test(header)) {
      const close = headerFrom + header.length - 1;
      const open = matchBackward(t, close);
      const name = /(\w+)\s*$/.exec(t.slice(headerFrom, open))?.[1];
      if (name && !['if', 'while', 'for', 'switch'].includes(name)) out.push({ name, line: lineAt(starts, open), endLine: lineAt(starts, end), bodyStart: i, bodyEnd: end, init: /\b__init\b/.test(header) });
    }
    i = end;
    headerFrom = end + 1;
  }
  return out;
}

function lineStarts(t: string): number[] {
  const s = [0];
  for (let i = 0; i < t.length; i++) if (t[i] === '\n') s.push(i + 1);
  return s;
}

const prevWord = (t: string, at: number): string => /(\w+)\s*$/.exec(t.slice(Math.max(0, at - 40), at))?.[1] ?? '';

/** The if/else/case/loop a statement starting at `p` runs under, within [from, p). */
function guardOf(t: string, p: number, from: number, starts: number[]): (Guard & { block?: [number, number] }) | undefined {
  let j = p - 1;
  while (j > from && /\s/.test(t[j])) j--;
  const viaParen = (close: number, stmtEnd: number, block?: [number, number]) => {
    const open = matchBackward(t, close);
    const w = prevWord(t, open);
    if (w === 'if') return { condFrom: lineAt(starts, open), condTo: lineAt(starts, close), end: lineAt(starts, stmtEnd), kind: 'if' as const, ...(block ? { block } : {}) };
    if (w === 'while' || w === 'for' || w === 'switch') return { condFrom: lineAt(starts, open), condTo: lineAt(starts, close), end: lineAt(starts, stmtEnd), kind: 'other' as const, ...(block ? { block } : {}) };
    return undefined;
  };
  const stmtEnd = t.indexOf(';', p);
  if (t[j] === ')') return viaParen(j, stmtEnd);
  if (t[j] === ':' || /\belse$/.test(t.slice(from, j + 1))) return { condFrom: lineAt(starts, j), condTo: lineAt(starts, j), end: lineAt(starts, stmtEnd), kind: 'other' };
  // Inside a block: the block's own opener decides.
  let d = 0;
  for (let k = p - 1; k > from; k--) {
    if (t[k] === '}') d++;
    else if (t[k] === '{') {
      if (d > 0) { d--; continue; }
      const close = matchForward(t, k);
      let b = k - 1;
      while (b > from && /\s/.test(t[b])) b--;
      if (t[b] === ')') return viaParen(b, close, [k, close]);
      if (/\belse$/.test(t.slice(from, b + 1))) return { condFrom: lineAt(starts, b), condTo: lineAt(starts, b), end: lineAt(starts, close), kind: 'other', block: [k, close] };
      // A case label's block, or a plain block: look further out.
      return t.slice(from, b + 1).trimEnd().endsWith(':') ? { condFrom: lineAt(starts, b), condTo: lineAt(starts, b), end: lineAt(starts, close), kind: 'other', block: [k, close] } : undefined;
    }
  }
  return undefined;
}

const ERRNO = /^\s*(?:ERR_PTR\s*\(\s*)?-\s*(E[A-Z0-9]+)\b/;

/** Every error exit of every function in `src` (or of the functions named). */
export function errorExits(src: string, only?: (name: string) => boolean): ErrorExit[] {
  const t = blank(src);
  const starts = lineStarts(t);
  const srcLines = src.split('\n');
  const out: ErrorExit[] = [];
  for (const f of functions(t)) {
    if (only && !only(f.name)) continue;
    const body = t.slice(f.bodyStart, f.bodyEnd + 1);
    const at = (rel: number) => f.bodyStart + rel;
    const push = (off: number, kind: ErrorExit['kind'], errno: string, guard?: Guard, label?: string) => {
      const line = lineAt(starts, off);
      if (out.some((e) => e.func === f.name && e.line === line)) return;
      // An unguarded exit under a label is reached by the gotos to it.
      const under = guard ? undefined : [...body.slice(0, off - f.bodyStart).matchAll(/(?:^|[;{}])\s*(\w+)\s*:(?!:)/g)].filter((x) => !['default', 'case'].includes(x[1])).at(-1)?.[1];
      out.push({ func: f.name, line, kind, errno, text: (srcLines[line - 1] ?? '').trim(), funcEnd: f.endLine, ...(f.init ? { init: true } : {}),
        ...(label ? { label } : {}), ...(under ? { under } : {}), ...(guard ? { guard: { condFrom: guard.condFrom, condTo: guard.condTo, end: guard.end, kind: guard.kind } } : {}) });
    };
    // The variables this function returns its errors in.
    const errVars = new Set<string>();
    for (const m of body.matchAll(/\breturn\s+([^;]*);/g)) {
      for (const v of m[1].matchAll(/(?:ERR_PTR|ERR_CAST)\s*\(\s*(\w+)\s*\)/g)) errVars.add(v[1]);
      const plain = /^\s*(\w+)\s*$/.exec(m[1]);
      if (plain && !/^\d/.test(plain[1])) errVars.add(plain[1]);
    }
    // An error variable is one the function returns, or one named as kernel code names them.
    const allAssignments = [...body.matchAll(/\b(\w+)\s*=(?!=)\s*([^;]*);/g)];
    const assignments = allAssignments.filter((m) => errVars.has(m[1]) || /^(err|error|res|ret|rc|retval)$/.test(m[1]));
    for (const m of body.matchAll(/\breturn\b([^;]*);/g)) {
      const off = at(m.index!);
      const e = ERRNO.exec(m[1]);
      const guard = guardOf(t, off, f.bodyStart, starts);
      if (e) { push(off, 'return', e[1], guard); continue; }
      const v = /^\s*(?:ERR_PTR\s*\(\s*|ERR_CAST\s*\(\s*|PTR_ERR\s*\(\s*)?(\w+)\s*\)?\s*$/.exec(m[1])?.[1];
      if (!v || !guard || guard.kind !== 'if') continue;
      const cond = t.slice(starts[guard.condFrom - 1], starts[guard.condTo] ?? t.length);
      const ifCond = /\bif\s*\(([\s\S]*)\)/.exec(cond)?.[1] ?? '';
      if (testsForError(ifCond, v)) push(off, 'propagate', `from ${setterOf(allAssignments, v, m.index!)}`, guard);
    }
    for (const m of body.matchAll(/\bgoto\s+(\w+)\s*;/g)) {
      const off = at(m.index!);
      const guard = guardOf(t, off, f.bodyStart, starts);
      if (!guard) continue;
      const last = assignments.filter((a) => a.index! < m.index!).at(-1);
      if (!last) { if (/err|fail|bad/.test(m[1])) push(off, 'goto', '?', guard); continue; }
      const rhs = last[2].trim();
      if (/^0$/.test(rhs) || /^NULL$/.test(rhs)) continue;
      const e = ERRNO.exec(rhs);
      const either = /^[^?]*\?\s*-\s*(E[A-Z0-9]+)\s*:\s*-\s*(E[A-Z0-9]+)\s*$/.exec(rhs);
      // err = call() in an if and in its else: either call's error.
      const prev = assignments.filter((a) => a.index! < last.index! && a[1] === last[1]).at(-1);
      const alt = prev && /^\s*else\s*$/.test(body.slice(prev.index! + prev[0].length, last.index!)) ? `|${setterOf(allAssignments, prev[2].trim(), prev.index!)}` : '';
      push(off, 'goto', e ? e[1] : either ? `${either[1]}|${either[2]}` : `from ${setterOf(allAssignments, rhs, m.index!)}${alt}`, guard, m[1]);
    }
    for (const a of assignments) {
      if (!errVars.has(a[1])) continue;
      const e = ERRNO.exec(a[2]);
      // `f = ERR_PTR(error);` under `if (error)`: the callee's error, assigned and returned.
      const passed = /^\s*ERR_PTR\s*\(\s*(\w+)\s*\)\s*$/.exec(a[2])?.[1];
      if (!e && !passed) continue;
      const off = at(a.index!);
      const guard = guardOf(t, off, f.bodyStart, starts);
      if (!guard) continue;
      if (passed) {
        const cond = guard.kind === 'if' ? t.slice(starts[guard.condFrom - 1], starts[guard.condTo] ?? t.length) : '';
        if (!testsForError(/\bif\s*\(([\s\S]*)\)/.exec(cond)?.[1] ?? '', passed)) continue;
      }
      // Only when nothing after it in its block leaves: a goto or return there is the exit.
      const blockEnd = guard.block ? guard.block[1] : t.indexOf(';', off);
      if (/\b(goto|return|break|continue)\b/.test(t.slice(t.indexOf(';', off) + 1, blockEnd))) continue;
      push(off, e ? 'assign' : 'propagate', e ? e[1] : `from ${setterOf(allAssignments, passed!, a.index!)}`, guard);
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

/** `IS_ERR(v)`, `v`, `v < 0`, `v != 0`, `unlikely(v)`: the condition is "v holds an error" (not `v && ...`, a success test). */
export function testsForError(cond: string, v: string): boolean {
  const c = cond.trim().replace(/^unlikely\s*\(([\s\S]*)\)$/, '$1').trim();
  return new RegExp(`^(IS_ERR(_OR_NULL)?\\s*\\(\\s*${v}\\s*\\)|${v}(\\s*(<\\s*0|!=\\s*0))?)$`).test(c);
}

function callName(rhs: string): string | undefined {
  return /^(?:PTR_ERR\s*\(\s*)?(\w+)\s*\(/.exec(rhs)?.[1] ?? /^PTR_ERR\s*\(\s*(\w+)/.exec(rhs)?.[1];
}

/** What set an error value: `PTR_ERR(x)` and a bare variable are followed back to the call that set x. */
function setterOf(assignments: RegExpMatchArray[], rhs: string, before: number): string {
  const v = /^\s*PTR_ERR\s*\(\s*(\w+)\s*\)\s*$/.exec(rhs)?.[1] ?? /^\s*(\w+)\s*$/.exec(rhs)?.[1];
  if (v) return lastSetter(assignments, v, before) ?? v;
  return callName(rhs.trim()) ?? rhs.trim();
}

function lastSetter(assignments: RegExpMatchArray[], v: string, before: number): string | undefined {
  const a = assignments.filter((m) => m[1] === v && m.index! < before).at(-1);
  return a ? callName(a[2].trim()) ?? a[2].trim() : undefined;
}
