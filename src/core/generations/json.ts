/**
 * The JSON form of a generation, shared by `nixos-generations list --json` and the extension. The first seven
 * fields are nixos-rebuild-ng's `list-generations --json`; the rest are ours.
 */
import type { Generation, GenerationKind, ProfileListing } from './types';

export interface GenerationJson {
  generation: number;
  /** ISO 8601, UTC, to the second. */
  date: string;
  /**
   * As nixos-rebuild reports it: the generation's `nixos-version` file, which holds system.nixos.label (the
   * version, or whatever the label was set to: "git-abc1234-24.05.20240601.abcdef0").
   */
  nixosVersion: string | null;
  kernelVersion: string | null;
  configurationRevision: string | null;
  specialisations: string[];
  /** The profile link points to it (for the system profile: the boot default). */
  current: boolean;
  profile: string;
  storePath: string;
  label: string | null;
  booted: boolean;
  activated: boolean;
  missing: boolean;
  codename: string | null;
  kind: GenerationKind;
  homeManagerVersion: string | null;
  closureSize: number | null;
  /** The NixOS (or home-manager) release, bare: "24.05". */
  release: string | null;
  /** The NixOS version without what a label adds: "24.05.20240601.abcdef0". */
  version: string | null;
}

export function generationToJson(g: Generation, profilePath?: string): GenerationJson {
  return {
    generation: g.generation,
    date: g.date,
    // the file's text, as nixos-rebuild; a generation without one (home-manager, a user environment) has none
    nixosVersion: g.label ?? (g.kind === 'nixos' ? g.nixosVersion : null),
    kernelVersion: g.kernelVersion,
    configurationRevision: g.configurationRevision,
    specialisations: [...g.specialisations],
    current: g.current,
    profile: profilePath ?? g.profilePath ?? '',
    storePath: g.storePath,
    label: g.label,
    booted: g.booted,
    activated: g.activated,
    missing: g.missing,
    codename: g.codename,
    kind: g.kind ?? 'other',
    homeManagerVersion: g.homeManagerVersion ?? null,
    closureSize: g.closureSize,
    release: g.release ?? null,
    version: g.nixosVersion,
  };
}

/** All generations of the listings, newest first within each profile, profiles in the given order. */
export function listingsToJson(listings: readonly ProfileListing[]): GenerationJson[] {
  const out: GenerationJson[] = [];
  for (const listing of listings) {
    const newestFirst = [...listing.generations].sort((a, b) => b.generation - a.generation);
    for (const g of newestFirst) out.push(generationToJson(g, listing.profile.path));
  }
  return out;
}
