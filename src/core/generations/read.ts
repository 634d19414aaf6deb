/**
 * Reading a profile's generations straight from its `<name>-N-link` symlinks (nix-env would need a write lock on
 * the profile directory, NixOS/nix#5144). Only cheap filesystem calls, with bounded concurrency; nothing here
 * starts a process. Bad profiles give a `problem`, never an exception.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  absoluteTarget,
  asyncFs,
  blockingFs,
  errnoOf,
  followLinks,
  mapLimit,
  readlinkAbsolute,
  type FsOps,
  type StatLite,
} from './fsutil';
import { isoSeconds, parseGenerationLinkName } from './parse';
import { defaultStoreCache, probeStorePath, storeId, type StoreMetaCache, type StoreProbe } from './store-meta';
import type { Generation, ProfileListing, ProfileProblem, ProfileRef, RebootStatus } from './types';

export interface ReadOptions {
  /** Where `current-system` and `booted-system` live (default /run). */
  runDir?: string;
  /** Store-path cache (default: one shared by the process). */
  cache?: StoreMetaCache;
  /** Filesystem calls in flight at once (default 32). */
  concurrency?: number;
  /**
   * Use blocking filesystem calls: several times faster for thousands of generations, but they hold the
   * thread. For the command line only, never in an editor.
   */
  blocking?: boolean;
  /** The filesystem calls to use (default: by `blocking`); tests count them. */
  fs?: FsOps;
}

export interface RunState {
  /** Store path `runDir/current-system` resolves to, or null. */
  activated: string | null;
  /** Store path `runDir/booted-system` resolves to, or null. */
  booted: string | null;
}

/** Where the activated and booted systems are (links followed, targets need not exist). */
export async function readRunState(runDir = '/run', ops: FsOps = asyncFs): Promise<RunState> {
  const [activated, booted] = await Promise.all([
    followLinks(path.join(runDir, 'current-system'), 8, ops),
    followLinks(path.join(runDir, 'booted-system'), 8, ops),
  ]);
  return { activated, booted };
}

function problemFor(error: unknown, what: string): ProfileProblem {
  const code = errnoOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOENT':
      return { kind: 'missing', message: `${what} does not exist` };
    case 'EACCES':
    case 'EPERM':
      return { kind: 'permission-denied', message: `${what} cannot be read: permission denied` };
    case 'ENOTDIR':
      return { kind: 'not-a-profile', message: `${what} is not a directory (a path component is a file)` };
    default:
      return { kind: 'error', message: `${what} cannot be read: ${detail}` };
  }
}

/** A generation link as read: its date and where it points. */
interface Scanned {
  mtimeMs: number;
  storePath: string;
}

function linkIdOf(st: StatLite): string {
  return `${st.ino}:${st.mtimeMs}:${st.ctimeMs}:${st.size}`;
}

/**
 * A generation link's date and target: lstat, then readlink unless the cache knows this very link (a symlink
 * cannot change in place: the same inode with the same times has the same target). Null for what is not a
 * generation link (a file or directory named like one, or one removed while we read).
 */
async function scanLink(linkPath: string, cache: StoreMetaCache, ops: FsOps): Promise<Scanned | null> {
  let st: StatLite | null;
  try {
    st = await ops.lstatIfExists(linkPath);
  } catch {
    return null;
  }
  if (st === null || !st.isSymbolicLink()) return null;
  const id = linkIdOf(st);
  const known = cache.links.get(linkPath);
  if (known?.id === id) return { mtimeMs: st.mtimeMs, storePath: known.target };
  const storePath = await readlinkAbsolute(linkPath, ops);
  if (storePath === null) return null;
  cache.links.set(linkPath, { id, target: storePath });
  return { mtimeMs: st.mtimeMs, storePath };
}

