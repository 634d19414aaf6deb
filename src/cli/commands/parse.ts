import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { LineIndex, parse, PARSE_MAX_CHARS } from '../../core/nix';

/**
 * `nixos-generations parse FILE...`: reports Nix syntax errors as `file:line:column: message` (1-based line
 * and column, the column counting UTF-16 code units like editors do). Exit 1 when any file has an error or
 * cannot be read, 0 otherwise.
 */
export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {});
  if (parsed.positionals.length === 0) throw new UsageError('parse needs at least one FILE');
  let failed = false;
  for (const file of parsed.positionals) {
    let text: string;
    try {
      text = await readFile(path.resolve(io.cwd, file), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EISDIR'
            ? 'is a directory'
            : code === 'EACCES'
              ? 'permission denied'
              : error instanceof Error
                ? error.message
                : String(error);
      io.err(`${file}: cannot read: ${why}\n`);
      failed = true;
      continue;
    }
    if (text.length > PARSE_MAX_CHARS) {
      io.err(`${file}: skipped: too large (${text.length} characters; parse reads up to ${PARSE_MAX_CHARS})\n`);
      failed = true;
      continue;
    }
    const { errors } = parse(text);
    if (errors.length === 0) continue;
    failed = true;
    const index = new LineIndex(text);
    for (const e of errors) {
      const pos = index.positionAt(e.start);
      io.out(`${file}:${pos.line + 1}:${pos.character + 1}: ${e.message}\n`);
    }
  }
  return failed ? 1 : 0;
}
