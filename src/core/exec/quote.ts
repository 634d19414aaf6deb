/**
 * The one place where a value is turned into text for a POSIX shell. Used only where a command line
 * is unavoidable (a remote command over ssh, a line shown to the user); everything else spawns argv.
 */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument so that a POSIX shell reads it back as exactly one word with the same bytes. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) {
    throw new Error('a shell argument cannot contain a NUL byte');
  }
  if (value !== '' && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes every argument and joins them with spaces. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
