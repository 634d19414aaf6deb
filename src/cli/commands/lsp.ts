import type { CliIO } from '../io';

/** `nixos-generations lsp`: not available yet. */
export async function run(_args: string[], io: CliIO): Promise<number> {
  io.err('nixos-generations lsp: not available yet\n');
  return 2;
}
