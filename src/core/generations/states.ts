import type { Generation, ProfileKind } from './types';

/**
 * The state words of a generation, in the order shown (tree rows, pickers, dialogs). A system profile's current
 * generation is what the boot loader starts by default; in any other profile (home-manager, a user profile) the
 * current generation is simply the one in use, and nothing about it concerns booting.
 */
export function generationStates(g: Generation, kind: ProfileKind): string[] {
  const words: string[] = [];
  if (g.activated) words.push('activated');
  if (g.current) words.push(kind === 'system' ? 'boot default' : 'current');
  if (g.booted) words.push('booted');
  if (g.missing) words.push('garbage-collected');
  return words;
}

/**
 * The generation the others are compared against: the one running now (a system's activated generation; for any
 * other profile its current one), else the one just before `to`, else any other present generation.
 */
export function compareBaseline(
  generations: readonly Generation[],
  to: number,
  kind: ProfileKind,
): Generation | undefined {
  const others = generations.filter((g) => !g.missing && g.generation !== to);
  const inUse = others.find((g) => (kind === 'system' ? g.activated : g.current));
  const previous = [...others].sort((a, b) => b.generation - a.generation).find((g) => g.generation < to);
  return inUse ?? previous ?? others[0];
}
