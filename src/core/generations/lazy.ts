/**
 * The costly parts of a generation, loaded on demand and cached by store path: the configuration revision
 * (from the generation's own nixos-version) and closure sizes (one `nix path-info` call for many paths).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type * as ProcessModule from '../exec/process';
import { asyncFs, blockingFs, mapLimit, readSmall, type FsOps } from './fsutil';
import { parseNixosVersionScript } from './parse';
import { defaultStoreCache, type StoreMetaCache } from './store-meta';
import type { Generation } from './types';

export interface RevisionOptions {
  cache?: StoreMetaCache;
  /** Processes at once when a nixos-version has to be run (default 4). */
  concurrency?: number;
  /** Per process (default 10 s). */
  timeoutMs?: number;
  /** Environment for the processes (default process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Blocking file reads (command line only), as in ReadOptions. */
  blocking?: boolean;
  /**
   * The file system to read (a remote machine's snapshot): only the scripts are read, nothing runs, since a
   * program of another machine cannot run here.
   */
  fs?: FsOps;
}

const REVISION = /^[0-9A-Za-z._+-]{1,100}$/;

/**
 * The process module, loaded only when a process has to run: it pulls in node:child_process (and with it
 * streams and sockets), a few milliseconds of every `nixos-generations list` that runs nothing.
 */
function processModule(): Promise<typeof ProcessModule> {
  return import('../exec/process');
}

/**
 * Fills in `configurationRevision` (and `revisionSource`) of NixOS generations, in place, and returns them.
 * Per store path, first the JSON that nixpkgs embeds in `sw/bin/nixos-version` is read (no process); when the
 * script holds none, `sw/bin/nixos-version --configuration-revision` runs (bounded concurrency, timeout).
 * A generation without a configurationRevision keeps the git sha its label shows, if any. Missing generations
 * and others (home-manager, user environments) are left as they are.
 */
export async function loadConfigurationRevisions(
  generations: Generation[],
  options: RevisionOptions = {},
): Promise<Generation[]> {
  const cache = options.cache ?? defaultStoreCache;
  const todo = [
    ...new Set(
      generations
        .filter(
          (g) =>
            !g.missing && (g.kind === undefined || g.kind === 'nixos') && cache.revision(g.storePath) === undefined,
        )
        .map((g) => g.storePath),
    ),
  ];
  // reading the script is cheap: do it wide; running it is not: keep those few
  const needsRun: string[] = [];
  await mapLimit(todo, 32, async (storePath) => {
    const text = await readSmall(
      path.join(storePath, 'sw', 'bin', 'nixos-version'),
      256 * 1024,
      options.fs ?? (options.blocking ? blockingFs : asyncFs),
    );
    const info = text === null ? null : parseNixosVersionScript(text);
    if (info) cache.setRevision(storePath, { value: info.configurationRevision, source: 'nixos-version' });
    else if (text !== null && !options.fs) needsRun.push(storePath);
    else cache.setRevision(storePath, { value: null, source: null }); // no nixos-version: nothing to learn
  });
  const { runProcess, SpawnError } = needsRun.length > 0 ? await processModule() : ({} as typeof ProcessModule);
  await mapLimit(needsRun, options.concurrency ?? 4, async (storePath) => {
    if (options.signal?.aborted) return;
    const exe = path.join(storePath, 'sw', 'bin', 'nixos-version');
    try {
      const result = await runProcess([exe, '--configuration-revision'], {
        timeoutMs: options.timeoutMs ?? 10_000,
        baseEnv: options.env ?? process.env,
        signal: options.signal,
        maxOutputBytes: 4096,
      });
      const out = result.stdout.trim();
      const value = result.exitCode === 0 && REVISION.test(out) ? out : null;
      if (!result.timedOut && result.signal === null) {
        cache.setRevision(storePath, { value, source: 'nixos-version' });
      }
    } catch (error) {
      if (!(error instanceof SpawnError)) throw error;
      // cannot run it (not executable, wrong architecture): the label's sha, if any, stays
    }
  });
  for (const g of generations) {
    const known = cache.revision(g.storePath);
    if (!known) continue;
    if (known.value !== null) {
      g.configurationRevision = known.value;
      g.revisionSource = known.source;
    }
  }
  return generations;
}

