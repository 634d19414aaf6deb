/**
 * Cleaning up generations: a plan (keep the N newest, delete those replaced more than D days ago, or a selection),
 * which never includes the activated, booted or boot-default generation; the space it frees, computed from
 * closures; and the one elevated script that deletes, collects garbage and refreshes the boot entries.
 */
import * as path from 'node:path';
import { runProcess } from '../exec/process';
import type { Generation } from '../generations/types';
import { elevate, type Elevation } from './elevation';

export type CleanSelector =
  | { kind: 'keep'; keep: number }
  | { kind: 'olderThan'; days: number; now?: Date }
  | { kind: 'selection'; generations: readonly number[] };

export interface ProtectedGeneration {
  generation: Generation;
  /** 'activated' | 'booted' | 'boot default' */
  reasons: string[];
}

export interface CleanPlan {
  profilePath: string;
  /** Generations that will be deleted, oldest first. */
  remove: Generation[];
  /** Generations that stay, oldest first (protected ones included). */
  keep: Generation[];
  /** Kept because they are activated, booted or the boot default (and the selector would have removed them). */
  protected: ProtectedGeneration[];
  /** Numbers asked for that the profile does not have. */
  unknown: number[];
  /** One line saying what the selector means. */
  summary: string;
}

/** Why a generation must stay, or [] when it may go. */
export function protectionReasons(generation: Generation): string[] {
  const reasons: string[] = [];
  if (generation.activated) reasons.push('activated');
  if (generation.booted) reasons.push('booted');
  if (generation.current) reasons.push('boot default');
  return reasons;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Builds the plan. `olderThan` follows nix-env's `--delete-generations Nd`: a generation goes when the one after it
 * was created more than D days ago (it stopped being the newest before the cutoff), so the generation that was
 * current at the cutoff stays.
 */
export function planClean(profilePath: string, generations: readonly Generation[], selector: CleanSelector): CleanPlan {
  const sorted = [...generations].sort((a, b) => a.generation - b.generation);
  const wanted = new Set<number>();
  const unknown: number[] = [];
  let summary: string;
  switch (selector.kind) {
    case 'keep': {
      const keep = Math.max(0, Math.floor(selector.keep));
      const newest = sorted.slice(Math.max(0, sorted.length - keep)).map((g) => g.generation);
      for (const g of sorted) if (!newest.includes(g.generation)) wanted.add(g.generation);
      summary = `keep the ${keep} newest generation${keep === 1 ? '' : 's'} of ${profilePath}`;
      break;
    }
    case 'olderThan': {
      const days = Math.max(0, selector.days);
      const cutoff = (selector.now ?? new Date()).getTime() - days * DAY_MS;
      for (let i = 0; i + 1 < sorted.length; i++) {
        const replacedAt = Date.parse(sorted[i + 1]!.date);
        if (Number.isFinite(replacedAt) && replacedAt < cutoff) wanted.add(sorted[i]!.generation);
      }
      summary = `delete generations of ${profilePath} replaced more than ${days} day${days === 1 ? '' : 's'} ago`;
      break;
    }
    case 'selection': {
      const have = new Set(sorted.map((g) => g.generation));
      for (const n of selector.generations) {
        if (have.has(n)) wanted.add(n);
        else if (!unknown.includes(n)) unknown.push(n);
      }
      summary = `delete generation${wanted.size === 1 ? '' : 's'} ${[...wanted].sort((a, b) => a - b).join(', ') || '(none)'} of ${profilePath}`;
      break;
    }
  }
  const remove: Generation[] = [];
  const keep: Generation[] = [];
  const protectedOnes: ProtectedGeneration[] = [];
  for (const g of sorted) {
    const reasons = protectionReasons(g);
    if (wanted.has(g.generation) && reasons.length === 0) remove.push(g);
    else {
      keep.push(g);
      if (wanted.has(g.generation)) protectedOnes.push({ generation: g, reasons });
    }
  }
  return { profilePath, remove, keep, protected: protectedOnes, unknown, summary };
}

export interface FreedSpace {
  /** Bytes of store paths only reachable from the deleted generations. */
  bytes: number;
  /** Number of such store paths. */
  paths: number;
  /** The store paths themselves, sorted. */
  storePaths: string[];
  /**
   * True when the GC roots could not all be read, so `bytes` only subtracts what the profiles we know keep alive:
   * an upper bound ("up to").
   */
  upperBound: boolean;
  /** Why it is only an upper bound, when it is. */
  note?: string;
}

export interface StoreQueryOptions {
  /** nix-store executable (default `nix-store` on PATH). */
  nixStore?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

const CHUNK = 400;

async function storeQuery(args: string[], paths: readonly string[], options: StoreQueryOptions): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < paths.length; i += CHUNK) {
    const chunk = paths.slice(i, i + CHUNK);
    const result = await runProcess([options.nixStore ?? 'nix-store', ...args, ...chunk], {
      ...(options.env ? { env: options.env } : {}),
      timeoutMs: options.timeoutMs ?? 120000,
    });
    if (result.exitCode !== 0) {
      throw new Error(`nix-store ${args.join(' ')} failed: ${result.stderr.trim().split('\n').slice(-2).join(' ')}`);
    }
    lines.push(...result.stdout.split('\n').filter((l) => l !== ''));
  }
  return lines;
}

/** Parses `nix-store --gc --print-roots`: `<root> -> <store path>` lines. */
export function parseRoots(text: string): Array<{ root: string; storePath: string }> {
  const roots: Array<{ root: string; storePath: string }> = [];
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf(' -> ');
    if (at <= 0) continue;
    roots.push({ root: line.slice(0, at), storePath: line.slice(at + 4) });
  }
  return roots;
}

