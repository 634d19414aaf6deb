/**
 * Deploy, roll back, switch to any generation, pin the commit, clean up, check out a generation's commit. Every
 * privileged step runs in the integrated terminal as a task (argv, no shell) where the user sees it and types the
 * password; nothing that switches or deletes runs without a confirmation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../../core/format';
import { CLEAN_SCRIPT, cleanArgv, estimateFreedSpace, planClean, type CleanSelector } from '../../core/deploy/clean';
import { rollbackTarget } from '../../core/deploy/history';
import { pinFlake } from '../../core/deploy/pin';
import {
  activates,
  buildRebuildArgv,
  displayLine,
  nomPipeline,
  REBUILD_ACTIONS,
  type RebuildAction,
} from '../../core/deploy/rebuild';
import {
  activationProgram,
  checkKernel,
  listSpecialisations,
  SWITCH_ACTIONS,
  SWITCH_GENERATION_SCRIPT,
  switchArgv,
  type SwitchAction,
} from '../../core/deploy/switch-generation';
import { checkoutRevision, parseRevision } from '../../core/deploy/worktree';
import { loadConfigurationRevisions } from '../../core/generations';
import type { Generation, ProfileListing } from '../../core/generations/types';
import type { CommandFactory, ExtensionServices } from '../context';
import { log } from '../log';
import { runInTerminal } from '../tasks';
import { requireTrust } from '../trust';
import { GenerationNode } from '../tree/nodes';
import {
  activatedStorePath,
  activationHistory,
  afterTask,
  confirm,
  ensureLoaded,
  flakeTarget,
  generationArgument,
  locate,
  nixEnvironment,
  observeActivation,
  pickHost,
  rebuildFlavor,
  recordActivation,
  resolveElevated,
  resolveProgram,
  runScriptTask,
  states,
  systemListing,
  type GenerationTarget,
} from '../deploy/support';

// ------------------------------------------------------------------------------------------ rebuild

export interface RebuildRequest {
  action?: RebuildAction;
  /** Rebuild from this flake (a directory or reference) instead of the setting/workspace. */
  flake?: string;
}

function isRebuildAction(value: unknown): value is RebuildAction {
  return typeof value === 'string' && REBUILD_ACTIONS.some((a) => a.action === value);
}

async function runRebuild(services: ExtensionServices, request: RebuildRequest): Promise<boolean> {
  if (!requireTrust('Rebuilding')) return false;
  let action = request.action;
  if (!action) {
    const picked = await vscode.window.showQuickPick(
      REBUILD_ACTIONS.map((a) => ({ label: a.action, detail: a.detail })),
      { title: 'nixos-rebuild', placeHolder: 'What should nixos-rebuild do?' },
    );
    if (!picked) return false;
    action = picked.label as RebuildAction;
  }
  const config = services.config;
  const target = flakeTarget(services, request.flake);
  const host = await pickHost(services, target);
  if (host === undefined) return false;
  const program = await resolveProgram(
    config.rebuildCommand,
    `${config.rebuildCommand} (setting nixosGenerations.rebuildCommand)`,
  );
  const { flavor, note } = await rebuildFlavor(program);
  if (note) log.warn(note);
  let useNom = config.useNom;
  let nom: string | null = null;
  if (useNom) {
    try {
      nom = await resolveProgram('nom', 'nix-output-monitor (nom)');
    } catch {
      useNom = false;
      void vscode.window.showWarningMessage(
        'NixOS Generations: nom was not found; building without nix-output-monitor.',
      );
    }
  }
  const built = buildRebuildArgv({
    program,
    action,
    ...(target.flake ? { flake: target.flake } : {}),
    ...(host ? { host } : {}),
    targetHost: config.targetHost,
    buildHost: config.buildHost,
    elevation: config.elevation,
    flavor,
    extraArgs: config.rebuildExtraArgs,
    nom: useNom,
  });
  const elevated = await resolveElevated(built.argv);
  const argv = useNom && nom ? nomPipeline(elevated, nom) : elevated;
  for (const n of built.notes) log.warn(n);
  const line = displayLine(argv);
  if (action === 'switch' || action === 'boot' || action === 'test') {
    const where = config.targetHost ? ` on ${config.targetHost}` : '';
    const ok = await confirm(
      `Run nixos-rebuild ${action}${where}?`,
      [
        action === 'boot'
          ? 'The new generation becomes the boot default; it is activated at the next boot.'
          : 'The new generation is activated now.',
        ...built.notes,
        '',
        line,
      ].join('\n'),
      action === 'switch' ? 'Switch' : action === 'boot' ? 'Build for Boot' : 'Test',
    );
    if (!ok) return false;
  }
  await observeActivation(services);
  const env = nixEnvironment();
  const result = await runInTerminal({
    name: `nixos-rebuild ${action}`,
    argv,
    ...(target.cwd ? { cwd: target.cwd } : {}),
    ...(Object.keys(env).length > 0 ? { env } : {}),
  });
  const ok = await afterTask(services, `nixos-rebuild ${action}`, result);
  if (ok && activates(action) && !config.targetHost) {
    // nixos-rebuild activated what current-system points to now
    const now = activatedStorePath(config.runDir);
    if (now) {
      const where = locate(services.explorer.snapshot(), now);
      await recordActivation(`rebuild ${action}`, {
        profile: where?.profile ?? null,
        generation: where?.generation ?? null,
        storePath: now,
      });
    }
  }
  return ok;
}

