// Plain text for a mail to a kernel list (bisect.txt, gate.txt, a nightly
// summary): no terminal escapes, no tabs, and no line over 72 columns; a long
// line is wrapped at a space under its own indentation (a hash or a path
// longer than the line is left whole: breaking it would make it useless).
const WIDTH = 72;

/** Trailers and bot commands are read by tools (git interpret-trailers, b4, regzbot) one line each: never wrapped. */
const TRAILER = /^(Fixes|Reported-by|Closes|Tested-by|Link|Cc): |^#regzbot /;

export function wrapLine(line: string, width = WIDTH): string[] {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\t/g, '    ').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trimEnd();
  if (clean.length <= width || TRAILER.test(clean)) return [clean];
  const indent = /^\s*/.exec(clean)![0];
  const cont = indent + '  ';
  const words = clean.slice(indent.length).split(' ');
  const out: string[] = [];
  let cur = indent;
  for (const w of words) {
    const lead = out.length === 0 ? indent : cont;
    if (cur.trim() === '') cur = lead + w;
    else if ((cur + ' ' + w).length <= width) cur += ' ' + w;
    else { out.push(cur); cur = cont + w; }
  }
  if (cur.trim()) out.push(cur);
  return out;
}

export function mailText(lines: string[], width = WIDTH): string {
  return lines.flatMap((l) => wrapLine(l, width)).join('\n') + '\n';
}

/** A trailer naming the reporter, or the line to fill in when kgate was not told who (it never invents an address). */
export function reporterTrailer(kind: 'Reported-by' | 'Tested-by', reporter: string | undefined): string {
  return `${kind}: ${reporter ?? '<Name <address>: give --reporter or set KGATE_REPORTER>'}`;
}

/**
 * The lines a reply to the list carries under a bisected regression, one per
 * line for the tools that read them: Still fails at (when bad was re-tested),
 * Reported-by/Closes, and Fixes: with regzbot's introduced for a verified
 * culprit, or regzbot's good..bad range when it is not verified.
 */
export function culpritTrailers(o: {
  culprit?: { commit: string; subject: string; verified: boolean };
  good?: string; bad?: string; badDescribe?: string; reporter?: string;
}): string[] {
  const short = (c: string) => c.slice(0, 12);
  const L: string[] = [];
  if (o.badDescribe && o.bad) L.push(`Still fails at ${o.badDescribe} (${short(o.bad)}), tested in this bisect.`);
  L.push(reporterTrailer('Reported-by', o.reporter), 'Closes: <the link of your report on lore, once it is sent>');
  if (o.culprit?.verified) L.push(`Fixes: ${short(o.culprit.commit)} ("${o.culprit.subject}")`, `#regzbot introduced: ${short(o.culprit.commit)}`);
  else if (o.good && o.bad) L.push(`#regzbot introduced: ${short(o.good)}..${short(o.bad)}`);
  return L;
}
