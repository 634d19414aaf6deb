/**
 * What a generation's store path tells with cheap reads only (a readdir and a few small files), cached by store
 * path: store paths are immutable, so once read they never need reading again. Whether a path still exists is
 * not cached (it can be garbage-collected at any time).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { errnoOf, readSmall, readdirOrNull } from './fsutil';
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

  clear(): void {
    this.meta.clear();
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

/** Reads a store path's metadata (or returns the cached one); tells missing and unreadable paths apart. */
export async function probeStorePath(storePath: string, cache: StoreMetaCache): Promise<StoreProbe> {
  let entries: string[];
  try {
    entries = await fsp.readdir(storePath);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
      // a file (a user environment is a directory, but `nix-env --set` accepts any path) is present, not missing
      if (code === 'ENOTDIR') return { state: 'present', meta: cache.meta.get(storePath) ?? emptyMeta('other') };
      return { state: 'missing' };
    }
    return { state: 'unreadable', message: error instanceof Error ? error.message : String(error) };
  }
  const cached = cache.meta.get(storePath);
  if (cached) return { state: 'present', meta: cached };
  const meta = await readMeta(storePath, new Set(entries));
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

async function readMeta(storePath: string, entries: Set<string>): Promise<StoreMeta> {
  const at = (...parts: string[]): string => path.join(storePath, ...parts);
  const isHm = entries.has('hm-version') || (entries.has('home-files') && entries.has('activate'));
  const isNixos = !isHm && (entries.has('nixos-version') || entries.has('boot.json') || entries.has('kernel-modules'));
  if (isHm) return readHomeManager(storePath, entries);
  if (!isNixos) return emptyMeta('other');

  const [labelText, modules, specDir] = await Promise.all([
    entries.has('nixos-version') ? readSmall(at('nixos-version'), 4096) : Promise.resolve(null),
    entries.has('kernel-modules') ? readdirOrNull(at('kernel-modules', 'lib', 'modules')) : Promise.resolve(null),
    entries.has('specialisation') ? readdirOrNull(at('specialisation')) : Promise.resolve(null),
  ]);
  const meta = emptyMeta('nixos');
  meta.label = firstLine(labelText);
  const info = parseLabel(meta.label);
  meta.nixosVersion = info.nixosVersion;
  meta.release = info.release;
  meta.labelRevision = info.revision;
  meta.codename = codenameOf(meta.release, null);
  const moduleDirs = (modules ?? []).filter((m) => !m.startsWith('.')).sort();
  meta.kernelVersion = moduleDirs[0] ?? null;
  meta.specialisations = specDir ? specDir.filter((s) => !s.startsWith('.')).sort() : [];

  // boot.json only when the cheap reads left something open
  let boot: BootSpec | null = null;
  if (entries.has('boot.json') && (!meta.codename || !meta.kernelVersion || !specDir || !meta.nixosVersion)) {
    const text = await readSmall(at('boot.json'), 1024 * 1024);
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
  if (!meta.nixosVersion && entries.has('etc')) {
    const text = await readSmall(at('etc', 'os-release'), 16 * 1024);
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

async function readHomeManager(storePath: string, entries: Set<string>): Promise<StoreMeta> {
  const meta = emptyMeta('home-manager');
  const [versionText, specDir] = await Promise.all([
    entries.has('hm-version') ? readSmall(path.join(storePath, 'hm-version'), 4096) : Promise.resolve(null),
    entries.has('specialisation') ? readdirOrNull(path.join(storePath, 'specialisation')) : Promise.resolve(null),
  ]);
  const version = versionText === null ? null : versionText.trim() || null;
  meta.homeManagerVersion = version;
  meta.label = version;
  meta.release = parseHmVersion(version).release;
  meta.codename = codenameOf(meta.release, null);
  meta.specialisations = specDir ? specDir.filter((s) => !s.startsWith('.')).sort() : [];
  return meta;
}
