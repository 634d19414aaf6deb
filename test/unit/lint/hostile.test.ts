// Broken and hostile input never throws out of the engine and never yields a false error.
import assert from 'node:assert/strict';
import { lintFiles } from './helpers';

describe('lint: broken and hostile input', () => {
  it('survives broken Nix, broken flakes and odd names', async () => {
    const deep = `${'{ a = '.repeat(3000)}1${' ; }'.repeat(3000)}`;
    const d = await lintFiles({
      'flake.nix':
        '{ outputs = { nixpkgs, ... }: { nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [ ./h.nix ./missing.nix',
      'flake.lock': '{"nodes": {"root": {"inputs": {"nixpkgs": ["nixpkgs", "nixpkgs"]}}}, "root": "root"}',
      'h.nix': '{ system.stateVersion = "24.05"; services.postgresql.enable = true; imports = [ ./h.nix ./h.nix ]; }',
      'garbage.nix': "\u0000\u0001 }}}{{{ \"unterminated ${ '' ",
      'deep.nix': deep,
      'names.nix':
        '{ "${x}" = 1; system."state Version" = "x"; ${"system"}.stateVersion = "99.99"; a.b.c.d = { inherit (x) y; }; }',
      'weird dir $(touch pwned); rm -rf/configuration.nix':
        '{ boot.isContainer = true; system.stateVersion = config.foo; }',
      'self.nix': 'let x = x; in { system.stateVersion = x; imports = x; }',
      'rec.nix': 'rec { a = b; b = a; system.stateVersion = a; }',
    });
    assert.deepEqual(
      d.filter((x) => x.severity === 'error').map((x) => `${x.rel} ${x.code}`),
      [],
    );
  });

  it('does not follow import cycles forever', async () => {
    const d = await lintFiles({
      'configuration.nix': '{ imports = [ ./hardware-configuration.nix ./a.nix ]; boot.isContainer = true; }',
      'hardware-configuration.nix': '{ }',
      'a.nix': '{ imports = [ ./b.nix ]; }',
      'b.nix': '{ imports = [ ./a.nix ./configuration.nix ]; system.stateVersion = "23.11"; }',
    });
    assert.deepEqual(
      d.map((x) => x.code),
      [],
    );
  });
});
