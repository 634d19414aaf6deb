/**
 * Bounds on what one lint reads, so that no repository can take the CLI or the language server down: a file over
 * LINT_FILE_MAX_BYTES is skipped (and said so), and a project stops reading once LINT_PROJECT_MAX_BYTES have been
 * read. The parser keeps the whole syntax tree (about 100 bytes of memory per byte of source), so these bounds are
 * what keeps memory under control: 1 MB is twice the largest NixOS module in nixpkgs.
 */
import { promises as fs } from 'node:fs';
import type { SourceReader } from './project';
import type { LintDiagnostic } from './types';

export const LINT_FILE_MAX_BYTES = 1024 * 1024;
const LINT_PROJECT_MAX_BYTES = 32 * 1024 * 1024;

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** What one lint run of one project has read, and what it skipped (file -> why). */
export class ReadBudget {
  readonly skipped = new Map<string, string>();
  private used = 0;
  private readonly admitted = new Set<string>();

  constructor(
    readonly fileMax = LINT_FILE_MAX_BYTES,
    readonly projectMax = LINT_PROJECT_MAX_BYTES,
  ) {}

  /** Whether a file of `size` bytes may be read; when not, the reason is kept in `skipped`. */
  admit(file: string, size: number): boolean {
    if (this.admitted.has(file)) return true;
    if (size > this.fileMax) {
      this.skipped.set(file, `skipped: too large (${mb(size)}; lint reads files up to ${mb(this.fileMax)})`);
      return false;
    }
    if (this.used + size > this.projectMax) {
      this.skipped.set(file, `skipped: the project has more than ${mb(this.projectMax)} of Nix files to read`);
      return false;
    }
    this.used += size;
    this.admitted.add(file);
    return true;
  }
}

/** Reads regular files from disk within `budget` (the size is checked before reading). */
export function budgetReader(budget: ReadBudget): SourceReader {
  return {
    async read(p) {
      try {
        const st = await fs.stat(p);
        if (!st.isFile() || !budget.admit(p, st.size)) return undefined;
        return await fs.readFile(p, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** The hint shown on a skipped file (an information diagnostic at its start). */
export function skippedDiagnostic(file: string, reason: string): LintDiagnostic {
  const at = { line: 0, character: 0 };
  return { file, range: { start: at, end: at }, severity: 'information', code: 'file-too-large', message: reason };
}
