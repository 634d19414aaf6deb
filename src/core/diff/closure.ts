/**
 * Reading closures (every store path a system needs, with its NAR size) and comparing two of them package by
 * package, like nvd and dix do: names and versions split from store names, grouped by name, classified with
 * Nix's version order.
 */
import { runProcess } from '../exec/process';
import { readCachedClosure, writeCachedClosure } from './closure-cache';
import { compareVersions, splitStoreName, storeName } from './names';

export interface Closure {
  /** The root store path. */
  root: string;
  /** Every path of the closure -> its NAR size in bytes (0 when unknown). */
  paths: Map<string, number>;
  /** Sum of the NAR sizes: what `nix path-info -S` calls the closure size. */
  size: number;
}

export interface ReadClosureOptions {
  /** The nix executable (default "nix"); nix-store is looked up next to it when it is a path. */
  nix?: string;
  /** Environment for nix (NIX_STORE_DIR etc. for a private store). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Where closures are kept between processes (closure-cache.ts; `closureCacheDir(env)`): a root found there
   * needs no nix call, and what nix reads is kept. Default: none.
   */
  closureCacheDir?: string | null;
}

interface PathInfo {
  narSize: number;
  references: string[];
}

/** Parses `nix path-info --json`: an array of objects (Nix <= 2.18) or an object keyed by path (newer). */
export function parsePathInfos(text: string): Map<string, PathInfo> {
  const infos = new Map<string, PathInfo>();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return infos;
  }
  const take = (p: unknown, raw: unknown): void => {
    if (typeof p !== 'string' || typeof raw !== 'object' || raw === null) return;
    const info = raw as { narSize?: unknown; references?: unknown };
    const narSize = typeof info.narSize === 'number' && Number.isFinite(info.narSize) ? info.narSize : 0;
    const references = Array.isArray(info.references)
      ? info.references.filter((r): r is string => typeof r === 'string')
      : [];
    infos.set(p, { narSize, references });
  };
  if (Array.isArray(doc)) for (const item of doc) take((item as { path?: unknown } | null)?.path, item);
  else if (typeof doc === 'object' && doc !== null) for (const [p, info] of Object.entries(doc)) take(p, info);
  return infos;
}

/** The closure of `root` within `infos`, following references (full paths or base names). */
export function closureOf(root: string, infos: ReadonlyMap<string, PathInfo>): Closure {
  const dir = root.slice(0, root.lastIndexOf('/') + 1);
  const paths = new Map<string, number>();
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (paths.has(p)) continue;
    const info = infos.get(p);
    paths.set(p, info?.narSize ?? 0);
    for (const ref of info?.references ?? []) {
      const full = ref.includes('/') ? ref : dir + ref;
      if (!paths.has(full)) stack.push(full);
    }
  }
  let size = 0;
  for (const s of paths.values()) size += s;
  return { root, paths, size };
}

function nixArgv(options: ReadClosureOptions, args: string[]): string[] {
  return [options.nix ?? 'nix', '--extra-experimental-features', 'nix-command', ...args];
}

/**
 * Reads the closures of `roots` with one `nix path-info -r --json` call (sizes and references of the union, then
 * each closure computed from the references). Falls back to `nix-store -qR` and `nix-store -q --size` when the
 * nix command is not usable. Rejects with nix's message when a root is not a valid store path.
 */
export async function readClosures(roots: readonly string[], options: ReadClosureOptions = {}): Promise<Closure[]> {
  const run = (argv: string[]) =>
    runProcess(argv, {
      baseEnv: options.env ?? process.env,
      timeoutMs: options.timeoutMs ?? 120_000,
      signal: options.signal,
    });
  const cacheDir = options.closureCacheDir ?? null;
  const cached = new Map<string, Closure>();
  if (cacheDir !== null) {
    for (const r of new Set(roots)) {
      const c = readCachedClosure(cacheDir, r);
      if (c) cached.set(r, c);
    }
    if (roots.every((r) => cached.has(r))) return roots.map((r) => cached.get(r)!);
  }
  const unique = [...new Set(roots)].filter((r) => !cached.has(r));
  const result = await run(nixArgv(options, ['path-info', '-r', '--json', '--', ...unique])).catch(() => null);
  if (result && result.exitCode === 0) {
    const infos = parsePathInfos(result.stdout);
    if (unique.every((r) => infos.has(r))) {
      const read = new Map(unique.map((r) => [r, closureOf(r, infos)]));
      if (cacheDir !== null) for (const c of read.values()) writeCachedClosure(cacheDir, c);
      return roots.map((r) => cached.get(r) ?? read.get(r)!);
    }
  }
  // fallback: the classic commands
  const nixStore = options.nix && options.nix.includes('/') ? options.nix.replace(/[^/]+$/, 'nix-store') : 'nix-store';
  const closures: Closure[] = [];
  for (const root of roots) {
    const q = await run([nixStore, '-qR', '--', root]);
    if (q.exitCode !== 0) {
      const why = (q.stderr.trim() || result?.stderr.trim() || `nix-store exited with ${q.exitCode}`).split('\n');
      throw new Error(why.slice(-3).join('\n'));
    }
    const list = q.stdout.split('\n').filter((l) => l !== '');
    const sizes = await run([nixStore, '-q', '--size', '--', ...list]);
    const numbers = sizes.exitCode === 0 ? sizes.stdout.split('\n').filter((l) => l !== '') : [];
    const paths = new Map<string, number>();
    list.forEach((p, i) => paths.set(p, Number(numbers[i] ?? 0) || 0));
    let size = 0;
    for (const s of paths.values()) size += s;
    closures.push({ root, paths, size });
  }
  return closures;
}

