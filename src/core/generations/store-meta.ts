/**
 * What a generation's store path tells with cheap reads only (a readdir and a few small files), cached by store
 * path: store paths are immutable, so once read they never need reading again. Whether a path still exists is
 * not cached (it can be garbage-collected at any time).
 */
import * as path from 'node:path';
import { asyncFs, errnoOf, linkResolves, readSmall, readdirOrNull, readlinkAbsolute, type FsOps } from './fsutil';
import {
  codenameOf,
  parseBootJson,
  parseBootLabel,
  parseHmVersion,
  parseLabel,
  parseOsRelease,
  type BootSpec,
} from './parse';
import type { GenerationKind } from './types';

export interface StoreMeta {
  kind: GenerationKind;
  label: string | null;
  nixosVersion: string | null;
  release: string | null;
  codename: string | null;
  kernelVersion: string | null;
  specialisations: string[];
  /** The git sha visible in the label, or null. */
  labelRevision: string | null;
  bootLabel: string | null;
  homeManagerVersion: string | null;
}

export type StoreProbe =
  { state: 'missing' } | { state: 'unreadable'; message: string } | { state: 'present'; meta: StoreMeta };

export type RevisionInfo = { value: string | null; source: 'label' | 'nixos-version' | null };

/** Everything known about one store path. The data is trusted only while the path's identity is `id`. */
export interface StoreEntry {
  /** `<inode>:<ctime ms>` of the store path when it was read: a path deleted and made again gets another. */
  id: string | null;
  meta?: StoreMeta;
  /** configurationRevision, once loaded (value null: the generation has none). */
  revision?: RevisionInfo;
  /** Closure size in bytes, once loaded. */
  closureSize?: number;
  /** The day (since 1970) a process last used it, as the cache file told; for pruning the file. */
  lastUse?: number;
}

/** The identity a store path's entry is checked against: inode and change time of the path itself. */
export function storeId(st: { ino: number; ctimeMs: number }): string {
  return `${st.ino}:${st.ctimeMs}`;
}

/**
 * Per-store-path knowledge, in memory; `store-cache-file.ts` persists it between processes. One instance per
 * explorer (or per CLI run); `defaultStoreCache` is shared otherwise. Whether a path still exists is never
 * cached: every read checks it again.
 */
export class StoreMetaCache {
  private readonly entries = new Map<string, StoreEntry>();
  /**
   * Rows from the cache file not looked at yet, by store directory then base name: each is checked (by
   * `rowChecker`) when its path is first asked for, so a run pays only for the entries it uses.
   */
  private readonly rows = new Map<string, Record<string, unknown>>();
  /** Turns a row of the file into an entry, or null when it is malformed (set by the file loader). */
  rowChecker: ((row: unknown) => StoreEntry | null) | undefined;
  /** Kernel version by kernel-modules store path (shared by many generations; this process only). */
  readonly kernels = new Map<string, string | null>();
  /** Generation link targets by link path, with the link's identity (this process only: saves a refresh's readlinks). */
  readonly links = new Map<string, { id: string; target: string }>();
  /** Paths found gone in this process (so a merge with the file on disk does not bring them back). */
  readonly forgotten = new Set<string>();
  /** Store paths looked at in this process (kept first when the file has to shrink). */
  readonly used = new Set<string>();
  /** Something was learned or forgotten since the last load/save. */
  dirty = false;
  /** Called when `dirty` becomes true (the editor schedules a save). */
  onDirty: (() => void) | undefined;

  /** Number of sound entries (checks every row still pending). */
  get size(): number {
    this.checkAllRows();
    return this.entries.size;
  }

  entry(storePath: string): StoreEntry | undefined {
    return this.get(storePath);
  }

  /** All sound entries (checks every row still pending; for the cache file). */
  all(): IterableIterator<[string, StoreEntry]> {
    this.checkAllRows();
    return this.entries.entries();
  }

  /**
   * Takes the rows the cache file holds for one store directory (`{ "<hash-name>": row }`), unchecked; paths
   * this process already knows, or found gone, keep what it knows.
   */
  adoptRows(storeDir: string, rows: Record<string, unknown>): void {
    const pending = this.rows.get(storeDir);
    if (pending === undefined && this.entries.size === 0 && this.forgotten.size === 0) {
      this.rows.set(storeDir, rows);
      return;
    }
    const into = pending ?? Object.create(null);
    for (const base of Object.keys(rows)) {
      const p = `${storeDir}/${base}`;
      if (this.entries.has(p) || this.forgotten.has(p) || Object.prototype.hasOwnProperty.call(into, base)) continue;
      into[base] = rows[base];
    }
    if (pending === undefined) this.rows.set(storeDir, into);
  }

