// kcidb.json: a MatrixReport as KCIDB I/O data, schema v4.5 (vendor/kcidb/,
// dumped from kcidb-io's own Python), for `kcidb-submit`. One checkout per
// kernel source (a tree commit + dirty diff, a Debian source version), one
// build per kernel a cell ran (x86_64, config_name from the base config), one
// test per case per cell. Ids are "<origin>:<sha256 of what identifies the
// object>", so the same kernel is the same build night after night, and a
// cell skipped as unchanged resubmits last night's tests under the same ids
// (KCIDB merges objects with one id: a resubmission is harmless). A culprit
// a nightly's bisect named (tonight's, or an earlier night's for a regression
// still open) is an issue of the code (culprit.code), one per commit, and
// each failing test of the cases it covers an incident of it: KernelCI's
// dashboards then show the failure with its first bad commit.
//
// Statuses: KCIDB has FAIL ERROR MISS PASS DONE SKIP; kgate's own three map
// onto the KCIDB status that says the same about the tested code, and keep
// kgate's word in misc.kgate_status:
//   XFAIL   -> PASS  an older kernel's known outcome inside its version range:
//                    the kernel did what that version is known to do (misc
//                    names expected, observed, the range and fix in reason)
//   CRASH   -> FAIL  the kernel oopsed, panicked or warned during the case:
//                    the tested code is faulty
//   TIMEOUT -> FAIL  the case hung past its deadline; kgate counts it a
//                    failure of the kernel (exit 1, a gate regression), not
//                    of the test, so not ERROR
//   the other six are KCIDB's own and pass through.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import type { CaseResult, KernelIdentity, RunResult, Status, StatusFacts } from '../model.js';
import { KgateError, STATUS_FACTS, isFailure } from '../model.js';
import { writeFileAtomic } from '../util/atomic.js';
import { projectRoot } from '../util/paths.js';
import type { CellBisect, MatrixCell, MatrixReport } from './matrix.js';

export const KCIDB_JSON = 'kcidb.json';
export const KCIDB_VERSION = { major: 4, minor: 5 } as const;
/** The vendored schema, relative to kgate's checkout. */
export const KCIDB_SCHEMA = join('vendor', 'kcidb', `schema-v${KCIDB_VERSION.major}.${KCIDB_VERSION.minor}.json`);

export type KcidbStatus = StatusFacts['kcidb'];
type Misc = Record<string, unknown>;

export interface KcidbCheckout {
  id: string; origin: string;
  tree_name?: string; git_commit_hash?: string; git_commit_name?: string; patchset_hash?: string;
  comment?: string; valid?: boolean; misc?: Misc;
}
export interface KcidbBuild {
  id: string; origin: string; checkout_id: string;
  architecture?: string; config_name?: string; comment?: string; start_time?: string; duration?: number;
  log_excerpt?: string; valid?: boolean; misc?: Misc;
}
export interface KcidbTest {
  id: string; origin: string; build_id: string;
  path?: string; status?: KcidbStatus; comment?: string; start_time?: string; duration?: number;
  log_excerpt?: string; environment?: { comment?: string; misc?: Misc }; misc?: Misc;
}
/** A culprit a bisect named: the code's fault (culprit.code), one issue per commit. */
export interface KcidbIssue {
  id: string; version: number; origin: string;
  comment?: string; report_subject?: string; culprit?: { code?: boolean; tool?: boolean; harness?: boolean }; misc?: Misc;
}
/** A test that shows an issue. */
export interface KcidbIncident {
  id: string; origin: string; issue_id: string; issue_version: number;
  test_id?: string; present?: boolean; comment?: string; misc?: Misc;
}
export interface KcidbData {
  version: { major: number; minor: number };
  checkouts: KcidbCheckout[];
  builds: KcidbBuild[];
  tests: KcidbTest[];
  issues?: KcidbIssue[];
  incidents?: KcidbIncident[];
}

/** kgate's status as KCIDB's: model.ts's status table (why, at the top of this file). */
export function kcidbStatus(s: Status): KcidbStatus {
  return STATUS_FACTS[s].kcidb;
}

/** The test path root; a case is fuse_passthrough.<family>.<case id> (U03.dir: row U03, variant dir). */
export const KCIDB_PATH_ROOT = 'fuse_passthrough';
const node = (s: string) => s.replace(/[^a-zA-Z0-9_-]/g, '_') || '_';
export function kcidbPath(c: Pick<CaseResult, 'family' | 'id'>): string {
  return [KCIDB_PATH_ROOT, node(c.family), ...c.id.split('.').map(node)].join('.');
}

