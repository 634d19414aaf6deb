/**
 * Deleting generations: after core/deploy/clean's selection (never the activated, booted or boot-default one),
 * whether anything goes at all, what the estimate keeps alive, who runs the script, and the confirmation.
 */
import { CLEAN_SCRIPT, cleanArgv, type CleanPlan, type CleanRequest, type FreedSpace } from '../deploy/clean';
import { resolveElevation, type Elevation, type ElevationFacts } from '../deploy/elevation';
import { displayLine } from '../deploy/rebuild';
import { formatBytes } from '../format';
import type { Generation, ProfileListing } from '../generations/types';
import { states } from './generations';
import { scriptCommand, type Confirmation, type ScriptTask } from './types';

/** "3 (activated), 5" — generations with their states, or "none". */
export function describeGenerations(list: readonly Generation[]): string {
  if (list.length === 0) return 'none';
  return list.map((g) => `${g.generation}${states(g) ? ` ${states(g)}` : ''}`).join(', ');
}

function protectedList(plan: CleanPlan): string {
  return plan.protected.map((p) => `${p.generation.generation} (${p.reasons.join(', ')})`).join(', ');
}

/** When the selection deletes nothing: the message saying so (and what was kept because it is in use). */
export function nothingToDelete(plan: CleanPlan): string | null {
  if (plan.remove.length > 0) return null;
  const kept = protectedList(plan);
  return `NixOS Generations: nothing to delete${kept ? `; kept because they are in use: ${kept}` : ''}.`;
}

/** The store paths that stay alive, for the freed-space estimate: the kept generations and the activated system. */
export function keptAlive(plan: CleanPlan, activated: string | null): string[] {
  return [...plan.keep.map((g) => g.storePath), ...(activated ? [activated] : [])];
}

export interface DeletionPlanInput {
  listing: ProfileListing;
  selection: CleanPlan;
  /** The estimate, or undefined when the closures could not be read. */
  freed: FreedSpace | undefined;
  nixEnv: string;
  nixStore: string;
  /** A NixOS system profile (it has bin/switch-to-configuration): the boot entries are refreshed afterwards. */
  isSystem: boolean;
  /** The user may write the profile's directory (a user profile): no elevation needed. */
  writable: boolean;
  elevation: Elevation;
  facts: ElevationFacts;
}

export interface DeletionPlan {
  confirm: Confirmation;
  task: ScriptTask;
  dropped: Elevation | null;
}

export function planDeletion(input: DeletionPlanInput): DeletionPlan {
  const { listing, selection: plan, freed, isSystem } = input;
  const request: CleanRequest = {
    nixEnv: input.nixEnv,
    nixStore: input.nixStore,
    profilePath: listing.profile.path,
    generations: plan.remove.map((g) => g.generation),
    refreshBoot: isSystem,
    elevation: isSystem || !input.writable ? input.elevation : 'none',
  };
  const space = freed
    ? `${freed.upperBound ? 'up to ' : ''}${formatBytes(freed.bytes)} (${freed.paths} store paths only these generations use)${freed.note ? `; ${freed.note}` : ''}`
    : 'unknown (the closures could not be read)';
  const preview = resolveElevation(cleanArgv('<script>', request), input.facts);
  const detail = [
    plan.summary + '.',
    `Delete: ${describeGenerations(plan.remove)}.`,
    `Keep: ${describeGenerations(plan.keep)}.`,
    plan.protected.length > 0 ? `Never deleted: ${protectedList(plan)}.` : '',
    `Frees: ${space}. The garbage collector also removes anything else nothing refers to.`,
    isSystem ? 'Then the boot entries are refreshed, so the boot menu lists only what exists.' : '',
  ]
    .filter((l) => l !== '')
    .join('\n');
  return {
    confirm: {
      message: `Delete ${plan.remove.length} generation${plan.remove.length === 1 ? '' : 's'} of ${listing.profile.name}?`,
      detail,
      action: 'Delete',
      command: scriptCommand(displayLine(preview.argv), CLEAN_SCRIPT),
    },
    task: {
      name: 'delete generations',
      scriptName: 'clean-generations.sh',
      scriptText: CLEAN_SCRIPT,
      argvFor: (script) => resolveElevation(cleanArgv(script, request), input.facts).argv,
    },
    dropped: preview.dropped,
  };
}
