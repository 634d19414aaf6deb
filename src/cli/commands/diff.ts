/** `nixos-generations diff A B [--profile P] [--json]`: compare two generations (numbers) or store paths. */
import { optionValue, parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { diffSystems, resolveSide } from '../../core/diff';
import { formatDiffText } from '../../core/diff/format';

const DEFAULT_PROFILE = '/nix/var/nix/profiles/system';

export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {
    profile: { value: true },
    json: {},
    'dry-activate': {},
  });
  if (parsed.positionals.length !== 2) {
    throw new UsageError('diff needs exactly two arguments: generation numbers or store paths');
  }
  const [a, b] = parsed.positionals as [string, string];
  const profile = optionValue(parsed, 'profile') ?? DEFAULT_PROFILE;
  let from, to;
  try {
    [from, to] = await Promise.all([resolveSide(a, profile), resolveSide(b, profile)]);
  } catch (error) {
    io.err(`nixos-generations diff: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const diff = await diffSystems(from.storePath, to.storePath, {
    env: io.env,
    generations: { from: from.generation, to: to.generation },
    runDryActivate: parsed.flags.has('dry-activate'),
  });
  io.out(parsed.flags.has('json') ? `${JSON.stringify(diff, null, 2)}\n` : formatDiffText(diff));
  return 0;
}
