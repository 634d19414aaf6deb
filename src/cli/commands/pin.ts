import type { CliIO } from '../io';

/** `nixos-generations pin`: not available yet. */
export async function run(_args: string[], io: CliIO): Promise<number> {
  io.err('nixos-generations pin: not available yet\n');
  return 2;
}
