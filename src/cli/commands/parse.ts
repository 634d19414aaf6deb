import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { LineIndex, parse, PARSE_MAX_CHARS } from '../../core/nix';

/**
 * `nixos-generations parse FILE...`: reports Nix syntax errors as `file:line:column: message` (1-based line
 * and column, the column counting UTF-16 code units like editors do). Exit 1 when any file has an error or
 * cannot be read, 0 otherwise.
 *
 * Files are read synchronously, one after the other: a batch of thousands of small files (home-manager's 3,500)
 * spent most of its time waiting on the thread pool with fs/promises (open, fstat, read, close: four round trips
 * per file), and parsing leaves nothing to overlap the reads with. (Worker threads were tried: each one warms
 * the parser up again, so on two cores they cost more CPU than they saved in wall time.)
 */
export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {});
  if (parsed.positionals.length === 0) throw new UsageError('parse needs at least one FILE');
  // relative names are left to the system when they are relative to this process's directory already
  const base = io.cwd === process.cwd() ? null : io.cwd;
  let failed = false;
  for (const file of parsed.positionals) {
    let text: string;
    try {
      text = readFileSync(base === null || path.isAbsolute(file) ? file : path.join(base, file), 'utf8');
    } catch (error) {
      io.err(`${file}: cannot read: ${readProblem(error)}\n`);
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

function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
