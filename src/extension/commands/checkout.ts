/**
 * `nixosGenerations.checkoutGenerationCommit`: checks out the commit a generation was built from in a worktree of
 * its own (the user's working tree is never touched), then offers to rebuild from it or open it.
 */
import * as vscode from 'vscode';
import { checkoutRevision } from '../../core/deploy/worktree';
import { loadConfigurationRevisions } from '../../core/generations';
import { LOCAL_MACHINE } from '../../core/model/store';
import { checkoutOutcome, OPEN_FOLDER, REBUILD_FROM_IT, revisionToCheckOut } from '../../core/plan/checkout';
import type { CommandFactory } from '../context';
import { firstFolder, flakeTarget, generationArgument } from '../deploy/support';
import { log } from '../log';
import { requireTrust } from '../trust';
import { runRebuild } from './rebuild';

export const checkoutGenerationCommit: CommandFactory = (services) => async (arg?: unknown) => {
  if (!requireTrust("Checking out a generation's commit")) return false;
  const target = await generationArgument(services, arg, "Check out which generation's commit?");
  if (!target) return false;
  let generation = target.generation;
  if (!generation.configurationRevision && !generation.missing) {
    const copy = { ...generation };
    await loadConfigurationRevisions([copy]);
    const revision = copy.configurationRevision;
    if (revision) {
      // the store learns it too (the tree and the status bar show it), without editing the listing in place
      services.store.patchGenerations(LOCAL_MACHINE, (g, profile) =>
        profile.path === target.profile.path && g.generation === generation.generation
          ? { configurationRevision: revision }
          : undefined,
      );
    }
    generation = copy;
  }
  const revision = revisionToCheckOut(generation);
  const repoDir = flakeTarget(services).dir ?? firstFolder();
  if (!repoDir) throw new Error('open the git repository of your configuration first');
  const result = await checkoutRevision({ repoDir, revision, generation: generation.generation });
  const outcome = checkoutOutcome(generation, result);
  log.info(outcome.log);
  const choice = await vscode.window.showInformationMessage(outcome.message, REBUILD_FROM_IT, OPEN_FOLDER);
  if (choice === REBUILD_FROM_IT) return runRebuild(services, { flake: result.flakeDir });
  if (choice === OPEN_FOLDER) {
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(result.worktree), {
      forceNewWindow: true,
    });
  }
  return result;
};