export const rebuild: CommandFactory = (services) => (arg?: unknown) =>
  runRebuild(services, isRebuildAction(arg) ? { action: arg } : isObject(arg) ? (arg as RebuildRequest) : {});

export const switchConfiguration: CommandFactory = (services) => () => runRebuild(services, { action: 'switch' });

// ------------------------------------------------------------------------------------------ any generation

export interface SwitchOptions {
  action?: SwitchAction;
  /** A specialisation name, or null for the main configuration (skips the question). */
  specialisation?: string | null;
}

async function switchTo(
  services: ExtensionServices,
  target: GenerationTarget,
  options: SwitchOptions,
  why?: string,
): Promise<boolean> {
  const { profile, generation, listing } = target;
  if (generation.missing) {
    throw new Error(`generation ${generation.generation} was garbage-collected; it cannot be activated`);
  }
  if (!fs.existsSync(activationProgram(generation.storePath))) {
    throw new Error(`generation ${generation.generation} has no bin/switch-to-configuration: it is not a NixOS system`);
  }
  let action = options.action;
  if (!action) {
    const picked = await vscode.window.showQuickPick(
      SWITCH_ACTIONS.map((a) => ({ label: a.action, detail: a.detail })),
      { title: `Generation ${generation.generation}`, placeHolder: 'How should it be activated?' },
    );
    if (!picked) return false;
    action = picked.label as SwitchAction;
  }
  let specialisation: string | undefined;
  const available = await listSpecialisations(generation.storePath);
  if (options.specialisation !== undefined && options.specialisation !== null) {
    if (!available.includes(options.specialisation)) {
      throw new Error(`generation ${generation.generation} has no specialisation "${options.specialisation}"`);
    }
    specialisation = options.specialisation;
  } else if (options.specialisation === undefined && available.length > 0) {
    const main = '(main configuration)';
    const picked = await vscode.window.showQuickPick([main, ...available], {
      title: `Generation ${generation.generation} has specialisations`,
      placeHolder: 'Which configuration?',
    });
    if (!picked) return false;
    if (picked !== main) specialisation = picked;
  }
  const booted = (() => {
    try {
      return fs.realpathSync(path.join(services.config.runDir, 'booted-system'));
    } catch {
      return null;
    }
  })();
  const kernel = await checkKernel(generation.storePath, booted);
  const nixEnv = await resolveProgram('nix-env');
  const request = {
    nixEnv,
    profilePath: profile.path,
    generation: generation.generation,
    toplevel: generation.storePath,
    action,
    previousGeneration: listing.currentGeneration,
    ...(specialisation !== undefined ? { specialisation } : {}),
    elevation: services.config.elevation,
  };
  const preview = await resolveElevated(switchArgv('<script>', request));
  const detail = [
    why ?? '',
    `${generation.nixosVersion ?? generation.label ?? generation.storePath}${specialisation ? `, specialisation ${specialisation}` : ''}`,
    action === 'test'
      ? 'It is activated now; the boot default stays as it is.'
      : `The profile ${profile.path} is switched to it${action === 'switch' ? ' and it is activated now' : '; it is activated at the next boot'}. Nothing is evaluated or built; if activation fails, the profile is switched back.`,
    kernel.differs
      ? `Warning: it was built for kernel ${kernel.target}, the booted kernel is ${kernel.booted}: modules of the running kernel may be missing until you reboot.`
      : '',
    '',
    `Runs: ${displayLine(preview)}`,
  ]
    .filter((l, i, all) => l !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n');
  const verb = action === 'switch' ? 'Switch' : action === 'boot' ? 'Set as Boot Default' : 'Activate';
  if (!(await confirm(`${verb}: generation ${generation.generation} of ${profile.name}?`, detail, verb))) return false;
  if (!requireTrust('Switching generations')) return false;
  await observeActivation(services);
  const result = await runScriptTask(
    `switch to generation ${generation.generation}`,
    'switch-generation.sh',
    SWITCH_GENERATION_SCRIPT,
    (script) => resolveElevated(switchArgv(script, request)),
  );
  const ok = await afterTask(services, `switching to generation ${generation.generation}`, result);
  if (ok && action !== 'boot') {
    await recordActivation(action, {
      profile: profile.path,
      generation: generation.generation,
      storePath: generation.storePath,
      ...(specialisation !== undefined ? { specialisation } : {}),
    });
  }
  return ok;
}

export const switchToGeneration: CommandFactory = (services) => async (arg?: unknown, options?: unknown) => {
  if (!requireTrust('Switching generations')) return false;
  const target = await generationArgument(services, arg, 'Switch to which generation?');
  if (!target) return false;
  return switchTo(services, target, isObject(options) ? (options as SwitchOptions) : {});
};

// ------------------------------------------------------------------------------------------ rollback

export const rollback: CommandFactory = (services) => {
  // Every load of the explorer notes activations done behind our back (a plain nixos-rebuild in a terminal).
  // (only once the history exists: nothing is written until a deploy command has been used)
  services.extensionContext.subscriptions.push(
    services.explorer.onDidLoad(() => void observeActivation(services, { onlyIfExists: true })),
  );
  return async (options?: unknown) => {
    if (!requireTrust('Rolling back')) return false;
    await ensureLoaded(services);
    await observeActivation(services);
    const listing = systemListing(services);
    if (!listing) throw new Error('no system profile could be read');
    const activated = activatedStorePath(services.config.runDir);
    const target = rollbackTarget(await activationHistory().read(), listing.generations, activated);
    if (!target) throw new Error(`there is no earlier generation of ${listing.profile.path} to roll back to`);
    if (!target.fromHistory) {
      void vscode.window.showWarningMessage(
        `NixOS Generations: no earlier activation is recorded; offering generation ${target.generation.generation}, the one numbered below the activated one.`,
      );
    }
    const opts = isObject(options) ? (options as SwitchOptions) : {};
    return switchTo(
      services,
      { profile: listing.profile, generation: target.generation, listing },
      { action: opts.action ?? 'switch', specialisation: opts.specialisation ?? target.specialisation ?? null },
      `Roll back: ${target.reason}.`,
    );
  };
};

// ------------------------------------------------------------------------------------------ pin

export const pinLabel: CommandFactory = (services) => async (arg?: unknown) => {
  if (!requireTrust('Pinning the label')) return false;
  const target = flakeTarget(
    services,
    typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined,
  );
  const dir = target.dir ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!dir) throw new Error('open the folder of your flake (or set nixosGenerations.flake to a local path)');
  const plan = await pinFlake(dir, { dryRun: true });
  if (plan.status === 'not-a-flake') {
    log.info(plan.messages.join('\n'));
    log.show();
    void vscode.window.showInformationMessage(
      'NixOS Generations: this is not a flake, so nothing was edited; the log explains how to record the commit with a classic configuration.',
    );
    return false;
  }
  if (plan.status === 'refused') {
    log.error(plan.messages.join('\n'));
    void vscode.window
      .showErrorMessage(`NixOS Generations: cannot pin: ${plan.messages[0] ?? 'unknown reason'}`, 'Show Log')
      .then((c) => {
        if (c) log.show();
      });
    return false;
  }
  if (plan.status === 'unchanged') {
    void vscode.window.showInformationMessage(
      `NixOS Generations: ${path.basename(plan.file)} already records the commit in every generation.`,
    );
    return true;
  }
  const openDoc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === plan.file);
  if (openDoc?.isDirty) throw new Error(`${plan.file} has unsaved changes; save it first`);
  // Show the edit as a diff before asking.
  const previewDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixos-generations-pin-'));
  const preview = path.join(previewDir, 'flake.nix (pinned)');
  fs.writeFileSync(preview, plan.after);
  try {
    await vscode.commands.executeCommand(
      'vscode.diff',
      vscode.Uri.file(plan.file),
      vscode.Uri.file(preview),
      `${path.basename(plan.file)} ↔ pinned to the git commit`,
      { preview: true },
    );
    log.info(`pin edit for ${plan.file}:\n${plan.diff}`);
    const hosts = plan.hosts.map((h) => h.name ?? `line ${h.line}`).join(', ');
    const ok = await confirm(
      `Apply this edit to ${path.basename(plan.file)}?`,
      `Every future generation of ${hosts} records system.configurationRevision (self.rev or self.dirtyRev) and a label ending in the short commit.\n\n${plan.diff}`,
      'Apply',
    );
    if (!ok) return false;
    const applied = await pinFlake(dir, { dryRun: false });
    if (applied.status !== 'changed' || applied.after !== plan.after) {
      throw new Error(`${plan.file} changed meanwhile; run the command again`);
    }
    void vscode.window.showInformationMessage(
      `NixOS Generations: pinned ${path.basename(plan.file)}; rebuild to record the commit.`,
    );
    return true;
  } finally {
    fs.rmSync(previewDir, { recursive: true, force: true });
  }
};

