/**
 * Which configuration a rebuild builds: the flake (setting, argument or the workspace folder holding flake.nix)
 * and its nixosConfigurations host. Pure decisions; reading flake.nix and `nix eval` live in core/deploy/hosts.
 */
import * as path from 'node:path';

export interface FlakeTarget {
  /** Passed to --flake: a directory or a flake reference; undefined for a classic configuration. */
  flake: string | undefined;
  /** A local directory holding flake.nix, when the flake is one. */
  dir: string | undefined;
  /** Where the task runs. */
  cwd: string | undefined;
}

export interface WorkspaceFolderFacts {
  /** The folder's path on this machine (file scheme). */
  path: string;
  /** It holds a flake.nix. */
  hasFlake: boolean;
}

function looksLikeLocalPath(ref: string): boolean {
  return ref.startsWith('/') || ref.startsWith('.') || ref.startsWith('~') || ref.startsWith('path:');
}

/**
 * The flake: `override` (a command argument) or the setting; else the first workspace folder holding flake.nix;
 * else a classic configuration. Relative paths are relative to the first workspace folder (else `cwd`).
 */
export function flakeTarget(input: {
  setting: string;
  override?: string | undefined;
  folders: readonly WorkspaceFolderFacts[];
  home: string;
  cwd: string;
}): FlakeTarget {
  const first = input.folders[0]?.path;
  const setting = (input.override ?? input.setting).trim();
  if (setting !== '') {
    if (looksLikeLocalPath(setting)) {
      const bare = setting
        .replace(/^path:/, '')
        .replace(/#.*$/, '')
        .replace(/^~(?=\/|$)/, input.home);
      const dir = path.resolve(first ?? input.cwd, bare);
      return { flake: setting.startsWith('~') ? setting.replace(/^~/, input.home) : setting, dir, cwd: dir };
    }
    return { flake: setting, dir: undefined, cwd: first };
  }
  const withFlake = input.folders.find((f) => f.hasFlake);
  if (withFlake) return { flake: withFlake.path, dir: withFlake.path, cwd: withFlake.path };
  return { flake: undefined, dir: undefined, cwd: first };
}

/** Whether the host must be found at all: null when the setting names it or no flake needs one. */
export function fixedHost(setting: string, target: FlakeTarget): { host: string | null } | null {
  if (setting.trim() !== '') return { host: setting.trim() };
  if (!target.flake || target.flake.includes('#')) return { host: null };
  return null;
}

export type HostChoice = { host: string } | { pick: Array<{ label: string; description: string }> };

/**
 * The host among the flake's nixosConfigurations names: one name is taken, several are offered (this machine's
 * host name first), none known means this machine's host name.
 */
export function chooseHost(names: readonly string[] | null, hostname: string): HostChoice {
  if (!names || names.length === 0) return { host: hostname };
  if (names.length === 1) return { host: names[0]! };
  const sorted = [...names].sort((a, b) => (a === hostname ? -1 : b === hostname ? 1 : a.localeCompare(b)));
  return { pick: sorted.map((name) => ({ label: name, description: name === hostname ? 'this machine' : '' })) };
}
