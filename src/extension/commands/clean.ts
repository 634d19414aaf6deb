/**
 * `nixosGenerations.deleteGenerations`: asks which generations go (keep N, older than D days, a selection),
 * estimates the space it frees, confirms the plan in words, runs the one elevated script in the terminal.
 * Planned by core/deploy/clean (the selection) and core/plan/clean (the rest).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { estimateFreedSpace, planClean, type CleanSelector } from '../../core/deploy/clean';
import type { ProfileListing } from '../../core/generations/types';
import { keptAlive, nothingToDelete, planDeletion } from '../../core/plan/clean';
import { generationChoices } from '../../core/plan/generations';
import type { CommandFactory, ExtensionServices } from '../context';
import {
  activatedStorePath,
  afterTask,
  confirm,
  elevationFacts,
  ensureLoaded,
  generationArgument,
  noteDropped,
  resolveProgram,
  runScriptTask,
  systemListing,
} from '../deploy/support';
import { log } from '../log';
import { requireTrust } from '../trust';
import { GenerationNode, ProfileNode } from '../tree/nodes';
import { isOptions } from './args';

export interface CleanOptions {
  /** keep-N, older-than or a selection; asked when absent. */
  selector?: CleanSelector;
  /** The profile path (default: the system profile, or the tree item's). */
  profile?: string;
}

async function askSelector(listing: ProfileListing): Promise<CleanSelector | undefined> {
  const mode = await vscode.window.showQuickPick(
    [
      { label: 'Keep the newest…', id: 'keep' as const },
      { label: 'Delete generations older than…', id: 'older' as const },
      { label: 'Choose generations…', id: 'pick' as const },
    ],
    { title: `Clean up ${listing.profile.name}`, placeHolder: 'Which generations should go?' },
  );
  if (!mode) return undefined;
  if (mode.id === 'keep') {
    const value = await vscode.window.showInputBox({
      title: 'Keep how many of the newest generations?',
      value: '5',
      validateInput: (v) => (/^\d+$/.test(v.trim()) ? undefined : 'a whole number'),
    });
    return value === undefined ? undefined : { kind: 'keep', keep: Number(value.trim()) };
  }
  if (mode.id === 'older') {
    const value = await vscode.window.showInputBox({
      title: 'Delete generations replaced more than how many days ago?',
      value: '30',
      validateInput: (v) => (/^\d+$/.test(v.trim()) ? undefined : 'a whole number of days'),
    });
    return value === undefined ? undefined : { kind: 'olderThan', days: Number(value.trim()) };
  }
  const picked = await vscode.window.showQuickPick(
    generationChoices(listing, (g) => !g.current && !g.activated && !g.booted),
    { title: 'Delete which generations?', canPickMany: true },
  );
  return picked && picked.length > 0
    ? { kind: 'selection', generations: picked.map((p) => p.generation.generation) }
    : undefined;
}

function writableDirectory(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `nixosGenerations.deleteGenerations` (palette and the view's toolbar): always asks which generations go (keep the
 * newest N, older than, or choose), unless a caller passes explicit CleanOptions. VS Code hands a toolbar command the
 * tree's focused row and its selection (the row right-clicked earlier, say) as arguments; those are deliberately
 * ignored, because a toolbar button must not act on a row the user did not point at. A row's own context menu uses
 * `deleteSelectedGenerations` below.
 */
export const deleteGenerations: CommandFactory = (services) => async (arg?: unknown, options?: unknown) => {
  if (!requireTrust('Deleting generations')) return false;
  await ensureLoaded(services);
  const opts = isCleanOptions(options) ? options : isCleanOptions(arg) ? arg : {};
  const listings = services.store.listings();
  const listing = opts.profile ? listings.find((l) => l.profile.path === opts.profile) : systemListing(services);
  return cleanProfile(services, listing, opts.selector);
};

/**
 * `nixosGenerations.deleteSelectedGenerations` (a generation row's context menu): deletes the row the menu was opened
 * on, or every selected row of the same profile when that row is part of a multi-selection, after the same plan and
 * confirmation as the toolbar's cleanup.
 */
export const deleteSelectedGenerations: CommandFactory = (services) => async (arg?: unknown, selected?: unknown) => {
  if (!requireTrust('Deleting generations')) return false;
  const target = await generationArgument(services, arg, 'Delete which generation?');
  if (!target) return false;
  const numbers = new Set([target.generation.generation]);
  if (Array.isArray(selected) && selected.includes(arg)) {
    for (const other of selected) {
      if (other instanceof GenerationNode && other.profile.path === target.profile.path) {
        numbers.add(other.generation.generation);
      }
    }
  }
  return cleanProfile(services, target.listing, {
    kind: 'selection',
    generations: [...numbers].sort((a, b) => a - b),
  });
};

/**
 * `nixosGenerations.deleteProfileGenerations` (a profile row's context menu): the same chooser as the toolbar's (keep
 * the newest N, older than, or choose), for the profile the menu was opened on.
 */
export const deleteProfileGenerations: CommandFactory = (services) => async (arg?: unknown) => {
  if (!requireTrust('Deleting generations')) return false;
  await ensureLoaded(services);
  const profilePath = arg instanceof ProfileNode ? arg.listing.profile.path : undefined;
  const listing = profilePath
    ? services.store.listings().find((l) => l.profile.path === profilePath)
    : systemListing(services);
  return cleanProfile(services, listing, undefined);
};

function isCleanOptions(value: unknown): value is CleanOptions {
  if (!isOptions(value) || value instanceof GenerationNode) return false;
  return 'selector' in value || typeof value.profile === 'string';
}

/** Asks for the selector when none is given, plans, confirms, runs. */
async function cleanProfile(
  services: ExtensionServices,
  listing: ProfileListing | undefined,
  given: CleanSelector | undefined,
): Promise<boolean> {
  if (!listing) throw new Error('no profile could be read');
  const selector = given ?? (await askSelector(listing));
  if (!selector) return false;
  const selection = planClean(listing.profile.path, listing.generations, selector);
  if (selection.unknown.length > 0) log.warn(`no such generation(s): ${selection.unknown.join(', ')}`);
  const nothing = nothingToDelete(selection);
  if (nothing) {
    void vscode.window.showInformationMessage(nothing);
    return false;
  }
  const nixStore = await resolveProgram('nix-store');
  const nixEnv = await resolveProgram('nix-env');
  const freed = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Computing the space it frees…' },
    () =>
      estimateFreedSpace(selection.remove, keptAlive(selection, activatedStorePath(services.config.runDir)), {
        nixStore,
      }).catch((error: unknown) => {
        log.warn(`freed space unknown: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }),
  );
  const plan = planDeletion({
    listing,
    selection,
    freed,
    nixEnv,
    nixStore,
    isSystem:
      listing.profile.kind === 'system' &&
      fs.existsSync(path.join(listing.profile.path, 'bin', 'switch-to-configuration')),
    writable: writableDirectory(path.dirname(listing.profile.path)),
    elevation: services.config.elevation,
    facts: await elevationFacts(),
  });
  noteDropped(plan.dropped);
  if (!(await confirm(plan.confirm))) return false;
  const result = await runScriptTask(plan.task);
  return afterTask(services, 'deleting generations', result);
}
