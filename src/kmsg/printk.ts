// The printk prefix of a kernel console line, in one place: the serial
// console, a KTAP stream read off it, a saved log and a LAVA job log all
// carry it the same way.

/**
 * syslog level "<4>", time "[   12.345678]", caller id "[  T123]" / "[    C1]"
 * (CONFIG_PRINTK_CALLER, with or without a space before it). The space that
 * follows is not part of it: what comes after may be KTAP indentation.
 */
export const PRINTK_PREFIX_RE = /^(?:<\d+>)?\[\s*\d+\.\d+\](?:\s?\[\s*[CT]?\d+\])?/;

/** The line without its printk prefix and the one space after it (and without a trailing CR). */
export function stripPrintk(line: string): string {
  const l = line.replace(/\r$/, '');
  const m = PRINTK_PREFIX_RE.exec(l);
  if (m) return l.slice(m[0].length).replace(/^ /, '');
  return l.replace(/^<\d>/, '');
}
