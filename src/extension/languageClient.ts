/**
 * Starts the stateVersion language server (dist/server.js) through vscode-languageclient for Nix
 * files. Its diagnostics carry the source "nixos-generations", so they coexist with nil or nixd
 * (Nix IDE), which keep completion, formatting and navigation.
 */
import * as vscode from 'vscode';
import { LanguageClient, TransportKind } from 'vscode-languageclient/node';
import type { LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
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
    synchronize: { fileEvents: watchers, configurationSection: 'nixosGenerations' },
    // A function: evaluated at every (re)start, so granting workspace trust takes effect on restart.
    initializationOptions: () => ({
      base: config.lintBase,
      runDir: config.runDir,
      trusted: vscode.workspace.isTrusted,
    }),
    outputChannel: log,
    diagnosticCollectionName: 'nixos-generations',
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
