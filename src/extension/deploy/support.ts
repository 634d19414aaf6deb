/**
 * What the command files share to pick, run and record: finding programs, the facts elevation depends on, the
 * activation history, confirmations, the generation and host pickers over core/plan, running a script task in the
 * terminal and refreshing the explorer afterwards. Decisions live in core/plan; nothing here decides.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ActivationHistory, type ActivationRecord } from '../../core/deploy/history';
import { flakeHosts } from '../../core/deploy/hosts';
import { DEFAULT_FLAVOR, probeRebuildFlavor, type RebuildFlavor } from '../../core/deploy/rebuild';
import type { Elevation, ElevationFacts } from '../../core/deploy/elevation';
import { whichExecutable } from '../../core/deploy/switch-generation';
import type { Generation } from '../../core/generations/types';
import { chooseHost, fixedHost, flakeTarget as planFlakeTarget, type FlakeTarget } from '../../core/plan/flake';
import {
  locate,
  resolveGeneration,
  systemListing as systemListingOf,
  type GenerationTarget,
} from '../../core/plan/generations';
import type { ActivationEntry, Confirmation, ScriptTask } from '../../core/plan/types';
import type { ProfileListing } from '../../core/generations/types';
import type { ExtensionServices } from '../context';
import { log } from '../log';
import { runInTerminal, type TerminalResult } from '../tasks';

export type { FlakeTarget } from '../../core/plan/flake';
export { states } from '../../core/plan/generations';
export type { GenerationTarget } from '../../core/plan/generations';

/** Resolves a program to an absolute path with the extension host's PATH; throws a message naming the setting. */
export async function resolveProgram(name: string, what = name): Promise<string> {
  const found = await whichExecutable(name, process.env);
  if (!found) throw new Error(`${what} was not found (looked for "${name}" on PATH)`);
  return found;
}

/** Who we are and where the elevation programs are, for core/deploy/elevation's one decision. */
export async function elevationFacts(): Promise<ElevationFacts> {
  const found = new Map<string, string | null>();
  for (const program of ['sudo', 'doas', 'run0']) found.set(program, await whichExecutable(program, process.env));
  return { isRoot: process.getuid?.() === 0, which: (p) => found.get(p) ?? null };
}

/** Logs an elevation program left out as root (core/deploy/elevation drops it when it is not installed). */
export function noteDropped(dropped: Elevation | null): void {
  if (dropped) log.info(`running as root without ${dropped} (it is not installed)`);
}

const flavors = new Map<string, Promise<{ flavor: RebuildFlavor; note?: string }>>();

/** What the installed nixos-rebuild understands (cached per executable). */
export function rebuildFlavor(program: string): Promise<{ flavor: RebuildFlavor; note?: string }> {
  let found = flavors.get(program);
  if (!found) {
    found = probeRebuildFlavor(program).catch(() => ({ flavor: DEFAULT_FLAVOR }));
    flavors.set(program, found);
  }
  return found;
}

/** The activation history (its directory read from the environment on every use: tests point it elsewhere). */
export function activationHistory(): ActivationHistory {
  return new ActivationHistory();
}

/** The store path runDir/current-system points to now, or null. */
export function activatedStorePath(runDir: string): string | null {
  try {
    return fs.realpathSync(path.join(runDir, 'current-system'));
  } catch {
    return null;
  }
}

