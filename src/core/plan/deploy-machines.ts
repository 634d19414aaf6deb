/**
 * Deploy many machines (`nixosGenerations.deployMachines`, `nixos-generations deploy`): which machines can be picked,
 * the steps (core/fleet/deploy: one deploy-rs or colmena call, else nixos-rebuild --target-host per machine) with
 * the executables of the machine-scoped settings, the question in words with the exact commands behind it, and
 * how the summary is told.
 */
import { shellJoin } from '../exec/quote';
import { planDeploy, type DeployOutcome, type DeployStep, type FlakeFleet } from '../fleet/deploy';
import type { FleetMachine } from '../fleet/machines';
import type { Settings } from '../settings';
import type { Confirmation } from './types';

export interface DeployChoice {
  /** The node / host name. */
  name: string;
  /** Where it goes, for the pick list. */
  description: string;
  /** Why it cannot be deployed (then it is not offered as pickable). */
  problem: string | null;
}

const ENGINE_WORDS: Record<FlakeFleet['engine'], string> = {
  'deploy-rs': 'deploy-rs (one `deploy` run, with its magic rollback)',
  colmena: 'colmena (one `colmena apply --on …` run)',
  'nixos-rebuild': 'nixos-rebuild --target-host, one terminal per machine',
};

/** The machines offered: the engine's nodes (deploy-rs, colmena) or the machines with an ssh target. */
export function deployChoices(fleet: FlakeFleet, machines: readonly FleetMachine[]): DeployChoice[] {
  const byName = new Map(machines.map((m) => [m.name, m]));
  if (fleet.engine !== 'nixos-rebuild') {
    return fleet.nodes.map((n) => ({
      name: n.name,
      description: n.hostname ? `${n.user ? `${n.user}@` : ''}${n.hostname}` : `${fleet.engine} node`,
      problem: null,
    }));
  }
  const names = new Set([...fleet.nodes.map((n) => n.name), ...machines.map((m) => m.name)]);
  return [...names].sort().map((name) => {
    const m = byName.get(name);
    if (!m) return { name, description: 'this machine', problem: 'this machine: use Rebuild or Safe Switch' };
    if (m.port !== undefined) {
      return {
        name,
        description: `${m.destination}:${m.port}`,
        problem: 'nixos-rebuild --target-host takes no port: set it in ~/.ssh/config or NIX_SSHOPTS',
      };
    }
    return { name, description: m.destination ?? '', problem: m.problem ?? null };
  });
}

export interface DeployMachinesInput {
  fleet: FlakeFleet;
  machines: readonly FleetMachine[];
  selection: readonly string[];
  /** The flake reference handed to the engine (the flake's directory). */
  flake: string;
  settings: Pick<
    Settings,
    'rebuildCommand' | 'deployRsCommand' | 'colmenaCommand' | 'deployParallel' | 'deployKeepGoing' | 'elevation'
  >;
}

export interface DeployMachinesPlan {
  engine: FlakeFleet['engine'];
  steps: DeployStep[];
  parallel: number;
  keepGoing: boolean;
  confirm: Confirmation;
}

/** The steps and the question; an error string for a selection that cannot be deployed. */
export function planDeployMachines(input: DeployMachinesInput): DeployMachinesPlan | string {
  const { fleet, settings } = input;
  const choices = new Map(deployChoices(fleet, input.machines).map((c) => [c.name, c]));
  for (const name of input.selection) {
    const problem = choices.get(name)?.problem;
    if (problem) return `${name}: ${problem}`;
  }
  const targets: Record<string, string> = {};
  for (const m of input.machines) if (m.destination) targets[m.name] = m.destination;
  const steps = planDeploy(fleet, input.selection, {
    flake: input.flake,
    targets,
    remoteSudo: settings.elevation !== 'none',
  });
  if (typeof steps === 'string') return steps;
  const program =
    fleet.engine === 'deploy-rs'
      ? settings.deployRsCommand
      : fleet.engine === 'colmena'
        ? settings.colmenaCommand
        : settings.rebuildCommand;
  const withProgram = steps.map((s) => {
    // a root@ target needs no sudo on the other side
    const root = fleet.engine === 'nixos-rebuild' && (targets[s.nodes[0]!] ?? '').startsWith('root@');
    const args = s.argv.slice(1).filter((a) => !(root && a === '--use-remote-sudo'));
    return { ...s, argv: [program, ...args] };
  });
  const parallel = fleet.engine === 'nixos-rebuild' ? settings.deployParallel : 1;
  const count = input.selection.length;
  const what = count === 1 ? input.selection[0]! : `${count} machines`;
  return {
    engine: fleet.engine,
    steps: withProgram,
    parallel,
    keepGoing: settings.deployKeepGoing,
    confirm: {
      message: `Deploy ${what}?`,
      detail:
        `${input.selection.join(', ')}\n\nThrough ${ENGINE_WORDS[fleet.engine]}` +
        (fleet.engine === 'nixos-rebuild'
          ? `, at most ${parallel} at once; ${settings.deployKeepGoing ? 'the others go on when one fails' : 'no new one starts after a failure'}.`
          : '.') +
        ' Each machine builds and activates its configuration of the flake.',
      action: count === 1 ? 'Deploy' : `Deploy ${count} Machines`,
      command: withProgram.map((s) => shellJoin(s.argv)).join('\n'),
    },
  };
}

/** How the end is told: the per-machine lines (log) and one notification. */
export function deployReport(outcomes: readonly DeployOutcome[]): {
  level: 'info' | 'error';
  message: string;
  lines: string[];
} {
  const lines: string[] = [];
  let ok = 0;
  let all = 0;
  const failed: string[] = [];
  for (const o of outcomes) {
    for (const n of o.nodes) {
      all++;
      if (o.status === 'ok') ok++;
      if (o.status === 'failed') failed.push(n);
      lines.push(
        `${n}: ${o.status === 'ok' ? 'deployed' : o.status === 'failed' ? `FAILED (exit ${o.result?.exitCode ?? o.result?.signal ?? '?'})` : 'not started (an earlier one failed)'}`,
      );
    }
  }
  const skipped = all - ok - failed.length;
  return {
    level: failed.length === 0 && skipped === 0 ? 'info' : 'error',
    message:
      failed.length === 0 && skipped === 0
        ? `NixOS Generations: ${ok === 1 ? '1 machine' : `${ok} machines`} deployed.`
        : `NixOS Generations: ${ok} of ${all} machines deployed; failed: ${failed.join(', ') || 'none'}` +
          (skipped > 0 ? `; not started: ${skipped}` : '') +
          '.',
    lines,
  };
}
