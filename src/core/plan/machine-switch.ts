/**
 * Switching a remote machine of the fleet to one of its generations, or rolling it back, from the explorer: which
 * generation, the question in words with the exact command, the elevation on the target, and the identity guard's
 * decision (core/fleet/identity) before anything is activated: a system built for another host is refused with
 * both names, unless the user confirms that the machine is being renamed.
 */
import type { Elevation } from '../deploy/elevation';
import { SWITCH_GENERATION_SCRIPT, type SwitchAction } from '../deploy/switch-generation';
import { shellJoin } from '../exec/quote';
import { checkIdentity, type IdentityVerdict, type TargetFacts } from '../fleet/identity';
import type { Generation, ProfileListing } from '../generations/types';
import { REMOTE_SHELL_COMMAND, remoteElevation } from '../target';
import { scriptCommand, type Confirmation } from './types';

export interface MachineSwitchInput {
  /** The machine's name in the explorer, and its ssh destination. */
  machine: string;
  destination: string;
  /** The machine's system profile, as last read. */
  listing: ProfileListing;
  /** `switch` to `generation`, or `rollback` to the one before the profile's current generation. */
  mode: 'switch' | 'rollback';
  generation?: number;
  action?: SwitchAction;
  elevation: Elevation;
}

export interface MachineSwitchPlan {
  generation: Generation;
  /** The generation the profile points to now (put back when activation fails), when another. */
  previous: Generation | null;
  action: SwitchAction;
  /** Elevation on the target (none when logging in as root). */
  elevate: string[];
  confirm: Confirmation;
}

/** The plan, or throws why there is nothing to switch to (words for the user). */
export function planMachineSwitch(input: MachineSwitchInput): MachineSwitchPlan {
  const { listing, machine } = input;
  const action = input.action ?? 'switch';
  const generations = listing.generations;
  const current = generations.find((g) => g.current) ?? null;
  let chosen: Generation | undefined;
  if (input.mode === 'rollback') {
    if (!current) throw new Error(`${listing.profile.path} on ${machine} has no current generation`);
    chosen = [...generations]
      .filter((g) => g.generation < current.generation && !g.missing)
      .sort((a, b) => b.generation - a.generation)[0];
    if (!chosen) throw new Error(`${machine} has no generation before ${current.generation} to roll back to`);
  } else {
    chosen = generations.find((g) => g.generation === input.generation);
    if (!chosen) throw new Error(`${machine} has no generation ${input.generation}`);
  }
  if (chosen.missing) {
    throw new Error(`generation ${chosen.generation} on ${machine} was garbage-collected: ${chosen.storePath} is gone`);
  }
  if (chosen.activated && action !== 'boot') {
    throw new Error(`generation ${chosen.generation} is already what ${machine} runs`);
  }
  const previous = current && current.generation !== chosen.generation ? current : null;
  const elevate = remoteElevation(input.destination, input.elevation);
  const words = chosen.nixosVersion ?? chosen.label ?? 'unknown version';
  const runs = generations.find((g) => g.activated);
  const verb = input.mode === 'rollback' ? 'Roll back' : action === 'boot' ? 'Boot' : 'Switch';
  const detail = [
    `${machine} (${input.destination}) ${runs ? `runs generation ${runs.generation} now` : 'runs no generation of this profile now'}.`,
    `${action === 'boot' ? 'Make generation' : 'Activate generation'} ${chosen.generation} (${words}) with its own ` +
      `switch-to-configuration ${action}: nothing is evaluated or built.`,
    action === 'test'
      ? 'The boot default stays as it is.'
      : `It becomes the boot default${previous ? `; if activation fails, the profile goes back to generation ${previous.generation}` : ''}.`,
    'Before anything is activated, the machine is asked who it is: a system built for another host is refused.',
  ].join('\n\n');
  const argv = [
    ...elevate,
    'sh',
    '-c',
    '<script>',
    'nixgen-switch',
    'nix-env',
    listing.profile.path,
    String(chosen.generation),
    chosen.storePath,
    action,
    previous ? String(previous.generation) : '',
  ];
  return {
    generation: chosen,
    previous,
    action,
    elevate,
    confirm: {
      message: `${verb} ${machine} to generation ${chosen.generation}?`,
      detail,
      action: input.mode === 'rollback' ? 'Roll Back' : verb,
      command: scriptCommand(
        `ssh ${shellJoin([input.destination, REMOTE_SHELL_COMMAND])}  # reads: exec ${shellJoin(argv)}`,
        SWITCH_GENERATION_SCRIPT,
      ),
    },
  };
}

/** The argv run on the target (with runOnTarget, elevated by the plan), once the guard let it through. */
export function machineSwitchArgv(plan: MachineSwitchPlan, profilePath: string, nixEnv: string): string[] {
  return [
    'sh',
    '-c',
    SWITCH_GENERATION_SCRIPT,
    'nixgen-switch',
    nixEnv,
    profilePath,
    String(plan.generation.generation),
    plan.generation.storePath,
    plan.action,
    plan.previous ? String(plan.previous.generation) : '',
  ];
}

export type GuardStep =
  | { kind: 'go'; verdict: IdentityVerdict; note: string | null }
  | { kind: 'ask-rename'; verdict: IdentityVerdict; question: Confirmation }
  | { kind: 'refuse'; message: string };

/**
 * What the identity guard decides for the facts read on the target. A host-name mismatch asks (a modal whose one
 * button confirms the rename); a machine-id mismatch is another machine and is refused outright; a system that is
 * not on the target, or a target without nix-env, is refused with the reason.
 */
export function planIdentityGuard(machine: string, facts: TargetFacts, renameConfirmed = false): GuardStep {
  if (!facts.systemPresent) {
    return {
      kind: 'refuse',
      message: `${facts.system.storePath} is not on ${machine} (or has no bin/switch-to-configuration)`,
    };
  }
  if (!facts.nixEnv) return { kind: 'refuse', message: `nix-env is not on the PATH of ${machine}` };
  const verdict = checkIdentity(facts.system, facts.machine, renameConfirmed);
  if (verdict.status === 'mismatch') {
    const idMismatch = checkIdentity(facts.system, facts.machine, true);
    if (idMismatch.status === 'mismatch') return { kind: 'refuse', message: verdict.message };
    return {
      kind: 'ask-rename',
      verdict,
      question: {
        message: `This system is built for "${verdict.systemHost}", but ${machine} is "${verdict.machineHost}". Activate it anyway?`,
        detail:
          `${verdict.message.replace(/ If .*$/, '')}\n\nActivating another host's system can take this machine's ` +
          `addresses, keys and services away. Go ahead only if ${machine} is being renamed to "${verdict.systemHost}".`,
        action: `Rename ${verdict.machineHost} to ${verdict.systemHost}`,
      },
    };
  }
  return { kind: 'go', verdict, note: verdict.status === 'match' ? null : verdict.message };
}
