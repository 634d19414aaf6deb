/**
 * Starts the stateVersion language server (dist/server.js) through vscode-languageclient for Nix
 * files. Its diagnostics carry the source "nixos-generations", so they coexist with nil or nixd
 * (Nix IDE), which keep completion, formatting and navigation.
 */
import * as vscode from 'vscode';
import { CloseAction, ErrorAction, LanguageClient, TransportKind } from 'vscode-languageclient/node';
import type { ErrorHandler, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import {
  MAX_RESTARTS,
  RESTART_WINDOW_MS,
  SETTINGS_SECTION,
  shouldRestart,
  type InitializationOptions,
} from '../core/protocol';
import type { Config } from './config';

export const LANGUAGE_CLIENT_ID = 'nixosGenerations.lint';

/** Starts the client; dispose the result to stop the server. */
export async function startLanguageClient(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  config: Config,
): Promise<vscode.Disposable & { client: LanguageClient }> {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const watchers = [
    vscode.workspace.createFileSystemWatcher('**/flake.lock'),
    vscode.workspace.createFileSystemWatcher('**/*.nix'),
    // HEAD moves (commit, checkout, reset) change what `stateversion-changed` compares with.
    vscode.workspace.createFileSystemWatcher('**/.git/{HEAD,logs/HEAD}'),
  ];
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'nix' }],
    synchronize: { fileEvents: watchers, configurationSection: SETTINGS_SECTION },
    // A function: evaluated at every (re)start, so granting workspace trust takes effect on restart.
    initializationOptions: (): InitializationOptions => ({
      base: config.lintBase,
      runDir: config.runDir,
      trusted: vscode.workspace.isTrusted,
      evaluation: { enabled: config.evaluationEnabled, nix: config.evaluationNix },
    }),
    outputChannel: log,
    diagnosticCollectionName: 'nixos-generations',
    errorHandler: restartingErrorHandler(log),
    // The server could not start (a broken install, an exception while initializing): say so once, in words,
    // and do not retry in a loop; the explorer and the deploy commands keep working without it.
    initializationFailedHandler: (error: unknown) => {
      log.error(`the stateVersion language server failed to initialize: ${describe(error)}`);
      void vscode.window
        .showErrorMessage(
          'NixOS Generations: the stateVersion checks could not start; the explorer and commands still work.',
          'Show Log',
        )
        .then((choice) => {
          if (choice) log.show();
        });
      return false;
    },
  };
  const client = new LanguageClient(
    LANGUAGE_CLIENT_ID,
    'NixOS Generations (stateVersion)',
    serverOptions,
    clientOptions,
  );
  await client.start();
  log.info('stateVersion language server started');
  const trustGranted = vscode.workspace.onDidGrantWorkspaceTrust(() => {
    log.info('workspace trusted: restarting the language server with git comparisons on');
    void client.restart().catch((error: unknown) => log.warn(`language server restart: ${String(error)}`));
  });
  return {
    client,
    dispose: () => {
      trustGranted.dispose();
      for (const w of watchers) w.dispose();
      void client.stop().catch((error: unknown) => log.warn(`language server stop: ${String(error)}`));
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Connection errors: keep going (the client resends). A closed connection (the server crashed): restart, unless it
 * crashed MAX_RESTARTS times within the window — then stay down and say so once, instead of a restart loop.
 */
function restartingErrorHandler(log: vscode.LogOutputChannel): ErrorHandler {
  const crashes: number[] = [];
  return {
    error: (error, _message, count) => {
      log.warn(`language server connection error (${count ?? 1}): ${describe(error)}`);
      return { action: (count ?? 1) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown };
    },
    closed: () => {
      if (shouldRestart(crashes, Date.now())) {
        log.warn('the stateVersion language server stopped; restarting it');
        return { action: CloseAction.Restart, handled: true };
      }
      return {
        action: CloseAction.DoNotRestart,
        message: `NixOS Generations: the stateVersion language server stopped ${MAX_RESTARTS + 1} times in ${RESTART_WINDOW_MS / 60_000} minutes and will not be restarted. See the log.`,
      };
    },
  };
}