/** Notes in the history what is activated now, when it changed behind our back. */
export async function observeActivation(
  services: ExtensionServices,
  options: { onlyIfExists?: boolean } = {},
): Promise<ActivationRecord | null> {
  const storePath = activatedStorePath(services.config.runDir);
  try {
    return await activationHistory().observe(storePath, (p) => locate(services.store.listings(), p), options);
  } catch (error) {
    log.warn(`activation history: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** Records an activation this extension performed (what it activated, not what current-system says). */
export async function recordActivation(what: ActivationEntry): Promise<void> {
  let activatedPath: string | undefined;
  if (what.specialisation) {
    try {
      activatedPath = fs.realpathSync(path.join(what.storePath, 'specialisation', what.specialisation));
    } catch {
      activatedPath = undefined;
    }
  }
  try {
    await activationHistory().append({
      profile: what.profile,
      generation: what.generation,
      storePath: what.storePath,
      action: what.action,
      source: 'performed',
      ...(what.specialisation ? { specialisation: what.specialisation } : {}),
      ...(activatedPath ? { activatedPath } : {}),
    });
  } catch (error) {
    log.warn(`activation history: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A modal confirmation; resolves true only when the user picked the plan's action. */
export async function confirm(question: Confirmation): Promise<boolean> {
  const SHOW = 'Show Command';
  for (;;) {
    const buttons = question.command ? [question.action, SHOW] : [question.action];
    const choice = await vscode.window.showWarningMessage(
      question.message,
      { modal: true, detail: question.detail },
      ...buttons,
    );
    if (choice !== SHOW || !question.command) return choice === question.action;
    // the exact command line in a read-only editor beside (selectable, copyable, closes without a question); then
    // the same question again
    const document = await vscode.workspace.openTextDocument(commandDocument(question.command));
    await vscode.languages.setTextDocumentLanguage(document, 'shellscript');
    await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }
}

const COMMAND_SCHEME = 'nixos-generations-command';
const commandTexts = new Map<string, string>();
let commandProvider: vscode.Disposable | undefined;

/** A read-only document holding `text` (a virtual document of this extension's own scheme). */
function commandDocument(text: string): vscode.Uri {
  commandProvider ??= vscode.workspace.registerTextDocumentContentProvider(COMMAND_SCHEME, {
    provideTextDocumentContent: (uri) => commandTexts.get(uri.query) ?? '',
  });
  const key = String(commandTexts.size + 1);
  commandTexts.set(key, text + '\n');
  return vscode.Uri.from({ scheme: COMMAND_SCHEME, path: '/command.sh', query: key });
}

/** The system profile listing (the first of kind system), else the first readable one. */
export function systemListing(services: ExtensionServices): ProfileListing | undefined {
  return systemListingOf(services.store.listings());
}

/** Makes sure the explorer has read the profiles at least once. */
export async function ensureLoaded(services: ExtensionServices): Promise<void> {
  if (!services.store.loaded()) await services.explorer.refresh();
}

/**
 * The generation a command was invoked on: a tree item, a number (of the system profile), `{profile, generation}`,
 * or nothing (then the user picks one, filtered by `filter`). Undefined when the user cancels.
 */
export async function generationArgument(
  services: ExtensionServices,
  arg: unknown,
  pickTitle: string,
  filter?: (g: Generation) => boolean,
): Promise<GenerationTarget | undefined> {
  await ensureLoaded(services);
  const resolved = resolveGeneration(services.store.listings(), arg, filter);
  if (!('pick' in resolved)) return resolved;
  const picked = await vscode.window.showQuickPick(resolved.pick, { title: pickTitle, placeHolder: 'Generation' });
  return picked
    ? { profile: resolved.listing.profile, generation: picked.generation, listing: resolved.listing }
    : undefined;
}

/**
 * The Nix variables of the extension host (a store elsewhere, a daemon, settings), passed to the terminal so its
 * nix commands see the same store the explorer reads. Usually none are set.
 */
export function nixEnvironment(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [
    'NIX_STORE_DIR',
    'NIX_STATE_DIR',
    'NIX_LOG_DIR',
    'NIX_CONF_DIR',
    'NIX_CONFIG',
    'NIX_REMOTE',
    'NIX_PATH',
  ]) {
    const value = base[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** Writes the plan's constant script, runs its argv as a terminal task, removes the script. */
export async function runScriptTask(task: ScriptTask): Promise<TerminalResult> {
  // the script is `sh -c` text in the elevated argv: no file another process of the user could rewrite
  const argv = task.argvFor(task.scriptText);
  const env = nixEnvironment();
  return runInTerminal({ name: task.name, argv, ...(Object.keys(env).length > 0 ? { env } : {}) });
}

/** Tells the outcome of a task and refreshes the explorer. */
export async function afterTask(services: ExtensionServices, what: string, result: TerminalResult): Promise<boolean> {
  await services.explorer.refresh();
  if (result.exitCode === 0) {
    void vscode.window.showInformationMessage(`NixOS Generations: ${what} finished.`);
    return true;
  }
  const how = result.exitCode === undefined ? 'was stopped' : `failed (exit code ${result.exitCode})`;
  void vscode.window.showErrorMessage(`NixOS Generations: ${what} ${how}; see the terminal.`);
  return false;
}

// ------------------------------------------------------------------------------------------ flake and host

/** The first workspace folder's path, if any. */
export function firstFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The flake setting (or `override`), else the workspace folder holding flake.nix, else a classic configuration. */
export function flakeTarget(services: ExtensionServices, override?: string): FlakeTarget {
  return workspaceFlakeTarget(services.config.flake, override);
}

/** The same, from the flake setting's value (the explorer reads it without the command services). */
export function workspaceFlakeTarget(setting: string, override?: string): FlakeTarget {
  return planFlakeTarget({
    setting,
    override,
    folders: (vscode.workspace.workspaceFolders ?? []).map((f) => ({
      path: f.uri.fsPath,
      hasFlake: f.uri.scheme === 'file' && fs.existsSync(path.join(f.uri.fsPath, 'flake.nix')),
    })),
    home: os.homedir(),
    cwd: process.cwd(),
  });
}

/**
 * The host (nixosConfigurations name): the setting; else the names written in flake.nix (our parser), else
 * `nix eval` of the flake's nixosConfigurations; one name is taken, several are offered (this machine's host name
 * first). Undefined when the user cancels, null when no host is needed.
 */
export async function pickHost(services: ExtensionServices, target: FlakeTarget): Promise<string | undefined | null> {
  const fixed = fixedHost(services.config.host, target);
  if (fixed) return fixed.host;
  const names = await flakeHosts(target.flake!, target.dir, (m) => log.warn(m));
  const choice = chooseHost(names, os.hostname());
  if ('host' in choice) return choice.host;
  const picked = await vscode.window.showQuickPick(choice.pick, {
    title: 'Which nixosConfigurations host?',
    placeHolder: 'Host',
  });
  return picked?.label;
}

/**
 * Opens the settings at a machine-scoped setting (executables, hosts, paths). In a remote window (code-server,
 * SSH, WSL, containers) VS Code keeps those in the Remote settings, and the User tab would say "No Settings Found".
 */
export async function openMachineSetting(id: string): Promise<void> {
  if (vscode.env.remoteName) await vscode.commands.executeCommand('workbench.action.openRemoteSettings', { query: id });
  else await vscode.commands.executeCommand('workbench.action.openSettings', id);
}
