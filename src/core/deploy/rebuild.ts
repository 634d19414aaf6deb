/**
 * `nixos-rebuild` command lines (argv only), for the classic bash script and for nixos-rebuild-ng, which spell
 * remote elevation differently (`--use-remote-sudo` vs `--sudo`, NixOS/nixpkgs#342657, #381814, #425637).
 */
import * as path from 'node:path';
import { runProcess } from '../exec/process';
import { shellJoin } from '../exec/quote';
import { validateHost } from '../target';
import { elevate, type Elevation } from './elevation';

export type RebuildAction = 'switch' | 'boot' | 'test' | 'build' | 'dry-build' | 'dry-activate';

export const REBUILD_ACTIONS: ReadonlyArray<{ action: RebuildAction; detail: string }> = [
  { action: 'switch', detail: 'build, activate now and make it the boot default' },
  { action: 'boot', detail: 'build and make it the boot default, activate at the next boot' },
  { action: 'test', detail: 'build and activate now, without changing the boot default' },
  { action: 'build', detail: 'only build (./result), change nothing' },
  { action: 'dry-activate', detail: 'build and show what activation would change' },
];

/** Actions that run switch-to-configuration on the target and therefore need root there. */
export function needsRoot(action: RebuildAction): boolean {
  return action === 'switch' || action === 'boot' || action === 'test' || action === 'dry-activate';
}

/** Actions that change what runs now (recorded in the activation history). */
export function activates(action: RebuildAction): boolean {
  return action === 'switch' || action === 'test';
}

/** What the installed nixos-rebuild understands. */
export interface RebuildFlavor {
  /** nixos-rebuild-ng (the Python rewrite). */
  ng: boolean;
  /** The flag that makes it elevate with sudo on the target (local or remote), or null when it has none. */
  sudoFlag: '--sudo' | '--use-remote-sudo' | null;
}

/** When nothing could be learnt: the classic script, which has had `--use-remote-sudo` for years. */
export const DEFAULT_FLAVOR: RebuildFlavor = { ng: false, sudoFlag: '--use-remote-sudo' };

/**
 * Reads `nixos-rebuild --help` output. nixos-rebuild-ng prints an argparse usage (`usage: nixos-rebuild ...`); the
 * classic script shows its man page (NIXOS-REBUILD(8)). Either lists `--sudo` when it exists, else
 * `--use-remote-sudo`.
 */
export function detectRebuildFlavor(helpText: string, program = 'nixos-rebuild'): RebuildFlavor {
  const text = helpText.replace(/\u2010/g, '-');
  const ng = /nixos-rebuild-ng/.test(path.basename(program)) || /^usage: nixos-rebuild/im.test(text);
  let sudoFlag: RebuildFlavor['sudoFlag'] = null;
  if (/(^|[^a-z-])--sudo\b(?!-)/m.test(text)) sudoFlag = '--sudo';
  else if (/--use-remote-sudo\b/.test(text)) sudoFlag = '--use-remote-sudo';
  else if (ng) sudoFlag = '--sudo';
  return { ng, sudoFlag };
}

/**
 * Runs `<program> --help` (pager disabled, so the classic script's `man` prints and exits) and detects the flavor.
 * Never throws: an unknown program or a failed run gives DEFAULT_FLAVOR with a note.
 */
