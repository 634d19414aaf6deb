/** The domain model of profiles and generations, shared by the explorer, the CLI and the deploy code. */

export type ProfileKind = 'system' | 'user' | 'home-manager' | 'other';

export interface ProfileRef {
  /** The profile link path, e.g. /nix/var/nix/profiles/system. */
  path: string;
  kind: ProfileKind;
  /** Short name shown to the user ("system", "home-manager", ...). */
  name: string;
}

/** Why a profile could not be read (shown as a node, never thrown). */
export type ProfileProblem =
  | { kind: 'missing'; message: string }
  | { kind: 'permission-denied'; message: string }
  | { kind: 'not-a-profile'; message: string }
  | { kind: 'error'; message: string };

export interface Generation {
  /** Generation number (N in `system-N-link`). */
  generation: number;
  /** The link's mtime, ISO 8601. */
  date: string;
  /** The link path, e.g. /nix/var/nix/profiles/system-42-link. */
  linkPath: string;
  /** Where the link points (a store path), whether or not it still exists. */
  storePath: string;
  /** The store path was garbage-collected (the link dangles). */
  missing: boolean;
  /** `nixos-version` file contents (system.nixos.label), or null. */
  label: string | null;
  /** NixOS version, e.g. "24.05.20240601.abcdef0", or null when unknown. */
  nixosVersion: string | null;
  /** Codename ("Uakari"), when known. */
  codename: string | null;
  /** Kernel version (kernel-modules/lib/modules/<v>), or null. */
  kernelVersion: string | null;
  specialisations: string[];
  /** system.configurationRevision, when known without running a process (else filled in lazily). */
  configurationRevision: string | null;
  /** The profile link points at this generation (boot default / current). */
  current: boolean;
  /** runDir/current-system resolves to this generation's store path. */
  activated: boolean;
  /** runDir/booted-system resolves to this generation's store path. */
  booted: boolean;
  /** Closure size in bytes (filled in lazily), or null. */
  closureSize: number | null;
}
