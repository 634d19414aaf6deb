/**
 * What a generation's store path tells with cheap reads only (a readdir and a few small files), cached by store
 * path: store paths are immutable, so once read they never need reading again. Whether a path still exists is
 * not cached (it can be garbage-collected at any time).
 */
import * as path from 'node:path';
import { asyncFs, errnoOf, readSmall, readdirOrNull, readlinkAbsolute, type FsOps } from './fsutil';
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

/** Per-store-path caches. One instance per explorer (or per CLI run); `defaultStoreCache` is shared otherwise. */
export class StoreMetaCache {
  readonly meta = new Map<string, StoreMeta>();
  /** configurationRevision by store path, filled by loadConfigurationRevisions (null: the generation has none). */
  readonly revisions = new Map<string, { value: string | null; source: 'label' | 'nixos-version' | null }>();
  /** Closure size in bytes by store path, filled by loadClosureSizes. */
  readonly closureSizes = new Map<string, number>();
  /** Kernel version by kernel-modules store path (shared by many generations). */
  readonly kernels = new Map<string, string | null>();

  clear(): void {
    this.meta.clear();
    this.kernels.clear();
    this.revisions.clear();
    this.closureSizes.clear();
  }
}

export const defaultStoreCache = new StoreMetaCache();

function firstLine(text: string | null): string | null {
  if (text === null) return null;
  const t = text.replace(/\r?\n$/, '');
  return t === '' ? null : t;
}

function lstatProblem(error: unknown): StoreProbe {
  const code = errnoOf(error);
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return { state: 'missing' };
  return { state: 'unreadable', message: error instanceof Error ? error.message : String(error) };
}

/**
 * Reads a store path's metadata (or returns the cached one) and tells whether the path still exists. The common
 * case, a NixOS system, costs: its `nixos-version` file, a readlink of `kernel-modules` (its directory is read
 * once per kernel, not per generation) and a readdir of `specialisation/`.
 */
export async function probeStorePath(
  storePath: string,
  cache: StoreMetaCache,
  ops: FsOps = asyncFs,
): Promise<StoreProbe> {
  const cached = cache.meta.get(storePath);
  if (cached) {
    try {
      await ops.lstat(storePath);
      return { state: 'present', meta: cached };
    } catch (error) {
      return lstatProblem(error);
    }
  }
  const at = (name: string): string => `${storePath}/${name}`;
  const label = await readSmall(at('nixos-version'), 4096, ops);
  let meta: StoreMeta;
  if (label !== null) {
    meta = await readNixos(storePath, label, cache, ops);
  } else {
    try {
      await ops.lstat(storePath);
    } catch (error) {
      return lstatProblem(error);
    }
    const has = async (name: string): Promise<boolean> => {
      try {
        await ops.lstat(at(name));
        return true;
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
  cache.meta.set(storePath, meta);
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
