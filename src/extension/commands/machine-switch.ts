/**
 * `nixosGenerations.switchMachineGeneration` and `.rollbackMachine`: a remote machine of the fleet switched to one of
 * its generations, or rolled back, from the explorer. Planned by core/plan/machine-switch; before anything is
 * activated the identity guard reads the machine (one ssh call) and refuses a system built for another host unless
 * the user confirms a rename. Then, when the new system changes how the machine is reached (core/diff/reach, read on
 * the machine as the command line's switch does), a modal lists those changes and offers safe switch (the machine
 * puts the previous system back by itself when the connection is lost) or the plain switch. The switch runs over ssh with `sudo -n` (nobody can type a password there); its output
 * goes to the log, and the machine is read again afterwards.
 */
import * as vscode from 'vscode';
import { diffSystems, readRemoteSystem, readSwitchReach } from '../../core/diff';
import { formatDiffText } from '../../core/diff/format';
import { readTargetFacts } from '../../core/fleet/identity';
import { compareBaseline } from '../../core/generations/states';
import type { Generation, ProfileRef } from '../../core/generations/types';
import type { MachineKey } from '../../core/model/store';
import { ANYWAY_CHOICE, cutOffLines, planCutOff, SAFE_CHOICE } from '../../core/plan/cut-off';
import { machineSwitchArgv, planIdentityGuard, planMachineSwitch } from '../../core/plan/machine-switch';
import { runOnTarget, sshOptsFromEnv, type Target } from '../../core/target';
import type { CommandFactory, ExtensionServices } from '../context';
import { confirm } from '../deploy/support';
import { log } from '../log';
import { PreviewPanel } from '../preview/panel';
import { requireTrust } from '../trust';
import { safeSwitchOnMachine, type MachineSafeSwitch } from './safe-switch';

/** What a remote generation row or machine row hands the command (duck-typed: rows are the tree's own objects). */
interface MachineArgument {
  machine: MachineKey;
  generation?: Generation;
  profile?: ProfileRef;
}

function asMachineArgument(arg: unknown): MachineArgument | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const machine = (arg as { machine?: unknown }).machine;
  if (typeof machine !== 'string' || !machine.startsWith('ssh:')) return undefined;
  return arg as MachineArgument;
}

async function switchMachine(services: ExtensionServices, arg: unknown, mode: 'switch' | 'rollback'): Promise<void> {
  if (!requireTrust(mode === 'rollback' ? 'Rolling back a machine' : 'Switching a machine')) return;
  const picked = asMachineArgument(arg);
  if (!picked) {
    void vscode.window.showInformationMessage(
      'NixOS Generations: run this from a remote machine or one of its generations in the explorer.',
    );
    return;
  }
  const data = services.store.get(picked.machine);
  const remote = data?.remote;
  const listing = data?.listings.find((l) => l.profile.kind === 'system') ?? data?.listings[0];
  if (!remote?.destination || !listing) {
    void vscode.window.showWarningMessage(
      `NixOS Generations: ${remote?.name ?? picked.machine} has not been read (refresh the explorer).`,
    );
    return;
  }
  const plan = planMachineSwitch({
    machine: remote.name,
    destination: remote.destination,
    listing,
    mode,
    ...(picked.generation ? { generation: picked.generation.generation } : {}),
    elevation: services.config.elevation,
  });
  if (!(await confirm(plan.confirm))) return;
  const target: Target = {
    kind: 'ssh',
    host: remote.destination,
    ...(remote.port !== undefined ? { port: remote.port } : {}),
    sshArgs: sshOptsFromEnv(process.env.NIX_SSHOPTS),
  };
  const title = `${mode === 'rollback' ? 'Rolling back' : 'Switching'} ${remote.name} to generation ${plan.generation.generation}`;
  // a safe switch the user chose runs after this progress ends (it has its own)
  const safe = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title },
    async (progress): Promise<MachineSafeSwitch | undefined> => {
      progress.report({ message: 'asking the machine who it is…' });
      const facts = await readTargetFacts(target, plan.generation.storePath, { runDir: '/run' });
      let guard = planIdentityGuard(remote.name, facts);
      if (guard.kind === 'ask-rename') {
        log.warn(`identity guard: ${guard.verdict.message}`);
        if (!(await confirm(guard.question))) {
          void vscode.window.showWarningMessage(`NixOS Generations: nothing was activated on ${remote.name}.`);
          return undefined;
        }
        guard = planIdentityGuard(remote.name, facts, true);
      }
      if (guard.kind === 'refuse') {
        log.error(`identity guard: ${guard.message}`);
        void vscode.window.showErrorMessage(`NixOS Generations: ${guard.message}`, { modal: true });
        return undefined;
      }
      if (guard.kind !== 'go') return undefined;
      log.info(`identity guard: ${guard.verdict.message}`);
      progress.report({ message: 'comparing how the machine is reached before and after…' });
      const reach = await readSwitchReach(target, plan.generation.storePath);
      if (reach.problem) log.warn(`changes that cut you off: ${reach.problem}`);
      const cutOffInput = {
        findings: reach.findings,
        remote: true,
        safe: false,
        insist: false,
        action: plan.action,
        where: remote.name,
        interactive: true,
      };
      let cutOff = planCutOff(cutOffInput);
      if (cutOff.kind === 'ask') {
        log.warn(`${cutOff.message}:\n${cutOffLines(reach.findings).join('\n')}`);
        const choice = await vscode.window.showWarningMessage(
          cutOff.message,
          { modal: true, detail: cutOff.detail },
          ...cutOff.choices,
        );
        if (choice === SAFE_CHOICE) {
          return { target, next: { storePath: plan.generation.storePath, generation: plan.generation.generation } };
        }
        if (choice !== ANYWAY_CHOICE) {
          void vscode.window.showInformationMessage(`NixOS Generations: nothing was activated on ${remote.name}.`);
          return undefined;
        }
        cutOff = planCutOff({ ...cutOffInput, insist: true });
      }
      if (cutOff.kind === 'proceed' && cutOff.note) log.warn(cutOff.note);
      if (cutOff.kind !== 'proceed') return undefined;
      progress.report({ message: `switch-to-configuration ${plan.action}…` });
      const r = await runOnTarget(target, machineSwitchArgv(plan, listing.profile.path, facts.nixEnv!), {
        elevate: plan.elevate,
        timeoutMs: 15 * 60_000,
      });
      log.info(`${title}: exit ${r.exitCode ?? r.signal}\n${r.stdout}${r.stderr}`);
      if (r.exitCode === 0) {
        void vscode.window.showInformationMessage(
          `NixOS Generations: ${remote.name} runs generation ${plan.generation.generation}.`,
        );
      } else {
        const last = r.stderr.trim().split('\n').slice(-1)[0] ?? '';
        void vscode.window
          .showErrorMessage(
            `NixOS Generations: ${plan.action} of generation ${plan.generation.generation} on ${remote.name} failed (exit ${r.exitCode ?? r.signal}${last ? `: ${last}` : ''}).`,
            'Show Log',
          )
          .then((choice) => choice && log.show());
      }
      return undefined;
    },
  );
  if (safe) {
    await safeSwitchOnMachine(services, safe);
    return;
  }
  await services.explorer.refreshFleet();
}

