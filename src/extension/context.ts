import type * as vscode from 'vscode';
import type { Config } from './config';
import type { GenerationsStore } from '../core/model/store';
import type { GenerationsExplorer } from './tree/explorer';

/** What every command handler can reach. Built once in activate(). */
export interface ExtensionServices {
  readonly extensionContext: vscode.ExtensionContext;
  readonly config: Config;
  /** The tree view (refresh, reveal). */
  readonly explorer: GenerationsExplorer;
  /** The profiles and generations per machine, with change events: what commands read. */
  readonly store: GenerationsStore;
}

/** A command handler built over the services (commands are registered from one place: commands.ts). */
export type CommandHandler = (...args: unknown[]) => unknown;
export type CommandFactory = (services: ExtensionServices) => CommandHandler;
