// junit.xml: one <testsuite> per family, one <testcase> per case, in the
// shape Jenkins, GitLab and GitHub's JUnit viewers agree on. JUnit knows only
// pass/failure/error/skipped, so kgate's statuses map onto those:
//   FAIL -> <failure>; CRASH, TIMEOUT, ERROR, MISS -> <error type=STATUS>
//   (the test did not run to a verdict); SKIP -> <skipped>; PASS, XFAIL, DONE
//   -> passed (XFAIL is "as expected": it must not turn CI red).
import { join } from 'node:path';
import type { CaseResult, RunResult, Status } from '../model.js';
import type { MatrixReport } from './matrix.js';
import { STATUS_FACTS, byFamily, speaksLine, type StatusFacts } from '../model.js';
import { writeFileAtomic } from '../util/atomic.js';
import { attrs, xmlText } from './xml.js';

export const JUNIT_XML = 'junit.xml';

/** The status table's JUnit kind (model.ts STATUS_FACTS). */
export function junitKind(s: Status): StatusFacts['junit'] {
  return STATUS_FACTS[s].junit;
}

function seconds(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : (ms / 1000).toFixed(3);
}

function caseBody(c: CaseResult): string {
  const lines: string[] = [];
  if (c.expected !== undefined || c.observed !== undefined) lines.push(`expected: ${c.expected ?? '?'}`, `observed: ${c.observed ?? '?'}`);
  for (const [k, v] of Object.entries(c.details ?? {})) lines.push(`${k}: ${v}`);
  return lines.join('\n');
}

function systemOut(c: CaseResult): string {
  const parts: string[] = [`status: ${c.status}${c.reason ? ` (${c.reason})` : ''}`];
  if (c.kernel?.release) parts.push(`kernel: ${c.kernel.release}`);
  const speaks = speaksLine(c.kernel);
  if (speaks) parts.push(speaks);
  if (c.tap.length > 0) parts.push('--- tap', ...c.tap);
  if (c.console && c.console.length > 0) parts.push('--- console', ...c.console);
  return parts.join('\n');
}

function testcase(c: CaseResult, indent: string): string {
  const head = `${indent}<testcase${attrs({ name: c.id, classname: `kgate.${c.family}`, time: seconds(c.durationMs) ?? '0.000' })}>`;
  const inner: string[] = [];
  const kind = junitKind(c.status);
  const message = c.reason ?? c.status;
  const body = caseBody(c);
  if (kind === 'failure' || kind === 'error') {
    inner.push(`${indent}  <${kind}${attrs({ message, type: c.status })}>${xmlText(body)}</${kind}>`);
  } else if (kind === 'skipped') {
    inner.push(`${indent}  <skipped${attrs({ message: c.reason })}/>`);
  }
  inner.push(`${indent}  <system-out>${xmlText(systemOut(c))}</system-out>`);
  return [head, ...inner, `${indent}</testcase>`].join('\n');
}

interface Counts { tests: number; failures: number; errors: number; skipped: number; timeMs: number }
function count(cases: CaseResult[]): Counts {
  const n: Counts = { tests: cases.length, failures: 0, errors: 0, skipped: 0, timeMs: 0 };
  for (const c of cases) {
    const k = junitKind(c.status);
    if (k === 'failure') n.failures++;
    else if (k === 'error') n.errors++;
    else if (k === 'skipped') n.skipped++;
    n.timeMs += c.durationMs ?? 0;
  }
  return n;
}

/** The junit.xml text for a run. */
export function formatJUnit(run: RunResult): string {
  const families = byFamily(run.cases);
  const all = count(run.cases);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites${attrs({ name: `kgate ${run.runId}`, tests: all.tests, failures: all.failures, errors: all.errors, skipped: all.skipped, time: seconds(all.timeMs), timestamp: run.startedAt })}>`);
  for (const [family, cases] of families) {
    const n = count(cases);
    out.push(`  <testsuite${attrs({ name: family, tests: n.tests, failures: n.failures, errors: n.errors, skipped: n.skipped, time: seconds(n.timeMs), timestamp: run.startedAt, hostname: run.target })}>`);
    const props: [string, string | undefined][] = [
      ['run.id', run.runId], ['target', run.target], ['accel', run.accel],
      ['kernel.release', run.kernel?.release ?? cases.find((c) => c.kernel)?.kernel?.release],
      ['kernel.speaks', run.kernel?.speaks ?? cases.find((c) => c.kernel?.speaks)?.kernel?.speaks],
      ['kernel.commit', run.kernel?.commit], ['kernel.config_hash', run.kernel?.configHash], ['kernel.source', run.kernel?.source],
      ['api', cases.find((c) => c.api)?.api],
    ];
    const present = props.filter(([, v]) => v !== undefined);
    if (present.length > 0) {
      out.push('    <properties>');
      for (const [name, value] of present) out.push(`      <property${attrs({ name, value })}/>`);
      out.push('    </properties>');
    }
    for (const c of cases) out.push(testcase(c, '    '));
    out.push('  </testsuite>');
  }
  const notes = [...run.problems];
  if (run.abort) notes.unshift(`run aborted (${run.abort.family}): ${run.abort.reason}`);
  if (notes.length > 0) out.push(`  <!-- ${xmlText(notes.join('\n')).replace(/-(?=-)/g, '- ')} -->`);
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

/** Write dir/junit.xml atomically. Returns the path. */
export function writeJUnit(dir: string, run: RunResult): string {
  const path = join(dir, JUNIT_XML);
  writeFileAtomic(path, formatJUnit(run));
  return path;
}

/** A matrix (a nightly): one <testsuite> per cell, its cases as <testcase>s named by case id, classname kgate.<cell>.<family>. */
export function formatMatrixJUnit(m: MatrixReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = count(m.cells.flatMap((c) => c.run?.cases ?? []));
  out.push(`<testsuites${attrs({ name: m.title, tests: all.tests, failures: all.failures, errors: all.errors, skipped: all.skipped, time: seconds(all.timeMs), timestamp: m.startedAt })}>`);
  for (const cell of m.cells) {
    const cases = cell.run?.cases ?? [];
    const n = count(cases);
    const broken = cell.state === 'failed';
    out.push(`  <testsuite${attrs({ name: cell.name, tests: n.tests + (broken ? 1 : 0), failures: n.failures, errors: n.errors + (broken ? 1 : 0), skipped: n.skipped, time: seconds(cell.ms ?? n.timeMs), timestamp: cell.run?.startedAt ?? m.startedAt })}>`);
    out.push('    <properties>');
    for (const [name, value] of [['kernel', cell.kernel], ['kernel.release', cell.run?.kernel?.release], ['selection', cell.selection], ['state', cell.state]] as const) {
      if (value !== undefined) out.push(`      <property${attrs({ name, value })}/>`);
    }
    out.push('    </properties>');
    // A cell with no kernel is one error, so a CI job that reads only JUnit still turns red.
    if (broken) out.push(`    <testcase${attrs({ name: 'kernel', classname: `kgate.${cell.name}` })}>\n      <error${attrs({ message: cell.error ?? 'not tested', type: 'ERROR' })}/>\n    </testcase>`);
    for (const c of cases) out.push(testcase({ ...c, family: `${cell.name}.${c.family}` }, '    '));
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