const LOG_EXCERPT_MAX = 16384; // the schema's maxLength (code points; a UTF-16 length bound is stricter)
function excerpt(lines: string[]): string | undefined {
  const s = lines.join('\n');
  if (s.length === 0) return undefined;
  if (s.length <= LOG_EXCERPT_MAX) return s;
  const cut = '\n[... cut by kgate ...]\n';
  const half = (LOG_EXCERPT_MAX - cut.length) >> 1;
  // Head and tail: the case's first diagnostics and the console's last (a crash's) lines.
  return s.slice(0, half) + cut + s.slice(s.length - half);
}

/** Drop undefined fields (the schema allows no nulls, and ajv sees an undefined property as present). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0))) as T;
}

const hash = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

interface Ident { checkoutKey: string; buildKey: string; k?: KernelIdentity }

function identityOf(m: MatrixReport, c: MatrixCell): Ident {
  const k = c.run?.kernel ?? c.run?.cases.find((r) => r.kernel)?.kernel;
  if (!k) {
    // No run: the cell's kernel as configured, tonight (a failed build is tonight's attempt, not a known build).
    return { checkoutKey: `kernel:${c.kernel}`, buildKey: `failed:${c.kernel}:${m.date}:${c.name}` };
  }
  const checkoutKey = k.commit ? `git:${k.commit}:${k.dirtyHash ?? ''}`
    : k.packageVersion ? `debian:${k.packageVersion}` : `kernel:${k.source ?? c.kernel}:${k.release}`;
  const buildKey = [checkoutKey, k.release, k.version ?? '', k.configHash ?? '', k.baseConfig ?? '', (k.fragments ?? []).join(','), k.package ?? ''].join('|');
  return { checkoutKey, buildKey, k };
}

function treeName(c: MatrixCell, k: KernelIdentity | undefined): string {
  const spec = k?.source ?? c.kernel;
  if (k?.package || spec.startsWith('debian:')) return 'debian';
  const tree = /^tree:(.*?)(?:@[^@/]*)?$/.exec(spec);
  return tree ? basename(tree[1]) || tree[1] : spec;
}

function testOf(origin: string, buildId: string, cell: MatrixCell, run: RunResult, r: CaseResult): KcidbTest {
  const log = [...r.tap, ...(r.console?.length ? ['--- console', ...r.console] : [])];
  return compact<KcidbTest>({
    id: `${origin}:${hash(`test|${cell.name}|${run.runId}|${r.id}`)}`,
    origin,
    build_id: buildId,
    path: kcidbPath(r),
    status: kcidbStatus(r.status),
    comment: r.reason !== undefined ? `${r.id}: ${r.reason}` : r.id,
    start_time: run.startedAt, // per-case start times are not kept; the run's
    duration: r.durationMs !== undefined ? r.durationMs / 1000 : undefined,
    log_excerpt: excerpt(log),
    environment: compact({ comment: `${run.target}${run.accel ? ` (${run.accel})` : ''}`, misc: compact({ target: run.target, accel: run.accel }) }),
    misc: compact({
      kgate_status: r.status, case_id: r.id, family: r.family, api: r.api,
      expected: r.expected, observed: r.observed, reason: r.reason, details: r.details,
      cell: cell.name, selection: cell.selection, run_id: run.runId, cell_state: cell.state,
    }),
  });
}

/**
 * The bisect that named a culprit for this cell's case: tonight's own, else
 * the one an earlier night ran for the regression it is part of.
 */
function culpritOf(m: MatrixReport, cell: MatrixCell, id: string): CellBisect | undefined {
  if (cell.bisect?.culprit && cell.bisect.cases.includes(id)) return cell.bisect;
  return m.regressions?.find((r) => r.cell === cell.name && r.case === id && r.bisect?.culprit)?.bisect;
}

