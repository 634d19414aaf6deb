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
