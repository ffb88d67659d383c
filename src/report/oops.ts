// What a report quotes of a crash: the decoded frames (file:line, from the
// tree's decode_stacktrace.sh) when kgate had the kernel's vmlinux, else the
// console's first lines as the kernel printed them.

/** A decoded frame line: `name (fs/fuse/passthrough.c:238)`, inlined callers after it. */
const SOURCE_LINE = /[A-Za-z_][\w.]* \([\w./-]+:\d+/;

/** The report's first line, then each line that names a source line (RIP and the call trace), at most `max`. */
export function crashQuote(c: { console?: string[]; trace?: string[] }, max = 12): { decoded: boolean; lines: string[] } {
  if (c.trace?.length) {
    const [first, ...rest] = c.trace;
    return { decoded: true, lines: [first, ...rest.filter((l) => SOURCE_LINE.test(l)).slice(0, max - 1)].map((l) => l.trim()) };
  }
  return { decoded: false, lines: (c.console ?? []).slice(0, 8) };
}
