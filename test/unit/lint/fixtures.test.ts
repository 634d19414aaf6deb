// Whole example configurations under test/fixtures/lint, linted as they are.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { lintPaths } from '../../../src/core/lint/engine';

const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/lint');
const FLAKES = path.resolve(__dirname, '../../../../test/fixtures/flakes');

async function lint(name: string, root = FIXTURES): Promise<string[]> {
  const dir = path.join(root, name);
  const run = await lintPaths([dir], { base: '' });
  return run.diagnostics.map((d) => `${path.relative(dir, d.file)}:${d.range.start.line + 1} ${d.severity} ${d.code}`);
}

describe('lint: example flakes', () => {
  it('multi-host: let + specialArgs, mkDefault, shared modules, home-manager as a NixOS module', async () => {
    assert.deepEqual(await lint('multi-host'), [
      // alice's home.nix sets no home.stateVersion (reported in her module, where the fix writes it): home-manager
      // refuses to evaluate without it, so an error.
      'home/alice.nix:2 error stateversion-missing',
      // alpha gets "23.11" through let + specialArgs; PostgreSQL then follows it.
      'hosts/alpha/configuration.nix:5 hint service-follows-stateversion',
      // beta's mkDefault "24.11" is newer than nixos-24.05.
      'hosts/beta/default.nix:5 error stateversion-newer-than-nixpkgs',
      'modules/common.nix:4 error label-invalid',
    ]);
  });

  it('flake-parts: hosts declared in a flake module, one module per host, no false alarm', async () => {
    assert.deepEqual(await lint('flake-parts'), ['hosts/web.nix:8 hint service-follows-stateversion']);
  });

  it('classic: /etc/nixos style configuration.nix with hardware-configuration.nix', async () => {
    assert.deepEqual(await lint('classic'), ['configuration.nix:9 warning stateversion-invalid']);
  });

  it('classic fleet: no "missing" on a shared hardware module, a fetchGit import, installer and SD images', async () => {
    // Before: configuration.nix (imports "${builtins.fetchGit ./.}/…"), shared/hardware.nix (imported through a
    // computed path), iso/ and sd/ (nixpkgs image profiles) were all reported. The host that really lacks it stays.
    assert.deepEqual(await lint('classic-fleet'), ['hosts/mail/configuration.nix:2 warning stateversion-missing']);
  });

  // The two real mistakes helper-built hosts hid from the lint, and the other committed flake shapes.
  it('a stateVersion in a base module every host imports through a helper, newer than the locked nixpkgs', async () => {
    assert.deepEqual(await lint('base-module-helper', FLAKES), [
      'modules/base.nix:6 error stateversion-newer-than-nixpkgs',
    ]);
  });

  it('a host from a directory listing (readDir, listToAttrs) set to a release its nixpkgs does not know', async () => {
    assert.deepEqual(await lint('hosts-readdir', FLAKES), [
      'hosts/beta/configuration.nix:5 error stateversion-newer-than-nixpkgs',
    ]);
  });

  it('helper, flake-parts, seven literal hosts and import-tree layouts: every host followed, no false alarm', async () => {
    for (const shape of ['mkhost-lib', 'flake-parts-helper', 'seven-hosts', 'dendritic']) {
      assert.deepEqual(await lint(shape, FLAKES), [], shape);
    }
  });
});
