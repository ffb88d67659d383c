// A LAVA job log: one entry a line, `{"dt": ..., "lvl": ..., "msg": ...}`,
// as lava-run writes it (on stderr) and as the server serves it
// (/api/v0.2/jobs/N/logs/, the same entries as a YAML list, "- " before each).
// The lines are YAML flow mappings that are nearly always JSON; a few carry a
// YAML tag (`"size": ! "1165"`), so JSON first and YAML when that fails.
import { parse as parseYaml } from 'yaml';
import { textLines } from '../util/lines.js';

export interface LavaLogEntry { dt?: string; lvl: string; msg: unknown }

export interface LavaResultEntry {
  /** The test definition: the monitor's name, the family for kgate's cases; "lava" for LAVA's own actions. */
  suite: string;
  case: string;
  result: string;
  measurement?: string;
  units?: string;
  /** The id the monitor matched before LAVA lower-cased it: kgate's case id. */
  testCaseId?: string;
  extra?: Record<string, unknown>;
}

export interface ParsedLavaLog {
  entries: LavaLogEntry[];
  /** The device's serial console, in order: the lines of lvl "target". */
  target: string[];
  results: LavaResultEntry[];
  /** The job's error, from LAVA's own "job" result (error_type, error_msg) or its error lines. */
  error?: { type?: string; message: string };
  /** Lines that were neither JSON nor YAML (a log cut mid-line). */
  unreadable: number;
}

function entryOf(line: string): LavaLogEntry | undefined {
  const s = line.replace(/^- /, '').trim();
  if (!s.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    try { v = parseYaml(s); } catch { return undefined; }
  }
  return v && typeof v === 'object' && typeof (v as LavaLogEntry).lvl === 'string' ? (v as LavaLogEntry) : undefined;
}

export function parseLavaLog(text: string): ParsedLavaLog {
  const entries: LavaLogEntry[] = [];
  let unreadable = 0;
  for (const line of textLines(text)) {
    if (!line.trim()) continue;
    const e = entryOf(line);
    if (e) entries.push(e);
    else unreadable++;
  }
  const target: string[] = [];
  const results: LavaResultEntry[] = [];
  let error: ParsedLavaLog['error'];
  for (const e of entries) {
    if (e.lvl === 'target') {
      // One entry is one line of the serial console; a message may hold several.
      for (const l of String(e.msg ?? '').split(/\r?\n/)) target.push(l);
    } else if (e.lvl === 'results' && e.msg && typeof e.msg === 'object') {
      const m = e.msg as Record<string, unknown>;
      const extra = (m.extra && typeof m.extra === 'object' ? m.extra : undefined) as Record<string, unknown> | undefined;
      const r: LavaResultEntry = { suite: String(m.definition ?? ''), case: String(m.case ?? ''), result: String(m.result ?? '') };
      if (m.measurement !== undefined && m.measurement !== null) r.measurement = String(m.measurement);
      if (typeof m.units === 'string') r.units = m.units;
      if (typeof extra?.test_case_id === 'string') r.testCaseId = extra.test_case_id;
      if (extra) r.extra = extra;
      results.push(r);
      if (r.suite === 'lava' && r.case === 'job' && r.result !== 'pass') {
        // lava-run puts error_type and error_msg beside the result; the server's test case keeps them in its metadata.
        const type = m.error_type ?? extra?.error_type;
        error = { ...(typeof type === 'string' ? { type } : {}), message: String(m.error_msg ?? extra?.error_msg ?? 'the job failed') };
      }
    } else if (e.lvl === 'error' && !error) {
      error = { message: String(e.msg) };
    }
  }
  return { entries, target, results, ...(error ? { error } : {}), unreadable };
}
