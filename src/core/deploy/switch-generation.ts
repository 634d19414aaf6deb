/**
 * Switching a NixOS profile to any of its generations without evaluating or building anything (works offline):
 * `nix-env -p PROFILE --switch-generation N`, then the generation's own `bin/switch-to-configuration ACTION` (or
 * that of a specialisation), and the profile put back when activation fails. All steps run in one elevated
 * `sh SCRIPT ARGS...` so the user types the password once.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { elevate, type Elevation } from './elevation';

export type SwitchAction = 'switch' | 'boot' | 'test';

export const SWITCH_ACTIONS: ReadonlyArray<{ action: SwitchAction; detail: string }> = [
  { action: 'switch', detail: 'activate now and make it the boot default' },
  { action: 'boot', detail: 'make it the boot default, activate at the next boot' },
  { action: 'test', detail: 'activate now, keep the boot default as it is' },
];

/** Constant script text; values arrive only as positional parameters. */
export const SWITCH_GENERATION_SCRIPT = `#!/bin/sh
# nixos-generations: switch a NixOS profile to one of its generations and activate it.
# Arguments: NIX_ENV PROFILE GENERATION TOPLEVEL ACTION PREVIOUS [SPECIALISATION]
#   ACTION    switch | boot | test
#   PREVIOUS  the generation the profile pointed to before (put back if activation fails), or ""
# Nothing is evaluated or built: the generation's own switch-to-configuration runs.
set -u
say() { printf 'nixos-generations: %s\\n' "$*"; }
if [ "$#" -lt 6 ]; then
  echo "usage: $0 NIX_ENV PROFILE GENERATION TOPLEVEL ACTION PREVIOUS [SPECIALISATION]" >&2
  exit 2
fi
nix_env=$1 profile=$2 generation=$3 toplevel=$4 action=$5 previous=$6
# (no brace expansions: the script is task text, and VS Code would substitute them)
specialisation=
if [ "$#" -ge 7 ]; then specialisation=$7; fi
case $action in
  switch|boot|test) ;;
  *) say "unknown action: $action" >&2; exit 2 ;;
esac
case $generation in
  ''|*[!0-9]*) say "not a generation number: $generation" >&2; exit 2 ;;
esac
case $previous in
  *[!0-9]*) say "not a generation number: $previous" >&2; exit 2 ;;
esac
if [ -n "$specialisation" ]; then
  stc=$toplevel/specialisation/$specialisation/bin/switch-to-configuration
else
  stc=$toplevel/bin/switch-to-configuration
fi
if [ ! -x "$stc" ]; then
  say "$stc is missing or not executable; nothing was changed" >&2
  exit 3
fi
if [ "$action" != test ]; then
  say "switching $profile to generation $generation"
  if ! "$nix_env" -p "$profile" --switch-generation "$generation"; then
    say "could not switch the profile; nothing was activated" >&2
    exit 4
  fi
fi
say "running $stc $action"
"$stc" "$action"
rc=$?
if [ "$rc" -eq 0 ]; then
  say "generation $generation: $action done"
  exit 0
fi
say "activation failed (exit $rc)" >&2
if [ "$action" != test ] && [ -n "$previous" ]; then
  say "putting $profile back to generation $previous"
  if "$nix_env" -p "$profile" --switch-generation "$previous"; then
    if [ -x "$profile/bin/switch-to-configuration" ]; then
      say "restoring the boot menu default"
      "$profile/bin/switch-to-configuration" boot || say "could not restore the boot menu default" >&2
    fi
  else
    say "could not put the profile back: run nix-env -p PROFILE --switch-generation $previous" >&2
  fi
fi
exit "$rc"
`;

export interface SwitchRequest {
  /** Absolute path of the nix-env executable (resolved before elevation, whose PATH may differ). */
  nixEnv: string;
  /** Profile link, e.g. /nix/var/nix/profiles/system. */
  profilePath: string;
  generation: number;
  /** The generation's store path. */
  toplevel: string;
  action: SwitchAction;
  /** The generation the profile points to now (restored on failure), or null. */
  previousGeneration: number | null;
  /** A name under `<toplevel>/specialisation/`, or undefined for the main configuration. */
  specialisation?: string;
  elevation: Elevation;
}