/**
 * The space deleting `remove` frees: the NAR size of every store path in the closure of the removed generations
 * that no other GC root reaches. Other roots come from `nix-store --gc --print-roots` (minus the removed generations'
 * links); when those cannot be read (permissions), only `fallbackLive` (the kept generations, activated and booted
 * systems) is subtracted and the result is an upper bound.
 */
export async function estimateFreedSpace(
  remove: readonly Generation[],
  fallbackLive: readonly string[],
  options: StoreQueryOptions = {},
): Promise<FreedSpace> {
  const removed = remove.filter((g) => !g.missing);
  if (removed.length === 0) return { bytes: 0, paths: 0, storePaths: [], upperBound: false };
  const removedLinks = new Set(remove.map((g) => g.linkPath));
  let liveRoots: string[];
  let upperBound = false;
  let note: string | undefined;
  const rootsRun = await runProcess([options.nixStore ?? 'nix-store', '--gc', '--print-roots'], {
    ...(options.env ? { env: options.env } : {}),
    timeoutMs: options.timeoutMs ?? 120000,
  }).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
  if (rootsRun.exitCode === 0) {
    liveRoots = parseRoots(rootsRun.stdout)
      .filter((r) => !removedLinks.has(r.root))
      .map((r) => r.storePath);
  } else {
    upperBound = true;
    note = `the garbage collector's roots could not be read (${rootsRun.stderr.trim().split('\n').pop() ?? 'unknown error'}); other roots may keep some of these paths`;
    liveRoots = [...fallbackLive];
  }
  const candidates = new Set(
    await storeQuery(
      ['-qR'],
      removed.map((g) => g.storePath),
      options,
    ),
  );
  const storeDir = path.dirname(removed[0]!.storePath);
  const valid = await validPaths([...new Set(liveRoots)], storeDir, options);
  const live = new Set(valid.length > 0 ? await storeQuery(['-qR'], valid, options) : []);
  const freed = [...candidates].filter((p) => !live.has(p)).sort();
  const sizes = freed.length > 0 ? await storeQuery(['-q', '--size'], freed, options) : [];
  const bytes = sizes.reduce((sum, s) => sum + (Number(s) || 0), 0);
  return { bytes, paths: freed.length, storePaths: freed, upperBound, ...(note ? { note } : {}) };
}

/** The subset of `paths` that are valid paths of the store holding `storeDir` (roots may dangle or lie outside). */
async function validPaths(paths: readonly string[], storeDir: string, options: StoreQueryOptions): Promise<string[]> {
  const inStore = [
    ...new Set(
      paths
        .filter((p) => p.startsWith(`${storeDir}/`) && p.length > storeDir.length + 1)
        .map((p) => `${storeDir}/${p.slice(storeDir.length + 1).split('/')[0]!}`),
    ),
  ];
  if (inStore.length === 0) return [];
  const invalid = new Set(await storeQuery(['--check-validity', '--print-invalid'], inStore, options));
  return inStore.filter((p) => !invalid.has(p));
}

/** Constant script: delete the listed generations, collect garbage, refresh the boot entries. */
export const CLEAN_SCRIPT = `#!/bin/sh
# nixos-generations: delete generations of a profile, collect garbage, refresh the boot menu.
# Arguments: NIX_ENV NIX_STORE PROFILE REFRESH_BOOT GENERATION...
#   REFRESH_BOOT  1: run PROFILE/bin/switch-to-configuration boot afterwards (NixOS system profiles), else 0
set -u
say() { printf 'nixos-generations: %s\\n' "$*"; }
if [ "$#" -lt 5 ]; then
  echo "usage: $0 NIX_ENV NIX_STORE PROFILE REFRESH_BOOT GENERATION..." >&2
  exit 2
fi
nix_env=$1 nix_store=$2 profile=$3 refresh=$4
shift 4
for g in "$@"; do
  case $g in
    ''|*[!0-9]*) say "not a generation number: $g" >&2; exit 2 ;;
  esac
done
say "deleting generation(s) $* of $profile"
"$nix_env" -p "$profile" --delete-generations "$@" || { say "deleting generations failed" >&2; exit 3; }
say "collecting garbage"
"$nix_store" --gc || { say "garbage collection failed" >&2; exit 4; }
if [ "$refresh" = 1 ]; then
  if [ -x "$profile/bin/switch-to-configuration" ]; then
    say "refreshing the boot entries"
    "$profile/bin/switch-to-configuration" boot || { say "refreshing the boot entries failed" >&2; exit 5; }
  else
    say "$profile/bin/switch-to-configuration not found; boot entries not refreshed" >&2
  fi
fi
say "done"
`;

export interface CleanRequest {
  nixEnv: string;
  nixStore: string;
  profilePath: string;
  generations: readonly number[];
  /** Refresh the boot entries (system profiles). */
  refreshBoot: boolean;
  elevation: Elevation;
}

/** argv running CLEAN_SCRIPT with the request's values as positional parameters, elevated. */
/** The elevated argv: the script's text as `sh -c` text (never a user-writable file), values as parameters. */
export function cleanArgv(script: string, request: CleanRequest): string[] {
  if (request.generations.length === 0) throw new Error('nothing to delete');
  for (const n of request.generations) {
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a generation number: ${n}`);
  }
  return elevate(
    [
      'sh',
      '-c',
      script,
      'nixos-generations-clean',
      request.nixEnv,
      request.nixStore,
      request.profilePath,
      request.refreshBoot ? '1' : '0',
      ...request.generations.map(String),
    ],
    request.elevation,
  );
}
