/**
 * The extension's settings (`nixosGenerations.*`) as plain data, parsed in one place from whatever the editor
 * returns: the extension's Config, the language server and the planners read this shape, never raw values.
 * Settings that name executables or hosts are machine-scoped in the manifest.
 */
import { parseElevation, type Elevation } from './deploy/elevation';
import { parseMachinesSetting } from './fleet/machines';

export interface Settings {
  profiles: string[];
  runDir: string;
  flake: string;
  host: string;
  targetHost: string;
  buildHost: string;
  elevation: Elevation;
  rebuildCommand: string;
  rebuildExtraArgs: string[];
  useNom: boolean;
  lintBase: string;
  /** Background evaluation by Nix in the language server. */
  evaluationEnabled: boolean;
  /** The nix executable for evaluation (machine-scoped). */
  evaluationNix: string;
  safeSwitchConfirmSeconds: number;
  /** The raw `safeSwitch.healthChecks` value; core/safeswitch validates it item by item. */
  safeSwitchHealthChecks: unknown;
  /** Host name -> "user@host[:port]" (machine-scoped); core/fleet/machines validates each target. */
  machines: Record<string, string>;
  /** The raw `transitions.hooks` value (per host); core/plan/transition-switch validates it. */
  transitionsHooks: unknown;
  /** The argv that runs `nixos-generations` on a target (machine-scoped). */
  transitionsCommand: string[];
  /** deploy-rs's `deploy` executable (machine-scoped). */
  deployRsCommand: string;
  /** The `colmena` executable (machine-scoped). */
  colmenaCommand: string;
  /** How many nixos-rebuild --target-host deploys run at once. */
  deployParallel: number;
  /** Start the remaining deploys after one failed. */
  deployKeepGoing: boolean;
}

/** Reads one setting by its key under `nixosGenerations.` (undefined when unset). */
export type SettingReader = (key: string) => unknown;

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Each setting's parser: a wrong type or an empty value where one is needed gives the default. */
const SETTING_PARSERS = {
  profiles: (v: unknown) => strings(v).filter((p) => p.trim() !== ''),
  runDir: (v: unknown) => text(v, '/run') || '/run',
  flake: (v: unknown) => text(v, ''),
  host: (v: unknown) => text(v, ''),
  targetHost: (v: unknown) => text(v, ''),
  buildHost: (v: unknown) => text(v, ''),
  elevation: (v: unknown) => parseElevation(v),
  rebuildCommand: (v: unknown) => text(v, 'nixos-rebuild') || 'nixos-rebuild',
  rebuildExtraArgs: (v: unknown) => strings(v),
  useNom: (v: unknown) => v === true,
  lintBase: (v: unknown) => text(v, 'HEAD') || 'HEAD',
  evaluationEnabled: (v: unknown) => v !== false,
  evaluationNix: (v: unknown) => text(v, 'nix').trim() || 'nix',
  safeSwitchConfirmSeconds: (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.min(3600, Math.max(5, v)) : 30,
  safeSwitchHealthChecks: (v: unknown) => (v === undefined ? [] : v),
  machines: (v: unknown) => parseMachinesSetting(v).targets,
  transitionsHooks: (v: unknown) => (v === undefined ? {} : v),
  transitionsCommand: (v: unknown) => {
    const argv = strings(v).filter((w) => w !== '');
    return argv.length > 0 ? argv : ['nixos-generations'];
  },
  deployRsCommand: (v: unknown) => text(v, 'deploy').trim() || 'deploy',
  colmenaCommand: (v: unknown) => text(v, 'colmena').trim() || 'colmena',
  deployParallel: (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.min(32, Math.max(1, Math.floor(v))) : 4,
  deployKeepGoing: (v: unknown) => v === true,
} satisfies { [K in keyof Settings]: (value: unknown) => Settings[K] };

/** The settings' keys under `nixosGenerations.` (dotted where the manifest nests them). */
const SETTING_KEYS: { [K in keyof Settings]: string } = {
  profiles: 'profiles',
  runDir: 'runDir',
  flake: 'flake',
  host: 'host',
  targetHost: 'targetHost',
  buildHost: 'buildHost',
  elevation: 'elevation',
  rebuildCommand: 'rebuildCommand',
  rebuildExtraArgs: 'rebuildExtraArgs',
  useNom: 'useNom',
  lintBase: 'lint.base',
  evaluationEnabled: 'evaluation.enabled',
  evaluationNix: 'evaluation.nix',
  safeSwitchConfirmSeconds: 'safeSwitch.confirmSeconds',
  safeSwitchHealthChecks: 'safeSwitch.healthChecks',
  machines: 'machines',
  transitionsHooks: 'transitions.hooks',
  transitionsCommand: 'transitions.command',
  deployRsCommand: 'deploy.deployRsCommand',
  colmenaCommand: 'deploy.colmenaCommand',
  deployParallel: 'deploy.parallel',
  deployKeepGoing: 'deploy.keepGoing',
};

export function readSetting<K extends keyof Settings>(read: SettingReader, name: K): Settings[K] {
  return SETTING_PARSERS[name](read(SETTING_KEYS[name])) as Settings[K];
}

/** A snapshot of every setting. */
export function readSettings(read: SettingReader): Settings {
  const out = {} as Record<keyof Settings, unknown>;
  for (const name of Object.keys(SETTING_KEYS) as Array<keyof Settings>) out[name] = readSetting(read, name);
  return out as unknown as Settings;
}
