/**
 * Lints a project and publishes its diagnostics: files that lost every diagnostic are cleared, files without any
 * are published only when open (so the editor hears back). Keeps what was published for hovers and quick fixes.
 */
import { pathToFileURL } from 'node:url';
import type { Connection } from 'vscode-languageserver/node';
import type { LintService } from '../core/lint/service';
import type { LintDiagnostic } from '../core/lint/types';
import { toLsp } from './lsp';

interface Published {
  uri: string;
  diagnostics: LintDiagnostic[];
}

export class DiagnosticsPublisher {
  /** Per project directory: file path -> what was published for it. */
  private readonly published = new Map<string, Map<string, Published>>();
  /** The URI an editor used for a path (kept as it sent it). */
  private readonly uriOfPath = new Map<string, string>();

  constructor(
    private readonly connection: Connection,
    private readonly service: LintService,
    private readonly openPaths: () => Set<string>,
  ) {}

  rememberUri(file: string, uri: string): void {
    this.uriOfPath.set(file, uri);
  }

  uriFor(file: string): string {
    return this.uriOfPath.get(file) ?? pathToFileURL(file).href;
  }

  /** Lints the project holding `file` and publishes; a failure is logged, never thrown. */
  async lint(file: string): Promise<void> {
    let result: Awaited<ReturnType<LintService['lintProjectOf']>>;
    try {
      result = await this.service.lintProjectOf(file);
    } catch (error) {
      this.connection.console.error(
        `nixos-generations: lint failed for ${file}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return;
    }
    const previous = this.published.get(result.dir) ?? new Map<string, Published>();
    const open = this.openPaths();
    const next = new Map<string, Published>();
    for (const [f, diagnostics] of result.byFile) {
      if (diagnostics.length === 0 && !previous.has(f) && !open.has(f)) continue;
      const uri = this.uriFor(f);
      if (diagnostics.length) next.set(f, { uri, diagnostics });
      void this.connection.sendDiagnostics({ uri, diagnostics: diagnostics.map(toLsp) });
    }
    for (const [f, entry] of previous) {
      if (!result.byFile.has(f)) void this.connection.sendDiagnostics({ uri: entry.uri, diagnostics: [] });
    }
    this.published.set(result.dir, next);
  }

  /** Our diagnostics last published for a file. */
  diagnosticsOf(file: string): LintDiagnostic[] {
    for (const project of this.published.values()) {
      const entry = project.get(file);
      if (entry) return entry.diagnostics;
    }
    return [];
  }
}
