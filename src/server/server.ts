/**
 * The language server: stateVersion diagnostics, hovers and quick fixes from src/core/lint, for
 * VS Code (through vscode-languageclient) and any LSP editor (`nixos-generations lsp --stdio`).
 * Diagnostics carry the source "nixos-generations" so they sit beside nil/nixd without clashing;
 * the server offers no completion, formatting or definitions, which stay with those servers.
 * Settings and initialization options are parsed by core/protocol, shared with the client.
 */
import {
  CodeActionKind,
  createConnection,
  DidChangeConfigurationNotification,
  FileChangeType,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import type { Connection, InitializeParams } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { isGitHeadFile, isUnder, LintService } from '../core/lint/service';
import * as path from 'node:path';
import {
  DEFAULT_SERVER_SETTINGS,
  effectiveSettings,
  NOTIFICATIONS,
  parseEvaluationSettings,
  parseMachineFacts,
  parseInitializationOptions,
  parseSettingsSection,
  SETTINGS_SECTION,
  type ServerSettings,
} from '../core/protocol';
import { ServerEvaluation } from './evaluation';
import { codeActions, hover } from './features';
import { uriToPath } from './lsp';
import { DiagnosticsPublisher } from './publisher';
import { LintScheduler } from './scheduler';

export { DIAGNOSTIC_SOURCE } from './lsp';

const DEBOUNCE_MS = 150;

/** Starts the language server on the connection given by the process arguments (--stdio, --node-ipc, ...). */
export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): void {
  const documents = new TextDocuments(TextDocument);
  const service = new LintService(DEFAULT_SERVER_SETTINGS);
  const openPaths = (): string[] => documents.all().flatMap((d) => uriToPath(d.uri) ?? []);
  const publisher = new DiagnosticsPublisher(connection, service, () => new Set(openPaths()));
  const scheduler = new LintScheduler((file) => publisher.lint(file), DEBOUNCE_MS);
  let canConfigure = false;
  /** Other editors say nothing: trusted. VS Code sends its workspace trust (see core/protocol). */
  let trusted = true;
  const configure = (settings: ServerSettings): void => service.configure(effectiveSettings(settings, trusted));
  /** Background evaluation by Nix (trusted workspaces only); new results come back as a re-lint of the project. */
  const evaluation = new ServerEvaluation(connection, service, (dir) =>
    scheduler.schedule(path.join(dir, 'flake.nix'), 0),
  );

  const readSettings = async (): Promise<void> => {
    if (!canConfigure) return;
    try {
      const [section] = (await connection.workspace.getConfiguration([{ section: SETTINGS_SECTION }])) as unknown[];
      configure(parseSettingsSection(section));
      void evaluation.configure(
        parseEvaluationSettings((section as { evaluation?: unknown } | null)?.evaluation),
        trusted,
      );
    } catch {
      // The client does not answer configuration requests: keep the defaults.
    }
  };
  const relintOpen = (delay?: number): void => {
    for (const f of openPaths()) scheduler.schedule(f, delay);
  };

  connection.onInitialize((params: InitializeParams) => {
    canConfigure = params.capabilities.workspace?.configuration === true;
    const options = parseInitializationOptions(params.initializationOptions);
    trusted = options.trusted;
    configure(options);
    if (options.machine) service.setMachine(options.machine);
    evaluation.setClientCapabilities({
      workDoneProgress: params.capabilities.window?.workDoneProgress === true,
      codeLensRefresh: params.capabilities.workspace?.codeLens?.refreshSupport === true,
    });
    void evaluation.configure(
      parseEvaluationSettings((params.initializationOptions as { evaluation?: unknown } | null)?.evaluation),
      trusted,
    );
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: 'nixos-generations' },
    };
  });

  connection.onInitialized(() => {
    if (!canConfigure) return;
    void connection.client
      .register(DidChangeConfigurationNotification.type, { section: SETTINGS_SECTION })
      .catch(() => undefined);
    void readSettings().then(() => relintOpen(0));
  });
  connection.onDidChangeConfiguration(() => void readSettings().then(() => relintOpen()));

  documents.onDidOpen((e) => {
    const f = uriToPath(e.document.uri);
    if (!f) return;
    publisher.rememberUri(f, e.document.uri);
    service.setOverlay(f, e.document.getText());
    scheduler.schedule(f, 0);
  });
  documents.onDidChangeContent((e) => {
    const f = uriToPath(e.document.uri);
    if (!f) return;
    service.setOverlay(f, e.document.getText());
    scheduler.schedule(f);
  });
  // Evaluation follows saves (never keystrokes): Nix reads the files on disk.
  documents.onDidSave((e) => {
    const f = uriToPath(e.document.uri);
    if (f) void service.projectDir(f).then((dir) => evaluation.request(dir));
  });
  documents.onDidClose((e) => {
    const f = uriToPath(e.document.uri);
    if (!f) return;
    service.removeOverlay(f);
    scheduler.schedule(f);
  });

  connection.onDidChangeWatchedFiles((params) => {
    const dirs = new Set<string>();
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
      // HEAD moved (commit, checkout): every project's comparison may change; else the projects holding the file.
      for (const d of service.knownProjects()) if (isGitHeadFile(f) || isUnder(f, d)) dirs.add(d);
      // A new lock or a moved HEAD changes what Nix evaluates (an edited .nix file waits for its save).
      if (isGitHeadFile(f)) service.knownProjects().forEach((d) => evaluation.request(d));
      else if (path.basename(f) === 'flake.lock') evaluation.request(path.dirname(f));
    }
    // Re-lint the projects that hold an open document (a flake.lock edit re-checks the .nix files).
    for (const f of openPaths()) if ([...dirs].some((d) => isUnder(f, d))) scheduler.schedule(f);
  });

  // The explorer learned something about this machine (its oldest or activated generation): the fixes may change.
  connection.onNotification(NOTIFICATIONS.machineFacts.method, (params: unknown) => {
    if (service.setMachine(parseMachineFacts(params))) relintOpen();
  });

  connection.onCodeAction((params) => codeActions(publisher, params));
  connection.onHover((params) => {
    const file = uriToPath(params.textDocument.uri);
    const raise = file ? evaluation.hover(file, params.position) : undefined;
    return hover(publisher, service, documents.get(params.textDocument.uri), params, raise ? [raise] : []);
  });
  connection.onCodeLens((params) => {
    const file = uriToPath(params.textDocument.uri);
    return file ? evaluation.codeLenses(file) : [];
  });
  connection.onShutdown(() => evaluation.dispose());

  documents.listen(connection);
  connection.listen();
}