export type ChangeKind = 'added' | 'removed' | 'upgraded' | 'downgraded' | 'changed';

export interface PackageChange {
  name: string;
  kind: ChangeKind;
  /** Versions before / after, sorted by Nix's order, unique ("" = no version). */
  before: string[];
  after: string[];
  /** NAR bytes of this package's paths before / after. */
  sizeBefore: number;
  sizeAfter: number;
  sizeDelta: number;
}

export interface ClosureDiff {
  packages: PackageChange[];
  counts: Record<ChangeKind, number>;
  sizeBefore: number;
  sizeAfter: number;
  sizeDelta: number;
  pathsBefore: number;
  pathsAfter: number;
  /** Packages with the same versions and size but other store paths (rebuilt), not listed in `packages`. */
  rebuilt: number;
  /** Paths only in one of the two closures. */
  pathsAdded: number;
  pathsRemoved: number;
}

interface Group {
  versions: Set<string>;
  paths: Set<string>;
  size: number;
}

/** Labels of NixOS toplevels by store path, so that `nixos-system-<host>-<label>` splits exactly. */
export type LabelLookup = (storePath: string) => string | null | undefined;

function groupClosure(closure: Closure, labelOf?: LabelLookup): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const [p, size] of closure.paths) {
    const name = storeName(p);
    if (name === null) continue;
    const split = splitStoreName(name, labelOf?.(p));
    let g = groups.get(split.name);
    if (!g) {
      g = { versions: new Set(), paths: new Set(), size: 0 };
      groups.set(split.name, g);
    }
    g.versions.add(split.version);
    g.paths.add(p);
    g.size += size;
  }
  return groups;
}

const byVersion = (a: string, b: string): number => compareVersions(a, b) || (a < b ? -1 : a > b ? 1 : 0);

function classify(before: string[], after: string[], sameSize: boolean): ChangeKind | null {
  if (before.length === 0) return 'added';
  if (after.length === 0) return 'removed';
  const sameVersions = before.length === after.length && before.every((v, i) => v === after[i]);
  if (sameVersions) return sameSize ? null : 'changed';
  const c = compareVersions(before[before.length - 1]!, after[after.length - 1]!);
  if (c < 0) return 'upgraded';
  if (c > 0) return 'downgraded';
  // same newest version, but a version was added or dropped: compare the oldest ones
  const d = compareVersions(before[0]!, after[0]!);
  if (d < 0) return 'upgraded';
  if (d > 0) return 'downgraded';
  return 'changed';
}

/**
 * Compares two closures package by package. A package with the same versions and size is not listed (rebuilds are
 * only counted); one with the same versions but another size is `changed`. The two roots are grouped under one name even when their names differ (a
 * host renamed, a label style changed), so the system itself shows as upgraded/downgraded, not added+removed.
 */
export function diffClosures(a: Closure, b: Closure, labelOf?: LabelLookup): ClosureDiff {
  const ga = groupClosure(a, labelOf);
  const gb = groupClosure(b, labelOf);
  const rootA = storeName(a.root);
  const rootB = storeName(b.root);
  if (rootA && rootB) {
    const na = splitStoreName(rootA, labelOf?.(a.root)).name;
    const nb = splitStoreName(rootB, labelOf?.(b.root)).name;
    if (na !== nb && !ga.has(nb) && !gb.has(na)) {
      const moved = gb.get(nb);
      if (moved) {
        gb.delete(nb);
        gb.set(na, moved);
      }
    }
  }
  const names = [...new Set([...ga.keys(), ...gb.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const packages: PackageChange[] = [];
  const counts: Record<ChangeKind, number> = { added: 0, removed: 0, upgraded: 0, downgraded: 0, changed: 0 };
  let rebuilt = 0;
  for (const name of names) {
    const x = ga.get(name);
    const y = gb.get(name);
    const before = [...(x?.versions ?? [])].sort(byVersion);
    const after = [...(y?.versions ?? [])].sort(byVersion);
    const samePaths = !!x && !!y && x.paths.size === y.paths.size && [...x.paths].every((p) => y.paths.has(p));
    const kind = classify(before, after, (x?.size ?? 0) === (y?.size ?? 0));
    if (kind === null) {
      if (!samePaths) rebuilt++;
      continue;
    }
    counts[kind]++;
    const sizeBefore = x?.size ?? 0;
    const sizeAfter = y?.size ?? 0;
    packages.push({ name, kind, before, after, sizeBefore, sizeAfter, sizeDelta: sizeAfter - sizeBefore });
  }
  let pathsAdded = 0;
  let pathsRemoved = 0;
  for (const p of b.paths.keys()) if (!a.paths.has(p)) pathsAdded++;
  for (const p of a.paths.keys()) if (!b.paths.has(p)) pathsRemoved++;
  return {
    packages,
    counts,
    rebuilt,
    sizeBefore: a.size,
    sizeAfter: b.size,
    sizeDelta: b.size - a.size,
    pathsBefore: a.paths.size,
    pathsAfter: b.paths.size,
    pathsAdded,
    pathsRemoved,
  };
}
