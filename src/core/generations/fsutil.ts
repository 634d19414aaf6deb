/** Small filesystem helpers for the generation reader: bounded concurrency, capped reads, errno mapping. */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

export function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/** Below half of Buffer.poolSize, so first reads come from the shared pool (most files we read are tiny). */
const FIRST_READ = 4000;

const openCb = promisify(fs.open);
const readCb = promisify(fs.read);
const closeCb = promisify(fs.close);

/** What the reader needs of a stat: the date, the kind, and an identity (inode + change time) for the cache. */
export interface StatLite {
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** For a symlink: the length of its target. */
  size: number;
  isSymbolicLink(): boolean;
}

/** The few filesystem calls the reader makes; errors reject with Node's errno errors. */
export interface FsOps {
  lstat(p: string): Promise<StatLite>;
  /** Like lstat, but null when the path does not exist (no exception built for the common "gone" case). */
  lstatIfExists(p: string): Promise<StatLite | null>;
  readlink(p: string): Promise<string>;
  readdir(p: string): Promise<string[]>;
  /** At most `max` bytes as UTF-8, or null when the file cannot be read. */
  readSmall(p: string, max: number): Promise<string | null>;
}

async function readSmallAsync(file: string, max: number): Promise<string | null> {
  let fd: number | undefined;
  try {
    fd = await openCb(file, 'r');
    let buffer = Buffer.allocUnsafe(Math.min(max, FIRST_READ));
    let total = 0;
    for (;;) {
      const want = buffer.length - total;
      const { bytesRead } = await readCb(fd, buffer, total, want, total);
      total += bytesRead;
      if (bytesRead < want || total >= max) break; // a short read: end of file
      const grown = Buffer.allocUnsafe(Math.min(max, buffer.length * 4));
      buffer.copy(grown, 0, 0, total);
      buffer = grown;
    }
    return buffer.toString('utf8', 0, total);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) await closeCb(fd).catch(() => undefined);
  }
}

function readSmallSync(file: string, max: number): string | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    let buffer = Buffer.allocUnsafe(Math.min(max, FIRST_READ));
    let total = 0;
    for (;;) {
      const want = buffer.length - total;
      const bytesRead = fs.readSync(fd, buffer, total, want, total);
      total += bytesRead;
      if (bytesRead < want || total >= max) break;
      const grown = Buffer.allocUnsafe(Math.min(max, buffer.length * 4));
      buffer.copy(grown, 0, 0, total);
      buffer = grown;
    }
    return buffer.toString('utf8', 0, total);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // nothing to do
      }
    }
  }
}

// the callback API behind promisify costs less per call than fs.promises (no FileHandle machinery)
const lstatCb = promisify(fs.lstat);
const readlinkCb = promisify(fs.readlink);
const readdirCb = promisify(fs.readdir);

async function lstatIfExistsAsync(p: string): Promise<StatLite | null> {
  try {
    return await lstatCb(p);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Non-blocking: every call goes to libuv's thread pool. What an editor must use. */
export const asyncFs: FsOps = {
  lstat: (p) => lstatCb(p),
  lstatIfExists: lstatIfExistsAsync,
  readlink: (p) => readlinkCb(p),
  readdir: (p) => readdirCb(p),
  readSmall: readSmallAsync,
};

/**
 * Blocking calls behind the same interface: several times cheaper per call (no thread-pool round trip), so a
 * command-line run over thousands of generations finishes sooner. Never for an editor's extension host.
 */
export const blockingFs: FsOps = {
  lstat: async (p) => fs.lstatSync(p),
  lstatIfExists: async (p) => fs.lstatSync(p, { throwIfNoEntry: false }) ?? null,
  readlink: async (p) => fs.readlinkSync(p),
  readdir: async (p) => fs.readdirSync(p),
  readSmall: async (p, max) => readSmallSync(p, max),
};

/** Reads at most `max` bytes of a file as UTF-8; null when it cannot be read (absent, a directory, denied). */
export function readSmall(file: string, max = 64 * 1024, ops: FsOps = asyncFs): Promise<string | null> {
  return ops.readSmall(file, max);
}

/** Directory entries, or null when it is absent or unreadable. */
export async function readdirOrNull(dir: string, ops: FsOps = asyncFs): Promise<string[] | null> {
  try {
    return await ops.readdir(dir);
  } catch {
    return null;
  }
}

/** "//", "/./", "/../", a trailing "/" or "/." or "/..": what path.normalize would change in an absolute path. */
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|.\/$/;

/** The target of a symlink as an absolute path (relative targets resolved against the link's directory), or null. */
export async function readlinkAbsolute(link: string, ops: FsOps = asyncFs): Promise<string | null> {
  try {
    return absoluteTarget(link, await ops.readlink(link));
  } catch {
    return null;
  }
}

/** A symlink's target as an absolute, normal path (relative targets resolved against the link's directory). */
export function absoluteTarget(link: string, target: string): string {
  if (!path.isAbsolute(target)) return path.resolve(path.dirname(link), target);
  // store paths are already normal: skip normalize's character loop (it shows in a short-lived process)
  return NOT_NORMAL.test(target) ? path.normalize(target) : target;
}

/**
 * Follows a chain of symlinks (at most `maxHops`) to the first path that is not a symlink, without requiring
 * it to exist: `/run/current-system -> /nix/store/…-nixos-system-…` gives the store path even when it is gone.
 */
/**
 * True when following `start`'s links ends at something that is not a link within `maxHops` (as the kernel's
 * limit of 40); false for a loop, a dangling link or a chain too long to resolve.
 */
export async function linkResolves(start: string, maxHops = 40, ops: FsOps = asyncFs): Promise<boolean> {
  let current = start;
  for (let hop = 0; hop <= maxHops; hop++) {
    const stat = await ops.lstatIfExists(current).catch(() => null);
    if (stat === null) return false;
    if (!stat.isSymbolicLink()) return true;
    const next = await readlinkAbsolute(current, ops);
    if (next === null) return false;
    current = next;
  }
  return false;
}

export async function followLinks(start: string, maxHops = 8, ops: FsOps = asyncFs): Promise<string | null> {
  let current = start;
  for (let hop = 0; hop < maxHops; hop++) {
    let stat;
    try {
      stat = await ops.lstat(current);
    } catch {
      return hop === 0 ? null : current;
    }
    if (!stat.isSymbolicLink()) return current;
    const next = await readlinkAbsolute(current, ops);
    if (next === null) return hop === 0 ? null : current;
    current = next;
  }
  return current;
}
