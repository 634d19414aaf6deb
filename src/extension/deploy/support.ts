/**
 * What the deploy commands share: finding programs, the flake and its host, the activation history, confirmations,
 * running a privileged script in the terminal and refreshing the explorer afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runProcess } from '../../core/exec/process';
import { ActivationHistory, type ActivationRecord } from '../../core/deploy/history';
import { flakeHostNames } from '../../core/deploy/pin';
import { DEFAULT_FLAVOR, probeRebuildFlavor, type RebuildFlavor } from '../../core/deploy/rebuild';
import { withoutNeedlessElevation } from '../../core/deploy/elevation';
import { writeScript } from '../../core/deploy/script';
import { whichExecutable } from '../../core/deploy/switch-generation';
import { generationStates } from '../../core/generations/states';
import type { Generation, ProfileKind, ProfileListing, ProfileRef } from '../../core/generations/types';
import type { ExtensionServices } from '../context';
import { log } from '../log';
import { runInTerminal, type TerminalResult } from '../tasks';
import { GenerationNode } from '../tree/nodes';

/** Resolves a program to an absolute path with the extension host's PATH; throws a message naming the setting. */
export async function resolveProgram(name: string, what = name): Promise<string> {
  const found = await whichExecutable(name, process.env);
  if (!found) throw new Error(`${what} was not found (looked for "${name}" on PATH)`);
  return found;
}

/**
 * The elevation argv prefix resolved to an absolute program, so the terminal runs exactly what was checked. As
 * root, a missing elevation program is not needed: the prefix is dropped (and logged) instead of failing.
 */
