// Broken and hostile input never throws out of the engine, never yields a false error, and what is reported stays
// what a reader would flag, at its place, in bounded words.
import assert from 'node:assert/strict';
import { lintFiles } from './helpers';

describe('lint: broken and hostile input', () => {
  it('survives broken Nix, broken flakes and odd names', async () => {
    const deep = `${'{ a = '.repeat(3000)}1${' ; }'.repeat(3000)}`;
    const files = {
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
    };
    // The folder: only what the unfinished flake reaches (h.nix) and the conventional entry point (the weird
    // directory's configuration.nix, which says nothing knowable) are read; names.nix is imported by nobody.
    const folder = await lintFiles(files);
    assert.deepEqual(
      folder.map((x) => `${x.rel} ${x.code}`),
      ['h.nix service-follows-stateversion'],
    );
    // Every file named (linted whether reached or not): exactly what a reader of these files would flag, where it
    // stands: the literal release behind an interpolated attribute name, and the service that follows h.nix's
    // stateVersion; nothing from the garbage, the nesting 3,000 deep, the cycles, the unfinished flake or the values
    // no one can know without evaluating
    const d = await lintFiles(files, { named: Object.keys(files) });
    assert.deepEqual(
      d.map(
        (x) =>
          `${x.rel}:${x.range.start.line + 1}:${x.range.start.character + 1}-${x.range.end.character + 1} ${x.severity} ${x.code}`,
      ),
      ['h.nix:1:34-60 hint service-follows-stateversion', 'names.nix:1:72-79 warning stateversion-invalid'],
    );
    const invalid = d.find((x) => x.code === 'stateversion-invalid')!;
    assert.match(invalid.message, /^system\.stateVersion = "99\.99" is not a NixOS release/);
    const follows = d.find((x) => x.code === 'service-follows-stateversion')!;
    assert.match(follows.message, /^services\.postgresql\.package follows stateVersion \(24\.05 → postgresql_15\)/);
    // bounded: one line of words per diagnostic, whatever the input held
    for (const x of d) {
      assert.ok(x.message.length < 600 && !x.message.includes('\n') && !x.message.includes('\u0000'), x.message);
    }
  });

  it('reports a stateVersion written as text in a file whose name holds shell syntax, by that name', async () => {
    const name = 'weird dir $(touch pwned); rm -rf/configuration.nix';
    const d = await lintFiles({ [name]: '{ boot.isContainer = true;\n  system.stateVersion = "24.13"; }' });
    assert.deepEqual(
      d.map((x) => `${x.rel}:${x.range.start.line + 1}:${x.range.start.character + 1} ${x.code}`),
      [`${name}:2:25 stateversion-invalid`],
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
