// POSIX shell quoting, for command lines shown to a user (--show-command, the
// reproducer in metadata.json) and sent to a remote shell over SSH. execa
// itself always gets argv arrays, never these strings.
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(word: string): string {
  return SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}
