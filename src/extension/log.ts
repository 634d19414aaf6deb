import * as vscode from 'vscode';

/** The extension's one output channel. Created in activate(), owned by the extension context. */
let channel: vscode.LogOutputChannel | undefined;

export function createLog(): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel('NixOS Generations', { log: true });
  return channel;
}

export const log = {
  info: (message: string, ...args: unknown[]): void => channel?.info(message, ...args),
  warn: (message: string, ...args: unknown[]): void => channel?.warn(message, ...args),
  debug: (message: string, ...args: unknown[]): void => channel?.debug(message, ...args),
  error: (message: string | Error, ...args: unknown[]): void => channel?.error(message, ...args),
  show: (): void => channel?.show(true),
};
