/**
 * One side of a comparison: what a NixOS toplevel says about itself (label, versions, boot files, stateVersion),
 * read with cheap file reads through `FsOps`, so the same code reads a local store path or a snapshot of a
 * remote one (./remote.ts).
 */
import * as path from 'node:path';
import { asyncFs, readlinkAbsolute, type FsOps } from '../generations/fsutil';
import { StoreMetaCache, probeStorePath } from '../generations/store-meta';
import type { Closure } from './closure';
import type { ReachFiles } from './reach';
import { stateVersionFromConfiguration } from './risk';

/** What one side of the comparison is. */
export interface SystemInfo {
  /** The store path compared. */
  storePath: string;
  /** Generation number when the side was given as one, else null. */
  generation: number | null;
  label: string | null;
  nixosVersion: string | null;
  kernelVersion: string | null;
  /** Targets of the `kernel`, `initrd` and `kernel-modules` links (what a reboot would load), or null. */
  kernel: string | null;
  initrd: string | null;
  kernelModules: string | null;
  /** From a copied configuration.nix, when the system has one; else null (unknown). */
  stateVersion: string | null;
  /** The machine it was read from over ssh (`user@host` as given), or null for this machine. */
  host: string | null;
}

/** A side read ahead of the comparison (e.g. the running system of another machine): facts and closure. */
export interface SystemFacts {
  info: SystemInfo;
  closure: Closure;
  /** The files that say how the machine is reached (core/diff/reach), when they were read. */
  reach?: ReachFiles;
}

/** The most bytes of configuration.nix read for its stateVersion (here and on a remote target alike). */
export const CONFIGURATION_MAX_BYTES = 256 * 1024;

/** Reads what a toplevel says about itself (cheap file reads only). */
export async function readSystemInfo(
  storePath: string,
  generation: number | null = null,
  cache: StoreMetaCache = new StoreMetaCache(),
  ops: FsOps = asyncFs,
): Promise<SystemInfo> {
  const probe = await probeStorePath(storePath, cache, ops);
  const meta = probe.state === 'present' ? probe.meta : null;
  const [kernel, initrd, kernelModules, configuration] = await Promise.all([
    readlinkAbsolute(path.join(storePath, 'kernel'), ops),
    readlinkAbsolute(path.join(storePath, 'initrd'), ops),
    readlinkAbsolute(path.join(storePath, 'kernel-modules'), ops),
    ops.readSmall(path.join(storePath, 'configuration.nix'), CONFIGURATION_MAX_BYTES),
  ]);
  return {
    storePath,
    generation,
    label: meta?.label ?? null,
    nixosVersion: meta?.nixosVersion ?? null,
    kernelVersion: meta?.kernelVersion ?? null,
    kernel,
    initrd,
    kernelModules,
    stateVersion: stateVersionFromConfiguration(configuration),
    host: null,
  };
}
