/**
 * `nixosGenerations.deployMachines`: pick machines of the workspace flake (several at once), confirm, and deploy them
 * through the engine the flake uses (deploy-rs, colmena, else nixos-rebuild --target-host per machine, a few at
 * once, one terminal each); a per-machine summary at the end in the log and a notification. Planned by
 * core/plan/deploy-machines; trusted workspaces only, executables from machine-scoped settings.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { readFlakeFleetAt, runDeploy, type DeployOutcome } from '../../core/fleet/deploy';
import { workspaceMachines } from '../../core/fleet/machines';
import { deployChoices, deployReport, planDeployMachines } from '../../core/plan/deploy-machines';
import type { CommandFactory } from '../context';
import { confirm, flakeTarget } from '../deploy/support';
import { log } from '../log';
import { runInTerminal } from '../tasks';
import { requireTrust } from '../trust';

/**
 * The command; an argument of node names (strings) skips the pick. Resolves with the outcomes (undefined when
 * nothing was deployed: cancelled, or nothing to deploy).
 */
export const deployMachines: CommandFactory = (services) => async (arg?: unknown) => {
  if (!requireTrust('Deploy machines')) return undefined;
  const flake = flakeTarget(services);
  if (!flake.dir) {
    void vscode.window.showWarningMessage('NixOS Generations: Deploy Machines needs a workspace flake (flake.nix).');
    return undefined;
  }
  const fleet = await readFlakeFleetAt(flake.dir);
  for (const gap of fleet.gaps) log.warn(`deploy machines: ${gap}`);
  const settings = services.config.snapshot();
  const machines = workspaceMachines({ setting: settings.machines, fleet, localHostName: os.hostname() });
  const choices = deployChoices(fleet, machines);
  let selection: string[];
  if (Array.isArray(arg) && arg.every((a) => typeof a === 'string')) selection = arg as string[];
  else {
    const offered = choices.filter((c) => c.problem === null);
    for (const c of choices.filter((x) => x.problem !== null)) log.info(`deploy machines: ${c.name}: ${c.problem}`);
    if (offered.length === 0) {
      void vscode.window.showWarningMessage(
        'NixOS Generations: no machine of the flake has an ssh target: add them to nixosGenerations.machines.',
      );
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      offered.map((c) => ({ label: c.name, description: c.description })),
      { title: `Deploy machines (${fleet.engine})`, placeHolder: 'Which machines?', canPickMany: true },
    );
    if (!picked || picked.length === 0) return undefined;
    selection = picked.map((p) => p.label);
  }
  const plan = planDeployMachines({ fleet, machines, selection, flake: flake.dir, settings });
  if (typeof plan === 'string') throw new Error(plan);
  if (!(await confirm(plan.confirm))) return undefined;
  log.info(`deploy machines through ${plan.engine}: ${selection.join(', ')}`);
  const outcomes: DeployOutcome[] = await runDeploy(plan.steps, {
    parallel: plan.parallel,
    keepGoing: plan.keepGoing,
    run: async (step) => {
      const r = await runInTerminal({ name: `Deploy ${step.nodes.join(', ')}`, argv: step.argv, cwd: flake.dir });
      return {
        exitCode: r.exitCode ?? null,
        signal: null,
        stdout: '',
        stderr: '',
        timedOut: false,
        truncated: false,
      };
    },
  });
  const report = deployReport(outcomes);
  for (const line of report.lines) log.info(`deploy machines: ${line}`);
  if (report.level === 'info') void vscode.window.showInformationMessage(report.message);
  else {
    void vscode.window.showErrorMessage(report.message, 'Show Log').then((choice) => {
      if (choice) log.show();
    });
  }
  await services.explorer.refresh();
  return outcomes;
};
