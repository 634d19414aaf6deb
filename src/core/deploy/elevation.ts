/** Running a command with root rights: sudo, doas, systemd's run0, or as it is. argv in, argv out. */
import { remoteElevation } from '../target';

export type Elevation = 'sudo' | 'doas' | 'run0' | 'none';

export const ELEVATIONS: readonly Elevation[] = ['sudo', 'doas', 'run0', 'none'];

/** Reads a setting value; anything unknown means sudo (the NixOS default). */
export function parseElevation(value: unknown): Elevation {
  return value === 'doas' || value === 'run0' || value === 'none' ? value : 'sudo';
}

/**
 * Prefixes argv with the elevation program. `--` ends the program's own options, so a command whose name starts
 * with `-` is never read as an option of sudo/doas/run0 (all three accept it).
 */
export function elevate(argv: readonly string[], elevation: Elevation): string[] {
  if (argv.length === 0) throw new Error('empty command line');
  if (elevation === 'none') return [...argv];
  return [elevation, '--', ...argv];
}

/** What elevation depends on besides the setting: who we are and which programs exist on this machine. */
export interface ElevationFacts {
  /** The process runs as root already. */
  isRoot: boolean;
  /** The absolute path of an installed program, or null. */
  which: (program: string) => string | null;
}

/** Where a privileged step runs: the integrated terminal (a password can be typed), a background process, ssh. */
export type ElevationSite = { kind: 'terminal' } | { kind: 'background' } | { kind: 'ssh'; host: string };

function isElevationProgram(value: string | undefined): value is Exclude<Elevation, 'none'> {
  return value === 'sudo' || value === 'doas' || value === 'run0';
}

/**
 * The one decision of how a privileged step is elevated; every command and the CLI go through here.
 * - ssh: core/target's remoteElevation (non-interactive: nobody can type a password into ssh -T).
 * - background on this machine: nothing as root, else the program with `--`.
 * - terminal on this machine: the program resolved to its absolute path (the terminal runs exactly what was
 *   checked); as root without the program installed, the prefix is dropped (`dropped` says so).
 * Throws with a message naming the setting when the program is needed and not installed.
 */
export function elevationPrefix(
  elevation: Elevation,
  site: ElevationSite,
  facts: ElevationFacts,
): { prefix: string[]; dropped: Elevation | null } {
  if (elevation === 'none') return { prefix: [], dropped: null };
  if (site.kind === 'ssh') return { prefix: remoteElevation(site.host, elevation), dropped: null };
  if (site.kind === 'background' && facts.isRoot) return { prefix: [], dropped: null };
  const found = facts.which(elevation);
  if (!found) {
    if (facts.isRoot) return { prefix: [], dropped: elevation };
    throw new Error(
      `${elevation} (setting nixosGenerations.elevation) was not found (looked for "${elevation}" on PATH)`,
    );
  }
  return { prefix: site.kind === 'terminal' ? [found, '--'] : [elevation, '--'], dropped: null };
}

/**
 * An argv built with `elevate` (the program first), made ready for the terminal: the program resolved to its
 * absolute path, or dropped as root when it is not installed (see elevationPrefix).
 */
export function resolveElevation(
  argv: readonly string[],
  facts: ElevationFacts,
): { argv: string[]; dropped: Elevation | null } {
  const [first, second, ...rest] = argv;
  if (!isElevationProgram(first)) return { argv: [...argv], dropped: null };
  const command = second === '--' ? rest : argv.slice(1);
  const { prefix, dropped } = elevationPrefix(first, { kind: 'terminal' }, facts);
  return { argv: prefix.length === 0 ? command : [prefix[0]!, ...argv.slice(1)], dropped };
}
