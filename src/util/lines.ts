// Lines, split in one place: byte chunks from a pipe, an SSH channel or a
// serial console as they arrive (lineSplitter), and whole texts (textLines).

/** Byte chunks -> whole lines, as they arrive. */
export function lineSplitter(onLine: (line: string) => void): { push(b: Buffer | string): void; end(): void } {
  let rest = '';
  return {
    push(b) {
      rest += b.toString();
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        onLine(rest.slice(0, i).replace(/\r$/, ''));
        rest = rest.slice(i + 1);
      }
    },
    end() {
      if (rest.length) onLine(rest);
      rest = '';
    },
  };
}

/** Split text into lines; a final newline does not make an extra empty line; CRLF counts as one end. */
export function textLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
