import * as vscode from 'vscode';
import type { CommandFactory } from '../context';

const notYet =
  (what: string): CommandFactory =>
  () =>
  () =>
    void vscode.window.showInformationMessage(`NixOS Generations: ${what} is not available yet.`);

export const rebuild: CommandFactory = notYet('Rebuild');
export const switchConfiguration: CommandFactory = notYet('Switch');
export const rollback: CommandFactory = notYet('Roll back');
export const switchToGeneration: CommandFactory = notYet('Switch to generation');
export const pinLabel: CommandFactory = notYet('Pin label');
export const deleteGenerations: CommandFactory = notYet('Delete generations');
export const checkoutGenerationCommit: CommandFactory = notYet("Check out a generation's commit");
