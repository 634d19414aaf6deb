/**
 * Starts the stateVersion language server (dist/server.js) through vscode-languageclient for Nix
 * files. Its diagnostics carry the source "nixos-generations", so they coexist with nil or nixd
 * (Nix IDE), which keep completion, formatting and navigation.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { CloseAction, ErrorAction, LanguageClient, TransportKind } from 'vscode-languageclient/node';
import type { ErrorHandler, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import { hostNameOf, machineFactsOf } from '../core/lint/machine';
import { LOCAL_MACHINE, type GenerationsStore } from '../core/model/store';
import {
  MAX_RESTARTS,
  NOTIFICATIONS,
  RESTART_WINDOW_MS,
  SETTINGS_SECTION,
  shouldRestart,
  type InitializationOptions,
  type MachineFacts,
} from '../core/protocol';
import type { Config } from './config';

const LANGUAGE_CLIENT_ID = 'nixosGenerations.lint';

/** Starts the client; dispose the result to stop the server. */
export async function startLanguageClient(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  config: Config,
  store: GenerationsStore,
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
      machine: machineFacts(store),
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
  // What the explorer learns about this machine (its oldest and activated generations) goes to the server's fixes.
  let sent = JSON.stringify(machineFacts(store));
  const factsChanged = store.onDidChange((change) => {
    if (change.machine !== LOCAL_MACHINE || !client.isRunning()) return;
    const facts = machineFacts(store);
    const text = JSON.stringify(facts);
    if (text === sent) return;
    sent = text;
    void client
      .sendNotification(NOTIFICATIONS.machineFacts.method, facts)
      .catch((error: unknown) => log.warn(`language server: machine facts not sent: ${describe(error)}`));
  });
  const trustGranted = vscode.workspace.onDidGrantWorkspaceTrust(() => {
    log.info('workspace trusted: restarting the language server with git comparisons on');
    void client.restart().catch((error: unknown) => log.warn(`language server restart: ${String(error)}`));
  });
  return {
    client,
    dispose: () => {
      trustGranted.dispose();
      factsChanged.dispose();
      for (const w of watchers) w.dispose();
      void client.stop().catch((error: unknown) => log.warn(`language server stop: ${String(error)}`));
    },
  };
}

/** This machine's facts from the explorer's listings; its host name from the activated system, else the OS's. */
function machineFacts(store: GenerationsStore): MachineFacts {
  const activated = store.activated(LOCAL_MACHINE);
  const hostName = (activated ? hostNameOf(activated.generation.storePath) : undefined) ?? os.hostname();
  return machineFactsOf(store.listings(LOCAL_MACHINE), hostName);
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
