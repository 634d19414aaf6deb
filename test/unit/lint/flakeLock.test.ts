import assert from 'node:assert/strict';
import { flakeInfo, nixpkgsReleaseFor } from '../../../src/core/lint/flakeInfo';
import { inputUrlsFromFlakeNix, parseFlakeLock, releaseFromRef, resolveInput } from '../../../src/core/lint/flakeLock';
import { lockFor } from './helpers';

function lock(nodes: Record<string, unknown>, rootInputs: Record<string, unknown>): string {
  return JSON.stringify({ nodes: { ...nodes, root: { inputs: rootInputs } }, root: 'root', version: 7 });
}

const gh = (ref?: string, lastModified = 1719000000, extra: Record<string, unknown> = {}): unknown => ({
  locked: { lastModified, owner: 'NixOS', repo: 'nixpkgs', rev: 'b'.repeat(40), type: 'github' },
  original: { owner: 'NixOS', repo: 'nixpkgs', type: 'github', ...(ref ? { ref } : {}), ...extra },
});

describe('lint/flake.lock release detection', () => {
  it('reads release branches in all their spellings', () => {
    assert.equal(releaseFromRef('nixos-24.05'), '24.05');
    assert.equal(releaseFromRef('nixos-24.05-small'), '24.05');
    assert.equal(releaseFromRef('nixpkgs-24.11-darwin'), '24.11');
    assert.equal(releaseFromRef('release-24.11'), '24.11');
    assert.equal(releaseFromRef('refs/heads/release-23.11'), '23.11');
    assert.equal(releaseFromRef('24.05'), '24.05');
    assert.equal(releaseFromRef('nixos-unstable'), undefined);
    assert.equal(releaseFromRef('master'), undefined);
  });

  it('gives exact releases for branches and an upper bound from the date for unstable', () => {
    const info = flakeInfo(
      lock(
        { a: gh('nixos-24.05'), b: gh('nixos-unstable', Date.parse('2024-08-01') / 1000) },
        { nixpkgs: 'a', unstable: 'b' },
      ),
      undefined,
    );
    assert.deepEqual(info.nixpkgsInputs, ['nixpkgs', 'unstable']);
    assert.equal(info.nixpkgs.get('nixpkgs')?.release, '24.05');
    assert.equal(info.nixpkgs.get('nixpkgs')?.kind, 'exact');
    assert.equal(info.nixpkgs.get('unstable')?.release, '24.11');
    assert.equal(info.nixpkgs.get('unstable')?.kind, 'upperBound');
    // A configuration built on an unknown input is bounded by the newest input.
    assert.equal(nixpkgsReleaseFor(info, undefined)?.release, '24.11');
    assert.equal(nixpkgsReleaseFor(info, 'nixpkgs')?.release, '24.05');
  });

  it('bounds a pinned revision by its date', () => {
    const info = flakeInfo(
      lock({ a: gh(undefined, Date.parse('2023-02-01') / 1000, { rev: 'c'.repeat(40) }) }, { nixpkgs: 'a' }),
      undefined,
    );
    assert.equal(info.nixpkgs.get('nixpkgs')?.release, '23.05');
    assert.match(info.nixpkgs.get('nixpkgs')!.source, /revision cccccccccccc/);
  });

  it('reads FlakeHub versions and channel tarballs', () => {
    const fh = {
      locked: {
        lastModified: 1719000000,
        type: 'tarball',
        url: 'https://api.flakehub.com/f/pinned/NixOS/nixpkgs/0.2405.635732%2Brev-abc/0190.tar.gz',
      },
      original: { type: 'tarball', url: 'https://flakehub.com/f/NixOS/nixpkgs/0.2405.%2A.tar.gz' },
    };
    const ch = {
      locked: {
        lastModified: 1719000000,
        type: 'tarball',
        url: 'https://releases.nixos.org/nixos/24.11/nixos-24.11.710.abc/nixexprs.tar.xz',
      },
      original: { type: 'tarball', url: 'https://channels.nixos.org/nixos-24.11/nixexprs.tar.xz' },
    };
    const info = flakeInfo(lock({ fh, ch }, { nixpkgs: 'fh', other: 'ch' }), undefined);
    assert.equal(info.nixpkgs.get('nixpkgs')?.release, '24.05');
    assert.equal(info.nixpkgs.get('other')?.release, '24.11');
  });

  it('follows `follows` paths and ignores non-nixpkgs inputs', () => {
    const text = lock(
      {
        hm: {
          inputs: { nixpkgs: ['nixpkgs'] },
          locked: { lastModified: 1, owner: 'nix-community', repo: 'home-manager', type: 'github' },
          original: { owner: 'nix-community', repo: 'home-manager', ref: 'release-24.11', type: 'github' },
        },
        np: gh('nixos-24.11'),
        fu: {
          locked: { owner: 'numtide', repo: 'flake-utils', type: 'github' },
          original: { owner: 'numtide', repo: 'flake-utils', type: 'github' },
        },
      },
      { 'home-manager': 'hm', nixpkgs: 'np', 'flake-utils': 'fu', alias: ['home-manager', 'nixpkgs'] },
    );
    const parsed = parseFlakeLock(text)!;
    assert.equal(resolveInput(parsed, ['home-manager', 'nixpkgs']), 'np');
    assert.equal(resolveInput(parsed, ['alias']), 'np');
    const info = flakeInfo(text, undefined);
    assert.deepEqual(info.nixpkgsInputs, ['nixpkgs', 'alias']);
    assert.equal(info.homeManager.get('home-manager')?.release, '24.11');
  });

  it('survives hostile and broken lock files', () => {
    const cyclic = JSON.stringify({ nodes: { root: { inputs: { a: ['a', 'a'] } } }, root: 'root' });
    for (const text of [
      '',
      'null',
      '[]',
      '{',
      '{"nodes": 5}',
      cyclic,
      '{"nodes":{"root":{"inputs":{"n":"missing"}}},"root":"root"}',
      JSON.stringify({ nodes: { root: {}, x: { locked: { lastModified: 'soon' } } } }),
    ]) {
      const info = flakeInfo(text, undefined);
      assert.equal(info.nixpkgs.size, 0, text);
    }
    const big = flakeInfo(lock({ a: gh('nixos-unstable', 1e20) }, { nixpkgs: 'a' }), undefined);
    assert.equal(big.nixpkgs.size, 0);
  });

  it('falls back to the URLs in flake.nix without a lock', () => {
    const flake = `{
      inputs = {
        nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
        unstable = { url = "github:nixos/nixpkgs?ref=nixos-unstable"; };
        home-manager.url = "github:nix-community/home-manager/release-24.05";
      };
      outputs = _: {};
    }`;
    assert.deepEqual([...inputUrlsFromFlakeNix(flake).keys()], ['nixpkgs', 'home-manager', 'unstable']);
    const info = flakeInfo(undefined, flake);
    assert.equal(info.source, 'flake.nix');
    assert.equal(info.nixpkgs.get('nixpkgs')?.release, '24.05');
    assert.equal(info.nixpkgs.has('unstable'), false);
    assert.equal(info.homeManager.get('home-manager')?.release, '24.05');
    // An unknown release among the inputs: no upper bound can be given.
    assert.equal(nixpkgsReleaseFor(info, undefined), undefined);
  });

  it('prefers the lock when there is one', () => {
    const info = flakeInfo(lockFor('nixos-23.11'), 'inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";');
    assert.equal(info.nixpkgs.get('nixpkgs')?.release, '23.11');
  });
});
