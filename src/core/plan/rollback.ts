/** Rolling back: which generation (the activation history first), why, and how to switch to it. */
import { rollbackTarget, type ActivationRecord } from '../deploy/history';
import type { SwitchAction } from '../deploy/switch-generation';
import type { ProfileListing } from '../generations/types';
import type { GenerationTarget } from './generations';

export interface RollbackPlan {
  target: GenerationTarget;
  action: SwitchAction;
  /** The specialisation to activate; null: the main configuration. */
  specialisation: string | null;
  /** The first line of the confirmation. */
  why: string;
  /** Shown before asking when the history had no answer; null otherwise. */
  warning: string | null;
}

export function planRollback(input: {
  history: readonly ActivationRecord[];
  listing: ProfileListing | undefined;
  /** What runDir/current-system points to now. */
  activated: string | null;
  options: { action?: SwitchAction; specialisation?: string | null };
}): RollbackPlan {
  const { listing } = input;
  if (!listing) throw new Error('no system profile could be read');
  const target = rollbackTarget(input.history, listing.generations, input.activated);
  if (!target) throw new Error(`there is no earlier generation of ${listing.profile.path} to roll back to`);
  return {
    target: { profile: listing.profile, generation: target.generation, listing },
    action: input.options.action ?? 'switch',
    specialisation: input.options.specialisation ?? target.specialisation ?? null,
    why: `${target.reason[0]!.toUpperCase()}${target.reason.slice(1)}.`,
    warning: target.fromHistory
      ? null
      : `NixOS Generations: no earlier activation is recorded; offering generation ${target.generation.generation}, the one numbered below the activated one.`,
  };
}
