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

export interface Series {
  label: string;             // "V1", or what the user named it
  source: string;            // the path or range given
  mbox: string;              // every patch, in order, as one mbox
  patches: PatchInfo[];
  /** The files the series touches (both sides of each diff). */
  files: string[];
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

/** Only patch messages count (a b4 cover letter, 0/N without a diff, is left out). */
function fromMbox(label: string, source: string, text: string): Series {
  const msgs = splitMbox(text).filter((m) => /^diff --git /m.test(m));
  if (msgs.length === 0) throw new KgateError('user', `--series ${source}: no patch in it (no "diff --git" in any message)`);
  const mbox = msgs.map((m) => (m.endsWith('\n') ? m : m + '\n')).join('\n');
  return { label, source, mbox, patches: msgs.map((m, i) => patchInfo(m, i + 1)), files: touchedFiles(mbox) };
}

/** A --series argument: "[LABEL=]mbox-file | patch-dir | A..B". */
export async function readSeries(arg: string, index: number, tree: string): Promise<Series> {
  const eq = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(arg);
  const label = eq ? eq[1] : `V${index + 1}`;
  const source = eq ? eq[2] : arg;
  if (existsSync(source)) {
    const st = statSync(source);
    if (st.isDirectory()) {
      const files = readdirSync(source).filter((f) => /\.(patch|diff|eml|mbx)$/.test(f)).sort();
      if (files.length === 0) throw new KgateError('user', `--series ${source}: no .patch files in this directory`);
      return fromMbox(label, source, files.map((f) => readFileSync(path.join(source, f), 'utf8')).join('\n'));
    }
    return fromMbox(label, source, readFileSync(source, 'utf8'));
  }
  const range = /^([^.\s][^\s]*?)\.\.([^.\s][^\s]*)$/.exec(source);
  if (range) {
    await resolveRef(tree, range[1], `--series ${source}`);
    await resolveRef(tree, range[2], `--series ${source}`);
    // format-patch only reads the tree; --no-signature/--zero-commit keep the text the same run to run.
    const mbox = (await git(tree, ['format-patch', '--stdout', '--no-signature', '--zero-commit', '--no-stat', source])).stdout;
    if (!mbox.trim()) throw new KgateError('user', `--series ${source}: the range holds no commit`);
    return fromMbox(label, source, mbox + '\n');
  }
  throw new KgateError('user', `--series ${source}: not a file, a directory of patches or a git range A..B`);
}