/** The ssh target of a machine as the store has it (null before it was read, or without a target). */
function targetOfMachine(services: ExtensionServices, machine: MachineKey): Extract<Target, { kind: 'ssh' }> | null {
  const remote = services.store.get(machine)?.remote;
  if (!remote?.destination) return null;
  return {
    kind: 'ssh',
    host: remote.destination,
    ...(remote.port !== undefined ? { port: remote.port } : {}),
    sshArgs: sshOptsFromEnv(process.env.NIX_SSHOPTS),
  };
}

/**
 * `nixosGenerations.compareMachineGeneration`: a remote generation against the one the machine runs (or the one
 * before it), both read on the machine in one ssh call each (closures, packages, units, how it is reached), shown
 * in the same preview as local generations. Reads only: allowed in untrusted workspaces for the setting's machines.
 */
export const compareMachineGeneration: CommandFactory = (services) => async (arg: unknown) => {
  const picked = asMachineArgument(arg);
  const data = picked ? services.store.get(picked.machine) : undefined;
  const listing = data?.listings.find((l) => l.profile.kind === 'system') ?? data?.listings[0];
  const target = picked ? targetOfMachine(services, picked.machine) : null;
  const to = picked?.generation;
  if (!picked || !to || !listing || !target || !data?.remote) {
    void vscode.window.showInformationMessage('NixOS Generations: run this from a remote generation in the explorer.');
    return undefined;
  }
  const from = compareBaseline(listing.generations, to.generation, listing.profile.kind);
  if (!from) {
    void vscode.window.showInformationMessage(
      `NixOS Generations: ${data.remote.name} has no other generation to compare with.`,
    );
    return undefined;
  }
  const diff = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Reading generations ${from.generation} and ${to.generation} on ${data.remote.name}`,
    },
    async () => {
      const [a, b] = await Promise.all([
        readRemoteSystem(target, { systemPath: from.storePath }),
        readRemoteSystem(target, { systemPath: to.storePath }),
      ]);
      return diffSystems(a, b, { generations: { from: from.generation, to: to.generation } });
    },
  );
  log.info(`diff on ${data.remote.name}: ${from.generation} -> ${to.generation}\n${formatDiffText(diff)}`);
  PreviewPanel.show(services.extensionContext.extensionUri, {
    type: 'show',
    mode: 'diff',
    title: `${data.remote.name}: generations ${from.generation} → ${to.generation}`,
    note: '',
    profileKind: listing.profile.kind,
    diff,
    sizes: listing.generations
      .filter((g) => !g.missing && g.closureSize !== null)
      .map((g) => ({
        generation: g.generation,
        size: g.closureSize!,
        compared: g.generation === from.generation || g.generation === to.generation,
        activated: g.activated,
      })),
  });
  return diff;
};

export const switchMachineGeneration: CommandFactory = (services) => (arg: unknown) =>
  switchMachine(services, arg, 'switch');

export const rollbackMachine: CommandFactory = (services) => (arg: unknown) => switchMachine(services, arg, 'rollback');
