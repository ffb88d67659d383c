// One revision of a patch series, from what a patch author has at hand: an
// mbox (`b4 am`, `git format-patch --stdout`), a directory of .patch files,
// or a git range A..B of the tree. Read into one mbox text for `git am` plus
// each patch's metadata (subject, author, Message-Id) for the report.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { KgateError } from '../model.js';
import { git, resolveRef } from '../util/git.js';

export interface PatchInfo {
  n: number;                 // 1-based position in the series
  subject: string;           // without the [PATCH vN m/k] prefix
  author?: string;
  messageId?: string;
  date?: string;
}

/** The series' cover letter: its subject without the prefix, and the version the prefix gives ("v3"). */
export interface CoverLetter { subject: string; version?: string }

export interface Series {
  label: string;             // "V1", the cover letter's version ("v3"), or what the user named it
  source: string;            // the path or range given
  mbox: string;              // every patch, in order, as one mbox
  patches: PatchInfo[];
  /** The files the series touches (both sides of each diff). */
  files: string[];
  /** What the series says it applies to: `base-commit:` (git format-patch --base, b4), or a range's start. */
  baseCommit?: string;
  cover?: CoverLetter;
}

/** Split an mbox into its messages (at "From " lines that start a message). */
export function splitMbox(text: string): string[] {
  const lines = text.split('\n');
  const starts: number[] = [];
  lines.forEach((l, i) => { if (/^From \S+ .*\d{4}\s*$/.test(l) || /^From [0-9a-f]{40} /.test(l)) starts.push(i); });
  if (starts.length === 0) return text.trim() ? [text] : [];
  return starts.map((s, k) => lines.slice(s, starts[k + 1] ?? lines.length).join('\n'));
}

