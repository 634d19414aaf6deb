/**
 * The preview of a switch: two NixOS systems (generations or store paths) compared by packages, closure size,
 * kernel, stateVersion and the units activation would touch, with the risky changes first. Plain data, ready
 * for JSON (`nixos-generations diff --json`) and for the webview.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runProcess } from '../exec/process';
import { readlinkAbsolute } from '../generations/fsutil';
import { StoreMetaCache } from '../generations/store-meta';
import type { Target } from '../target';
import { diffClosures, readClosures, type Closure, type ClosureDiff, type ReadClosureOptions } from './closure';
import { parseDryActivate, type UnitChanges } from './dryActivate';
import { remoteDryActivate } from './remote';
import { readSystemInfo, type SystemFacts, type SystemInfo } from './system';
import { compareReach, loginUser, parseReach, readLocalReachFiles, type ReachFiles, type ReachFinding } from './reach';
import { kernelRisk, serviceRisks, sortRisks, stateVersionRisk, type Risk, type StatefulServiceRule } from './risk';

export * from './names';
export * from './closure';
export * from './closure-cache';
export * from './dryActivate';
export * from './risk';
export * from './system';
export * from './remote';
export * from './preview';
export * from './reach';

export interface GenerationDiff {
  from: SystemInfo;
  to: SystemInfo;
  closure: ClosureDiff;
  kernel: { before: string | null; after: string | null; changed: boolean; rebootNeeded: boolean };
  stateVersion: { before: string | null; after: string | null; changed: boolean };
  /**
   * How the machine is reached before and after (addresses, routes, interfaces, /etc/hosts, sshd, firewall), the
   * changes that may cut an ssh session off first; null when one side's etc tree could not be read.
   */
  reach: ReachFinding[] | null;
  /** Risky changes, most severe first. */
  risks: Risk[];
  /** Units activation would stop/start/restart/reload, when dry-activate was run (or its output given). */
  units: UnitChanges | null;
  /** Problems that left parts of the diff empty (dry-activate failed, ...). */
  warnings: string[];
}

export interface DiffOptions extends ReadClosureOptions {
  /** Output of `switch-to-configuration dry-activate` for the `to` side, already captured. */
  dryActivateOutput?: string;
  /** Run `<to>/bin/switch-to-configuration dry-activate` (needs root on a real NixOS). */
  runDryActivate?: boolean;
  /** Rules for stateful services (default: the built-in table). */
  rules?: readonly StatefulServiceRule[];
  /** Generation numbers, when the sides were given as such. */
  generations?: { from?: number | null; to?: number | null };
  cache?: StoreMetaCache;
  /**
   * Where the `to` system would be activated, for dry-activate (default: this machine). Over ssh its closure must
   * be on the target already (copied); the command runs there with `elevate` and `targetEnv`.
   */
  target?: Target;
  /** Elevation prefix for dry-activate on an ssh target (`remoteElevation`); locally, `elevate` of dryActivate. */
  elevate?: readonly string[];
  /** Environment for dry-activate on an ssh target (passed explicitly with `env NAME=value`); `env` is ssh's. */
  targetEnv?: Readonly<Record<string, string>>;
}

/** One side of `diffSystems`: a local store path, or facts read ahead (`readRemoteSystem`). */
export type SystemSide = string | SystemFacts;

/**
 * Resolves one side of `diff A B`: a generation number of `profile` (its `<profile>-N-link`) or a path (a store
 * path or a link to one, such as /run/current-system). Rejects with a clear message.
 */
export async function resolveSide(
  spec: string,
  profile: string,
): Promise<{ storePath: string; generation: number | null }> {
  let link = spec;
  let generation: number | null = null;
  if (/^[0-9]+$/.test(spec)) {
    generation = Number(spec);
    link = `${profile}-${generation}-link`;
    try {
      await fsp.lstat(link);
    } catch {
      throw new Error(`generation ${generation} of ${profile} does not exist (no ${link})`);
    }
  }
  try {
    return { storePath: await fsp.realpath(link), generation };
  } catch {
    const target = await readlinkAbsolute(link);
    throw new Error(
      target
        ? `${spec} points to ${target}, which is not in the store any more (garbage-collected)`
        : `${spec} is neither a generation number nor an existing path`,
    );
  }
}