export interface ClosureSizeOptions {
  cache?: StoreMetaCache;
  /** The nix executable (default "nix" on PATH). */
  nix?: string;
  /** Environment for nix (NIX_STORE_DIR etc. for a private store; default process.env). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ClosureSizeResult {
  sizes: Map<string, number>;
  /** Why some or all sizes are unknown (nix missing, a path not valid in the store, ...), for the log. */
  errors: string[];
}

/** Paths per nix call: keeps the command line well under ARG_MAX for 10,000 generations. */
const CHUNK = 1500;

/** Parses `nix path-info --json -S` output: an array of objects (Nix ≤ 2.18) or an object keyed by path (newer). */
export function parsePathInfoJson(text: string): Map<string, number> {
  const sizes = new Map<string, number>();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return sizes;
  }
  const take = (p: unknown, info: unknown): void => {
    if (typeof p !== 'string' || typeof info !== 'object' || info === null) return;
    const size = (info as { closureSize?: unknown }).closureSize;
    if (typeof size === 'number' && Number.isFinite(size)) sizes.set(p, size);
  };
  if (Array.isArray(doc)) for (const item of doc) take((item as { path?: unknown } | null)?.path, item);
  else if (typeof doc === 'object' && doc !== null) for (const [p, info] of Object.entries(doc)) take(p, info);
  return sizes;
}

/**
 * Closure sizes of store paths with one `nix path-info -S --json` call (per 1,500 paths). Only paths that exist
 * are passed; when nix rejects one (not valid in its store), it is dropped and the call repeated once more.
 * Never throws for nix's failures: they end up in `errors`.
 */
export async function loadClosureSizes(
  storePaths: readonly string[],
  options: ClosureSizeOptions = {},
): Promise<ClosureSizeResult> {
  const cache = options.cache ?? defaultStoreCache;
  const sizes = new Map<string, number>();
  const errors: string[] = [];
  const unique = [...new Set(storePaths)];
  const todo: string[] = [];
  for (const p of unique) {
    const known = cache.closureSize(p);
    if (known !== undefined) sizes.set(p, known);
    else todo.push(p);
  }
  const existing = (
    await mapLimit(todo, 32, async (p) => {
      try {
        await fsp.lstat(p);
        return p;
      } catch {
        return null;
      }
    })
  ).filter((p): p is string => p !== null);

  const { runProcess } = existing.length > 0 ? await processModule() : ({} as typeof ProcessModule);
  for (let i = 0; i < existing.length; i += CHUNK) {
    let chunk = existing.slice(i, i + CHUNK);
    for (let attempt = 0; attempt < 3 && chunk.length > 0; attempt++) {
      let result;
      try {
        result = await runProcess(
          [
            options.nix ?? 'nix',
            '--extra-experimental-features',
            'nix-command',
            'path-info',
            '--json',
            '-S',
            '--',
            ...chunk,
          ],
          {
            baseEnv: options.env ?? process.env,
            timeoutMs: options.timeoutMs ?? 60_000,
            signal: options.signal,
          },
        );
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
        return { sizes, errors };
      }
      if (result.exitCode === 0) {
        for (const [p, size] of parsePathInfoJson(result.stdout)) {
          sizes.set(p, size);
          cache.setClosureSize(p, size);
        }
        break;
      }
      const stderr = result.stderr.trim();
      const bad = [...stderr.matchAll(/path '([^']+)' is not valid/g)].map((m) => m[1]!);
      errors.push(stderr.split('\n').slice(-3).join('\n') || `nix path-info exited with ${result.exitCode}`);
      if (bad.length === 0) break;
      const drop = new Set(bad);
      chunk = chunk.filter((p) => !drop.has(p));
    }
  }
  return { sizes, errors };
}

/** Copies cached closure sizes into generations (in place). */
export function applyClosureSizes(generations: Generation[], sizes: ReadonlyMap<string, number>): Generation[] {
  for (const g of generations) {
    const size = sizes.get(g.storePath);
    if (size !== undefined) g.closureSize = size;
  }
  return generations;
}
