/**
 * The preview of a switch: two NixOS systems (generations or store paths) compared by packages, closure size,
 * kernel, stateVersion and the units activation would touch, with the risky changes first. Plain data, ready
 * for JSON (`nixos-generations diff --json`) and for the webview.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runProcess } from '../exec/process';
import { StoreMetaCache, probeStorePath } from '../generations/store-meta';
import { diffClosures, readClosures, type ClosureDiff, type ReadClosureOptions } from './closure';
import { parseDryActivate, type UnitChanges } from './dryActivate';
import {
  kernelRisk,
  serviceRisks,
  sortRisks,
  stateVersionFromConfiguration,
  stateVersionRisk,
  type Risk,
  type StatefulServiceRule,
} from './risk';

export * from './names';
export * from './closure';
export * from './dryActivate';
export * from './risk';

/** What one side of the comparison is. */
export interface SystemInfo {
  /** The store path compared. */
  storePath: string;
  /** Generation number when the side was given as one, else null. */
  generation: number | null;
  label: string | null;
  nixosVersion: string | null;
  kernelVersion: string | null;
  /** Targets of the `kernel`, `initrd` and `kernel-modules` links (what a reboot would load), or null. */
  kernel: string | null;
  initrd: string | null;
  kernelModules: string | null;
  /** From a copied configuration.nix, when the system has one; else null (unknown). */
  stateVersion: string | null;
}

export interface GenerationDiff {
  from: SystemInfo;
  to: SystemInfo;
  closure: ClosureDiff;
  kernel: { before: string | null; after: string | null; changed: boolean; rebootNeeded: boolean };
  stateVersion: { before: string | null; after: string | null; changed: boolean };
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
}

async function linkTarget(p: string): Promise<string | null> {
  try {
    const target = await fsp.readlink(p);
    return path.resolve(path.dirname(p), target);
  } catch {
    return null;
  }
}

/** Reads what a toplevel says about itself (cheap file reads only). */
export async function readSystemInfo(
  storePath: string,
  generation: number | null = null,
  cache: StoreMetaCache = new StoreMetaCache(),
): Promise<SystemInfo> {
  const probe = await probeStorePath(storePath, cache);
  const meta = probe.state === 'present' ? probe.meta : null;
  const [kernel, initrd, kernelModules, configuration] = await Promise.all([
    linkTarget(path.join(storePath, 'kernel')),
    linkTarget(path.join(storePath, 'initrd')),
    linkTarget(path.join(storePath, 'kernel-modules')),
    fsp.readFile(path.join(storePath, 'configuration.nix'), 'utf8').catch(() => null),
  ]);
  return {
    storePath,
    generation,
    label: meta?.label ?? null,
    nixosVersion: meta?.nixosVersion ?? null,
    kernelVersion: meta?.kernelVersion ?? null,
    kernel,
    initrd,
    kernelModules,
    stateVersion: stateVersionFromConfiguration(configuration),
  };
}

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
    const target = await linkTarget(link);
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

/** Compares two systems given as store paths. Rejects only when a closure cannot be read at all. */
export async function diffSystems(from: string, to: string, options: DiffOptions = {}): Promise<GenerationDiff> {
  const cache = options.cache ?? new StoreMetaCache();
  const [a, b, closures] = await Promise.all([
    readSystemInfo(from, options.generations?.from ?? null, cache),
    readSystemInfo(to, options.generations?.to ?? null, cache),
    readClosures([from, to], options),
  ]);
  const labels = new Map<string, string>();
  if (a.label) labels.set(from, a.label);
  if (b.label) labels.set(to, b.label);
  const closure = diffClosures(closures[0]!, closures[1]!, (p) => labels.get(p));

  const warnings: string[] = [];
  let units: UnitChanges | null = null;
  if (options.dryActivateOutput !== undefined) units = parseDryActivate(options.dryActivateOutput);
  else if (options.runDryActivate) {
    const r = await dryActivate(to, { env: options.env, signal: options.signal });
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
    risks: sortRisks(risks),
    units,
    warnings,
  };
}
