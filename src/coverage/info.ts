// lcov tracefiles (geninfo's .info) read into counts per file: functions
// (FN/FNDA), lines (DA) and branch arcs (BRDA). Records of one file met twice
// (two tests, or `lcov -a` output) are added up, as lcov does.

export interface Arc { block: number; branch: number; /** null: the condition never ran ("-"). */ taken: number | null }

export interface FileCoverage {
  functions: Map<string, { line: number; count: number }>;
  lines: Map<number, number>;
  branches: Map<number, Arc[]>;
}

export type Tracefile = Map<string, FileCoverage>;

export function parseInfo(text: string): Tracefile {
  const out: Tracefile = new Map();
  let cur: FileCoverage | undefined;
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l.startsWith('SF:')) {
      const name = l.slice(3);
      cur = out.get(name) ?? { functions: new Map(), lines: new Map(), branches: new Map() };
      out.set(name, cur);
      continue;
    }
    if (!cur) continue;
    if (l === 'end_of_record') { cur = undefined; continue; }
    const [tag, rest] = [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)];
    const f = rest.split(',');
    if (tag === 'FN') {
      const name = f.slice(1).join(',');
      const fn = cur.functions.get(name);
      cur.functions.set(name, { line: Number(f[0]), count: fn?.count ?? 0 });
    } else if (tag === 'FNDA') {
      const name = f.slice(1).join(',');
      const fn = cur.functions.get(name) ?? { line: 0, count: 0 };
      fn.count += Number(f[0]);
      cur.functions.set(name, fn);
    } else if (tag === 'DA') {
      const line = Number(f[0]);
      cur.lines.set(line, (cur.lines.get(line) ?? 0) + Number(f[1]));
    } else if (tag === 'BRDA') {
      const line = Number(f[0]);
      const arc: Arc = { block: Number(f[1]), branch: Number(f[2]), taken: f[3] === '-' ? null : Number(f[3]) };
      const arcs = cur.branches.get(line) ?? [];
      const same = arcs.find((a) => a.block === arc.block && a.branch === arc.branch);
      if (same) same.taken = same.taken === null && arc.taken === null ? null : (same.taken ?? 0) + (arc.taken ?? 0);
      else arcs.push(arc);
      cur.branches.set(line, arcs);
    }
  }
  return out;
}

/** The file of a tracefile whose path ends with `rel` (fs/fuse/passthrough.c). */
export function fileOf(tf: Tracefile, rel: string): FileCoverage | undefined {
  for (const [name, cov] of tf) if (name === rel || name.endsWith(`/${rel}`)) return cov;
  return undefined;
}

export interface Totals { lines: [number, number]; branches: [number, number]; functions: [number, number] }

/** Hit and found over the lines [from, to] of a file (a function's span), lcov's way: an arc is hit when taken > 0. */
export function totals(cov: FileCoverage, from = 0, to = Infinity): Totals {
  const t: Totals = { lines: [0, 0], branches: [0, 0], functions: [0, 0] };
  for (const [l, c] of cov.lines) if (l >= from && l <= to) { t.lines[1]++; if (c > 0) t.lines[0]++; }
  for (const [l, arcs] of cov.branches) if (l >= from && l <= to) for (const a of arcs) { t.branches[1]++; if ((a.taken ?? 0) > 0) t.branches[0]++; }
  for (const fn of cov.functions.values()) if (fn.line >= from && fn.line <= to) { t.functions[1]++; if (fn.count > 0) t.functions[0]++; }
  return t;
}