/** A header of one message, with RFC 5322 continuation lines unfolded. */
function header(msg: string, name: string): string | undefined {
  const head = msg.split(/\n\n/)[0];
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\n[ \\t]+.*)*)`, 'mi').exec(head);
  return m ? m[1].replace(/\n[ \t]+/g, ' ').trim() : undefined;
}

export function patchInfo(msg: string, n: number): PatchInfo {
  const subject = (header(msg, 'Subject') ?? '(no subject)').replace(/^(\[[^\]]*\]\s*)+/, '').trim();
  const info: PatchInfo = { n, subject };
  const author = header(msg, 'From');
  const id = header(msg, 'Message-I[dD]');
  const date = header(msg, 'Date');
  if (author) info.author = author;
  if (id) info.messageId = id.replace(/^<|>$/g, '');
  if (date) info.date = date;
  return info;
}

export function touchedFiles(mbox: string): string[] {
  const out = new Set<string>();
  for (const m of mbox.matchAll(/^diff --git a\/(\S+) b\/(\S+)$/gm)) { out.add(m[1]); out.add(m[2]); }
  return [...out].sort();
}

/**
 * `base-commit: <sha>` as git format-patch --base and b4 write it: after the
 * cover letter's text, or the last patch's when there is no cover letter.
 * The last one given wins (a resend quotes older ones in its cover letter).
 */
export function baseCommitOf(text: string): string | undefined {
  return [...text.matchAll(/^base-commit: ([0-9a-f]{7,40})\s*$/gm)].at(-1)?.[1];
}

/** "[PATCH v3 0/5] fuse: ..." -> { subject: "fuse: ...", version: "v3" }; undefined for a subject that is not a 0/N cover. */
export function coverOf(subjectLine: string): CoverLetter | undefined {
  const m = /^((?:\[[^\]]*\]\s*)+)(.*)$/.exec(subjectLine.trim());
  if (!m || !/\b0+\/\d+\]/.test(m[1])) return undefined;
  const version = /\bv(\d+)\b/i.exec(m[1])?.[1];
  return { subject: m[2].trim(), ...(version ? { version: `v${version}` } : {}) };
}

/** Only patch messages count (a cover letter, 0/N without a diff, names the revision and its base but is not applied). */
function fromMbox(label: string | undefined, source: string, text: string, index: number): Series {
  const all = splitMbox(text);
  const msgs = all.filter((m) => /^diff --git /m.test(m));
  if (msgs.length === 0) throw new KgateError('user', `--series ${source}: no patch in it (no "diff --git" in any message)`);
  const mbox = msgs.map((m) => (m.endsWith('\n') ? m : m + '\n')).join('\n');
  const cover = all.map((m) => coverOf(header(m, 'Subject') ?? '')).find((c) => c !== undefined);
  const baseCommit = baseCommitOf(text);
  return {
    label: label ?? defaultLabel(cover, index), source, mbox, patches: msgs.map((m, i) => patchInfo(m, i + 1)), files: touchedFiles(mbox),
    ...(baseCommit ? { baseCommit } : {}), ...(cover ? { cover } : {}),
  };
}

/** A revision the user did not name: its cover letter's version ("V3"), else its place on the command line. */
function defaultLabel(cover: CoverLetter | undefined, index: number): string {
  return cover?.version ? cover.version.toUpperCase() : `V${index + 1}`;
}

/**
 * b4 prep keeps the cover letter as an empty commit at the start of the
 * branch, its message the cover text followed by b4's tracking data. In a
 * range it is not a patch (git format-patch leaves empty commits out), but it
 * names the revision: its subject, and b4's "revision".
 */
async function b4Cover(tree: string, range: string): Promise<CoverLetter | undefined> {
  const first = (await git(tree, ['rev-list', '--reverse', '--topo-order', range], { allowFail: true })).stdout.split('\n')[0]?.trim();
  if (!first) return undefined;
  const msg = (await git(tree, ['log', '-1', '--format=%B', first], { allowFail: true })).stdout;
  const marker = msg.indexOf('--- b4-submit-tracking ---');
  if (marker < 0) return undefined;
  const empty = (await git(tree, ['diff-tree', '--no-commit-id', '--name-only', '-r', first], { allowFail: true })).stdout.trim() === '';
  if (!empty) return undefined;
  // The tracking data: a comment line, then JSON whose series.revision is the version.
  let revision: number | undefined;
  try {
    const json = msg.slice(marker).split('\n').slice(1).filter((l) => !l.startsWith('#')).join('\n');
    revision = (JSON.parse(json.slice(0, json.lastIndexOf('}') + 1)) as { series?: { revision?: number } }).series?.revision;
  } catch { /* no JSON: the subject still names it */ }
  return { subject: msg.split('\n')[0].trim(), ...(revision ? { version: `v${revision}` } : {}) };
}

/** A --series argument: "[LABEL=]mbox-file | patch-dir | A..B". */
export async function readSeries(arg: string, index: number, tree: string): Promise<Series> {
  const eq = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(arg);
  const label = eq ? eq[1] : undefined;
  const source = eq ? eq[2] : arg;
  if (existsSync(source)) {
    const st = statSync(source);
    if (st.isDirectory()) {
      const files = readdirSync(source).filter((f) => /\.(patch|diff|eml|mbx)$/.test(f)).sort();
      if (files.length === 0) throw new KgateError('user', `--series ${source}: no .patch files in this directory`);
      return fromMbox(label, source, files.map((f) => readFileSync(path.join(source, f), 'utf8')).join('\n'), index);
    }
    return fromMbox(label, source, readFileSync(source, 'utf8'), index);
  }
  const range = /^([^.\s][^\s]*?)\.\.([^.\s][^\s]*)$/.exec(source);
  if (range) {
    const start = await resolveRef(tree, range[1], `--series ${source}`);
    await resolveRef(tree, range[2], `--series ${source}`);
    const cover = await b4Cover(tree, source);
    // format-patch only reads the tree; --no-signature/--zero-commit keep the text the same run to run.
    const mbox = (await git(tree, ['format-patch', '--stdout', '--no-signature', '--zero-commit', '--no-stat', source])).stdout;
    if (!mbox.trim()) throw new KgateError('user', `--series ${source}: the range holds no commit${cover ? ' but b4\'s cover letter' : ''}`);
    const s = fromMbox(label ?? defaultLabel(cover, index), source, mbox + '\n', index);
    return { ...s, baseCommit: start, ...(cover ? { cover } : {}) };
  }
  throw new KgateError('user', `--series ${source}: not a file, a directory of patches or a git range A..B`);
}
