// Host discovery on the committed flake shapes (test/fixtures/flakes) and on small inline flakes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMPUTED_HOST, discoverHosts, sourceTreeOf, type HostDiscovery } from '../../../src/core/hosts';

const FLAKES = path.resolve(__dirname, '../../../../test/fixtures/flakes');

function filesUnder(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, out);
    else if (e.name.endsWith('.nix')) out.set(p, fs.readFileSync(p, 'utf8'));
  }
  return out;
}

function discover(shape: string): { found: HostDiscovery; dir: string } {
  const dir = path.join(FLAKES, shape);
  return { found: discoverHosts(path.join(dir, 'flake.nix'), sourceTreeOf(filesUnder(dir))), dir };
}

/** name -> "builder file:line, nixpkgs input, modules" */
function summary(shape: string): Record<string, string> {
  const { found, dir } = discover(shape);
  assert.deepEqual(found.unresolved, []);
  const out: Record<string, string> = {};
  for (const h of found.hosts) {
    assert.ok(h.complete, `${h.name}: ${h.gaps.join('; ')}`);
    const modules = h.modules.map((m) =>
      m.kind === 'file'
        ? path.relative(dir, m.path)
        : m.kind === 'inline'
          ? `inline@${path.relative(dir, m.file.path)}`
          : `${m.kind}:${m.kind === 'external' ? m.name : m.why}`,
    );
    out[h.name] =
      `${path.relative(dir, h.builder!.file.path)}:${h.builder!.line} ${h.nixpkgsInput ?? '?'} ${modules.join(' ')}`;
  }
  return out;
}

function inline(flake: string, files: Record<string, string> = {}): HostDiscovery {
  const dir = '/flake';
  const map = new Map<string, string>([[`${dir}/flake.nix`, flake]]);
  for (const [rel, text] of Object.entries(files)) map.set(path.join(dir, rel), text);
  return discoverHosts(`${dir}/flake.nix`, sourceTreeOf(map));
}