/** Runs `<toplevel>/bin/switch-to-configuration dry-activate` and parses what it prints. */
export async function dryActivate(
  toplevel: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal; elevate?: readonly string[] } = {},
): Promise<{ units: UnitChanges | null; error: string | null }> {
  const argv = [...(options.elevate ?? []), path.join(toplevel, 'bin', 'switch-to-configuration'), 'dry-activate'];
  try {
    const r = await runProcess(argv, {
      baseEnv: options.env ?? process.env,
      timeoutMs: options.timeoutMs ?? 120_000,
      signal: options.signal,
    });
    if (r.exitCode !== 0) {
      const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('\n');
      return { units: null, error: `dry-activate exited with ${r.exitCode ?? r.signal}${detail ? `: ${detail}` : ''}` };
    }
    return { units: parseDryActivate(`${r.stderr}\n${r.stdout}`), error: null };
  } catch (error) {
    return { units: null, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Compares two systems: local store paths (read here, both closures with one nix call) or facts read ahead, such
 * as the running system of another machine. Rejects only when a closure cannot be read at all.
 */
export async function diffSystems(
  from: SystemSide,
  to: SystemSide,
  options: DiffOptions = {},
): Promise<GenerationDiff> {
  const cache = options.cache ?? new StoreMetaCache();
  const local = [from, to].filter((s): s is string => typeof s === 'string');
  const side = (s: SystemSide, generation: number | null | undefined): Promise<SystemInfo> | SystemInfo =>
    typeof s === 'string'
      ? readSystemInfo(s, generation ?? null, cache)
      : { ...s.info, generation: generation ?? s.info.generation };
  const reachOf = (s: SystemSide): Promise<ReachFiles | null> | ReachFiles | null =>
    typeof s === 'string' ? readLocalReachFiles(s) : (s.reach ?? null);
  const [a, b, read, reachFrom, reachTo] = await Promise.all([
    side(from, options.generations?.from),
    side(to, options.generations?.to),
    local.length > 0 ? readClosures(local, options) : Promise.resolve([] as Closure[]),
    reachOf(from),
    reachOf(to),
  ]);
  const closureOfSide = (s: SystemSide): Closure => (typeof s === 'string' ? read[local.indexOf(s)]! : s.closure);
  const labels = new Map<string, string>();
  if (a.label) labels.set(a.storePath, a.label);
  if (b.label) labels.set(b.storePath, b.label);
  const closure = diffClosures(closureOfSide(from), closureOfSide(to), (p) => labels.get(p));

  const warnings: string[] = [];
  let units: UnitChanges | null = null;
  if (options.dryActivateOutput !== undefined) units = parseDryActivate(options.dryActivateOutput);
  else if (options.runDryActivate) {
    const r =
      options.target?.kind === 'ssh'
        ? await remoteDryActivate(options.target, b.storePath, {
            elevate: options.elevate ?? [],
            ...(options.targetEnv ? { env: options.targetEnv } : {}),
            ...(options.env ? { localEnv: options.env } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          })
        : await dryActivate(b.storePath, { env: options.env, signal: options.signal, elevate: options.elevate });
    units = r.units;
    if (r.error) warnings.push(r.error);
  }

  const otherBootFiles = a.initrd !== b.initrd || a.kernelModules !== b.kernelModules || a.kernel !== b.kernel;
  const kernelChanged = a.kernelVersion !== b.kernelVersion;
  const risks: Risk[] = serviceRisks(closure.packages, options.rules);
  const sv = stateVersionRisk(a.stateVersion, b.stateVersion);
  if (sv) risks.push(sv);
  const kr = kernelRisk(a.kernelVersion, b.kernelVersion, otherBootFiles);
  if (kr) risks.push(kr);
  return {
    from: a,
    to: b,
    closure,
    kernel: { before: a.kernelVersion, after: b.kernelVersion, changed: kernelChanged, rebootNeeded: otherBootFiles },
    stateVersion: {
      before: a.stateVersion,
      after: b.stateVersion,
      changed: a.stateVersion !== null && b.stateVersion !== null && a.stateVersion !== b.stateVersion,
    },
    reach:
      reachFrom && reachTo
        ? compareReach(parseReach(reachFrom), parseReach(reachTo), { user: loginUser(a.host ?? b.host) })
        : null,
    risks: sortRisks(risks),
    units,
    warnings,
  };
}
