/**
 * The store-path cache kept between processes: what `probeStorePath`, `loadConfigurationRevisions` and
 * `loadClosureSizes` learned of each store path (store paths are immutable), so a second `nixos-generations list`
 * or a new editor window reads three small things per generation (the link's lstat and readlink, the store path's
 * lstat) instead of its files.
 *
 * One JSON file, `$NIXOS_GENERATIONS_CACHE_DIR` or `$XDG_CACHE_HOME/nixos-generations` or
 * `~/.cache/nixos-generations`, holding `store-meta-v1.json`:
 * `{"version":1,"stores":{"<store dir>":{"<hash-name>":["<inode>:<ctime>",<last use day>,[meta]|null,
 * [revision, source]|null,<closure size>|null]}}}`.
 * Read once per process; written (temporary file + rename, so a reader never sees half a file and concurrent
 * writers each leave a whole one) only when something was learned or forgotten; at most MAX_ENTRIES entries,
 * those unused for MAX_AGE_DAYS dropped. A file that is not ours, not JSON or not this shape is ignored and
 * rewritten. Only real store paths (`<dir>/<32-char hash>-<name>`) are kept. Every row is checked field by field
 * when its path is first asked for (so a run pays only for the generations it lists); a bad row is dropped and
 * the file rewritten without it: the file is a cache, never trusted more than the store itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StoreEntry, StoreMeta, StoreMetaCache } from './store-meta';
import type { GenerationKind } from './types';

export const CACHE_FILE_NAME = 'store-meta-v1.json';
const VERSION = 1;
/**
 * At most this many store paths in the file (about 280 bytes each): the whole file is parsed by every run, so it
 * stays small (a machine's generations of all profiles are usually a few hundred).
 */
export const MAX_ENTRIES = 5_000;
/** Entries not used by any process that wrote the file for this long are dropped. */
export const MAX_AGE_DAYS = 60;
/** The file is not read beyond this (a runaway file is ignored, then rewritten smaller). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Nix's base-32 alphabet: a store path is `<store dir>/<32 of these>-<name>`. */
const STORE_BASENAME = /^[0-9a-df-np-sv-z]{32}-[^/]+$/;
const REVISION = /^[0-9A-Za-z._+-]{1,100}$/;
const KINDS: readonly GenerationKind[] = ['nixos', 'home-manager', 'other'];

/**
 * Where the cache file lives, from the environment: `NIXOS_GENERATIONS_CACHE_DIR` (absolute; tests point it at a
 * temporary directory), else `$XDG_CACHE_HOME/nixos-generations`, else `$HOME/.cache/nixos-generations`; null
 * (no persistence) when none of them is an absolute path or `NIXOS_GENERATIONS_CACHE_DIR` is "off".
 */
export function storeCacheFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const own = env.NIXOS_GENERATIONS_CACHE_DIR;
  if (own === 'off') return null;
  if (own && path.isAbsolute(own)) return path.join(own, CACHE_FILE_NAME);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'nixos-generations', CACHE_FILE_NAME);
  const home = env.HOME;
  if (home && path.isAbsolute(home)) return path.join(home, '.cache', 'nixos-generations', CACHE_FILE_NAME);
  return null;
}

/** Whether a path is a store path the file may keep (`/nix/store/<hash>-<name>`, any store directory). */
export function isPersistableStorePath(p: string): boolean {
  return path.isAbsolute(p) && STORE_BASENAME.test(path.basename(p)) && path.dirname(p) !== '/';
}

function today(): number {
  return Math.floor(Date.now() / 86_400_000);
}

/** What the last load saw of the file, so a save can tell whether another process wrote it meanwhile. */
interface FileState {
  ino: number;
  mtimeMs: number;
  size: number;
}

/** A StoreMetaCache tied to its file. */
export interface PersistentCache {
  cache: StoreMetaCache;
  file: string;
  /** The file was absent, sound (its entries are checked one by one when used), or rejected as a whole. */
  loaded: 'absent' | 'ok' | 'rejected';
  seen: FileState | null;
}

