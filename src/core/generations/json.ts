/**
 * The JSON form of a generation, shared by `nixos-generations list --json` and the extension. The first seven
 * fields are nixos-rebuild-ng's `list-generations --json`; the rest are ours.
 */
import type { Generation, GenerationKind, ProfileListing } from './types';

export interface GenerationJson {
  generation: number;
  /** ISO 8601, UTC, to the second. */
  date: string;
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
}

export function generationToJson(g: Generation, profilePath?: string): GenerationJson {
  return {
    generation: g.generation,
    date: g.date,
    nixosVersion: g.nixosVersion,
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
