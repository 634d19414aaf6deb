import * as vscode from 'vscode';
import { createLog, log } from './log';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(createLog());
  log.info('NixOS Generations activating');
}

export function deactivate(): void {
  // Everything is owned by context.subscriptions.
}
