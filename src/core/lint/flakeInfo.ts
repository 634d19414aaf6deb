/** The nixpkgs and home-manager releases of a flake's inputs, from flake.lock or, without one, flake.nix. */
import type { InputRelease } from './flakeLock';
import {
  inputUrlsFromFlakeNix,
  isHomeManagerNode,
  isNixpkgsNode,
  isNixpkgsUrl,
  nodeRelease,
  parseFlakeLock,
  releaseFromFlakeUrl,
  resolveInput,
  rootInputs,
} from './flakeLock';
import { compareVersions } from './releases';

export interface FlakeInfo {
  /** Release per root input name that is a nixpkgs. */
  nixpkgs: Map<string, InputRelease>;
  /** Release per root input name that is a home-manager. */
  homeManager: Map<string, InputRelease>;
  /** Names of the root inputs that are nixpkgs (whether or not their release is known). */
  nixpkgsInputs: string[];
  /** Where the answers came from. */
  source: 'flake.lock' | 'flake.nix' | 'none';
}

/** Reads the releases from the lock text (preferred) or the flake.nix text. */
export function flakeInfo(lockText: string | undefined, flakeText: string | undefined): FlakeInfo {
  const info: FlakeInfo = { nixpkgs: new Map(), homeManager: new Map(), nixpkgsInputs: [], source: 'none' };
  const lock = lockText !== undefined ? parseFlakeLock(lockText) : undefined;
  if (lock) {
    info.source = 'flake.lock';
    for (const input of rootInputs(lock)) {
      const key = resolveInput(lock, [input]);
      if (key === undefined) continue;
      if (isNixpkgsNode(lock, key)) {
        info.nixpkgsInputs.push(input);
        const r = nodeRelease(lock, key, input);
        if (r) info.nixpkgs.set(input, r);
      } else if (isHomeManagerNode(lock, key)) {
        const r = nodeRelease(lock, key, input);
        if (r) info.homeManager.set(input, r);
      }
    }
    return info;
  }
  if (flakeText !== undefined) {
    info.source = 'flake.nix';
    for (const [input, url] of inputUrlsFromFlakeNix(flakeText)) {
      const release = releaseFromFlakeUrl(url);
      if (isNixpkgsUrl(url)) {
        info.nixpkgsInputs.push(input);
        if (release) info.nixpkgs.set(input, { input, release, kind: 'exact', source: url });
      } else if (/home-manager/.test(url) && release) {
        info.homeManager.set(input, { input, release, kind: 'exact', source: url });
      }
    }
  }
  return info;
}

/**
 * The nixpkgs release a configuration is built with: its own input when known, else, when every
 * nixpkgs input's release is known, the newest of them (an upper bound, so never a false alarm).
 */
export function nixpkgsReleaseFor(info: FlakeInfo | undefined, input: string | undefined): InputRelease | undefined {
  if (!info) return undefined;
  if (input !== undefined) {
    const own = info.nixpkgs.get(input);
    if (own) return own;
    if (info.nixpkgsInputs.includes(input)) return undefined;
  }
  if (info.nixpkgsInputs.length === 0 || info.nixpkgsInputs.some((i) => !info.nixpkgs.has(i))) return undefined;
  let best: InputRelease | undefined;
  for (const r of info.nixpkgs.values()) if (!best || compareVersions(r.release, best.release) > 0) best = r;
  return best && { ...best, kind: 'upperBound', source: `${best.source}, the newest nixpkgs input` };
}

export function homeManagerReleaseFor(
  info: FlakeInfo | undefined,
  input: string | undefined,
): InputRelease | undefined {
  if (!info || input === undefined) return undefined;
  return info.homeManager.get(input);
}
