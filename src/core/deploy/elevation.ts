/** Running a command with root rights: sudo, doas, systemd's run0, or as it is. argv in, argv out. */

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

/**
 * For a command run on this machine: when it already runs as root and the elevation program is not installed
 * (a root session on a system without sudo), the prefix is dropped instead of failing. Otherwise argv is kept.
 */
export function withoutNeedlessElevation(
  argv: readonly string[],
  isRoot: boolean,
  installed: (program: string) => boolean,
): { argv: string[]; dropped: Elevation | null } {
  const [first, second, ...rest] = argv;
  if (first === 'sudo' || first === 'doas' || first === 'run0') {
    if (isRoot && !installed(first)) return { argv: second === '--' ? rest : argv.slice(1), dropped: first };
  }
  return { argv: [...argv], dropped: null };
}