// ------------------------------------------------------------------------------------------ clean

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
    [...listing.generations]
      .filter((g) => !g.current && !g.activated && !g.booted)
      .sort((a, b) => b.generation - a.generation)
      .map((g) => ({
        label: `${g.generation}`,
        description: [g.nixosVersion ?? g.label ?? '', g.date.slice(0, 10), states(g, listing.profile.kind)]
          .filter(Boolean)
          .join(' · '),
        n: g.generation,
      })),
    { title: 'Delete which generations?', canPickMany: true },
  );
  return picked && picked.length > 0 ? { kind: 'selection', generations: picked.map((p) => p.n) } : undefined;
}

function describe(list: readonly Generation[]): string {
  if (list.length === 0) return 'none';
  return list.map((g) => `${g.generation}${states(g) ? ` ${states(g)}` : ''}`).join(', ');
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
  const listings = services.explorer.snapshot();
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

function isCleanOptions(value: unknown): value is CleanOptions {
  if (!isObject(value) || value instanceof GenerationNode) return false;
  return 'selector' in value || typeof value.profile === 'string';
}

async function cleanProfile(
  services: ExtensionServices,
  listing: ProfileListing | undefined,
  given: CleanSelector | undefined,
): Promise<boolean> {
  if (!listing) throw new Error('no profile could be read');
  const selector = given ?? (await askSelector(listing));
  if (!selector) return false;
  const plan = planClean(listing.profile.path, listing.generations, selector);
  if (plan.unknown.length > 0) log.warn(`no such generation(s): ${plan.unknown.join(', ')}`);
  if (plan.remove.length === 0) {
    const kept = plan.protected.map((p) => `${p.generation.generation} (${p.reasons.join(', ')})`).join(', ');
    void vscode.window.showInformationMessage(
      `NixOS Generations: nothing to delete${kept ? `; kept because they are in use: ${kept}` : ''}.`,
    );
    return false;
  }
  const nixStore = await resolveProgram('nix-store');
  const nixEnv = await resolveProgram('nix-env');
  const freed = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Computing the space it frees…' },
    () =>
      estimateFreedSpace(
        plan.remove,
        [
          ...plan.keep.map((g) => g.storePath),
          ...[activatedStorePath(services.config.runDir)].filter((p): p is string => !!p),
        ],
        { nixStore },
      ).catch((error: unknown) => {
        log.warn(`freed space unknown: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }),
  );
  const isSystem =
    listing.profile.kind === 'system' &&
    fs.existsSync(path.join(listing.profile.path, 'bin', 'switch-to-configuration'));
  const writable = (() => {
    try {
      fs.accessSync(path.dirname(listing.profile.path), fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })();
  const elevation = isSystem || !writable ? services.config.elevation : 'none';
  const request = {
    nixEnv,
    nixStore,
    profilePath: listing.profile.path,
    generations: plan.remove.map((g) => g.generation),
    refreshBoot: isSystem,
    elevation,
  };
  const space = freed
    ? `${freed.upperBound ? 'up to ' : ''}${formatBytes(freed.bytes)} (${freed.paths} store paths only these generations use)${freed.note ? `; ${freed.note}` : ''}`
    : 'unknown (the closures could not be read)';
  const detail = [
    plan.summary + '.',
    `Delete: ${describe(plan.remove)}.`,
    `Keep: ${describe(plan.keep)}.`,
    plan.protected.length > 0
      ? `Never deleted: ${plan.protected.map((p) => `${p.generation.generation} (${p.reasons.join(', ')})`).join(', ')}.`
      : '',
    `Frees: ${space}. The garbage collector also removes anything else nothing refers to.`,
    isSystem ? 'Then the boot entries are refreshed, so the boot menu lists only what exists.' : '',
    '',
    `Runs: ${displayLine(await resolveElevated(cleanArgv('<script>', request)))}`,
  ]
    .filter((l) => l !== '')
    .join('\n');
  if (
    !(await confirm(
      `Delete ${plan.remove.length} generation${plan.remove.length === 1 ? '' : 's'} of ${listing.profile.name}?`,
      detail,
      'Delete',
    ))
  ) {
    return false;
  }
  const result = await runScriptTask('delete generations', 'clean-generations.sh', CLEAN_SCRIPT, (script) =>
    resolveElevated(cleanArgv(script, request)),
  );
  return afterTask(services, 'deleting generations', result);
}

// ------------------------------------------------------------------------------------------ checkout

export const checkoutGenerationCommit: CommandFactory = (services) => async (arg?: unknown) => {
  if (!requireTrust("Checking out a generation's commit")) return false;
  const target = await generationArgument(services, arg, "Check out which generation's commit?");
  if (!target) return false;
  const generation = target.generation;
  if (!generation.configurationRevision && !generation.missing) {
    const copy = { ...generation };
    await loadConfigurationRevisions([copy]);
    generation.configurationRevision = copy.configurationRevision;
  }
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
  const flake = flakeTarget(services);
  const repoDir = flake.dir ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!repoDir) throw new Error('open the git repository of your configuration first');
  const result = await checkoutRevision({ repoDir, revision, generation: generation.generation });
  log.info(
    `generation ${generation.generation}: ${result.commit} ${result.reused ? 'already' : 'now'} checked out in ${result.worktree}`,
  );
  const choice = await vscode.window.showInformationMessage(
    `NixOS Generations: generation ${generation.generation}'s commit ${result.commit.slice(0, 12)} is checked out in ${result.worktree}${result.dirty ? ' (the generation was built with uncommitted changes on top of it)' : ''}. Your working tree was not touched.`,
    'Rebuild from It…',
    'Open Folder',
  );
  if (choice === 'Rebuild from It…') return runRebuild(services, { flake: result.flakeDir });
  if (choice === 'Open Folder') {
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(result.worktree), {
      forceNewWindow: true,
    });
  }
  return result;
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof vscode.Uri);
}