export async function probeRebuildFlavor(
  program: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ flavor: RebuildFlavor; note?: string }> {
  try {
    const result = await runProcess([program, '--help'], {
      env: { ...env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '200', GIT_PAGER: 'cat' },
      timeoutMs: 15000,
      maxOutputBytes: 1024 * 1024,
    });
    const text = `${result.stdout}\n${result.stderr}`;
    if (!/nixos-rebuild|NIXOS-REBUILD/i.test(text)) {
      return {
        flavor: DEFAULT_FLAVOR,
        note: `${program} --help did not describe nixos-rebuild; assuming the classic flags`,
      };
    }
    return { flavor: detectRebuildFlavor(text, program) };
  } catch (error) {
    return {
      flavor: DEFAULT_FLAVOR,
      note: `${program} could not be run (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}

export interface RebuildOptions {
  /** The executable (setting `rebuildCommand`). */
  program: string;
  action: RebuildAction;
  /** Flake directory or reference; empty/undefined: a classic configuration (NIX_PATH's nixos-config). */
  flake?: string;
  /** nixosConfigurations attribute; with a flake. */
  host?: string;
  targetHost?: string;
  buildHost?: string;
  elevation: Elevation;
  flavor: RebuildFlavor;
  /** Extra arguments, passed as they are, one argv item each. */
  extraArgs?: readonly string[];
  /** Show progress through nix-output-monitor: adds `--log-format internal-json -v`. */
  nom?: boolean;
}

export interface RebuildCommand {
  /** The full argv (elevation prefix included). */
  argv: string[];
  /** Things the user should know (shown before running). */
  notes: string[];
}

/** `path#host` for `--flake`. nixos-rebuild quotes the attribute itself, so the host goes in as it is. */
export function flakeArg(flake: string, host?: string): string {
  const trimmed = flake.trim();
  const base = trimmed.includes('#') ? trimmed.slice(0, trimmed.indexOf('#')) : trimmed;
  const fragment = host ?? (trimmed.includes('#') ? trimmed.slice(trimmed.indexOf('#') + 1) : '');
  return fragment ? `${base}#${fragment}` : base;
}

/** Builds the nixos-rebuild argv for the settings (no shell; every value one argv item). */
export function buildRebuildArgv(options: RebuildOptions): RebuildCommand {
  const notes: string[] = [];
  const args: string[] = [options.action];
  if (options.flake && options.flake.trim() !== '') {
    args.push('--flake', flakeArg(options.flake, options.host || undefined));
  }
  const target = options.targetHost?.trim() ?? '';
  const build = options.buildHost?.trim() ?? '';
  // the same check as every ssh target: nixos-rebuild hands these to ssh, which would read `-o...` as an option
  for (const [flag, host] of [
    ['--target-host', target],
    ['--build-host', build],
  ] as const) {
    const problem = host === '' ? null : validateHost(host);
    if (problem) throw new Error(`${flag}: ${problem}`);
  }
  if (target !== '') args.push('--target-host', target);
  if (build !== '') args.push('--build-host', build);

  let prefix: Elevation = 'none';
  if (needsRoot(options.action)) {
    if (options.elevation === 'sudo') {
      if (options.flavor.sudoFlag) {
        // Builds as the user and elevates only the steps that need it, locally or on the target host.
        args.push(options.flavor.sudoFlag);
      } else if (target === '') {
        prefix = 'sudo';
      } else {
        notes.push('this nixos-rebuild has no --sudo flag: the target user must be root');
      }
    } else if (options.elevation !== 'none') {
      if (target === '') {
        prefix = options.elevation;
      } else {
        notes.push(
          `nixos-rebuild elevates on a target host only with sudo; with elevation "${options.elevation}" the target user (${target}) must be root`,
        );
      }
    }
  }
  if (options.nom) args.push('--log-format', 'internal-json', '-v');
  args.push(...(options.extraArgs ?? []));
  const argv = prefix === 'none' ? [options.program, ...args] : elevate([options.program, ...args], prefix);
  return { argv, notes };
}

/**
 * The one pipeline: `argv 2>&1 | nom --json`, keeping argv's exit code (POSIX sh has no pipefail everywhere).
 * Nothing is interpolated into the script: nom and argv are its positional parameters.
 */
export const NOM_PIPELINE_SCRIPT = [
  'nom=$1; shift',
  'status=$(mktemp) || exit 1',
  '{ "$@" 2>&1; echo $? > "$status"; } | "$nom" --json',
  'rc=$(cat "$status"); rm -f "$status"',
  // no brace expansions: the script is task text, and VS Code would substitute them
  '[ -n "$rc" ] || rc=1',
  'exit "$rc"',
].join('\n');

export function nomPipeline(argv: readonly string[], nom = 'nom'): string[] {
  if (argv.length === 0) throw new Error('empty command line');
  return ['sh', '-c', NOM_PIPELINE_SCRIPT, 'nixos-generations-nom', nom, ...argv];
}

/** How the command reads in a terminal (for logs and confirmations; never executed). */
export function displayLine(argv: readonly string[]): string {
  if (argv[0] === 'sh' && argv[1] === '-c' && argv[2] === NOM_PIPELINE_SCRIPT) {
    return `${shellJoin(argv.slice(5))} |& ${shellJoin([argv[4] ?? 'nom', '--json'])}`;
  }
  return shellJoin(argv);
}
