// KTAP normaliser: cuts the test output out of a console or SSH stream, line by
// line, the way tools/testing/kunit/kunit_parser.py's extract_tap_lines does:
// the text before the first "KTAP version"/"TAP version" is the console prefix
// (printk timestamp, caller id, a tag), stripped from every later line. It also
// flags kernel crash markers and the markers after which no TAP can follow.
// Nothing here throws: odd lines are classified, never rejected. The crash
// markers and the printk prefix are src/kmsg's, shared with the live console.
import { crashMarker } from '../kmsg/crash.js';
import { PRINTK_PREFIX_RE } from '../kmsg/printk.js';

/** What a line is, once the console prefix is gone. */
export type LineKind =
  | 'pre'      // before the first version line: boot noise, not part of any test
  | 'tap'      // a line of the TAP stream (structure decided by the parser)
  | 'noise'    // inside the stream but without the stream's prefix: another writer
  | 'end'      // a marker after which no TAP follows (kunit_parser's KTAP_END)
  | 'post';    // after an end marker, until a new version line

export interface NormLine {
  n: number;        // 1-based line number in the input
  raw: string;      // the input line, without its line terminator
  text: string;     // the line without the console prefix (for 'tap'); else raw
  kind: LineKind;
  /** A kernel crash marker on this line (oops, BUG, WARN, KASAN, panic ...). */
  crash?: string;
}

// kunit_parser.py: KTAP_START / TAP_START, searched anywhere in the line: what
// precedes the match is the prefix.
const VERSION_RE = /(K?TAP version \d+)\s*$/;
// kunit_parser.py KTAP_END, plus any panic: nothing after a panic is TAP.
const END_RE = /(List of all partitions:|Kernel panic - not syncing|reboot: System halted|reboot: Restarting system|reboot: Power down)/;

function isPrintkPrefix(prefix: string): boolean {
  const m = PRINTK_PREFIX_RE.exec(prefix);
  return m !== null && /^\s*$/.test(prefix.slice(m[0].length));
}

/**
 * A streaming normaliser: push raw lines in order, get each line back
 * classified. One instance per stream.
 */
export class KtapNormaliser {
  private n = 0;
  private started = false;
  private ended = false;
  private prefix = '';
  private printk = false;

  push(input: string): NormLine {
    this.n += 1;
    const raw = input.replace(/\r+$/, '').replace(/\r/g, '');
    const crash = crashMarker(raw);
    const line: NormLine = { n: this.n, raw, text: raw, kind: 'pre' };
    if (crash !== undefined) line.crash = crash;

    const stripped = this.started && !this.ended ? this.strip(raw) : undefined;
    const version = VERSION_RE.exec(raw);
    // A version line starts (or restarts, after a reboot or another binary) the
    // stream. A nested version line keeps the current prefix: it is recognised
    // by carrying that prefix.
    if (version && (stripped === undefined || !this.carriesPrefix(raw))) {
      this.prefix = raw.slice(0, version.index);
      this.printk = isPrintkPrefix(this.prefix);
      // A prefix that ends in indentation belongs to the line, not the console.
      if (!this.printk && /^\s+$/.test(this.prefix)) this.prefix = '';
      this.started = true;
      this.ended = false;
      line.kind = 'tap';
      line.text = raw.slice(this.prefix.length);
      if (this.printk) line.text = line.text.replace(/^ /, '');
      return line;
    }
    if (!this.started) return line;
    if (this.ended) { line.kind = 'post'; return line; }
    if (END_RE.test(raw)) {
      this.ended = true;
      line.kind = 'end';
      line.text = stripped ?? raw;
      return line;
    }
    if (stripped === undefined) { line.kind = 'noise'; return line; }
    line.kind = 'tap';
    line.text = stripped;
    return line;
  }

  /** The stream starts at this line without a version line (a headerless kselftest binary): no prefix. */
  startWithoutVersion(): void {
    this.started = true;
    this.ended = false;
    this.prefix = '';
    this.printk = false;
  }

  private carriesPrefix(raw: string): boolean {
    if (this.printk) return PRINTK_PREFIX_RE.test(raw);
    return this.prefix === '' || raw.startsWith(this.prefix) || raw === this.prefix.trimEnd();
  }

  /** The line without the stream's prefix, or undefined if it lacks it. */
  private strip(raw: string): string | undefined {
    if (this.printk) {
      // Width-independent, unlike kunit_parser's fixed prefix_len: timestamps
      // grow a digit after 9999 s, and CONFIG_PRINTK_CALLER adds "[ T1]".
      const m = PRINTK_PREFIX_RE.exec(raw);
      if (!m) return undefined;
      return raw.slice(m[0].length).replace(/^ /, '');
    }
    if (this.prefix === '') return raw;
    if (raw.startsWith(this.prefix)) return raw.slice(this.prefix.length);
    if (raw === this.prefix.trimEnd()) return '';
    return undefined;
  }
}

/** Normalise a whole log at once. */
export function normaliseLines(lines: Iterable<string>): NormLine[] {
  const norm = new KtapNormaliser();
  const out: NormLine[] = [];
  for (const l of lines) out.push(norm.push(l));
  return out;
}
