// Byte chunks from a pipe or SSH channel -> whole lines, as they arrive.
export function splitLines(onLine: (line: string) => void): { push(b: Buffer | string): void; end(): void } {
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