const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** StoreMeta's fields in the order the file keeps them (positional arrays: a third of the size of objects). */
const META_FIELDS = [
  'label',
  'nixosVersion',
  'release',
  'codename',
  'kernelVersion',
  'labelRevision',
  'bootLabel',
  'homeManagerVersion',
] as const;

function metaToRow(m: StoreMeta): unknown[] {
  return [m.kind, m.specialisations, ...META_FIELDS.map((f) => m[f])];
}

function checkMeta(v: unknown): StoreMeta | null {
  if (!Array.isArray(v) || v.length !== 2 + META_FIELDS.length) return null;
  const [kind, specs] = v as unknown[];
  if (typeof kind !== 'string' || !KINDS.includes(kind as GenerationKind)) return null;
  if (!Array.isArray(specs) || !specs.every((x) => typeof x === 'string')) return null;
  const meta: Partial<StoreMeta> = { kind: kind as GenerationKind, specialisations: specs as string[] };
  for (let i = 0; i < META_FIELDS.length; i++) {
    const x: unknown = v[2 + i];
    if (!isStrOrNull(x)) return null;
    meta[META_FIELDS[i]!] = x;
  }
  return meta as StoreMeta;
}

/**
 * One row of the file, `[id, lastUseDay, meta|null, [revision, source]|null, closureSize|null]`, checked field by
 * field; null when any part is wrong. Called when the row's path is first asked for (StoreMetaCache.rowChecker).
 */
function rowToEntry(v: unknown): StoreEntry | null {
  if (!Array.isArray(v) || v.length !== 5) return null;
  const id: unknown = v[0];
  const used: unknown = v[1];
  const m: unknown = v[2];
  const r: unknown = v[3];
  const size: unknown = v[4];
  // the id is only ever compared with the one computed from an lstat: any string is harmless
  if (typeof id !== 'string' || typeof used !== 'number' || !Number.isInteger(used)) return null;
  const entry: StoreEntry = { id, lastUse: used };
  if (m !== null) {
    const meta = checkMeta(m);
    if (!meta) return null;
    entry.meta = meta;
  }
  if (r !== null) {
    if (!Array.isArray(r) || r.length !== 2) return null;
    const value: unknown = r[0];
    const source: unknown = r[1];
    // a revision may end up in a git command line (checkout): only what a revision can look like
    if (!(value === null || (typeof value === 'string' && REVISION.test(value)))) return null;
    if (!(source === null || source === 'label' || source === 'nixos-version')) return null;
    entry.revision = { value, source };
  }
  if (size !== null) {
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) return null;
    entry.closureSize = size;
  }
  return entry;
}

/** Hands the file's rows to `cache` (checked later, one by one, when used). False when the file is not ours. */
function absorb(text: string, pc: PersistentCache): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof doc !== 'object' || doc === null) return false;
  const { version, stores } = doc as { version?: unknown; stores?: unknown };
  if (version !== VERSION || typeof stores !== 'object' || stores === null || Array.isArray(stores)) return false;
  let clean = true;
  for (const [storeDir, rows] of Object.entries(stores as Record<string, unknown>)) {
    if (!path.isAbsolute(storeDir) || typeof rows !== 'object' || rows === null || Array.isArray(rows)) {
      clean = false;
      continue;
    }
    pc.cache.adoptRows(storeDir, rows as Record<string, unknown>);
  }
  pc.cache.rowChecker = rowToEntry;
  return clean;
}

type FileRead = { text: string; state: FileState } | 'absent' | 'rejected';

/** Someone else's file (or a huge one) is not read: it is replaced by ours at the next save. */
function acceptable(st: fs.Stats): boolean {
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  return st.isFile() && st.uid === uid && st.size <= MAX_FILE_BYTES;
}

const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0);

function readOwnFileSync(file: string): FileRead {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'rejected';
  }
  try {
    const st = fs.fstatSync(fd);
    if (!acceptable(st)) return 'rejected';
    const buffer = Buffer.allocUnsafe(st.size);
    let total = 0;
    while (total < st.size) {
      const n = fs.readSync(fd, buffer, total, st.size - total, total);
      if (n === 0) break;
      total += n;
    }
    return { text: buffer.toString('utf8', 0, total), state: { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size } };
  } catch {
    return 'rejected';
  } finally {
    fs.closeSync(fd);
  }
}

