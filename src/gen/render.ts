// Catalog + templates -> one C source per family binary. Pure rendering is
// separate from the file writes so tests can render without touching disk.
import { mkdirp } from '../util/fs.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Handlebars from 'handlebars';
import { createRequire } from 'node:module';
import { KgateError } from '../model.js';
import { projectRoot } from '../util/paths.js';
import { writeFileAtomic } from '../util/atomic.js';
import { groupByFamily, selectCases, type Api, type CaseDef, type CaseFilter, type FamilyDef } from '../catalog/index.js';


export const binaryName = (family: string): string => `kgate-${family}`;

/** A C string literal; the catalog is ASCII, anything else is escaped as octal. */
export function cString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '\\' + b.toString(8).padStart(3, '0');
  }
  return out + '"';
}
export const cIdent = (id: string): string => id.replace(/[^A-Za-z0-9_]/g, '_');

/** An isolated Handlebars: noEscape (HTML escaping corrupts C), strict (a missing variable is an error). */
export function makeHandlebars(): typeof Handlebars {
  // Loaded when something is rendered: an up-to-date suite renders nothing (renderKey).
  const hb = (createRequire(import.meta.url)('handlebars') as typeof Handlebars).create();
  hb.registerHelper('cstr', (s: unknown) => cString(String(s)));
  hb.registerHelper('cident', (s: unknown) => cIdent(String(s)));
  return hb;
}
export const HB_OPTIONS = { noEscape: true, strict: true } as const;

/** Renders one template text; throws KgateError('bug') on a template error (e.g. a missing variable). */
export function renderTemplate(text: string, context: object, hb = makeHandlebars(), name = 'template'): string {
  try {
    return hb.compile(text, HB_OPTIONS)(context);
  } catch (e) {
    throw new KgateError('bug', `template ${name}: ${(e as Error).message.split('\n')[0]}`);
  }
}

export interface Templates {
  dir: string;
  suite: string;
  partials: Record<string, string>;   // uapi, server, harness_head, harness_main, family/<name>
}

export function loadTemplates(dir = join(projectRoot(), 'templates', 'c')): Templates {
  if (!existsSync(join(dir, 'suite.c.hbs'))) throw new KgateError('infra', `no templates in ${dir}`);
  const partials: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.hbs') && f !== 'suite.c.hbs') partials[f.replace(/\..*$/, '')] = readFileSync(join(dir, f), 'utf8');
  }
  const fdir = join(dir, 'families');
  for (const f of existsSync(fdir) ? readdirSync(fdir) : []) {
    if (f.endsWith('.c.hbs')) partials[`family/${basename(f, '.c.hbs')}`] = readFileSync(join(fdir, f), 'utf8');
  }
  return { dir, suite: readFileSync(join(dir, 'suite.c.hbs'), 'utf8'), partials };
}

/**
 * The second output of the same templates: the kselftest export
 * (src/export) renders with `ksft` set, its program name, and each known
 * outcome's range as a C initializer (`ksftRange`), so the binary judges by
 * the running kernel's version as kgate does.
 */
export interface KselftestRender { ksft: true; program: string }

/**
 * One Handlebars per set of templates, its partials compiled once: every
 * family includes the same large ones (harness, server, uapi), and compiling
 * them again per family was most of an up-to-date build's time (the build
 * gates the guest's boot, whose initrd carries the suite).
 */
const compiled = new WeakMap<Templates, typeof Handlebars>();
function handlebarsFor(t: Templates): typeof Handlebars {
  let hb = compiled.get(t);
  if (!hb) {
    hb = makeHandlebars();
    for (const [name, text] of Object.entries(t.partials)) hb.registerPartial(name, hb.compile(text, HB_OPTIONS));
    compiled.set(t, hb);
  }
  return hb;
}

