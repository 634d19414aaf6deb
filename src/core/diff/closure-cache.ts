/**
 * Closures kept between processes, so a second `nixos-generations diff` of the same systems starts no `nix`
 * process. A valid store path's closure never changes (its references and NAR sizes are fixed when it is
 * registered, and a path that is deleted and built again has the same hash and the same references), so a closure
 * read once stays right for as long as its root exists; the root's existence is checked on every use.
 *
 * One small JSON file per root, `<cache dir>/closures-v1/<root's base name>.json` (the cache dir of
 * store-cache-file.ts): `{"version":1,"root":"<root>","paths":[["<base name>",<NAR size>],...]}`, every path in
 * the root's store directory. Written with a temporary file and a rename; at most MAX_CLOSURE_FILES files, the
 * least recently written removed. A file that is not this shape, names another root, holds a name that is not a
 * store path's, or is larger than MAX_CLOSURE_FILE_BYTES is ignored (and replaced by the next read from Nix): the
 * file is a cache, never trusted more than the store.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isPersistableStorePath, storeCacheFile } from '../generations/store-cache-file';
import type { Closure } from './closure';

export const MAX_CLOSURE_FILES = 64;
/** A NixOS system's closure is a few thousand paths, about 100 bytes each in the file. */
export const MAX_CLOSURE_FILE_BYTES = 8 * 1024 * 1024;
const VERSION = 1;
const STORE_BASENAME = /^[0-9a-df-np-sv-z]{32}-[^/]+$/;

/** The directory of the closure files from the environment (as the store cache's), or null when caching is off. */
export function closureCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const file = storeCacheFile(env);
  return file === null ? null : path.join(path.dirname(file), 'closures-v1');
}

function fileFor(dir: string, root: string): string {
  return path.join(dir, `${path.basename(root)}.json`);
}

/** The cached closure of `root`, or null (no file, a bad file, or `root` not in the store any more). */
export function readCachedClosure(dir: string, root: string): Closure | null {
  if (!isPersistableStorePath(root)) return null;
  try {
    if (!fs.lstatSync(root, { throwIfNoEntry: false })) return null;
    const file = fileFor(dir, root);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st || !st.isFile() || st.size > MAX_CLOSURE_FILE_BYTES) return null;
    const doc: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof doc !== 'object' || doc === null) return null;
    const { version, root: named, paths: rows } = doc as { version?: unknown; root?: unknown; paths?: unknown };
    if (version !== VERSION || named !== root || !Array.isArray(rows)) return null;
    const storeDir = path.dirname(root);
    const paths = new Map<string, number>();
    let size = 0;
    for (const row of rows) {
      if (!Array.isArray(row) || row.length !== 2) return null;
      const [name, narSize] = row as unknown[];
      if (typeof name !== 'string' || !STORE_BASENAME.test(name)) return null;
      if (typeof narSize !== 'number' || !Number.isSafeInteger(narSize) || narSize < 0) return null;
      paths.set(`${storeDir}/${name}`, narSize);
      size += narSize;
    }
    if (!paths.has(root)) return null;
    return { root, paths, size };
  } catch {
    return null;
  }
}

/**
 * Keeps `closure` for later runs (best effort: a cache that cannot be written changes nothing but speed). Only a
 * closure whose paths all sit in its root's store directory is kept.
 */
export function writeCachedClosure(dir: string, closure: Closure): void {
  const { root } = closure;
  if (!isPersistableStorePath(root)) return;
  const prefix = `${path.dirname(root)}/`;
  const rows: Array<[string, number]> = [];
  for (const [p, narSize] of closure.paths) {
    const name = p.slice(prefix.length);
    if (!p.startsWith(prefix) || !STORE_BASENAME.test(name)) return;
    rows.push([name, narSize]);
  }
  const file = fileFor(dir, root);
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, JSON.stringify({ version: VERSION, root, paths: rows }), { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    prune(dir);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes the least recently written closure files beyond MAX_CLOSURE_FILES. */
function prune(dir: string): void {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
  if (names.length <= MAX_CLOSURE_FILES) return;
  const dated = names.map((n) => {
    const st = fs.statSync(path.join(dir, n), { throwIfNoEntry: false });
    return { n, t: st?.mtimeMs ?? 0 };
  });
  dated.sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : 1));
  for (const { n } of dated.slice(0, dated.length - MAX_CLOSURE_FILES)) fs.rmSync(path.join(dir, n), { force: true });
}