/** A problem with the request, or null when it can run. */
export function validateSwitch(request: SwitchRequest): string | null {
  if (!path.isAbsolute(request.profilePath)) return `the profile path must be absolute: ${request.profilePath}`;
  if (!path.isAbsolute(request.toplevel)) return `the store path must be absolute: ${request.toplevel}`;
  if (!path.isAbsolute(request.nixEnv)) return `nix-env must be an absolute path: ${request.nixEnv}`;
  if (!Number.isSafeInteger(request.generation) || request.generation < 1) {
    return `not a generation number: ${request.generation}`;
  }
  if (request.previousGeneration !== null && !Number.isSafeInteger(request.previousGeneration)) {
    return `not a generation number: ${request.previousGeneration}`;
  }
  if (request.specialisation !== undefined && !isSpecialisationName(request.specialisation)) {
    return `not a specialisation name: ${JSON.stringify(request.specialisation)}`;
  }
  return null;
}

/** A plain directory entry name (no separators, not . or ..). */
function isSpecialisationName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** The argv that runs the script with the request's values as positional parameters, elevated. */
/**
 * The elevated argv: the script's text goes as `sh -c` text (never a file the user could rewrite between the
 * password prompt and the run), its values as positional parameters.
 */
export function switchArgv(script: string, request: SwitchRequest): string[] {
  const problem = validateSwitch(request);
  if (problem) throw new Error(problem);
  const args = [
    request.nixEnv,
    request.profilePath,
    String(request.generation),
    request.toplevel,
    request.action,
    request.previousGeneration === null ? '' : String(request.previousGeneration),
  ];
  if (request.specialisation !== undefined) args.push(request.specialisation);
  return elevate(['sh', '-c', script, 'nixos-generations-switch', ...args], request.elevation);
}

/** The switch-to-configuration that will run. */
export function activationProgram(toplevel: string, specialisation?: string): string {
  return specialisation === undefined
    ? path.join(toplevel, 'bin', 'switch-to-configuration')
    : path.join(toplevel, 'specialisation', specialisation, 'bin', 'switch-to-configuration');
}

/** Specialisation names of a generation (entries of `<toplevel>/specialisation/`), sorted; [] when none. */
export async function listSpecialisations(toplevel: string): Promise<string[]> {
  try {
    const names = await fsp.readdir(path.join(toplevel, 'specialisation'));
    return names.filter(isSpecialisationName).sort();
  } catch {
    return [];
  }
}

export interface KernelCheck {
  /** The target generation's kernel (modules version, else the kernel file), or null when unknown. */
  target: string | null;
  /** The booted system's, or null when unknown. */
  booted: string | null;
  /** Both are known and they differ: modules of the running kernel may be missing after the switch. */
  differs: boolean;
}

async function kernelIdentity(toplevel: string): Promise<string | null> {
  try {
    const versions = (await fsp.readdir(path.join(toplevel, 'kernel-modules', 'lib', 'modules'))).sort();
    if (versions.length > 0) return versions.join(' ');
  } catch {
    // fall through to the kernel image
  }
  try {
    return await fsp.realpath(path.join(toplevel, 'kernel'));
  } catch {
    return null;
  }
}

/**
 * Compares the kernel a generation was built with and the booted one (`runDir/booted-system`). Switching to a
 * generation with another kernel works, but modules of the running kernel are no longer available until reboot.
 */
export async function checkKernel(toplevel: string, bootedSystem: string | null): Promise<KernelCheck> {
  const [target, booted] = await Promise.all([
    kernelIdentity(toplevel),
    bootedSystem ? kernelIdentity(bootedSystem) : Promise.resolve(null),
  ]);
  return { target, booted, differs: target !== null && booted !== null && target !== booted };
}

/** Finds an executable on PATH (the way execvp would), or null. */
export async function whichExecutable(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (name.includes('/')) {
    try {
      await fsp.access(name, 1);
      return path.resolve(name);
    } catch {
      return null;
    }
  }
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      const stat = await fsp.stat(candidate);
      if (stat.isFile()) {
        await fsp.access(candidate, 1);
        return candidate;
      }
    } catch {
      // next
    }
  }
  return null;
}
