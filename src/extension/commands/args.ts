import * as vscode from 'vscode';

/** A plain options object passed to a command (not a Uri, which VS Code passes from menus). */
export function isOptions(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof vscode.Uri);
}