  private get(storePath: string): StoreEntry | undefined {
    const known = this.entries.get(storePath);
    if (known !== undefined || this.rows.size === 0) return known;
    const cut = storePath.lastIndexOf('/');
    const rows = this.rows.get(storePath.slice(0, cut));
    if (rows === undefined) return undefined;
    const base = storePath.slice(cut + 1);
    if (!Object.prototype.hasOwnProperty.call(rows, base)) return undefined;
    const row = rows[base];
    delete rows[base];
    const entry = this.rowChecker?.(row) ?? null;
    if (entry === null) {
      this.markDirty(); // a bad row: the file is rewritten without it
      return undefined;
    }
    this.entries.set(storePath, entry);
    return entry;
  }

  private checkAllRows(): void {
    for (const [dir, rows] of this.rows) {
      for (const base of Object.keys(rows)) this.get(`${dir}/${base}`);
    }
    this.rows.clear();
  }

  /** The metadata when the path still has identity `id`; a stale entry (path made again) is dropped. */
  metaFor(storePath: string, id: string): StoreMeta | undefined {
    const e = this.get(storePath);
    if (!e) return undefined;
    if (e.id === id) return e.meta;
    if (e.id === null) {
      e.id = id; // learned before its identity was known (a revision or a size): adopt it
      this.markDirty();
      return e.meta;
    }
    this.entries.delete(storePath);
    this.markDirty();
    return undefined;
  }

  setMeta(storePath: string, id: string, meta: StoreMeta): void {
    const e = this.get(storePath);
    if (e && e.id === id) e.meta = meta;
    else this.entries.set(storePath, { id, meta });
    this.forgotten.delete(storePath);
    this.markDirty();
  }

  revision(storePath: string): RevisionInfo | undefined {
    return this.get(storePath)?.revision;
  }

  setRevision(storePath: string, revision: RevisionInfo): void {
    const e = this.get(storePath);
    if (e) e.revision = revision;
    else this.entries.set(storePath, { id: null, revision });
    this.markDirty();
  }

  closureSize(storePath: string): number | undefined {
    return this.get(storePath)?.closureSize;
  }

  setClosureSize(storePath: string, size: number): void {
    const e = this.get(storePath);
    if (e) e.closureSize = size;
    else this.entries.set(storePath, { id: null, closureSize: size });
    this.markDirty();
  }

  /** The path is gone (garbage-collected): drop what was known of it. */
  forget(storePath: string): void {
    this.forgotten.add(storePath);
    if (this.get(storePath) !== undefined) {
      this.entries.delete(storePath);
      this.markDirty();
    }
  }

  clear(): void {
    this.entries.clear();
    this.rows.clear();
    this.kernels.clear();
    this.links.clear();
    this.used.clear();
    this.forgotten.clear();
    this.dirty = false;
  }

  private markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.onDirty?.();
  }
}

export const defaultStoreCache = new StoreMetaCache();

function firstLine(text: string | null): string | null {
  if (text === null) return null;
  const t = text.replace(/\r?\n$/, '');
  return t === '' ? null : t;
}

/**
 * Tells whether a store path still exists (one lstat, every time: it can be garbage-collected at any moment) and
 * gives its metadata: from the cache while the path's identity is unchanged, else read from its files. The
 * common case, a NixOS system, costs: its `nixos-version` file, a readlink of `kernel-modules` (its directory is
 * read once per kernel, not per generation) and a readdir of `specialisation/`.
 */
export async function probeStorePath(
  storePath: string,
  cache: StoreMetaCache,
  ops: FsOps = asyncFs,
): Promise<StoreProbe> {
  let st;
  try {
    st = await ops.lstatIfExists(storePath);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') st = null;
    else return { state: 'unreadable', message: error instanceof Error ? error.message : String(error) };
  }
  // a link that loops (or dangles) past the store path is broken, not a present system
  if (st === null || (st.isSymbolicLink() && !(await linkResolves(storePath, 40, ops)))) {
    cache.forget(storePath);
    return { state: 'missing' };
  }
  cache.used.add(storePath);
  const id = storeId(st);
  const cached = cache.metaFor(storePath, id);
  if (cached) return { state: 'present', meta: cached };

  const at = (name: string): string => `${storePath}/${name}`;
  const label = await readSmall(at('nixos-version'), 4096, ops);
  let meta: StoreMeta;
  if (label !== null) {
    meta = await readNixos(storePath, label, cache, ops);
  } else {
    const has = async (name: string): Promise<boolean> => {
      try {
        return (await ops.lstatIfExists(at(name))) !== null;
      } catch {
        return false;
      }
    };
    const hmVersion = await readSmall(at('hm-version'), 4096, ops);
    if (hmVersion !== null || ((await has('home-files')) && (await has('activate')))) {
      meta = await readHomeManager(storePath, hmVersion, ops);
    } else if ((await has('boot.json')) || (await has('kernel-modules'))) {
      meta = await readNixos(storePath, null, cache, ops); // a system without a label file
    } else {
      meta = emptyMeta('other');
    }
  }
  cache.setMeta(storePath, id, meta);
  return { state: 'present', meta };
}

