/**
 * The language server: stateVersion diagnostics, hovers and quick fixes from src/core/lint, for
 * VS Code (through vscode-languageclient) and any LSP editor (`nixos-generations lsp --stdio`).
 * Diagnostics carry the source "nixos-generations" so they sit beside nil/nixd without clashing;
 * the server offers no completion, formatting or definitions, which stay with those servers.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  createConnection,
  DiagnosticSeverity,
  DidChangeConfigurationNotification,
  FileChangeType,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import type { CodeAction, Connection, Diagnostic, Hover, InitializeParams } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { isGitHeadFile, LintService } from '../core/lint/service';
import type { ServiceSettings } from '../core/lint/service';
import type { LintDiagnostic, Severity } from '../core/lint/types';

export const DIAGNOSTIC_SOURCE = 'nixos-generations';
const DEBOUNCE_MS = 150;

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

function uriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

/** Starts the language server on the connection given by the process arguments (--stdio, --node-ipc, ...). */
export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): void {
  const documents = new TextDocuments(TextDocument);
  const service = new LintService({ base: 'HEAD', runDir: '' });
  /** Published diagnostics per project: file path -> (uri, our diagnostics). */
  const published = new Map<string, Map<string, { uri: string; diagnostics: LintDiagnostic[] }>>();
  const uriOfPath = new Map<string, string>();
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Map<string, Promise<void>>();
  let canConfigure = false;
  /**
   * In an untrusted workspace the client says `trusted: false`: then no git runs in it (a repository's config
   * can name programs git would run) and the deployed-generation comparison is off. Other editors: trusted.
   */
  let trusted = true;
  const configure = (settings: ServiceSettings): void =>
    service.configure(trusted ? settings : { ...settings, base: '', runDir: '' });

  const uriFor = (file: string): string => uriOfPath.get(file) ?? pathToFileURL(file).href;

  const toLsp = (d: LintDiagnostic): Diagnostic => ({
    range: d.range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: DIAGNOSTIC_SOURCE,
    message: d.message,
  });

  const lintNow = async (file: string): Promise<void> => {
    let result: Awaited<ReturnType<LintService['lintProjectOf']>>;
    try {
      result = await service.lintProjectOf(file);
    } catch (error) {
      connection.console.error(
        `nixos-generations: lint failed for ${file}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return;
    }
    const previous = published.get(result.dir) ?? new Map();
    const openPaths = new Set(documents.all().flatMap((d) => uriToPath(d.uri) ?? []));
    const next = new Map<string, { uri: string; diagnostics: LintDiagnostic[] }>();
    for (const [f, diagnostics] of result.byFile) {
      // Files without diagnostics are published only when open (so the editor hears back) or when they had some.
      if (diagnostics.length === 0 && !previous.has(f) && !openPaths.has(f)) continue;
      const uri = uriFor(f);
      if (diagnostics.length) next.set(f, { uri, diagnostics });
      void connection.sendDiagnostics({ uri, diagnostics: diagnostics.map(toLsp) });
    }
    for (const [f, entry] of previous) {
      if (!result.byFile.has(f)) void connection.sendDiagnostics({ uri: entry.uri, diagnostics: [] });
    }
    published.set(result.dir, next);
  };

  /** Lints the project of `file` after a pause; edits during a run queue one more run. */
  const schedule = (file: string, delay = DEBOUNCE_MS): void => {
    const key = file;
    const pending = timers.get(key);
    if (pending) clearTimeout(pending);
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        const before = running.get(key) ?? Promise.resolve();
        const run = before.then(() => lintNow(file));
        running.set(key, run);
        void run.finally(() => {
          if (running.get(key) === run) running.delete(key);
        });
      }, delay),
    );
  };

  const readSettings = async (): Promise<void> => {
    if (!canConfigure) return;
    try {
      const [cfg] = (await connection.workspace.getConfiguration([{ section: 'nixosGenerations' }])) as [
        { lint?: { base?: unknown }; runDir?: unknown } | null,
      ];
      const settings: ServiceSettings = {
        base: typeof cfg?.lint?.base === 'string' ? cfg.lint.base : 'HEAD',
        runDir: typeof cfg?.runDir === 'string' ? cfg.runDir : '',
      };
      configure(settings);
    } catch {
      // The client does not answer configuration requests: keep the defaults.
    }
  };

  connection.onInitialize((params: InitializeParams) => {
    canConfigure = params.capabilities.workspace?.configuration === true;
    const options = params.initializationOptions as { base?: unknown; runDir?: unknown; trusted?: unknown } | undefined;
    trusted = options?.trusted !== false;
    configure({
      base: typeof options?.base === 'string' ? options.base : 'HEAD',
      runDir: typeof options?.runDir === 'string' ? options.runDir : '',
    });
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: 'nixos-generations' },
    };
  });

  connection.onInitialized(() => {
    if (canConfigure) {
      void connection.client
        .register(DidChangeConfigurationNotification.type, { section: 'nixosGenerations' })
        .catch(() => undefined);
      void readSettings().then(() => {
        for (const doc of documents.all()) {
          const f = uriToPath(doc.uri);
          if (f) schedule(f, 0);
        }
      });
    }
  });

  connection.onDidChangeConfiguration(() => {
    void readSettings().then(() => {
      for (const doc of documents.all()) {
        const f = uriToPath(doc.uri);
        if (f) schedule(f);
      }
    });
  });

  documents.onDidOpen((e) => {
    const f = uriToPath(e.document.uri);
    if (!f) return;
    uriOfPath.set(f, e.document.uri);
    service.setOverlay(f, e.document.getText());
    schedule(f, 0);
  });
  documents.onDidChangeContent((e) => {
    const f = uriToPath(e.document.uri);
    if (!f) return;
    service.setOverlay(f, e.document.getText());
    schedule(f);
  });
  documents.onDidClose((e) => {
    const f = uriToPath(e.document.uri);
    if (!f) return;
    service.removeOverlay(f);
    schedule(f);
  });

  connection.onDidChangeWatchedFiles((params) => {
    const touched = new Set<string>();
    for (const change of params.changes) {
      const f = uriToPath(change.uri);
      if (!f) continue;
      const kind =
        change.type === FileChangeType.Created
          ? 'created'
          : change.type === FileChangeType.Deleted
            ? 'deleted'
            : 'changed';
      service.fileChanged(f, kind);
      touched.add(f);
    }
    // Re-lint the projects that hold an open document (a flake.lock edit re-checks the .nix files).
    const dirs = new Set<string>();
    for (const f of touched) {
      // HEAD moved (commit, checkout): every project's comparison may change.
      if (isGitHeadFile(f)) service.knownProjects().forEach((d) => dirs.add(d));
      for (const d of service.knownProjects()) if (f.startsWith(d)) dirs.add(d);
    }
    for (const doc of documents.all()) {
      const f = uriToPath(doc.uri);
      if (f && [...dirs].some((d) => f.startsWith(d))) schedule(f);
    }
  });

  const ourDiagnostics = (uri: string): LintDiagnostic[] => {
    const f = uriToPath(uri);
    if (!f) return [];
    for (const project of published.values()) {
      const entry = project.get(f);
      if (entry) return entry.diagnostics;
    }
    return [];
  };

  connection.onCodeAction((params) => {
    const actions: CodeAction[] = [];
    const ours = ourDiagnostics(params.textDocument.uri);
    for (const d of ours) {
      if (!overlaps(d.range, params.range)) continue;
      const lsp = toLsp(d);
      for (const fix of d.fixes ?? []) {
        actions.push({
          title: fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [lsp],
          isPreferred: fix.preferred === true,
          edit: { changes: { [uriFor(fix.file)]: fix.edits } },
        });
      }
    }
    return actions;
  });

  connection.onHover((params): Hover | undefined => {
    const f = uriToPath(params.textDocument.uri);
    const doc = documents.get(params.textDocument.uri);
    if (!f || !doc) return undefined;
    const offset = doc.offsetAt(params.position);
    const parts: string[] = [];
    for (const d of ourDiagnostics(params.textDocument.uri)) {
      if (!contains(d.range, params.position)) continue;
      parts.push(d.detail ?? `**${d.code}**: ${d.message}`);
    }
    const about = service.hover(f, offset);
    if (about && !parts.some((p) => p.startsWith('**system.stateVersion** records'))) parts.push(about);
    if (parts.length === 0) return undefined;
    return { contents: { kind: 'markdown', value: [...new Set(parts)].join('\n\n---\n\n') } };
  });

  documents.listen(connection);
  connection.listen();
}

type LspRange = LintDiagnostic['range'];

function before(a: LspRange['start'], b: LspRange['start']): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

function overlaps(a: LspRange, b: LspRange): boolean {
  return before(a.start, b.end) && before(b.start, a.end);
}

function contains(r: LspRange, p: LspRange['start']): boolean {
  return before(r.start, p) && before(p, r.end);
}
