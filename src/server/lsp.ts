/** Our diagnostics in LSP terms: severity, the source name, ranges, file URIs. */
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { LintDiagnostic, Severity } from '../core/lint/types';

/** Diagnostics carry this source, so they sit beside nil/nixd without clashing. */
export const DIAGNOSTIC_SOURCE = 'nixos-generations';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toLsp(d: LintDiagnostic): Diagnostic {
  return {
    range: d.range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: DIAGNOSTIC_SOURCE,
    message: d.message,
  };
}

/** The path of a file: URI, or undefined for any other scheme. */
export function uriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

type LspRange = LintDiagnostic['range'];

function before(a: LspRange['start'], b: LspRange['start']): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

export function overlaps(a: LspRange, b: LspRange): boolean {
  return before(a.start, b.end) && before(b.start, a.end);
}

export function contains(r: LspRange, p: LspRange['start']): boolean {
  return before(r.start, p) && before(p, r.end);
}