function emptyMeta(kind: GenerationKind): StoreMeta {
  return {
    kind,
    label: null,
    nixosVersion: null,
    release: null,
    codename: null,
    kernelVersion: null,
    specialisations: [],
    labelRevision: null,
    bootLabel: null,
    homeManagerVersion: null,
  };
}

async function kernelVersionOf(storePath: string, cache: StoreMetaCache, ops: FsOps): Promise<string | null> {
  const modules = await readlinkAbsolute(`${storePath}/kernel-modules`, ops);
  const key = modules ?? `${storePath}/kernel-modules`;
  const known = cache.kernels.get(key);
  if (known !== undefined) return known;
  const entries = await readdirOrNull(`${key}/lib/modules`, ops);
  const version = (entries ?? []).filter((m) => !m.startsWith('.')).sort()[0] ?? null;
  if (modules !== null) cache.kernels.set(key, version);
  return version;
}

async function readNixos(
  storePath: string,
  labelText: string | null,
  cache: StoreMetaCache,
  ops: FsOps,
): Promise<StoreMeta> {
  const at = (...parts: string[]): string => path.join(storePath, ...parts);
  const [kernelVersion, specDir] = await Promise.all([
    kernelVersionOf(storePath, cache, ops),
    readdirOrNull(`${storePath}/specialisation`, ops),
  ]);
  const meta = emptyMeta('nixos');
  meta.label = firstLine(labelText);
  const info = parseLabel(meta.label);
  meta.nixosVersion = info.nixosVersion;
  meta.release = info.release;
  meta.labelRevision = info.revision;
  meta.codename = codenameOf(meta.release, null);
  meta.kernelVersion = kernelVersion;
  meta.specialisations = specDir ? specDir.filter((s) => !s.startsWith('.')).sort() : [];

  // boot.json only when the cheap reads left something open
  let boot: BootSpec | null = null;
  if (!meta.codename || !meta.kernelVersion || !specDir || !meta.nixosVersion) {
    const text = await readSmall(at('boot.json'), 1024 * 1024, ops);
    boot = text === null ? null : parseBootJson(text);
    if (boot) {
      meta.bootLabel = boot.label;
      const bl = parseBootLabel(boot.label);
      meta.codename ??= bl.codename;
      meta.kernelVersion ??= bl.kernelVersion;
      if (!specDir) meta.specialisations = boot.specialisations;
      if (!meta.nixosVersion && bl.label) {
        const fromBoot = parseLabel(bl.label);
        meta.nixosVersion = fromBoot.nixosVersion;
        meta.release ??= fromBoot.release;
      }
    }
  }
  // a custom label without the version in it: etc/os-release still has it
  if (!meta.nixosVersion) {
    const text = await readSmall(at('etc', 'os-release'), 16 * 1024, ops);
    if (text !== null) {
      const os = parseOsRelease(text);
      const build = os['BUILD_ID'];
      if (build && /^[0-9]{2}\.[0-9]{2}/.test(build)) meta.nixosVersion = build;
      meta.release ??= os['VERSION_ID'] && /^[0-9]{2}\.[0-9]{2}$/.test(os['VERSION_ID']) ? os['VERSION_ID'] : null;
      if (!meta.codename && os['VERSION']) {
        const m = /\(([^)]+)\)/.exec(os['VERSION']);
        meta.codename = m ? m[1]! : null;
      }
    }
  }
  if (!meta.release && meta.nixosVersion) meta.release = meta.nixosVersion.slice(0, 5);
  meta.codename ??= codenameOf(meta.release, meta.bootLabel);
  return meta;
}

async function readHomeManager(storePath: string, versionText: string | null, ops: FsOps): Promise<StoreMeta> {
  const meta = emptyMeta('home-manager');
  const specDir = await readdirOrNull(`${storePath}/specialisation`, ops);
  const version = versionText === null ? null : versionText.trim() || null;
  meta.homeManagerVersion = version;
  meta.label = version;
  meta.release = parseHmVersion(version).release;
  meta.codename = codenameOf(meta.release, null);
  meta.specialisations = specDir ? specDir.filter((s) => !s.startsWith('.')).sort() : [];
  return meta;
}
