import * as vscode from 'vscode';
import type { CommandFactory, ExtensionServices } from './context';
import { log } from './log';
import * as explorer from './commands/explorer';
import { checkoutGenerationCommit } from './commands/checkout';
import { deleteGenerations, deleteProfileGenerations, deleteSelectedGenerations } from './commands/clean';
import { clearFilter, filterGenerations } from './commands/filter';
import { applyPin, cancelPin, pinLabel } from './commands/pin';
import { rebuild, switchConfiguration } from './commands/rebuild';
import { rollback, switchToGeneration } from './commands/switch';
import * as preview from './commands/preview';
import { safeSwitch, safeSwitchToGeneration } from './commands/safe-switch';
import { compareMachineGeneration, rollbackMachine, switchMachineGeneration } from './commands/machine-switch';
import { deployMachines } from './commands/deploy-machines';
import { restoreTransitionBackup } from './commands/restore-backup';

/**
 * Every command of the extension, in one place (package.json declares the same ids; the extension-host smoke test
 * checks both agree). Ids are the public contract (design.md).
 */
const COMMANDS: ReadonlyArray<readonly [string, CommandFactory]> = [
  ['nixosGenerations.refresh', explorer.refresh],
  ['nixosGenerations.revealActivated', explorer.revealActivated],
  ['nixosGenerations.showLog', explorer.showLog],
  ['nixosGenerations.rebuild', rebuild],
  ['nixosGenerations.switch', switchConfiguration],
  ['nixosGenerations.rollback', rollback],
  ['nixosGenerations.switchToGeneration', switchToGeneration],
  ['nixosGenerations.pinLabel', pinLabel],
  ['nixosGenerations.restoreTransitionBackup', restoreTransitionBackup],
  ['nixosGenerations.applyPin', applyPin],
  ['nixosGenerations.cancelPin', cancelPin],
  ['nixosGenerations.deleteGenerations', deleteGenerations],
  ['nixosGenerations.deleteSelectedGenerations', deleteSelectedGenerations],
  ['nixosGenerations.deleteProfileGenerations', deleteProfileGenerations],
  ['nixosGenerations.filterGenerations', filterGenerations],
  ['nixosGenerations.clearFilter', clearFilter],
  ['nixosGenerations.checkoutGenerationCommit', checkoutGenerationCommit],
  ['nixosGenerations.diffGenerations', preview.diffGenerations],
  ['nixosGenerations.safeSwitch', safeSwitch],
  ['nixosGenerations.safeSwitchToGeneration', safeSwitchToGeneration],
  ['nixosGenerations.switchMachineGeneration', switchMachineGeneration],
  ['nixosGenerations.rollbackMachine', rollbackMachine],
  ['nixosGenerations.compareMachineGeneration', compareMachineGeneration],
  ['nixosGenerations.deployMachines', deployMachines],
];

/** Registers every command; errors thrown by a handler are logged and shown, never swallowed silently. */
export function registerCommands(services: ExtensionServices): vscode.Disposable[] {
  return COMMANDS.map(([id, factory]) => {
    const handler = factory(services);
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error(`${id} failed: ${message}`);
        void vscode.window.showErrorMessage(`NixOS Generations: ${message}`, 'Show Log').then((choice) => {
          if (choice) log.show();
        });
        return undefined;
      }
    });
  });
}
