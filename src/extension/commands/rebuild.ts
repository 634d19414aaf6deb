/**
 * `nixosGenerations.rebuild` / `.switch`: nixos-rebuild in the integrated terminal as a task (argv, no shell),
 * where the user sees it and types the password. Planned by core/plan/rebuild.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { REBUILD_ACTIONS, type RebuildAction } from '../../core/deploy/rebuild';
import { machineConfiguration, planRebuild, rebuildProblem } from '../../core/plan/rebuild';
import type { CommandFactory, ExtensionServices } from '../context';
import {
  activatedStorePath,
  afterTask,
  confirm,
  elevationFacts,
  flakeTarget,
  nixEnvironment,
  noteDropped,
  observeActivation,
  openMachineSetting,
  pickHost,
  rebuildFlavor,
  recordActivation,
  resolveProgram,
} from '../deploy/support';
import { locate } from '../../core/plan/generations';
import { log } from '../log';
import { runInTerminal } from '../tasks';
import { requireTrust } from '../trust';
import { isOptions } from './args';

export interface RebuildRequest {
  action?: RebuildAction;
  /** Rebuild from this flake (a directory or reference) instead of the setting/workspace. */
  flake?: string;
}

function isRebuildAction(value: unknown): value is RebuildAction {
  return typeof value === 'string' && REBUILD_ACTIONS.some((a) => a.action === value);
}

/** Picks the action, flake and host, plans, confirms, runs and records. */
export async function runRebuild(services: ExtensionServices, request: RebuildRequest): Promise<boolean> {
  if (!requireTrust('Rebuilding')) return false;
  const settings = services.config.snapshot();
  const target = flakeTarget(services, request.flake);
  // Before any question: a rebuild that can only fail says why at once, with the setting that fixes it.
  const program = await resolveProgram(settings.rebuildCommand).catch(() => null);
  const problem = rebuildProblem({
    target,
    machineConfig: machineConfiguration(process.env, (f) => fs.existsSync(f)),
    program,
    command: settings.rebuildCommand,
  });
  if (problem || program === null) {
    const message = problem?.message ?? 'nixos-rebuild was not found.';
    log.warn(`rebuild: ${message}`);
    const choice = await vscode.window.showErrorMessage(`NixOS Generations: ${message}`, 'Open Settings', 'Show Log');
    if (choice === 'Open Settings') await openMachineSetting(problem?.setting ?? 'nixosGenerations');
    else if (choice === 'Show Log') log.show();
    return false;
  }
  let action = request.action;
  if (!action) {
    const picked = await vscode.window.showQuickPick(
      REBUILD_ACTIONS.map((a) => ({ label: a.action, detail: a.detail })),
      { title: 'nixos-rebuild', placeHolder: 'What should nixos-rebuild do?' },
    );
    if (!picked) return false;
    action = picked.label as RebuildAction;
  }
  const host = await pickHost(services, target);
  if (host === undefined) return false;
  const { flavor, note } = await rebuildFlavor(program);
  if (note) log.warn(note);
  let nom: string | null = null;
  if (settings.useNom) {
    try {
      nom = await resolveProgram('nom', 'nix-output-monitor (nom)');
    } catch {
      void vscode.window.showWarningMessage(
        'NixOS Generations: nom was not found; building without nix-output-monitor.',
      );
    }
  }
  const plan = planRebuild({ action, settings, target, host, program, flavor, nom, facts: await elevationFacts() });
  noteDropped(plan.dropped);
  for (const n of plan.notes) log.warn(n);
  if (plan.confirm && !(await confirm(plan.confirm))) return false;
  await observeActivation(services);
  const env = nixEnvironment();
  const result = await runInTerminal({
    name: plan.name,
    argv: plan.argv,
    ...(plan.cwd ? { cwd: plan.cwd } : {}),
    ...(Object.keys(env).length > 0 ? { env } : {}),
  });
  const ok = await afterTask(services, plan.name, result);
  if (ok && plan.recordActivatedAs) {
    // nixos-rebuild activated what current-system points to now
    const now = activatedStorePath(settings.runDir);
    if (now) {
      const where = locate(services.store.listings(), now);
      await recordActivation({
        action: plan.recordActivatedAs,
        profile: where?.profile ?? null,
        generation: where?.generation ?? null,
        storePath: now,
      });
    }
  }
  return ok;
}

export const rebuild: CommandFactory = (services) => (arg?: unknown) =>
  runRebuild(services, isRebuildAction(arg) ? { action: arg } : isOptions(arg) ? (arg as RebuildRequest) : {});

export const switchConfiguration: CommandFactory = (services) => () => runRebuild(services, { action: 'switch' });
