/** The shapes the lint engine produces: diagnostics with 0-based ranges (LSP style) and quick fixes. */
import type { Position, Range } from '../nix/lineIndex';

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export type DiagnosticCode =
  | 'stateversion-missing'
  | 'stateversion-invalid'
  | 'stateversion-newer-than-nixpkgs'
  | 'stateversion-changed'
  | 'service-follows-stateversion'
  | 'service-major-upgrade'
  | 'label-invalid'
  /** `lint --eval`: what raising stateVersion to the locked nixpkgs release would change (from evaluation). */
  | 'stateversion-raise-preview'
  /** A file not linted because it is over the size budget (core/lint/budget.ts). */
  | 'file-too-large';

/** 0-based line, 0-based UTF-16 column (as LSP): the parser's positions. */
export type { Position, Range };

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface QuickFix {
  title: string;
  /** Absolute path of the file the edits apply to. */
  file: string;
  edits: TextEdit[];
  /** The fix to offer first. */
  preferred?: boolean;
}

export interface LintDiagnostic {
  /** Absolute path. */
  file: string;
  range: Range;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  fixes?: QuickFix[];
  /** Longer explanation in Markdown, for hovers. */
  detail?: string;
  /** `stateversion-raise-preview`: the host, the stateVersion tried and every option that changes. */
  raise?: { host: string; target: string; changes: { option: string; from: string; to: string; note?: string }[] };
  /** `detail` already explains this option, so a hover leaves its own explanation of it out. */
  explains?: 'stateVersion';
}

export const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, information: 2, hint: 3 };

export function compareDiagnostics(a: LintDiagnostic, b: LintDiagnostic): number {
  return (
    (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
    a.range.start.line - b.range.start.line ||
    a.range.start.character - b.range.start.character ||
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
  );
}
