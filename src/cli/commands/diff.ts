/**
 * `nixos-generations diff A B [--profile P] [--json] [--dry-activate] [--no-cache]`: compare two generations
 * (numbers) or store paths. Closures read once are kept in the user's cache directory (core/diff/closure-cache.ts),
 * so a second diff of the same systems runs no nix process; `--no-cache` neither reads nor writes them. (The
 * --target-host form below reads the target's closure over ssh every time, and keeps nothing.)
 *
 * `nixos-generations diff --target-host HOST B [--run-dir D] [--profile P] [--json] [--dry-activate]`: compare the
 * system running on HOST (its `D/current-system`, default /run) with B, a generation or store path of this machine.
 * ssh runs with BatchMode (no prompts) and the options of NIX_SSHOPTS (split at whitespace, as nixos-rebuild and
 * nix-copy-closure do). `--dry-activate` runs B's switch-to-configuration dry-activate on HOST: B must be there
 * already (nix-copy-closure --to HOST B), and it runs as root@ or with `sudo -n` (see --elevation).
 */
import { optionValue, parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { closureCacheDir, diffSystems, readRemoteSystem, resolveSide, type DiffOptions } from '../../core/diff';
import { formatDiffText } from '../../core/diff/format';
import { ELEVATIONS, parseElevation } from '../../core/deploy/elevation';
import { remoteElevation, sshOptsFromEnv, validateHost, type Target } from '../../core/target';

export { sshOptsFromEnv };

const DEFAULT_PROFILE = '/nix/var/nix/profiles/system';

/** The ssh target of `--target-host` (refused when ssh could read it as an option). */
export function targetFromArgs(host: string, env: NodeJS.ProcessEnv): Target {
  const problem = validateHost(host);
  if (problem) throw new UsageError(problem);
  return { kind: 'ssh', host, sshArgs: sshOptsFromEnv(env.NIX_SSHOPTS) };
}

export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {
    profile: { value: true },
    json: {},
    'dry-activate': {},
    'target-host': { value: true },
    'run-dir': { value: true },
    elevation: { value: true },
    'no-cache': {},
  });
  const host = optionValue(parsed, 'target-host');
  const fail = (error: unknown): number => {
    io.err(`nixos-generations diff: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  };
  const profile = optionValue(parsed, 'profile') ?? DEFAULT_PROFILE;
  const options: DiffOptions = { env: io.env, runDryActivate: parsed.flags.has('dry-activate') };
  let diff;
  if (host !== undefined) {
    if (parsed.positionals.length !== 1) {
      throw new UsageError(
        'diff --target-host HOST needs exactly one argument: the generation number or store path to compare with ' +
          "the target's running system",
      );
    }
    const target = targetFromArgs(host, io.env);
    const elevation = optionValue(parsed, 'elevation');
    if (elevation !== undefined && !(ELEVATIONS as readonly string[]).includes(elevation)) {
      throw new UsageError(`--elevation must be sudo, doas, run0 or none, not ${JSON.stringify(elevation)}`);
    }
    let to, running;
    try {
      [to, running] = await Promise.all([
        resolveSide(parsed.positionals[0]!, profile),
        readRemoteSystem(target, { runDir: optionValue(parsed, 'run-dir') ?? '/run', localEnv: io.env }),
      ]);
    } catch (error) {
      return fail(error);
    }
    diff = await diffSystems(running, to.storePath, {
      ...options,
      generations: { from: null, to: to.generation },
      target,
      elevate: remoteElevation(host, parseElevation(elevation ?? 'sudo')),
    });
  } else {
    if (optionValue(parsed, 'run-dir') !== undefined || optionValue(parsed, 'elevation') !== undefined) {
      throw new UsageError('--run-dir and --elevation go with --target-host');
    }
    if (parsed.positionals.length !== 2) {
      throw new UsageError('diff needs exactly two arguments: generation numbers or store paths');
    }
    const [a, b] = parsed.positionals as [string, string];
    let from, to;
    try {
      [from, to] = await Promise.all([resolveSide(a, profile), resolveSide(b, profile)]);
    } catch (error) {
      return fail(error);
    }
    diff = await diffSystems(from.storePath, to.storePath, {
      ...options,
      generations: { from: from.generation, to: to.generation },
      // closures read before need no nix process (closure-cache.ts); --no-cache neither reads nor writes them
      closureCacheDir: parsed.flags.has('no-cache') ? null : closureCacheDir(io.env),
    });
  }
  io.out(parsed.flags.has('json') ? `${JSON.stringify(diff, null, 2)}\n` : formatDiffText(diff));
  return 0;
}
