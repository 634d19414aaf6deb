/**
 * Which generation a command is about: resolving the command's argument (a tree item, a number, `{profile,
 * generation}`) against the listings, or the choices to offer when it names none. Pure: listings in, answer out.
 */
import { generationStates } from '../generations/states';
import type { Generation, ProfileKind, ProfileListing, ProfileRef } from '../generations/types';

export interface GenerationTarget {
  profile: ProfileRef;
  generation: Generation;
  listing: ProfileListing;
}

/** One item of a generation picker. */
export interface GenerationChoice {
  label: string;
  description: string;
  generation: Generation;
}

/** The system profile listing (the first of kind system), else the first readable one. */
export function systemListing(listings: readonly ProfileListing[]): ProfileListing | undefined {
  return listings.find((l) => l.profile.kind === 'system' && !l.problem) ?? listings.find((l) => !l.problem);
}

/** Finds the profile and generation of a store path in the listings (the newest generation holding it). */
export function locate(
  listings: readonly ProfileListing[],
  storePath: string,
): { profile: string; generation: number } | null {
  for (const listing of listings) {
    const match = [...listing.generations]
      .filter((g) => g.storePath === storePath)
      .sort((a, b) => b.generation - a.generation)[0];
    if (match) return { profile: listing.profile.path, generation: match.generation };
  }
  return null;
}

/** The states worth naming next to a generation: "(activated, boot default)". Empty when none. */
export function states(g: Generation, kind: ProfileKind = 'system'): string {
  const words = generationStates(g, kind);
  return words.length > 0 ? `(${words.join(', ')})` : '';
}

/** How a generation reads in a picker: its version or label, its date, its states (in its profile's words). */
function describeGeneration(g: Generation, kind: ProfileKind = 'system'): string {
  return [g.nixosVersion ?? g.label ?? '', g.date.slice(0, 10), states(g, kind)].filter(Boolean).join(' · ');
}

/** The generations of a listing to offer in a picker, newest first. */
export function generationChoices(
  listing: ProfileListing,
  filter: (g: Generation) => boolean = (g) => !g.missing,
): GenerationChoice[] {
  return [...listing.generations]
    .filter(filter)
    .sort((a, b) => b.generation - a.generation)
    .map((g) => ({
      label: `${g.generation}`,
      description: describeGeneration(g, listing.profile.kind),
      generation: g,
    }));
}

/** A `{profile, generation}` shaped argument (a tree item, or what another extension or a test passes). */
function isGenerationReference(
  value: unknown,
): value is { profile: ProfileRef | string; generation: Generation | number } {
  return typeof value === 'object' && value !== null && 'generation' in value && 'profile' in value;
}

/**
 * The generation a command argument names: `{profile, generation}` (a tree item), a number or a numeric string
 * (of the system profile). `{ pick }` when it names none: the system profile's choices. Throws a message when
 * the named generation is not in the listings.
 */
export function resolveGeneration(
  listings: readonly ProfileListing[],
  arg: unknown,
  filter?: (g: Generation) => boolean,
): GenerationTarget | { pick: GenerationChoice[]; listing: ProfileListing } {
  if (isGenerationReference(arg)) {
    const profilePath = typeof arg.profile === 'string' ? arg.profile : arg.profile.path;
    const number = typeof arg.generation === 'number' ? arg.generation : arg.generation.generation;
    const listing = profilePath ? listings.find((l) => l.profile.path === profilePath) : systemListing(listings);
    const generation = listing?.generations.find((g) => g.generation === number);
    if (!listing || !generation) throw new Error(`generation ${number} of ${profilePath} was not found`);
    return { profile: listing.profile, generation, listing };
  }
  if (typeof arg === 'number' || (typeof arg === 'string' && /^\d+$/.test(arg.trim()))) {
    const number = Number(arg);
    const listing = systemListing(listings);
    const generation = listing?.generations.find((g) => g.generation === number);
    if (!listing || !generation) throw new Error(`the system profile has no generation ${number}`);
    return { profile: listing.profile, generation, listing };
  }
  const listing = systemListing(listings);
  if (!listing) throw new Error('no profile could be read');
  const pick = generationChoices(listing, filter);
  if (pick.length === 0) throw new Error(`${listing.profile.path} has no generation to choose`);
  return { pick, listing };
}
