import type * as vscode from 'vscode';
import type { Config } from './config';
import type { GenerationsExplorer } from './tree/explorer';

/** What every command handler can reach. Built once in activate(). */
export interface ExtensionServices {
  readonly extensionContext: vscode.ExtensionContext;
  readonly config: Config;
  readonly explorer: GenerationsExplorer;
}

/** A command handler built over the services (commands are registered from one place: commands.ts). */
export type CommandHandler = (...args: unknown[]) => unknown;
export type CommandFactory = (services: ExtensionServices) => CommandHandler;