/** The C source of one family binary holding `cases` (all of that family). */
export function renderFamily(family: FamilyDef, cases: readonly CaseDef[], t: Templates, mode?: KselftestRender): string {
  const partial = `family/${family.name}`;
  if (!(partial in t.partials)) throw new KgateError('bug', `no template for family ${family.name} (templates/c/families/${family.name}.c.hbs)`);
  const hb = handlebarsFor(t);
  const body = t.partials[partial];
  for (const c of cases) {
    // a catalog case without its C function would only show as a cc error
    if (!body.includes(`CASE(${cIdent(c.id)})`)) throw new KgateError('bug', `template family/${family.name} has no CASE(${cIdent(c.id)}) for ${c.id}`);
  }
  return renderTemplate(t.suite, {
    family: family.name, api: family.api, summary: family.summary,
    familyPartial: partial, cases, ksft: false, program: '', ...mode,
  }, hb, `suite.c.hbs (${family.name})`);
}

export interface RenderRequest extends CaseFilter {
  root?: string;          // project root (default: found from this module)
  srcDir?: string;        // default <root>/build/src
  templatesDir?: string;  // default <root>/templates/c
  /** Render exactly these cases instead of the filter's selection (the suite's
   *  self-checks render a tampered catalog: test/e2e/suite-can-fail.test.ts). */
  caseDefs?: readonly CaseDef[];
}
export interface RenderedSource {
  name: string;           // kgate-<family>
  family: string;
  api: Api;
  path: string;           // absolute path of the .c file
  cases: { id: string; timeoutSec: number }[];
  sha256: string;         // of the source text
  changed: boolean;       // false: the file already had this content and was not written
}
export interface RenderResult {
  srcDir: string;
  sources: RenderedSource[];
  durationMs: number;
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * What a family's source is made from: this module's code, every template,
 * and the family's cases. A source on disk stamped with the same key (and
 * still holding what was written) is that family's render without rendering:
 * Handlebars' first render in a process is ~120 ms, and the suite gates the
 * guest's boot (its initrd carries the suite).
 */
function renderKey(common: string, family: FamilyDef, cases: readonly CaseDef[]): string {
  return sha256(JSON.stringify([common, family, cases]));
}
/** renderKey's part every family shares: this module's code and the templates. */
function templatesKey(t: Templates): string {
  const code = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  return sha256(JSON.stringify([code, t.suite, Object.entries(t.partials).sort()]));
}

/** Renders the selected cases into <srcDir>/kgate-<family>.c, writing only changed files. */
export async function renderSuite(req: RenderRequest = {}): Promise<RenderResult> {
  const t0 = performance.now();
  const root = resolve(req.root ?? projectRoot());
  const srcDir = resolve(req.srcDir ?? join(root, 'build', 'src'));
  const templates = loadTemplates(req.templatesDir ?? join(root, 'templates', 'c'));
  const groups = groupByFamily(req.caseDefs ?? selectCases(req));
  try {
    mkdirp(srcDir);
  } catch (e) {
    // The build directory is the user's to choose (--build-dir, --out): a bad one is a usage error, exit 2.
    throw new KgateError('user', `cannot write the suite to ${srcDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (choose another build directory)`);
  }
  const sources: RenderedSource[] = [];
  const common = templatesKey(templates);
  for (const g of groups) {
    const name = binaryName(g.family.name);
    const path = join(srcDir, `${name}.c`);
    const stampPath = join(srcDir, `.${name}.c.key`);
    const key = renderKey(common, g.family, g.cases);
    const old = await readFile(path, 'utf8').catch(() => undefined);
    const [stampKey, stampSha] = (await readFile(stampPath, 'utf8').catch(() => '')).trim().split(' ');
    let text = old;
    let sum = old === undefined ? undefined : sha256(old);
    if (stampKey !== key || sum === undefined || stampSha !== sum) {
      text = renderFamily(g.family, g.cases, templates);
      sum = sha256(text);
    }
    const changed = old !== text;
    if (changed) writeFileAtomic(path, text!);
    if (changed || stampKey !== key) writeFileAtomic(stampPath, `${key} ${sum}\n`);
    sources.push({
      name, family: g.family.name, api: g.family.api, path,
      cases: g.cases.map((c) => ({ id: c.id, timeoutSec: c.timeoutSec })),
      sha256: sum!, changed,
    });
  }
  return { srcDir, sources, durationMs: performance.now() - t0 };
}
