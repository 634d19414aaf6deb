/** Small filesystem helpers for the generation reader: bounded concurrency, capped reads, errno mapping. */
import { promises as fsp } from 'node:fs';
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

/** Reads at most `max` bytes of a file as UTF-8; null when it cannot be read (absent, a directory, denied). */
export async function readSmall(file: string, max = 64 * 1024): Promise<string | null> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(file, 'r');
    const buffer = Buffer.alloc(max);
    let total = 0;
    while (total < max) {
      const { bytesRead } = await handle.read(buffer, total, max - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return buffer.subarray(0, total).toString('utf8');
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Directory entries, or null when it is absent or unreadable. */
export async function readdirOrNull(dir: string): Promise<string[] | null> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return null;
  }
}

/** The target of a symlink as an absolute path (relative targets resolved against the link's directory), or null. */
export async function readlinkAbsolute(link: string): Promise<string | null> {
  try {
    const target = await fsp.readlink(link);
    return path.isAbsolute(target) ? path.normalize(target) : path.resolve(path.dirname(link), target);
  } catch {
    return null;
  }
}

/**
 * Follows a chain of symlinks (at most `maxHops`) to the first path that is not a symlink, without requiring
 * it to exist: `/run/current-system -> /nix/store/…-nixos-system-…` gives the store path even when it is gone.
 */
export async function followLinks(start: string, maxHops = 8): Promise<string | null> {
  let current = start;
  for (let hop = 0; hop < maxHops; hop++) {
    let stat;
    try {
      stat = await fsp.lstat(current);
    } catch {
      return hop === 0 ? null : current;
    }
    if (!stat.isSymbolicLink()) return current;
    const next = await readlinkAbsolute(current);
    if (next === null) return hop === 0 ? null : current;
    current = next;
  }
  return current;
}
