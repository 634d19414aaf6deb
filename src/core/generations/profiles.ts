/** Which profiles exist on this machine, what kind each is, and what to watch for changes. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ProfileKind, ProfileRef } from './types';

/** Nix's state directory: `NIX_STATE_DIR` as Nix itself honours it, else /nix/var/nix. */
export function nixStateDir(env: NodeJS.ProcessEnv): string {
  const dir = env.NIX_STATE_DIR;
  return dir && path.isAbsolute(dir) ? dir : '/nix/var/nix';
}

/** The system profile (/nix/var/nix/profiles/system, or under NIX_STATE_DIR). */
export function systemProfilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(nixStateDir(env), 'profiles', 'system');
}

/** Guesses a profile's kind from its path: `system`, `profile` (user), `home-manager`, anything else. */
export function profileRefFor(profilePath: string, name?: string): ProfileRef {
  const abs = path.resolve(profilePath);
  const base = path.basename(abs);
  let kind: ProfileKind = 'other';
  if (base === 'home-manager') kind = 'home-manager';
  else if (base === 'system' && !abs.includes(`${path.sep}per-user${path.sep}`)) kind = 'system';
  else if (base === 'profile' || base === 'default') kind = 'user';
  return { path: abs, kind, name: name ?? (kind === 'other' ? base : kind) };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** A profile exists when its link or at least one `<name>-N-link` is in its directory. */
export async function profileExists(profilePath: string): Promise<boolean> {
  if (await exists(profilePath)) return true;
  try {
    const base = path.basename(profilePath);
    const entries = await fsp.readdir(path.dirname(profilePath));
    return entries.some((e) => e.startsWith(`${base}-`) && e.endsWith('-link'));
  } catch {
    return false;
  }
}

/**
 * The profiles shown when none are configured: the system profile, the user's profile and home-manager's, each
 * when it exists. User profiles live in `$XDG_STATE_HOME/nix/profiles` (default ~/.local/state/nix/profiles) or
 * in the legacy `/nix/var/nix/profiles/per-user/$USER`; the first that exists wins.
 */
export async function defaultProfiles(env: NodeJS.ProcessEnv = process.env): Promise<ProfileRef[]> {
  const profiles = path.join(nixStateDir(env), 'profiles');
  const user = env.USER || env.LOGNAME || '';
  const home = env.HOME && path.isAbsolute(env.HOME) ? env.HOME : '';
  const xdgState =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)
      ? env.XDG_STATE_HOME
      : home
        ? path.join(home, '.local', 'state')
        : '';
  const userDirs = [
    ...(xdgState ? [path.join(xdgState, 'nix', 'profiles')] : []),
    ...(user && !user.includes('/') ? [path.join(profiles, 'per-user', user)] : []),
  ];
  const out: ProfileRef[] = [];
  const system = path.join(profiles, 'system');
  if (await profileExists(system)) out.push(profileRefFor(system, 'system'));
  for (const [file, name] of [
    ['profile', 'user'],
    ['home-manager', 'home-manager'],
  ] as const) {
    for (const dir of userDirs) {
      const candidate = path.join(dir, file);
      if (await profileExists(candidate)) {
        out.push(profileRefFor(candidate, name));
        break;
      }
    }
  }
  return out;
}

export interface WatchTarget {
  /** Directory to watch (non-recursively). */
  directory: string;
  /** Entry names in it that matter: the profile link and its `-N-link`s (a glob for file watchers). */
  glob: string;
  /** Tells whether a changed entry name concerns this profile. */
  matches(entry: string): boolean;
}

/** What to watch so a profile's listing can be refreshed when a generation is added, removed or switched. */
export function profileWatchTarget(ref: ProfileRef): WatchTarget {
  const base = path.basename(ref.path);
  return {
    directory: path.dirname(ref.path),
    glob: `${base}{,-*-link}`,
    matches: (entry) => entry === base || (entry.startsWith(`${base}-`) && entry.endsWith('-link')),
  };
}

/**
 * What to watch for activation and reboot: `current-system` and `booted-system` in runDir. `links` are their paths,
 * for watching them one by one (runDir, /run, is too busy to watch as a whole).
 */
export function runDirWatchTarget(runDir: string): WatchTarget & { links: string[] } {
  const names = ['current-system', 'booted-system'];
  return {
    directory: runDir,
    glob: '{current-system,booted-system}',
    matches: (entry) => names.includes(entry),
    links: names.map((name) => path.join(runDir, name)),
  };
}
