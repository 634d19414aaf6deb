import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Config } from './config';
import type { ExtensionServices } from './context';
import { createLog, log } from './log';
import { ActivatedStatusBar } from './statusBar';
import { GenerationsExplorer } from './tree/explorer';

/** What activate() returns: used by the extension-host tests, stable enough for other extensions. */
export interface NixosGenerationsApi {
  readonly explorer: GenerationsExplorer;
  readonly statusBar: ActivatedStatusBar;
}

export function activate(context: vscode.ExtensionContext): NixosGenerationsApi {
  context.subscriptions.push(createLog());
  try {
    const config = new Config();
    const explorer = new GenerationsExplorer(config);
    context.subscriptions.push(explorer);
    explorer.attach('nixosGenerations.explorer');
    const statusBar = new ActivatedStatusBar(explorer);
    context.subscriptions.push(statusBar);

    const services: ExtensionServices = { extensionContext: context, config, explorer };
    context.subscriptions.push(...registerCommands(services));
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (Config.affects(event, 'profiles') || Config.affects(event, 'runDir')) void explorer.refresh();
      }),
    );
    // The status bar wants the activated generation even while the view is closed: one cheap read.
    void explorer.refresh();
    log.info('NixOS Generations activated');
    return { explorer, statusBar };
  } catch (error) {
    log.error(error instanceof Error ? error : String(error));
    log.show();
    void vscode.window.showErrorMessage(`NixOS Generations failed to start: ${String(error)}`);
    throw error;
  }
}

export function deactivate(): void {
  // Everything is owned by context.subscriptions.
}