/** The matrix as KCIDB v4.5 I/O data. `origin` is the CI system's name in KCIDB ([a-z0-9_]+). */
export function toKcidb(m: MatrixReport, origin = 'kgate'): KcidbData {
  if (!/^[a-z0-9_]+$/.test(origin)) throw new KgateError('user', `KCIDB origin '${origin}' must be lower-case letters, digits and _`);
  const checkouts = new Map<string, KcidbCheckout>();
  const builds = new Map<string, KcidbBuild>();
  const tests: KcidbTest[] = [];
  const issues = new Map<string, KcidbIssue>();
  const incidents: KcidbIncident[] = [];
  for (const cell of m.cells) {
    const { checkoutKey, buildKey, k } = identityOf(m, cell);
    const checkoutId = `${origin}:${hash(`checkout|${checkoutKey}`)}`;
    const buildId = `${origin}:${hash(`build|${buildKey}`)}`;
    const ran = cell.run !== undefined;
    const co = checkouts.get(checkoutKey);
    if (!co) {
      checkouts.set(checkoutKey, compact<KcidbCheckout>({
        id: checkoutId, origin,
        tree_name: treeName(cell, k),
        git_commit_hash: k?.commit && /^[0-9a-f]{40}$/.test(k.commit) ? k.commit : undefined,
        git_commit_name: k?.describe,
        // The uncommitted diff a tree build included is its patchset; a clean commit has none ('').
        patchset_hash: k?.commit ? (k.dirtyHash && /^[0-9a-f]{64}$/.test(k.dirtyHash) ? k.dirtyHash : '') : undefined,
        comment: k?.pinned ?? cell.kernel,
        valid: ran ? true : undefined,
        misc: compact({ kernel: cell.kernel, kernel_version: k?.kernelVersion, package_version: k?.packageVersion }),
      }));
    } else if (ran) co.valid = true;
    if (!builds.has(buildKey)) {
      builds.set(buildKey, compact<KcidbBuild>({
        id: buildId, origin, checkout_id: checkoutId,
        architecture: 'x86_64',
        config_name: k?.baseConfig ?? (k?.package ? 'debian' : undefined),
        comment: k ? `${cell.kernel}: ${k.release}` : cell.kernel,
        // A kernel that ran was built (or unpacked) and booted. A failed cell may have failed to build or
        // to boot, and its one-line error does not say which: validity unknown, the error in log_excerpt.
        valid: ran ? true : undefined,
        log_excerpt: !ran && cell.error ? excerpt([cell.error]) : undefined,
        misc: compact({
          kernel_release: k?.release, kernel_version: k?.kernelVersion, config_hash: k?.configHash, fragments: k?.fragments,
          package: k?.package, package_version: k?.packageVersion, pinned: k?.pinned, commit: k?.commit, dirty_hash: k?.dirtyHash,
          error: !ran ? cell.error : undefined,
        }),
      }));
    }
    for (const r of cell.run?.cases ?? []) {
      const t = testOf(origin, buildId, cell, cell.run!, r);
      tests.push(t);
      // A failing test whose first bad commit a bisect found: an incident of that commit's issue.
      const b = isFailure(r.status) ? culpritOf(m, cell, r.id) : undefined;
      if (!b?.culprit) continue;
      const c = b.culprit;
      const issueId = `${origin}:${hash(`issue|${c.commit}`)}`;
      if (!issues.has(issueId)) {
        issues.set(issueId, compact<KcidbIssue>({
          id: issueId, version: 1, origin,
          comment: `${c.commit.slice(0, 12)} ("${c.subject}"): first bad commit by kgate bisect${c.verified ? ', verified' : ', not verified'}`,
          report_subject: c.subject,
          culprit: { code: true, tool: false, harness: false },
          misc: compact({ commit: c.commit, subject: c.subject, verified: c.verified, revert: c.revert, verify: c.verify, good: b.good.commit, bad: b.bad.commit, bisect_dir: b.dir }),
        }));
      }
      incidents.push(compact<KcidbIncident>({
        id: `${origin}:${hash(`incident|${t.id}|${issueId}`)}`, origin, issue_id: issueId, issue_version: 1,
        test_id: t.id, present: true, comment: `${r.id} on ${cell.name}`,
      }));
    }
  }
  return {
    version: { ...KCIDB_VERSION }, checkouts: [...checkouts.values()], builds: [...builds.values()], tests,
    ...(issues.size ? { issues: [...issues.values()], incidents } : {}),
  };
}

let validator: ValidateFunction | undefined;
/** Problems of `data` against the vendored KCIDB schema, one line each; [] when it validates. */
export function validateKcidb(data: unknown): string[] {
  if (!validator) {
    const schema = JSON.parse(readFileSync(join(projectRoot(), KCIDB_SCHEMA), 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true }) // strict: the schema compiles without unknown keywords;
    formats.default(ajv);
    validator = ajv.compile(schema);
  }
  if (validator(data)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`);
}

/** Write dir/kcidb.json for the matrix, atomically; refuses data its own schema check rejects (a kgate bug). */
export function writeKcidb(dir: string, m: MatrixReport, origin = 'kgate'): string {
  const data = toKcidb(m, origin);
  const problems = validateKcidb(data);
  if (problems.length > 0) {
    throw new KgateError('bug', `kcidb.json does not validate against KCIDB v${KCIDB_VERSION.major}.${KCIDB_VERSION.minor}`, problems.slice(0, 10).join('\n'));
  }
  const path = join(dir, KCIDB_JSON);
  writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
