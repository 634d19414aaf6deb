/**
 * `nixosGenerations.switchToGeneration` and `.rollback`: switch a profile to one of its generations (nothing is
 * evaluated or built), in the terminal, after a confirmation. Planned by core/plan/switch and core/plan/rollback.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  activationProgram,
  checkKernel,
  listSpecialisations,
  SWITCH_ACTIONS,
  type SwitchAction,
} from '../../core/deploy/switch-generation';
import type { GenerationTarget } from '../../core/plan/generations';
import { planRollback } from '../../core/plan/rollback';
import { checkActivatable, chooseSpecialisation, MAIN_CONFIGURATION, planSwitch } from '../../core/plan/switch';
import type { CommandFactory, ExtensionServices } from '../context';
import {
  activatedStorePath,
  activationHistory,
  afterTask,
  confirm,
  elevationFacts,
  ensureLoaded,
  generationArgument,
  noteDropped,
  observeActivation,
  recordActivation,
  resolveProgram,
  runScriptTask,
  systemListing,
} from '../deploy/support';
import { requireTrust } from '../trust';
import { isOptions } from './args';

export interface SwitchOptions {
  action?: SwitchAction;
  /** A specialisation name, or null for the main configuration (skips the question). */
  specialisation?: string | null;
}

function bootedSystem(runDir: string): string | null {
  try {
    return fs.realpathSync(path.join(runDir, 'booted-system'));
  } catch {
    return null;
  }
}

async function switchTo(
  services: ExtensionServices,
  target: GenerationTarget,
  options: SwitchOptions,
  why?: string,
  rollback = false,
): Promise<boolean> {
  const { generation } = target;
  checkActivatable(generation, fs.existsSync(activationProgram(generation.storePath)));
  let action = options.action;
  if (!action) {
    const picked = await vscode.window.showQuickPick(
      SWITCH_ACTIONS.map((a) => ({ label: a.action, detail: a.detail })),
      { title: `Generation ${generation.generation}`, placeHolder: 'How should it be activated?' },
    );
    if (!picked) return false;
    action = picked.label as SwitchAction;
  }
  const choice = chooseSpecialisation(
    generation,
    options.specialisation,
    await listSpecialisations(generation.storePath),
  );
  let specialisation: string | undefined;
  if ('ask' in choice) {
    const picked = await vscode.window.showQuickPick(choice.ask, {
      title: `Generation ${generation.generation} has specialisations`,
      placeHolder: 'Which configuration?',
    });
    if (!picked) return false;
    if (picked !== MAIN_CONFIGURATION) specialisation = picked;
  } else {
    specialisation = choice.specialisation;
  }
  const settings = services.config.snapshot();
  const plan = planSwitch({
    target,
    action,
    specialisation,
    why,
    rollback,
    kernel: await checkKernel(generation.storePath, bootedSystem(settings.runDir)),
    nixEnv: await resolveProgram('nix-env'),
    elevation: settings.elevation,
    facts: await elevationFacts(),
  });
  noteDropped(plan.dropped);
  if (!(await confirm(plan.confirm))) return false;
  if (!requireTrust('Switching generations')) return false;
  await observeActivation(services);
  const result = await runScriptTask(plan.task);
  const ok = await afterTask(services, `switching to generation ${generation.generation}`, result);
  if (ok && plan.record) await recordActivation(plan.record);
  return ok;
}

export const switchToGeneration: CommandFactory = (services) => async (arg?: unknown, options?: unknown) => {
  if (!requireTrust('Switching generations')) return false;
  const target = await generationArgument(services, arg, 'Switch to which generation?');
  if (!target) return false;
  return switchTo(services, target, isOptions(options) ? (options as SwitchOptions) : {});
};

export const rollback: CommandFactory = (services) => {
  // Every load of the explorer notes activations done behind our back (a plain nixos-rebuild in a terminal).
  // (only once the history exists: nothing is written until a deploy command has been used)
  services.extensionContext.subscriptions.push(
    services.explorer.onDidLoad(() => void observeActivation(services, { onlyIfExists: true })),
  );
  return async (options?: unknown) => {
    if (!requireTrust('Rolling back')) return false;
    await ensureLoaded(services);
    await observeActivation(services);
    const plan = planRollback({
      history: await activationHistory().read(),
      listing: systemListing(services),
      activated: activatedStorePath(services.config.runDir),
      options: isOptions(options) ? (options as SwitchOptions) : {},
    });
    if (plan.warning) void vscode.window.showWarningMessage(plan.warning);
    return switchTo(
      services,
      plan.target,
      { action: plan.action, specialisation: plan.specialisation },
      plan.why,
      true,
    );
  };
};
