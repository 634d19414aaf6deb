import type { Generation } from '../../src/core/generations/types';

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