describe('host discovery', () => {
  it('a mkHost helper in lib/, genAttrs over names, specialArgs carrying inputs', () => {
    assert.deepEqual(summary('mkhost-lib'), {
      laptop:
        'lib/default.nix:5 nixpkgs modules/common.nix hosts/laptop external:inputs.home-manager.nixosModules.home-manager',
      server:
        'lib/default.nix:5 nixpkgs modules/common.nix hosts/server external:inputs.home-manager.nixosModules.home-manager',
    });
    const { found } = discover('mkhost-lib');
    assert.deepEqual([...found.hosts[0]!.specialArgs.keys()], ['inputs', 'hostName']);
  });

  it('readDir ./hosts filtered to directories, listToAttrs and nameValuePair', () => {
    assert.deepEqual(summary('hosts-readdir'), {
      alpha: 'flake.nix:11 nixpkgs hosts/alpha/configuration.nix',
      beta: 'flake.nix:11 nixpkgs hosts/beta/configuration.nix',
    });
  });

  it('nixosConfigurations = import ./hosts { inherit inputs; } with a helper and ++ extra modules', () => {
    assert.deepEqual(summary('base-module-helper'), {
      desk: 'hosts/default.nix:5 nixpkgs modules/base.nix hosts/desk',
      nas: 'hosts/default.nix:5 nixpkgs modules/base.nix hosts/nas inline@hosts/default.nix',
    });
  });

  it('flake-parts: imports, withSystem, a helper in a let', () => {
    assert.deepEqual(summary('flake-parts-helper'), {
      web: 'parts/hosts.nix:7 nixpkgs modules/common.nix hosts/web',
      db: 'parts/hosts.nix:7 nixpkgs modules/common.nix hosts/db',
      build: 'parts/hosts.nix:7 nixpkgs modules/common.nix hosts/build',
    });
  });

  it('import-tree and flake.modules.nixos read through config.flake', () => {
    assert.deepEqual(summary('dendritic'), {
      mini: 'modules/hosts/mini.nix:7 nixpkgs inline@modules/features/base.nix inline@modules/hosts/mini.nix',
      tower: 'modules/hosts/tower.nix:7 nixpkgs inline@modules/features/base.nix inline@modules/hosts/tower.nix',
    });
  });

  it('seven literal calls, each with its own line', () => {
    const s = summary('seven-hosts');
    assert.deepEqual(Object.keys(s), ['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu']);
    assert.equal(s.gnu, 'flake.nix:32 nixpkgs hosts/gnu.nix common.nix');
  });

  it('names the input a host is built with, through let, inherit and parameters', () => {
    const found = inline(`{ outputs = { self, nixpkgs, stable, ... }@inputs: let
      lib = stable.lib;
      mk = pkgs: name: pkgs.lib.nixosSystem { modules = [ ./\${name}.nix ]; };
    in {
      nixosConfigurations.a = lib.nixosSystem { modules = [ ./a.nix ]; };
      nixosConfigurations.b = mk inputs.nixpkgs-unstable "b";
      nixosConfigurations.c = inputs.nixpkgs.lib.nixosSystem { modules = [ ./c.nix ]; };
      nixosConfigurations.d = (nixpkgs.lib // inputs.home-manager.lib // { my = 1; }).nixosSystem { modules = [ ./d.nix ]; };
    }; }`);
    assert.deepEqual(
      found.hosts.map((h) => `${h.name}:${h.nixpkgsInput}`),
      ['a:stable', 'b:nixpkgs-unstable', 'c:nixpkgs', 'd:nixpkgs'],
    );
  });

  it('reads "${self}/hosts" as the flake source: readDir on it, modules named by it', () => {
    const found = inline(
      `{ outputs = { self, nixpkgs }: {
        nixosConfigurations = builtins.mapAttrs
          (name: _: nixpkgs.lib.nixosSystem { modules = [ "\${self}/hosts/\${name}" (self + "/common.nix") ]; })
          (builtins.readDir "\${self}/hosts");
      }; }`,
      { 'hosts/a/default.nix': '{ }', 'hosts/b/default.nix': '{ }', 'common.nix': '{ }' },
    );
    assert.deepEqual(
      found.hosts.map((h) => `${h.name}: ${h.modules.map((m) => (m.kind === 'file' ? m.path : m.kind)).join(' ')}`),
      ['a: /flake/hosts/a /flake/common.nix', 'b: /flake/hosts/b /flake/common.nix'],
    );
  });

  it('host names computed from what is not here: one host standing for all, built by the shared helper', () => {
    const facts = discover('facts-mapattrs').found;
    assert.match(facts.unresolved.join('\n'), /mapAttrs over a set not known here \(a call of builtins\.fromJSON\)/);
    assert.deepEqual(
      facts.hosts.map(
        (h) => `${h.name} ${h.computedName} ${h.complete} ${path.basename(h.builder!.file.path)}:${h.builder!.line}`,
      ),
      [`${COMPUTED_HOST} true false default.nix:14`],
    );
    // the known module is kept beside the list part that is not known
    assert.equal(facts.hosts[0]!.modules[0]!.kind, 'file');
    assert.ok(facts.hosts[0]!.specialArgs.has('inputs'));

    const named = discover('computed-name').found;
    assert.deepEqual(
      named.hosts.map((h) => `${h.name}:${h.computedName ?? false}`),
      [`${COMPUTED_HOST}:true`, 'installer:false'],
    );
  });

  it('flake-utils per-system outputs: packages.<system>.nixosConfigurations, read for one system', () => {
    assert.deepEqual(summary('flake-utils-packages'), {
      homelab: 'flake.nix:16 nixpkgs hosts/common.nix inline@flake.nix inline@flake.nix',
      tv: 'flake.nix:16 nixpkgs hosts/common.nix inline@flake.nix inline@flake.nix',
    });
  });

  it('nixosSystem (args // { ... }): the modules list is found where the caller writes it', () => {
    const { found, dir } = discover('merged-args');
    assert.deepEqual(found.unresolved, []);
    assert.deepEqual(
      found.hosts.map(
        (h) => `${h.name} ${h.argSet ? 'set' : 'no-set'} ${path.relative(dir, h.modulesList!.file.path)}`,
      ),
      ['nas no-set flake.nix', 'pinebook no-set flake.nix'],
    );
    assert.equal(found.hosts[0]!.modulesList!.node, found.hosts[1]!.modulesList!.node, 'one list for both hosts');
  });

  it('snowfall-lib: a host per systems/<arch>-linux/<host>, systems.modules.nixos shared, inputs passed', () => {
    assert.deepEqual(summary('snowfall'), {
      atlas:
        'flake.nix:22 nixpkgs external:home-manager.nixosModules.home-manager systems/x86_64-linux/atlas/default.nix',
      boreas:
        'flake.nix:22 nixpkgs external:home-manager.nixosModules.home-manager systems/x86_64-linux/boreas/default.nix',
      mac: 'flake.nix:22 nixpkgs systems/aarch64-darwin/mac/default.nix',
    });
    const { found } = discover('snowfall');
    assert.deepEqual(found.hosts[0]!.modulesKey, ['systems', 'modules', 'nixos']);
    assert.equal(found.hosts[0]!.framework, 'snowfall-lib');
    assert.ok(found.hosts[0]!.specialArgs.has('inputs'));
    // called directly, with snowfall.root
    const direct = inline(
      `{ outputs = inputs: inputs.snowfall-lib.mkFlake { inherit inputs; src = ./.; snowfall.root = ./nix; }; }`,
      { 'nix/systems/x86_64-linux/one/default.nix': '{ }', 'systems/x86_64-linux/not-here/default.nix': '{ }' },
    );
    assert.deepEqual(
      direct.hosts.map((h) => h.name),
      ['one'],
    );
  });

  it('nixos-unified autoWire: configurations/nixos/<name>.nix and <name>/default.nix, the flake argument', () => {
    assert.deepEqual(summary('nixos-unified'), {
      box: 'configurations/nixos/box/default.nix:1 nixpkgs configurations/nixos/box/default.nix',
      vm: 'configurations/nixos/vm.nix:1 nixpkgs configurations/nixos/vm.nix',
      mac: 'configurations/darwin/mac.nix:1 nixpkgs configurations/darwin/mac.nix',
    });
    const { found } = discover('nixos-unified');
    const box = found.hosts[0]!;
    assert.deepEqual(box.modulesKey, ['imports']);
    assert.equal(box.argSet?.node.kind, 'AttrSet', 'the module set under the let is where pin edits');
    assert.ok(box.specialArgs.has('flake'));
  });

  it('says why when it cannot follow, and stays bounded on self-reference', () => {
    const opaque = inline(`{ outputs = { snowfall, ... }: snowfall.lib.mkFlake { src = ./.; }; }`);
    assert.deepEqual(opaque.hosts, []);
    assert.match(opaque.unresolved.join('\n'), /outputs of flake\.nix are not followed/);
    const loop = inline(`{ outputs = { self, nixpkgs }: let x = x // { }; in {
      nixosConfigurations = x;
    }; }`);
    assert.deepEqual(loop.hosts, []);
    assert.equal(loop.unresolved.length, 1);
    const deep = inline(`{ outputs = { self, nixpkgs }: let f = n: f (n + 1); in { nixosConfigurations = f 0; }; }`);
    assert.deepEqual(deep.hosts, []);
    assert.equal(deep.unresolved.length >= 1, true);
  });
});
