/** Hovers and quick fixes over the published diagnostics and the lint service. */
import {
  CodeActionKind,
  type CodeAction,
  type CodeActionParams,
  type Hover,
  type HoverParams,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { LintService } from '../core/lint/service';
import { contains, overlaps, toLsp, uriToPath } from './lsp';
import type { DiagnosticsPublisher } from './publisher';

/** The quick fixes of our diagnostics overlapping the range. */
export function codeActions(publisher: DiagnosticsPublisher, params: CodeActionParams): CodeAction[] {
  const file = uriToPath(params.textDocument.uri);
  if (!file) return [];
  const actions: CodeAction[] = [];
  for (const d of publisher.diagnosticsOf(file)) {
    if (!overlaps(d.range, params.range)) continue;
    const lsp = toLsp(d);
    for (const fix of d.fixes ?? []) {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [lsp],
        isPreferred: fix.preferred === true,
        edit: { changes: { [publisher.uriFor(fix.file)]: fix.edits } },
      });
    }
  }
  return actions;
}

/**
 * The explanations of our diagnostics under the cursor, then the service's own explanation of stateVersion —
 * unless a diagnostic's explanation already covers it (`explains`).
 */
export function hover(
  publisher: DiagnosticsPublisher,
  service: LintService,
  document: TextDocument | undefined,
  params: HoverParams,
  /** More Markdown for this position (what raising stateVersion would change, from evaluation). */
  more: readonly string[] = [],
): Hover | undefined {
  const file = uriToPath(params.textDocument.uri);
  if (!file || !document) return undefined;
  const parts: string[] = [];
  let explained = false;
  for (const d of publisher.diagnosticsOf(file)) {
    if (!contains(d.range, params.position)) continue;
    // The editor shows the diagnostic's message in the same hover: only the longer explanation is added.
    if (d.detail) parts.push(d.detail);
    if (d.explains === 'stateVersion') explained = true;
  }
  parts.push(...more);
  const about = explained ? undefined : service.hover(file, document.offsetAt(params.position));
  if (about) parts.push(about);
  if (parts.length === 0) return undefined;
  return { contents: { kind: 'markdown', value: [...new Set(parts)].join('\n\n---\n\n') } };
}
