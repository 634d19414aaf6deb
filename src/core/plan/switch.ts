/**
 * Switching a profile to one of its generations (no evaluation, no build): whether it can be, which
 * specialisation, the confirmation in words, the script task and what the history records.
 */
import { resolveElevation, type Elevation, type ElevationFacts } from '../deploy/elevation';
import { displayLine } from '../deploy/rebuild';
import {
  SWITCH_GENERATION_SCRIPT,
  switchArgv,
  type KernelCheck,
  type SwitchAction,
  type SwitchRequest,
} from '../deploy/switch-generation';
import type { Generation } from '../generations/types';
import type { GenerationTarget } from './generations';
import { formatAge, formatLocalDateTime } from '../format';
import { scriptCommand, type ActivationEntry, type Confirmation, type ScriptTask } from './types';

/** Throws why a generation cannot be activated (garbage-collected, not a NixOS system). */
export function checkActivatable(generation: Generation, hasActivationProgram: boolean): void {
  if (generation.missing) {
    throw new Error(`generation ${generation.generation} was garbage-collected; it cannot be activated`);
  }
  if (!hasActivationProgram) {
    throw new Error(`generation ${generation.generation} has no bin/switch-to-configuration: it is not a NixOS system`);
  }
}

export const MAIN_CONFIGURATION = '(main configuration)';

/**
 * The specialisation to activate: `requested` (a name, or null for the main configuration) when given; else
 * `{ ask }` with the choices when the generation has any (MAIN_CONFIGURATION first); else the main one.
 */
export function chooseSpecialisation(
  generation: Generation,
  requested: string | null | undefined,
  available: readonly string[],
): { specialisation: string | undefined } | { ask: string[] } {
  if (requested !== undefined && requested !== null) {
    if (!available.includes(requested)) {
      throw new Error(`generation ${generation.generation} has no specialisation "${requested}"`);
    }
    return { specialisation: requested };
  }
  if (requested === undefined && available.length > 0) return { ask: [MAIN_CONFIGURATION, ...available] };
  return { specialisation: undefined };
}

export interface SwitchPlanInput {
  target: GenerationTarget;
  action: SwitchAction;
  specialisation: string | undefined;
  /** A first line saying why (a rollback's reason), if any. */
  why?: string | undefined;
  /** This switch is a roll back (the dialog says so, not "Switch"). */
  rollback?: boolean;
  kernel: KernelCheck;
  /** nix-env, absolute. */
  nixEnv: string;
  elevation: Elevation;
  facts: ElevationFacts;
}

export interface SwitchPlan {
  confirm: Confirmation;
  task: ScriptTask;
  /** What the history records after success; null for `boot` (nothing runs now). */
  record: ActivationEntry | null;
  /** The elevation program left out (root, not installed), to be logged. */
  dropped: Elevation | null;
}

export function planSwitch(input: SwitchPlanInput): SwitchPlan {
  const { profile, generation, listing } = input.target;
  const { action, specialisation } = input;
  const request: SwitchRequest = {
    nixEnv: input.nixEnv,
    profilePath: profile.path,
    generation: generation.generation,
    toplevel: generation.storePath,
    action,
    previousGeneration: listing.currentGeneration,
    ...(specialisation !== undefined ? { specialisation } : {}),
    elevation: input.elevation,
  };
  const preview = resolveElevation(switchArgv('<script>', request), input.facts);
  const version = generation.nixosVersion ?? generation.label;
  const built = `${version ? `NixOS ${version}` : generation.storePath}${specialisation ? `, specialisation ${specialisation}` : ''}, from ${formatAge(generation.date)} (${formatLocalDateTime(generation.date)}).`;
  const detail = [
    input.why ?? '',
    built,
    action === 'test'
      ? 'It is activated now, until the next boot; the boot default stays as it is.'
      : action === 'switch'
        ? `It is activated now and becomes the boot default (the ${profile.name} profile points at it again). Nothing is evaluated or built; if activation fails, the profile is switched back.`
        : `It becomes the boot default (the ${profile.name} profile points at it again) and runs from the next boot; nothing changes now.`,
    input.kernel.differs
      ? `Warning: it was built for kernel ${input.kernel.target}, the booted kernel is ${input.kernel.booted}: modules of the running kernel may be missing until you reboot.`
      : '',
  ]
    .filter((l) => l !== '')
    .join('\n\n');
  const n = generation.generation;
  const [message, verb] = input.rollback
    ? [`Roll back to generation ${n} of ${profile.name}?`, 'Roll Back']
    : action === 'switch'
      ? [`Switch to generation ${n} of ${profile.name}?`, 'Switch']
      : action === 'boot'
        ? [`Make generation ${n} of ${profile.name} the boot default?`, 'Set as Boot Default']
        : [`Activate generation ${n} of ${profile.name} until the next boot?`, 'Activate'];
  return {
    confirm: {
      message,
      detail,
      action: verb,
      command: scriptCommand(displayLine(preview.argv), SWITCH_GENERATION_SCRIPT),
    },
    task: {
      name: `switch to generation ${generation.generation}`,
      scriptName: 'switch-generation.sh',
      scriptText: SWITCH_GENERATION_SCRIPT,
      argvFor: (script) => resolveElevation(switchArgv(script, request), input.facts).argv,
    },
    record:
      action === 'boot'
        ? null
        : {
            action,
            profile: profile.path,
            generation: generation.generation,
            storePath: generation.storePath,
            ...(specialisation !== undefined ? { specialisation } : {}),
          },
    dropped: preview.dropped,
  };
}