/** scanLink with blocking calls. */
function scanLinkSync(linkPath: string, cache: StoreMetaCache): Scanned | null {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(linkPath, { throwIfNoEntry: false });
  } catch {
    return null;
  }
  if (st === undefined || !st.isSymbolicLink()) return null;
  const id = linkIdOf(st);
  const known = cache.links.get(linkPath);
  if (known?.id === id) return { mtimeMs: st.mtimeMs, storePath: known.target };
  let storePath: string;
  try {
    storePath = absoluteTarget(linkPath, fs.readlinkSync(linkPath));
  } catch {
    return null;
  }
  cache.links.set(linkPath, { id, target: storePath });
  return { mtimeMs: st.mtimeMs, storePath };
}

/** probeStorePath's cheap cases with one blocking lstat: gone, or known to the cache; null otherwise. */
function probeCachedSync(storePath: string, cache: StoreMetaCache): StoreProbe | null {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(storePath, { throwIfNoEntry: false });
  } catch {
    return null; // ENOTDIR, EACCES, ...: let probeStorePath tell which
  }
  if (st === undefined) {
    cache.forget(storePath);
    return { state: 'missing' };
  }
  const meta = cache.metaFor(storePath, storeId(st));
  if (meta === undefined) return null;
  cache.used.add(storePath);
  return { state: 'present', meta };
}

/**
 * Reads one profile: its generations oldest first, which one the profile link points to (boot default for the
 * system profile), which are activated/booted according to `runDir`, and which store paths were
 * garbage-collected (`missing`, still listed with number, date and store path).
 */
export async function readProfile(ref: ProfileRef, options: ReadOptions = {}): Promise<ProfileListing> {
  const cache = options.cache ?? defaultStoreCache;
  const limit = options.concurrency ?? 32;
  const ops = options.fs ?? (options.blocking ? blockingFs : asyncFs);
  const dir = path.dirname(ref.path);
  const base = path.basename(ref.path);
  const listing: ProfileListing = { profile: ref, generations: [], currentGeneration: null };

  let entries: string[];
  try {
    entries = await ops.readdir(dir);
  } catch (error) {
    listing.problem = problemFor(error, `profile directory ${dir}`);
    return listing;
  }

  // number -> entry name; "system-007-link" only when there is no "system-7-link"
  const byNumber = new Map<number, string>();
  for (const entry of entries) {
    const n = parseGenerationLinkName(base, entry);
    if (n === null) continue;
    const seen = byNumber.get(n);
    if (seen === undefined || entry === `${base}-${n}-link`) byNumber.set(n, entry);
  }

  const [profileTarget, runState] = await Promise.all([
    readlinkAbsolute(ref.path, ops),
    readRunState(options.runDir ?? '/run', ops),
  ]);
  if (profileTarget !== null && path.dirname(profileTarget) === dir) {
    listing.currentGeneration = parseGenerationLinkName(base, path.basename(profileTarget));
  }

  const numbers = [...byNumber.keys()].sort((a, b) => a - b);
  const prefix = dir.endsWith('/') ? dir : `${dir}/`; // what path.join gives for a plain entry name
  const make = (n: number, linkPath: string, mtimeMs: number, storePath: string, probe: StoreProbe): Generation => {
    const meta = probe.state === 'present' ? probe.meta : null;
    const revision = cache.revision(storePath);
    return {
      generation: n,
      date: isoSeconds(mtimeMs),
      linkPath,
      storePath,
      missing: probe.state === 'missing',
      label: meta?.label ?? null,
      nixosVersion: meta?.nixosVersion ?? null,
      codename: meta?.codename ?? null,
      kernelVersion: meta?.kernelVersion ?? null,
      specialisations: meta ? [...meta.specialisations] : [],
      // as loadConfigurationRevisions does: a generation without one keeps the sha its label shows
      configurationRevision: revision?.value ? revision.value : (meta?.labelRevision ?? null),
      revisionSource: revision?.value ? revision.source : meta?.labelRevision ? 'label' : null,
      current: listing.currentGeneration === n,
      activated: runState.activated !== null && runState.activated === storePath,
      booted: runState.booted !== null && runState.booted === storePath,
      closureSize: cache.closureSize(storePath) ?? null,
      kind: meta?.kind ?? (probe.state === 'missing' ? guessKind(ref) : 'other'),
      profilePath: ref.path,
      homeManagerVersion: meta?.homeManagerVersion ?? null,
      release: meta?.release ?? null,
      bootLabel: meta?.bootLabel ?? null,
    };
  };

  const read = new Array<Generation | null>(numbers.length).fill(null);
  // the general path: any FsOps, any cache state
  const readOne = async (i: number, scanned?: Scanned): Promise<void> => {
    const n = numbers[i]!;
    const linkPath = `${prefix}${byNumber.get(n)!}`;
    const link = scanned ?? (await scanLink(linkPath, cache, ops));
    if (link === null) return;
    const probe = await probeStorePath(link.storePath, cache, ops);
    read[i] = make(n, linkPath, link.mtimeMs, link.storePath, probe);
  };
  if (options.blocking && !options.fs) {
    // blocking mode (the command line): one synchronous pass serves every generation the cache knows, with no
    // promise per call; only the others (a first run, a new generation) take the general path
    const slow: Array<[number, Scanned]> = [];
    for (let i = 0; i < numbers.length; i++) {
      const n = numbers[i]!;
      const linkPath = `${prefix}${byNumber.get(n)!}`;
      const link = scanLinkSync(linkPath, cache);
      if (link === null) continue;
      const probe = probeCachedSync(link.storePath, cache);
      if (probe === null) slow.push([i, link]);
      else read[i] = make(n, linkPath, link.mtimeMs, link.storePath, probe);
    }
    await mapLimit(slow, limit, ([i, link]) => readOne(i, link));
  } else {
    await mapLimit(
      numbers.map((_, i) => i),
      limit,
      (i) => readOne(i),
    );
  }
  listing.generations = read.filter((g): g is Generation => g !== null);

  if (listing.generations.length === 0) {
    if (entries.includes(base) && profileTarget === null) {
      listing.problem = { kind: 'not-a-profile', message: `${ref.path} is not a symlink to a generation` };
    } else {
      listing.problem = { kind: 'missing', message: `${ref.path} has no generations` };
    }
  }
  return listing;
}

