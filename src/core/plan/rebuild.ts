/** `nixos-rebuild <action>`: the argv (elevation, nom pipeline), the confirmation and what to record afterwards. */
import { resolveElevation, type Elevation, type ElevationFacts } from '../deploy/elevation';
import {
  activates,
  buildRebuildArgv,
  displayLine,
  nomPipeline,
  type RebuildAction,
  type RebuildFlavor,
} from '../deploy/rebuild';
import type { Settings } from '../settings';
import type { FlakeTarget } from './flake';
import type { Confirmation } from './types';

export interface RebuildPlanInput {
  action: RebuildAction;
  settings: Pick<Settings, 'targetHost' | 'buildHost' | 'elevation' | 'rebuildExtraArgs'>;
  target: FlakeTarget;
  /** The nixosConfigurations name, or null (classic configuration, or the flake reference names it). */
  host: string | null;
  /** The nixos-rebuild executable, absolute. */
  program: string;
  flavor: RebuildFlavor;
  /** nix-output-monitor's absolute path when the build goes through it, else null. */
  nom: string | null;
  facts: ElevationFacts;
}

export interface RebuildPlan {
  /** The terminal task's name. */
  name: string;
  argv: string[];
  cwd: string | undefined;
  /** Things the user should know (logged; also part of the confirmation). */
  notes: string[];
  /** The elevation program left out (root, not installed), to be logged. */
  dropped: Elevation | null;
  /** Asked before anything that activates or changes the boot default; null for builds. */
  confirm: Confirmation | null;
  /**
   * After a successful run, the history records what runDir/current-system points to under this action word;
   * null: nothing to record (a build, or a remote target whose activation is not seen here).
   */
  recordActivatedAs: string | null;
}

export function planRebuild(input: RebuildPlanInput): RebuildPlan {
  const { action, settings, target } = input;
  const built = buildRebuildArgv({
    program: input.program,
    action,
    ...(target.flake ? { flake: target.flake } : {}),
    ...(input.host ? { host: input.host } : {}),
    targetHost: settings.targetHost,
    buildHost: settings.buildHost,
    elevation: settings.elevation,
    flavor: input.flavor,
    extraArgs: settings.rebuildExtraArgs,
    nom: input.nom !== null,
  });
  const elevated = resolveElevation(built.argv, input.facts);
  const argv = input.nom !== null ? nomPipeline(elevated.argv, input.nom) : elevated.argv;
  let confirm: Confirmation | null = null;
  if (action === 'switch' || action === 'boot' || action === 'test') {
    const where = settings.targetHost ? ` on ${settings.targetHost}` : '';
    confirm = {
      message: `Run nixos-rebuild ${action}${where}?`,
      detail: [
        action === 'boot'
          ? 'The new generation becomes the boot default; it is activated at the next boot.'
          : 'The new generation is activated now.',
        ...built.notes,
      ].join('\n'),
      action: action === 'switch' ? 'Switch' : action === 'boot' ? 'Build for Boot' : 'Test',
      command: displayLine(argv),
    };
  }
  return {
    name: `nixos-rebuild ${action}`,
    argv,
    cwd: target.cwd,
    notes: built.notes,
    dropped: elevated.dropped,
    confirm,
    recordActivatedAs: activates(action) && !settings.targetHost ? `rebuild ${action}` : null,
  };
}

/** What rebuild needs before anything is asked, and the setting that supplies it when it is missing. */
export interface RebuildProblem {
  message: string;
  /** The setting to open ("Open Settings"). */
  setting: 'nixosGenerations.flake' | 'nixosGenerations.rebuildCommand';
}

/**
 * Whether a rebuild can run at all, checked before the action is chosen: the nixos-rebuild program exists, and there
 * is a configuration to build — a flake (setting, argument or a workspace folder with flake.nix) or the machine's own
 * (`/etc/nixos/flake.nix` or `configuration.nix`, or `NIXOS_CONFIG` / `nixos-config` in NIX_PATH), which
 * nixos-rebuild reads by itself. Null when it can run.
 */
export function rebuildProblem(input: {
  target: FlakeTarget;
  /** The machine's own configuration nixos-rebuild would find without --flake (a path or variable), or null. */
  machineConfig: string | null;
  /** The resolved nixos-rebuild executable, or null when it was not found. */
  program: string | null;
  /** The rebuildCommand setting's value. */
  command: string;
}): RebuildProblem | null {
  if (input.program === null) {
    return {
      message: `nixos-rebuild was not found: "${input.command}" (setting nixosGenerations.rebuildCommand) is not on PATH. Install it (nixos-rebuild or nixos-rebuild-ng), or name the executable in the setting.`,
      setting: 'nixosGenerations.rebuildCommand',
    };
  }
  if (input.target.flake === undefined && input.machineConfig === null) {
    return {
      message:
        'There is no configuration to rebuild: no workspace folder holds a flake.nix, the setting nixosGenerations.flake is empty, and this machine has no /etc/nixos/configuration.nix or flake.nix. Open the folder of your configuration, or name your flake in the setting.',
      setting: 'nixosGenerations.flake',
    };
  }
  return null;
}

/** The configuration nixos-rebuild finds by itself on this machine (from its environment and /etc/nixos). */
export function machineConfiguration(
  env: Readonly<Record<string, string | undefined>>,
  exists: (file: string) => boolean,
): string | null {
  if (env.NIXOS_CONFIG) return 'NIXOS_CONFIG';
  if ((env.NIX_PATH ?? '').split(':').some((e) => e.startsWith('nixos-config='))) return 'NIX_PATH nixos-config';
  for (const file of ['/etc/nixos/flake.nix', '/etc/nixos/configuration.nix']) if (exists(file)) return file;
  return null;
}
