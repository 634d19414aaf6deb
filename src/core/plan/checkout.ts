/** Checking out the commit a generation was built from: which commit, and how the outcome reads. */
import type { CheckoutResult } from '../deploy/worktree';
import { parseRevision } from '../deploy/worktree';
import type { Generation } from '../generations/types';

/** The generation's configurationRevision as a git commit; throws why there is none. */
export function revisionToCheckOut(generation: Generation): string {
  const revision = generation.configurationRevision;
  if (!revision)
    throw new Error(
      `generation ${generation.generation} records no configurationRevision (pin the label to record it in future generations)`,
    );
  if (!parseRevision(revision)) {
    throw new Error(
      revision === 'dirty'
        ? `generation ${generation.generation} was built from uncommitted changes; it records no commit`
        : `generation ${generation.generation}'s configurationRevision "${revision}" is not a git commit`,
    );
  }
  return revision;
}

export const REBUILD_FROM_IT = 'Rebuild from It…';
export const OPEN_FOLDER = 'Open Folder';

/** The log line and the message after a checkout, with its two follow-ups (REBUILD_FROM_IT, OPEN_FOLDER). */
export function checkoutOutcome(generation: Generation, result: CheckoutResult): { log: string; message: string } {
  return {
    log: `generation ${generation.generation}: ${result.commit} ${result.reused ? 'already' : 'now'} checked out in ${result.worktree}`,
    message: `NixOS Generations: generation ${generation.generation}'s commit ${result.commit.slice(0, 12)} is checked out in ${result.worktree}${result.dirty ? ' (the generation was built with uncommitted changes on top of it)' : ''}. Your working tree was not touched.`,
  };
}