export async function resolveElevated(argv: readonly string[]): Promise<string[]> {
  const installed = new Set<string>();
  for (const program of ['sudo', 'doas', 'run0']) {
    if (argv[0] === program && (await whichExecutable(program, process.env))) installed.add(program);
  }
  const needed = withoutNeedlessElevation(argv, process.getuid?.() === 0, (p) => installed.has(p));
  if (needed.dropped) log.info(`running as root without ${needed.dropped} (it is not installed)`);
  const [first, ...rest] = needed.argv;
  if (first === 'sudo' || first === 'doas' || first === 'run0') {
    return [await resolveProgram(first, `${first} (setting nixosGenerations.elevation)`), ...rest];
  }
  return needed.argv;
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

/** Finds the profile and generation of a store path in the explorer's listings. */
export function locate(
  listings: readonly ProfileListing[],
  storePath: string,
): { profile: string; generation: number } | null {
  for (const listing of listings) {
    const match = [...listing.generations]
      .filter((g) => g.storePath === storePath)
      .sort((a, b) => b.generation - a.generation)[0];
    if (match) return { profile: listing.profile.path, generation: match.generation };
  }
  return null;
}

/** Notes in the history what is activated now, when it changed behind our back. */
export async function observeActivation(
  services: ExtensionServices,
  options: { onlyIfExists?: boolean } = {},
): Promise<ActivationRecord | null> {
  const storePath = activatedStorePath(services.config.runDir);
  try {
    return await activationHistory().observe(storePath, (p) => locate(services.explorer.snapshot(), p), options);
  } catch (error) {
    log.warn(`activation history: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** Records an activation this extension performed (what it activated, not what current-system says). */
export async function recordActivation(
  action: string,
  what: { profile: string | null; generation: number | null; storePath: string; specialisation?: string },
): Promise<void> {
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
      action,
      source: 'performed',
      ...(what.specialisation ? { specialisation: what.specialisation } : {}),
      ...(activatedPath ? { activatedPath } : {}),
    });
  } catch (error) {
    log.warn(`activation history: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A modal confirmation; resolves true only when the user picked `action`. */
export async function confirm(message: string, detail: string, action: string): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, action);
  return choice === action;
}

/** The system profile listing (the first of kind system), else the first readable one. */
export function systemListing(services: ExtensionServices): ProfileListing | undefined {
  const listings = services.explorer.snapshot();
  return listings.find((l) => l.profile.kind === 'system' && !l.problem) ?? listings.find((l) => !l.problem);
}

/** Makes sure the explorer has read the profiles at least once. */
export async function ensureLoaded(services: ExtensionServices): Promise<void> {
  if (services.explorer.snapshot().length === 0) await services.explorer.refresh();
}

export interface GenerationTarget {
  profile: ProfileRef;
  generation: Generation;
  listing: ProfileListing;
}

/**
 * The generation a command was invoked on: a tree item, a number (of the system profile), `{profile, generation}`,
 * or nothing (then the user picks one, filtered by `filter`).
 */
export async function generationArgument(
  services: ExtensionServices,
  arg: unknown,
  pickTitle: string,
  filter: (g: Generation) => boolean = (g) => !g.missing,
): Promise<GenerationTarget | undefined> {
  await ensureLoaded(services);
  const listings = services.explorer.snapshot();
  const byProfile = (profilePath: string | undefined) =>
    profilePath ? listings.find((l) => l.profile.path === profilePath) : systemListing(services);
  if (arg instanceof GenerationNode || (isObject(arg) && 'generation' in arg && 'profile' in arg)) {
    const node = arg as { profile: ProfileRef | string; generation: Generation | number };
    const profilePath = typeof node.profile === 'string' ? node.profile : node.profile.path;
    const number = typeof node.generation === 'number' ? node.generation : node.generation.generation;
    const listing = byProfile(profilePath);
    const generation = listing?.generations.find((g) => g.generation === number);
    if (!listing || !generation) throw new Error(`generation ${number} of ${profilePath} was not found`);
    return { profile: listing.profile, generation, listing };
  }
  if (typeof arg === 'number' || (typeof arg === 'string' && /^\d+$/.test(arg.trim()))) {
    const number = Number(arg);
    const listing = systemListing(services);
    const generation = listing?.generations.find((g) => g.generation === number);
    if (!listing || !generation) throw new Error(`the system profile has no generation ${number}`);
    return { profile: listing.profile, generation, listing };
  }
  const listing = systemListing(services);
  if (!listing) throw new Error('no profile could be read');
  const items = [...listing.generations]
    .filter(filter)
    .sort((a, b) => b.generation - a.generation)
    .map((g) => ({
      label: `${g.generation}`,
      description: [g.nixosVersion ?? g.label ?? '', g.date.slice(0, 10), states(g, listing.profile.kind)]
        .filter(Boolean)
        .join(' · '),
      generation: g,
    }));
  if (items.length === 0) throw new Error(`${listing.profile.path} has no generation to choose`);
  const picked = await vscode.window.showQuickPick(items, { title: pickTitle, placeHolder: 'Generation' });
  return picked ? { profile: listing.profile, generation: picked.generation, listing } : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function states(g: Generation, kind: ProfileKind = 'system'): string {
  const words = generationStates(g, kind);
  return words.length > 0 ? `(${words.join(', ')})` : '';
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

/** Writes a constant script, runs argv (built from the script's path) as a terminal task, removes the script. */
export async function runScriptTask(
  name: string,
  scriptName: string,
  scriptText: string,
  argvFor: (scriptPath: string) => Promise<string[]> | string[],
): Promise<TerminalResult> {
  const script = await writeScript(scriptName, scriptText);
  try {
    const argv = await argvFor(script.path);
    const env = nixEnvironment();
    return await runInTerminal({ name, argv, ...(Object.keys(env).length > 0 ? { env } : {}) });
  } finally {
    await script.dispose().catch(() => undefined);
  }
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

export interface FlakeTarget {
  /** Passed to --flake: a directory or a flake reference; undefined for a classic configuration. */
  flake: string | undefined;
  /** A local directory holding flake.nix, when the flake is one. */
  dir: string | undefined;
  /** Where the task runs. */
  cwd: string | undefined;
}

function looksLikeLocalPath(ref: string): boolean {
  return ref.startsWith('/') || ref.startsWith('.') || ref.startsWith('~') || ref.startsWith('path:');
}

/** The flake setting, else the workspace folder holding flake.nix, else a classic configuration. */
export function flakeTarget(services: ExtensionServices, override?: string): FlakeTarget {
  const setting = (override ?? services.config.flake).trim();
  if (setting !== '') {
    if (looksLikeLocalPath(setting)) {
      const bare = setting
        .replace(/^path:/, '')
        .replace(/#.*$/, '')
        .replace(/^~(?=\/|$)/, os.homedir());
      const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
      const dir = path.resolve(base, bare);
      return { flake: setting.startsWith('~') ? setting.replace(/^~/, os.homedir()) : setting, dir, cwd: dir };
    }
    return { flake: setting, dir: undefined, cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath };
  }
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme === 'file' && fs.existsSync(path.join(folder.uri.fsPath, 'flake.nix'))) {
      return { flake: folder.uri.fsPath, dir: folder.uri.fsPath, cwd: folder.uri.fsPath };
    }
  }
  return { flake: undefined, dir: undefined, cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath };
}

/**
 * The host (nixosConfigurations name): the setting; else the names written in flake.nix (our parser), else
 * `nix eval` of the flake's nixosConfigurations; one name is taken, several are offered (this machine's host name
 * first). Undefined when the user cancels.
 */
export async function pickHost(services: ExtensionServices, target: FlakeTarget): Promise<string | undefined | null> {
  const setting = services.config.host.trim();
  if (setting !== '') return setting;
  if (!target.flake) return null;
  if (target.flake.includes('#')) return null;
  let names: string[] | null = null;
  if (target.dir) {
    try {
      names = flakeHostNames(fs.readFileSync(path.join(target.dir, 'flake.nix'), 'utf8'));
    } catch {
      names = null;
    }
  }
  if (names === null || names.length === 0) names = await evalHostNames(target.flake);
  const hostname = os.hostname();
  if (!names || names.length === 0) return hostname;
  if (names.length === 1) return names[0];
  const sorted = [...names].sort((a, b) => (a === hostname ? -1 : b === hostname ? 1 : a.localeCompare(b)));
  const picked = await vscode.window.showQuickPick(
    sorted.map((name) => ({ label: name, description: name === hostname ? 'this machine' : '' })),
    { title: 'Which nixosConfigurations host?', placeHolder: 'Host' },
  );
  return picked?.label;
}

async function evalHostNames(flake: string): Promise<string[] | null> {
  try {
    const result = await runProcess(
      [
        'nix',
        '--extra-experimental-features',
        'nix-command flakes',
        'eval',
        '--json',
        `${flake}#nixosConfigurations`,
        '--apply',
        'builtins.attrNames',
      ],
      { timeoutMs: 60000 },
    );
    if (result.exitCode !== 0) {
      log.warn(`nix eval of the flake's hosts failed: ${result.stderr.trim().split('\n').pop() ?? ''}`);
      return null;
    }
    const value: unknown = JSON.parse(result.stdout);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
  } catch (error) {
    log.warn(`nix eval of the flake's hosts failed: ${String(error)}`);
    return null;
  }
}
