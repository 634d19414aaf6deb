import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Config } from './config';
import type { ExtensionServices } from './context';
import { startLanguageClient } from './languageClient';
import { createLog, log } from './log';
import { ActivatedStatusBar } from './statusBar';
import { GenerationsExplorer } from './tree/explorer';
import { GenerationsStore } from '../core/model/store';

/** What activate() returns: used by the extension-host tests, stable enough for other extensions. */
export interface NixosGenerationsApi {
  readonly explorer: GenerationsExplorer;
  readonly store: GenerationsStore;
  readonly statusBar: ActivatedStatusBar;
}

export function activate(context: vscode.ExtensionContext): NixosGenerationsApi {
  const channel = createLog();
  context.subscriptions.push(channel);
  try {
    const config = new Config();
    const store = new GenerationsStore();
    const explorer = new GenerationsExplorer(config, store, context.globalState);
    context.subscriptions.push(explorer);
    explorer.attach('nixosGenerations.explorer');
    const statusBar = new ActivatedStatusBar(store);
    context.subscriptions.push(statusBar);

    const services: ExtensionServices = { extensionContext: context, config, explorer, store };
    context.subscriptions.push(...registerCommands(services));
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (Config.affects(event, 'profiles') || Config.affects(event, 'runDir')) void explorer.refresh();
        else if (Config.affects(event, 'machines') || Config.affects(event, 'flake')) explorer.fleetChanged();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => explorer.fleetChanged()),
    );
    startLanguageClientWithFirstNixFile(context, channel, config, store);
    // The status bar wants the activated generation even while the view is closed: one cheap read.
    void explorer.refresh();
    log.info('NixOS Generations activated');
    return { explorer, store, statusBar };
  } catch (error) {
    log.error(error instanceof Error ? error : String(error));
    log.show();
    void vscode.window.showErrorMessage(`NixOS Generations failed to start: ${String(error)}`);
    throw error;
  }
}

/**
 * The language server costs a process: start it when the first Nix file is open (now or later), not
 * when the explorer alone activated the extension.
 */
function startLanguageClientWithFirstNixFile(
  context: vscode.ExtensionContext,
  channel: vscode.LogOutputChannel,
  config: Config,
  store: GenerationsStore,
): void {
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    opened.dispose();
    startLanguageClient(context, channel, config, store).then(
      (client) => context.subscriptions.push(client),
      (error: unknown) => {
        log.error(`the stateVersion language server did not start: ${String(error)}`);
      },
    );
  };
  const isNix = (document: vscode.TextDocument): boolean =>
    document.languageId === 'nix' || document.fileName.endsWith('.nix');
  const opened = vscode.workspace.onDidOpenTextDocument((document) => {
    if (isNix(document)) start();
  });
  context.subscriptions.push(opened);
  if (vscode.workspace.textDocuments.some(isNix)) start();
}

export function deactivate(): void {
  // Everything is owned by context.subscriptions.
}
