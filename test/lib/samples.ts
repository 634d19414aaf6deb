import type { ElevationFacts } from '../../src/core/deploy/elevation';
import type { Generation, ProfileListing, ProfileRef } from '../../src/core/generations/types';

/** A generation record as the generations core would read it (only what the deploy code looks at matters). */
export function gen(n: number, extra: Partial<Generation> = {}): Generation {
  return {
    generation: n,
    date: extra.date ?? new Date(Date.UTC(2025, 0, n, 12)).toISOString(),
    linkPath: `/nix/var/nix/profiles/system-${n}-link`,
    storePath: `/nix/store/${String(n).padStart(32, 'a')}-nixos-system-box-${n}`,
    missing: false,
    label: null,
    nixosVersion: null,
    codename: null,
    kernelVersion: null,
    specialisations: [],
    configurationRevision: null,
    current: false,
    activated: false,
    booted: false,
    closureSize: null,
    ...extra,
  };
}

/** Values that must reach a program byte for byte. */
export const HOSTILE = [
  'with space',
  "it's",
  '"double"',
  '$(touch /tmp/nixgen-pwned)',
  '`id`',
  'a;b',
  'a && b',
  'line\nbreak',
  'tab\there',
  '-rf',
  '*',
  '~',
  '$HOME',
  '\\',
  "''",
  'ünïcödé',
  'a|b>c<d',
  '!bang',
];

/** A listing of the system profile holding `generations` (the boot default: the one marked current, if any). */
export function systemListingOf(
  generations: Generation[],
  profilePath = '/nix/var/nix/profiles/system',
): ProfileListing {
  return {
    profile: { path: profilePath, name: 'system', kind: 'system' } satisfies ProfileRef,
    generations,
    currentGeneration: generations.find((g) => g.current)?.generation ?? null,
  };
}

/** Elevation facts: root or not, and which elevation programs are installed (under /run/wrappers/bin). */
export function facts(isRoot: boolean, ...installed: string[]): ElevationFacts {
  return { isRoot, which: (p) => (installed.includes(p) ? `/run/wrappers/bin/${p}` : null) };
}