async function readOwnFile(file: string): Promise<FileRead> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, OPEN_FLAGS);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'rejected';
  }
  try {
    const st = await handle.stat();
    if (!acceptable(st)) return 'rejected';
    const buffer = Buffer.allocUnsafe(st.size);
    let total = 0;
    while (total < st.size) {
      const { bytesRead } = await handle.read(buffer, total, st.size - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return { text: buffer.toString('utf8', 0, total), state: { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size } };
  } catch {
    return 'rejected';
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function take(cache: StoreMetaCache, file: string, got: FileRead): PersistentCache {
  const pc: PersistentCache = { cache, file, loaded: 'absent', seen: null };
  if (got === 'absent') return pc;
  if (got === 'rejected') {
    pc.loaded = 'rejected';
    cache.dirty = true;
    return pc;
  }
  pc.seen = got.state;
  const wasDirty = cache.dirty;
  const clean = absorb(got.text, pc);
  pc.loaded = clean ? 'ok' : 'rejected';
  cache.dirty = wasDirty || !clean;
  return pc;
}

/**
 * Loads the cache file into `cache`, synchronously (the command line): one open, fstat, read and close.
 * Returns null when the environment names no cache directory. A rejected file leaves the cache dirty, so the
 * next save rewrites it.
 */
export function loadStoreCacheSync(
  cache: StoreMetaCache,
  env: NodeJS.ProcessEnv = process.env,
  file: string | null = storeCacheFile(env),
): PersistentCache | null {
  return file === null ? null : take(cache, file, readOwnFileSync(file));
}

/** The same without blocking (the editor). */
export async function loadStoreCache(
  cache: StoreMetaCache,
  env: NodeJS.ProcessEnv = process.env,
  file: string | null = storeCacheFile(env),
): Promise<PersistentCache | null> {
  return file === null ? null : take(cache, file, await readOwnFile(file));
}

function serialise(pc: PersistentCache): string {
  const now = today();
  const rows: Array<{ p: string; e: StoreEntry; u: number }> = [];
  for (const [p, e] of pc.cache.all()) {
    if (e.id === null || !isPersistableStorePath(p)) continue;
    const u = pc.cache.used.has(p) ? now : (e.lastUse ?? now);
    if (now - u > MAX_AGE_DAYS) continue;
    rows.push({ p, e, u });
  }
  if (rows.length > MAX_ENTRIES) {
    rows.sort((a, b) => b.u - a.u);
    rows.length = MAX_ENTRIES;
  }
  const stores: Record<string, Record<string, unknown>> = {};
  for (const { p, e, u } of rows) {
    const dir = path.dirname(p);
    (stores[dir] ??= {})[path.basename(p)] = [
      e.id,
      u,
      e.meta ? metaToRow(e.meta) : null,
      e.revision ? [e.revision.value, e.revision.source] : null,
      e.closureSize ?? null,
    ];
  }
  return JSON.stringify({ version: VERSION, stores });
}

function changedSince(pc: PersistentCache, st: fs.Stats | undefined): boolean {
  return !!st && (!pc.seen || st.ino !== pc.seen.ino || st.mtimeMs !== pc.seen.mtimeMs || st.size !== pc.seen.size);
}

/**
 * Whether this process may write the cache directory: the directory (or, when it does not exist yet, its nearest
 * existing parent) belongs to us. `sudo nixos-generations list` with the caller's HOME then leaves the caller's
 * cache alone instead of making it root's.
 */
function ownDirectory(file: string): boolean {
  if (typeof process.getuid !== 'function') return true;
  const uid = process.getuid();
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (st) return st.uid === uid;
    if (path.dirname(dir) === dir) return false;
  }
}

/** Temporary files of writers that were killed before their rename (older than ten minutes). */
function removeStaleTemporaries(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const old = Date.now() - 10 * 60_000;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    try {
      const p = path.join(dir, name);
      if (fs.lstatSync(p).mtimeMs < old) fs.unlinkSync(p);
    } catch {
      // another process removed or renamed it
    }
  }
}

function tempName(file: string): string {
  // unique enough with the pid; 'wx' refuses to reuse a name in any case
  return `${file}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}.tmp`;
}

/**
 * Writes the cache when something was learned or forgotten (else does nothing and returns false). When another
 * process wrote the file since it was loaded, its entries are merged in first. The write goes to a temporary
 * file beside it, then a rename replaces the file at once. Failures (read-only home, full disk) are swallowed:
 * the cache is an optimisation, never a reason to fail.
 */
export function saveStoreCacheSync(pc: PersistentCache | null): boolean {
  if (pc === null || !pc.cache.dirty || !ownDirectory(pc.file)) return false;
  try {
    if (changedSince(pc, fs.statSync(pc.file, { throwIfNoEntry: false }))) {
      const got = readOwnFileSync(pc.file);
      if (typeof got === 'object') absorb(got.text, pc);
    }
  } catch {
    // merging is best effort
  }
  const text = serialise(pc);
  const tmp = tempName(pc.file);
  removeStaleTemporaries(pc.file);
  try {
    fs.mkdirSync(path.dirname(pc.file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, pc.file);
  } catch {
    fs.rmSync(tmp, { force: true });
    return false;
  }
  const after = fs.statSync(pc.file, { throwIfNoEntry: false });
  pc.seen = after ? { ino: after.ino, mtimeMs: after.mtimeMs, size: after.size } : null;
  pc.cache.dirty = false;
  return true;
}

/** The same without blocking (the editor; call it a while after a refresh, not on every change). */
export async function saveStoreCache(pc: PersistentCache | null): Promise<boolean> {
  if (pc === null || !pc.cache.dirty || !ownDirectory(pc.file)) return false;
  const fsp = fs.promises;
  try {
    if (changedSince(pc, await fsp.stat(pc.file).catch(() => undefined))) {
      const got = await readOwnFile(pc.file);
      if (typeof got === 'object') absorb(got.text, pc);
    }
  } catch {
    // merging is best effort
  }
  // cleared before the write: whatever is learned meanwhile marks it dirty again
  pc.cache.dirty = false;
  const text = serialise(pc);
  const tmp = tempName(pc.file);
  removeStaleTemporaries(pc.file); // rare (a save), small (one directory)
  try {
    await fsp.mkdir(path.dirname(pc.file), { recursive: true, mode: 0o700 });
    await fsp.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await fsp.rename(tmp, pc.file);
  } catch {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    pc.cache.dirty = true;
    return false;
  }
  const after = await fsp.stat(pc.file).catch(() => undefined);
  pc.seen = after ? { ino: after.ino, mtimeMs: after.mtimeMs, size: after.size } : null;
  return true;
}

/** A cache kept in step with its file for a long-lived process (the editor): see `keepStoreCache`. */
export interface StoreCacheKeeper {
  /** Resolves once the file has been read into the cache (await it before the first read of a profile). */
  ready: Promise<void>;
  /** Writes now what was learned, if anything (e.g. when the extension is deactivated). */
  flush(): Promise<void>;
  /** Stops the timer; does not write. */
  dispose(): void;
}

/**
 * For the editor: reads the cache file into `cache` without blocking, then writes it back (asynchronously, at
 * most once per `delayMs`) whenever something new is learned. Nothing happens when the environment names no
 * cache directory. Usage: `const keeper = keepStoreCache(defaultStoreCache, process.env); await keeper.ready;`.
 */
export function keepStoreCache(
  cache: StoreMetaCache,
  env: NodeJS.ProcessEnv = process.env,
  delayMs = 3000,
): StoreCacheKeeper {
  let pc: PersistentCache | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<unknown> = Promise.resolve();
  const flush = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    writing = writing.then(() => saveStoreCache(pc));
    await writing;
  };
  const schedule = (): void => {
    if (timer || pc === null) return;
    timer = setTimeout(() => void flush(), delayMs);
    timer.unref?.();
  };
  const ready = loadStoreCache(cache, env).then((loaded) => {
    pc = loaded;
    cache.onDirty = schedule;
    if (cache.dirty) schedule();
  });
  return {
    ready,
    flush: async () => {
      await ready;
      await flush();
    },
    dispose: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (cache.onDirty === schedule) cache.onDirty = undefined;
    },
  };
}
