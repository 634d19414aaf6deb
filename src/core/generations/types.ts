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

/** What a generation's store path holds, judged from its files. */
export type GenerationKind = 'nixos' | 'home-manager' | 'other';

/** Where `configurationRevision` came from. */
export type RevisionSource = 'label' | 'nixos-version' | null;

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
  /** A NixOS system, a home-manager generation, or anything else (a user environment). Absent = unknown. */
  kind?: GenerationKind;
  /** The profile link this generation belongs to (ProfileRef.path). */
  profilePath?: string;
  /** home-manager generations: the `hm-version` file (e.g. "24.05+a1b2c3d4"), else null. */
  homeManagerVersion?: string | null;
  /** NixOS release ("24.05") or home-manager release, when known. */
  release?: string | null;
  /** Where `configurationRevision` came from: the label's git sha (short) or the generation's nixos-version. */
  revisionSource?: RevisionSource;
  /** Bootspec label, e.g. "NixOS Uakari 24.05.20240601.abcdef0 (Linux 6.6.32)", when boot.json was read. */
  bootLabel?: string | null;
}

/** One profile as read from disk: its generations oldest first, or why it could not be read. */
export interface ProfileListing {
  profile: ProfileRef;
  /** Sorted by number, oldest first. Empty when the profile has none or could not be read. */
  generations: Generation[];
  /** The generation the profile link points to (boot default), or null. */
  currentGeneration: number | null;
  problem?: ProfileProblem;
}

/** Booted vs activated system: the kernel, initrd or modules differ, so a reboot is needed to run what is activated. */
export interface RebootStatus {
  /** runDir/booted-system target, or null when absent. */
  booted: string | null;
  /** runDir/current-system target, or null when absent. */
  activated: string | null;
  /** True when booted and activated differ in kernel, initrd or kernel-modules. False when unknown. */
  needed: boolean;
  /** Which of 'kernel' | 'initrd' | 'kernel-modules' differ. */
  differs: Array<'kernel' | 'initrd' | 'kernel-modules'>;
}
