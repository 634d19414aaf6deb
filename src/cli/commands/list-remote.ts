/**
 * `nixos-generations list --target-host USER@HOST [--target-host ...] [--profile P] [--run-dir D] [--json]
 * [--closure-size] [--timeout SECONDS] [--drift [--repo DIR]]`: the system generations of other machines, each read over one ssh connection
 * (options from NIX_SSHOPTS, BatchMode, a timeout), with the same fields as a local list. Several machines are read
 * side by side and each is printed as soon as it answers: a slow or dead one never holds back the others.
 * `--drift`: what each machine runs (its activated system's configurationRevision) against HEAD of the git
 * repository at DIR (default: the current directory), and a fleet summary row.
 * Exit 1 when any machine could not be read (the others are still listed).
 */
import { optionValue, parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { generationToJson, listingsToJson, type GenerationJson } from '../../core/generations';
import { openRepository, type GitRepository } from '../../core/exec/git';
import { describeDrift, driftOf, fleetSummary, type Drift } from '../../core/fleet/drift';
import { readRemoteGenerations, type RemoteListing } from '../../core/fleet/remote-list';
import { sshOptsFromEnv, validateHost } from '../../core/target';
import { formatListings } from './list';

export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {
    'target-host': { value: true, repeat: true },
    profile: { value: true },
    'run-dir': { value: true },
    json: {},
    'closure-size': {},
    'no-cache': {},
    timeout: { value: true },
    drift: {},
    repo: { value: true },
  });
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  const hosts = parsed.values.get('target-host') ?? [];
  for (const host of hosts) {
    const problem = validateHost(host);
    if (problem) throw new UsageError(problem);
  }
  const timeoutText = optionValue(parsed, 'timeout') ?? '20';
  const timeoutSeconds = Number(timeoutText);
  if (!/^\d+(\.\d+)?$/.test(timeoutText) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout needs a number of seconds, not '${timeoutText}'`);
  }
  const sshArgs = sshOptsFromEnv(io.env.NIX_SSHOPTS);
  const json = parsed.flags.has('json');
  const profile = optionValue(parsed, 'profile');
  const runDir = optionValue(parsed, 'run-dir');
  const drift = parsed.flags.has('drift');
  let repo: GitRepository | undefined;
  if (drift) {
    const opened = await openRepository(optionValue(parsed, 'repo') ?? io.cwd);
    if (opened.refused) io.err(`nixos-generations list: ${opened.refused}\n`);
    repo = opened.repo;
  }
  const drifts: Drift[] = [];
  let status = 0;
  const collected: GenerationJson[][] = hosts.map(() => []);
  const report = async (host: string, r: RemoteListing, index: number): Promise<void> => {
    if (r.problem || !r.listing) {
      io.err(`nixos-generations list: ${host}: unreachable: ${r.problem?.message ?? 'no answer'}\n`);
      if (drift) drifts.push({ kind: 'unknown', why: 'unreachable' });
      status = 1;
      return;
    }
    // what the machine runs now: the activated generation's revision
    const running = r.listing.generations.find((g) => g.activated) ?? null;
    const d = drift ? await driftOf(running?.configurationRevision ?? null, repo) : null;
    if (d) drifts.push(d);
    if (r.listing.problem) {
      io.err(`nixos-generations list: ${host}: ${r.listing.problem.message}\n`);
      status = 1;
    }
    if (json) {
      collected[index] =
        hosts.length > 1
          ? [...r.listing.generations]
              .sort((a, b) => b.generation - a.generation)
              .map((g) => ({ host, ...generationToJson(g, r.listing!.profile.path) }))
          : listingsToJson([r.listing]);
    } else {
      const text = formatListings([r.listing], r.reboot, parsed.flags.has('closure-size'));
      const driftLine = d ? `  drift: ${describeDrift(d)}\n\n` : '';
      io.out(`${host}${r.facts?.hostname ? ` (${r.facts.hostname})` : ''}: ${text}${driftLine}`);
    }
  };
  await Promise.all(
    hosts.map(async (host, index) => {
      const r = await readRemoteGenerations(
        { kind: 'ssh', host, sshArgs },
        {
          timeoutMs: timeoutSeconds * 1000,
          closureSize: parsed.flags.has('closure-size'),
          localEnv: io.env,
          ...(profile ? { profile } : {}),
          ...(runDir ? { runDir } : {}),
        },
      );
      await report(host, r, index);
    }),
  );
  if (json) io.out(`${JSON.stringify(collected.flat(), null, 2)}\n`);
  else if (drift) io.out(`fleet: ${fleetSummary(drifts)}\n`);
  return status;
}
