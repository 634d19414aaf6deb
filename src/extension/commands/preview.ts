import * as vscode from 'vscode';
import type { CommandFactory } from '../context';

const notYet =
  (what: string): CommandFactory =>
  () =>
  () =>
    void vscode.window.showInformationMessage(`NixOS Generations: ${what} is not available yet.`);

export const diffGenerations: CommandFactory = notYet('Compare generations');
export const safeSwitch: CommandFactory = notYet('Safe switch');