/** A garbage-collected generation's kind can only be guessed from its profile. */
function guessKind(ref: ProfileRef): Generation['kind'] {
  if (ref.kind === 'system') return 'nixos';
  if (ref.kind === 'home-manager') return 'home-manager';
  return 'other';
}

/** Reads several profiles at once; each listing carries its own problem. */
export async function readProfiles(refs: readonly ProfileRef[], options: ReadOptions = {}): Promise<ProfileListing[]> {
  return Promise.all(refs.map((ref) => readProfile(ref, options)));
}

/**
 * Whether the activated system (runDir/current-system) runs another kernel, initrd or kernel-modules than the
 * booted one (runDir/booted-system), as NixOS's own check does. `needed` is false when either link is absent.
 * `ops`: another file system (a remote machine's snapshot); default this machine's.
 */
export async function rebootNeeded(runDir = '/run', ops?: FsOps): Promise<RebootStatus> {
  const state = await readRunState(runDir, ops ?? asyncFs);
  const status: RebootStatus = { booted: state.booted, activated: state.activated, needed: false, differs: [] };
  if (state.booted === null || state.activated === null) return status;
  for (const part of ['kernel', 'initrd', 'kernel-modules'] as const) {
    const [a, b] = await Promise.all([
      followLinks(path.join(runDir, 'booted-system', part), 8, ops ?? asyncFs),
      followLinks(path.join(runDir, 'current-system', part), 8, ops ?? asyncFs),
    ]);
    // another machine's files (a snapshot read over ssh) have no local realpath: the followed links decide
    const [ra, rb] = ops ? [a, b] : await Promise.all([realOrSame(a), realOrSame(b)]);
    if (ra !== rb) status.differs.push(part);
  }
  status.needed = status.differs.length > 0;
  return status;
}

async function realOrSame(p: string | null): Promise<string | null> {
  if (p === null) return null;
  try {
    return await fsp.realpath(p);
  } catch {
    return p;
  }
}
