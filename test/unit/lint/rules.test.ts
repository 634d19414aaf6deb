import assert from 'node:assert/strict';
import type { TextEdit } from '../../../src/core/lint/types';
import { LineIndex } from '../../../src/core/nix';
import { codes, hostFlake, lintFiles, lockFor } from './helpers';

/** Applies LSP edits to a text (edits do not overlap). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = new LineIndex(text);
  const sorted = [...edits].sort((a, b) => lines.offsetAt(b.range.start) - lines.offsetAt(a.range.start));
  let out = text;
  for (const e of sorted) {
    const s = lines.offsetAt(e.range.start);
    const t = lines.offsetAt(e.range.end);
    out = out.slice(0, s) + e.newText + out.slice(t);
  }
  return out;
}

const host = (body: string, args = '{ pkgs, ... }'): string => `${args}:\n{\n${body}\n}\n`;

describe('lint rules', () => {
  describe('stateversion-missing', () => {
    const hostFiles = {
      'flake.nix': hostFlake(),
      'flake.lock': lockFor('nixos-24.05'),
      'hosts/h/configuration.nix': host('  imports = [ ./hardware-configuration.nix ];\n  networking.hostName = "h";'),
      'hosts/h/hardware-configuration.nix': '{ ... }: { fileSystems."/".device = "/dev/sda1"; }\n',
    };

    it("flags a flake host whose modules set no stateVersion, in the host's configuration.nix", async () => {
      const d = await lintFiles(hostFiles);
      assert.deepEqual(codes(d), ['warning:stateversion-missing']);
      // where the fix writes it, not the flake.nix that names the host
      assert.equal(d[0]!.rel, 'hosts/h/configuration.nix');
      assert.deepEqual(d[0]!.range.start, { line: 1, character: 0 });
      assert.match(d[0]!.message, /configuration h sets no system\.stateVersion/);
      const fix = d[0]!.fixes![0]!;
      // nothing deployed here: the release being built, saying why that is only right for a new machine
      assert.match(fix.title, /system\.stateVersion = "24\.05" in configuration\.nix: the release being built/);
      assert.match(fix.title, /right only for a new installation \(no generation of h on this machine/);
      assert.notEqual(fix.preferred, true);
      assert.match(fix.file, /hosts\/h\/configuration\.nix$/);
    });

    it("proposes the release of the machine's oldest generation when the host is this machine", async () => {
      const machine = { hostName: 'h', oldest: { generation: 1, release: '23.05' } };
      const d = await lintFiles(hostFiles, { machine });
      const fix = d[0]!.fixes![0]!;
      assert.match(fix.title, /= "23\.05" in configuration\.nix: this machine was installed with 23\.05/);
      assert.equal(fix.preferred, true);
      assert.match(d[0]!.message, /this machine was installed with 23\.05/);
      const text = host('  imports = [ ./hardware-configuration.nix ];\n  networking.hostName = "h";');
      assert.match(applyEdits(text, fix.edits), /networking\.hostName = "h";\n {2}system\.stateVersion = "23\.05";\n}/);
      // an oldest generation that is not the first: "or earlier"
      const later = await lintFiles(hostFiles, {
        machine: { hostName: 'h', oldest: { generation: 41, release: '23.11' } },
      });
      assert.match(
        later[0]!.fixes![0]!.title,
        /installed with 23\.11 or earlier \(its oldest generation still present, 41/,
      );
      // another machine's generations say nothing about host h
      const other = await lintFiles(hostFiles, {
        machine: { hostName: 'laptop', oldest: { generation: 1, release: '23.05' } },
      });
      assert.match(other[0]!.fixes![0]!.title, /= "24\.05" .*the release being built/);
    });

    it("a classic configuration.nix is the machine's own: the warning and the fix in it", async () => {
      const d = await lintFiles(
        {
          'configuration.nix': host('  imports = [ ./hardware-configuration.nix ./desktop.nix ];'),
          'hardware-configuration.nix': '{ ... }: { fileSystems."/".device = "/dev/sda1"; }\n',
          'desktop.nix': '{ services.xserver.enable = true; }\n',
        },
        { machine: { hostName: 'whatever', oldest: { generation: 1, release: '22.11' } } },
      );
      assert.equal(d[0]!.rel, 'configuration.nix');
      assert.match(d[0]!.fixes![0]!.file, /\/configuration\.nix$/);
      assert.match(d[0]!.fixes![0]!.title, /= "22\.11" in configuration\.nix: this machine was installed with 22\.11/);
    });

    it('is quiet when an imported module sets it, even through mkDefault', async () => {
      const d = await lintFiles({
        'flake.nix': hostFlake(),
        'flake.lock': lockFor('nixos-24.05'),
        'hosts/h/configuration.nix': host('  imports = [ ../../modules/base.nix ];'),
        'modules/base.nix': '{ lib, ... }: { system.stateVersion = lib.mkDefault "23.11"; }\n',
      });
      assert.deepEqual(codes(d), []);
    });

    it('is quiet for plain modules that are not configurations, and for hosts built by unknown functions', async () => {
      const d = await lintFiles({
        'flake.nix': `{ outputs = { nixpkgs, custom, ... }: {
          nixosConfigurations.a = custom.lib.mkHost "a";
          nixosConfigurations.b = nixpkgs.lib.nixosSystem { modules = [ ./b.nix custom.lib.modules.common ]; };
          nixosModules.common = ./modules/common.nix;
        }; }`,
        'b.nix': '{ networking.hostName = "b"; }',
        'hosts/a/default.nix': '{ networking.hostName = "a"; }',
        'modules/common.nix': '{ services.openssh.enable = true; }',
      });
      assert.deepEqual(codes(d), []);
    });

    it('follows hosts built by a helper in a let and modules named through self', async () => {
      const d = await lintFiles({
        'flake.nix': `{ outputs = { self, nixpkgs, ... }: let mkHost = name: nixpkgs.lib.nixosSystem { modules = [ ./hosts/\${name} ]; }; in {
          nixosConfigurations.a = mkHost "a";
          nixosConfigurations.b = nixpkgs.lib.nixosSystem { modules = [ ./b.nix self.nixosModules.common ]; };
          nixosModules.common = ./modules/common.nix;
        }; }`,
        'b.nix': '{ networking.hostName = "b"; }',
        'hosts/a/default.nix': '{ networking.hostName = "a"; }',
        'modules/common.nix': '{ system.stateVersion = "24.05"; }',
      });
      // a (through mkHost) sets none; b gets it from self.nixosModules.common
      assert.deepEqual(codes(d), ['warning:stateversion-missing']);
      assert.match(d[0]!.message, /configuration a /);
    });

    it('flags a classic configuration.nix with its hardware-configuration.nix, not the modules it imports', async () => {
      const d = await lintFiles({
        'configuration.nix': host(
          '  imports = [ ./hardware-configuration.nix ./desktop.nix ];\n  boot.loader.systemd-boot.enable = true;',
        ),
        'hardware-configuration.nix': '{ ... }: { fileSystems."/".device = "/dev/sda1"; }\n',
        'desktop.nix': '{ services.xserver.enable = true; }\n',
      });
      assert.deepEqual(codes(d), ['warning:stateversion-missing']);
      assert.equal(d[0]!.rel, 'configuration.nix');
      const ok = await lintFiles({
        'configuration.nix': host('  imports = [ ./hardware-configuration.nix ];\n  system.stateVersion = "23.05";'),
        'hardware-configuration.nix': '{ ... }: { }\n',
      });
      assert.deepEqual(codes(ok), []);
    });

    it('checks home-manager users inside NixOS and homeConfigurations', async () => {
      const flake = `{ outputs = { nixpkgs, home-manager, ... }: {
        nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [
          ./configuration.nix
          home-manager.nixosModules.home-manager
          { home-manager.users.alice = import ./alice.nix; home-manager.users.bob = ./bob.nix; }
        ]; };
        homeConfigurations."carol@h" = home-manager.lib.homeManagerConfiguration { pkgs = nixpkgs.legacyPackages.x86_64-linux; modules = [ ./carol.nix ]; };
      }; }`;
      const d = await lintFiles({
        'flake.nix': flake,
        'configuration.nix': '{ system.stateVersion = "24.05"; home-manager.users.bob.home.stateVersion = "24.05"; }',
        'alice.nix': '{ pkgs, ... }: { programs.git.enable = true; }',
        'bob.nix': '{ programs.git.enable = true; }',
        'carol.nix': '{ home.username = "carol"; }',
      });
      assert.deepEqual(codes(d), ['error:stateversion-missing', 'error:stateversion-missing']);
      assert.match(d[0]!.message, /home-manager configuration alice/);
      assert.match(d[1]!.message, /home-manager configuration carol@h/);
      const shared = await lintFiles({
        'flake.nix': flake,
        'configuration.nix':
          '{ system.stateVersion = "24.05"; home-manager.sharedModules = [ { home.stateVersion = "24.05"; } ]; }',
        'alice.nix': '{ programs.git.enable = true; }',
        'bob.nix': '{ }',
        'carol.nix': '{ home.stateVersion = "24.05"; }',
      });
      assert.deepEqual(codes(shared), []);
    });

    it('a home-manager user written under a computed name (users.${user}) is not called missing', async () => {
      const files = (extra: string) => ({
        'flake.nix': `{ outputs = { nixpkgs, home-manager, ... }: {
          nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [
            ./configuration.nix ./wake.nix home-manager.nixosModules.home-manager
          ]; };
        }; }`,
        'configuration.nix': `{ system.stateVersion = "24.05"; ${extra} }`,
        // a fragment for the user the host names elsewhere: its home.stateVersion is set there
        'wake.nix': '{ user, ... }: { home-manager.users.${user} = { systemd.user.services.wake = { }; }; }',
      });
      assert.deepEqual(codes(await lintFiles(files('home-manager.users.ann.home.stateVersion = "24.05";'))), []);
      // a user named in full still gets the error
      assert.deepEqual(codes(await lintFiles(files('home-manager.users.ann.programs.git.enable = true;'))), [
        'error:stateversion-missing',
      ]);
    });

    it('leaves nix-darwin configurations alone (their stateVersion is an integer)', async () => {
      const d = await lintFiles({
        'flake.nix':
          '{ outputs = { darwin, ... }: { darwinConfigurations.mac = darwin.lib.darwinSystem { modules = [ ./mac.nix ]; }; }; }',
        'mac.nix': '{ system.stateVersion = 5; }',
      });
      assert.deepEqual(codes(d), []);
    });
  });

  describe('stateversion-invalid', () => {
    const one = async (value: string, key = 'system.stateVersion'): Promise<string[]> =>
      codes(
        await lintFiles(
          { 'modules/x.nix': `{ config, lib, ... }: { ${key} = ${value}; }` },
          { named: ['modules/x.nix'] },
        ),
      );

    it('flags values that are not YY.MM, and offers the release of a version string', async () => {
      assert.deepEqual(await one('"24.5"'), ['error:stateversion-invalid']);
      const d = await lintFiles(
        { 'm.nix': '{ system.stateVersion = "24.05.20240601.abcdef0"; }' },
        { named: ['m.nix'] },
      );
      assert.deepEqual(codes(d), ['error:stateversion-invalid']);
      assert.equal(d[0]!.fixes![0]!.edits[0]!.newText, '"24.05"');
    });

    it('warns on YY.MM values that are no release', async () => {
      assert.deepEqual(await one('"21.03"'), ['warning:stateversion-invalid']);
      assert.deepEqual(await one('"24.13"'), ['warning:stateversion-invalid']);
      assert.deepEqual(await one('"24.11"'), []);
    });

    it('offers the nearest real release for a value that is none ("21.03" shipped as 21.05), and the machine\'s', async () => {
      const files = { 'configuration.nix': '{ ... }:\n{\n  system.stateVersion = "21.03";\n}\n' };
      const d = await lintFiles(files);
      assert.deepEqual(codes(d), ['warning:stateversion-invalid']);
      assert.deepEqual(
        d[0]!.fixes!.map((f) => [f.title, f.edits[0]!.newText, f.preferred]),
        [['Use "21.05": the release "21.03" became (it shipped as 21.05)', '"21.05"', true]],
      );
      const between = await lintFiles({ 'm.nix': '{ system.stateVersion = "24.08"; }' }, { named: ['m.nix'] });
      assert.match(between[0]!.fixes![0]!.title, /^Use "24\.05": the NixOS release nearest to "24\.08"$/);
      // on this machine (a classic directory), its first release comes first
      const here = await lintFiles(files, { machine: { oldest: { generation: 1, release: '21.11' } } });
      assert.deepEqual(
        here[0]!.fixes!.map((f) => f.edits[0]!.newText),
        ['"21.11"', '"21.05"'],
      );
      assert.match(here[0]!.fixes![0]!.title, /this machine was installed with 21\.11/);
    });

    it('accepts computed values and integers', async () => {
      assert.deepEqual(await one('config.system.nixos.release'), []);
      assert.deepEqual(await one('lib.trivial.release'), []);
      assert.deepEqual(await one('lib.mkDefault lib.trivial.release'), []);
      assert.deepEqual(await one('"${lib.versions.majorMinor lib.version}"'), []);
      assert.deepEqual(await one('4'), []);
    });

    it("uses home-manager's accepted values for home.stateVersion", async () => {
      assert.deepEqual(await one('"21.03"', 'home.stateVersion'), []);
      assert.deepEqual(await one('"24.13"', 'home.stateVersion'), ['error:stateversion-invalid']);
      assert.deepEqual(await one('"24.11"', 'home.stateVersion'), []);
    });
  });

  describe('stateversion-newer-than-nixpkgs', () => {
    const flake = (lock: string, sv: string): Record<string, string> => ({
      'flake.nix': hostFlake(),
      'flake.lock': lock,
      'hosts/h/configuration.nix': host(`  system.stateVersion = "${sv}";`),
    });

    it('flags a stateVersion newer than the release branch', async () => {
      const d = await lintFiles(flake(lockFor('nixos-24.05'), '24.11'));
      assert.deepEqual(codes(d), ['error:stateversion-newer-than-nixpkgs']);
      assert.match(d[0]!.message, /"24\.11" is newer .* 24\.05 \(input "nixpkgs", nixos-24\.05\)/);
      assert.deepEqual(codes(await lintFiles(flake(lockFor('nixos-24.05'), '24.05'))), []);
      assert.deepEqual(codes(await lintFiles(flake(lockFor('release-24.11'), '24.11'))), []);
    });

    it('gives unstable the release its date was heading for', async () => {
      const june2024 = Date.parse('2024-06-20') / 1000;
      assert.deepEqual(codes(await lintFiles(flake(lockFor('nixos-unstable', june2024), '24.11'))), []);
      assert.deepEqual(codes(await lintFiles(flake(lockFor('nixos-unstable', june2024), '25.05'))), [
        'error:stateversion-newer-than-nixpkgs',
      ]);
      assert.deepEqual(codes(await lintFiles(flake(lockFor(undefined, june2024), '25.05'))), [
        'error:stateversion-newer-than-nixpkgs',
      ]);
    });

    it('reads a file the way pin does: constant interpolation folded, CR line breaks counted as lines', async () => {
      // One query library (core/nix) for lint and pin: `"${"24"}.11"` is the string "24.11" to both.
      const folded = await lintFiles(flake(lockFor('nixos-24.05'), '${"24"}.11'));
      assert.deepEqual(codes(folded), ['error:stateversion-newer-than-nixpkgs']);
      // Old-Mac line breaks: the diagnostic sits on the line an editor shows (line 3, 0-based 2).
      const cr = await lintFiles({
        'flake.nix': hostFlake(),
        'flake.lock': lockFor('nixos-24.05'),
        'hosts/h/configuration.nix': '{ pkgs, ... }:\r{\r  system.stateVersion = "24.11";\r}\r',
      });
      assert.deepEqual(codes(cr), ['error:stateversion-newer-than-nixpkgs']);
      assert.equal(cr[0]!.range.start.line, 2);
    });

    it('follows the value through let and specialArgs', async () => {
      const d = await lintFiles({
        'flake.nix': `{ outputs = { nixpkgs, ... }: let sv = "25.05"; in {
          nixosConfigurations.h = nixpkgs.lib.nixosSystem { specialArgs = { stateVersion = sv; }; modules = [ ./h.nix ]; };
        }; }`,
        'flake.lock': lockFor('nixos-24.11'),
        'h.nix': '{ stateVersion, ... }: { system.stateVersion = stateVersion; }',
      });
      assert.deepEqual(codes(d), ['error:stateversion-newer-than-nixpkgs']);
      assert.equal(d[0]!.rel, 'flake.nix', 'reported where the value is written');
    });

    it("compares home.stateVersion with the home-manager input's release", async () => {
      const hmLock = (ref: string): string =>
        JSON.stringify({
          nodes: {
            hm: {
              locked: { lastModified: 1730000000, owner: 'nix-community', repo: 'home-manager', type: 'github' },
              original: { owner: 'nix-community', repo: 'home-manager', ref, type: 'github' },
            },
            nixpkgs: JSON.parse(lockFor('nixos-24.11')).nodes.nixpkgs,
            root: { inputs: { 'home-manager': 'hm', nixpkgs: 'nixpkgs' } },
          },
          root: 'root',
          version: 7,
        });
      const flake = `{ outputs = { nixpkgs, home-manager, ... }: {
        homeConfigurations.me = home-manager.lib.homeManagerConfiguration { pkgs = nixpkgs.legacyPackages.x86_64-linux; modules = [ ./home.nix ]; };
      }; }`;
      const run = async (ref: string, sv: string): Promise<string[]> =>
        codes(
          await lintFiles({
            'flake.nix': flake,
            'flake.lock': hmLock(ref),
            'home.nix': `{ home.stateVersion = "${sv}"; }`,
          }),
        );
      assert.deepEqual(await run('release-24.05', '24.11'), ['error:stateversion-newer-than-nixpkgs']);
      assert.deepEqual(await run('release-24.05', '24.05'), []);
      assert.deepEqual(await run('release-24.11', '25.05'), [], 'home-manager 24.11 already accepts 25.05');
    });

    it('says nothing without a known nixpkgs', async () => {
      assert.deepEqual(
        codes(
          await lintFiles({
            'configuration.nix': host('  system.stateVersion = "30.05";\n  boot.isContainer = true;'),
          }),
        ),
        [],
      );
    });
  });

  describe('label-invalid', () => {
    it('flags characters outside [a-zA-Z0-9:_.-] and offers a cleaned label', async () => {
      const d = await lintFiles({ 'm.nix': '{ system.nixos.label = "my label/1"; }' }, { named: ['m.nix'] });
      assert.deepEqual(codes(d), ['error:label-invalid']);
      assert.equal(d[0]!.fixes![0]!.edits[0]!.newText, '"my-label-1"');
      assert.deepEqual(
        codes(await lintFiles({ 'm.nix': '{ system.nixos.label = "24.05:git_abc-1.2"; }' }, { named: ['m.nix'] })),
        [],
      );
      assert.deepEqual(
        codes(
          await lintFiles(
            { 'm.nix': '{ config, ... }: { system.nixos.label = "${config.system.nixos.release} x"; }' },
            { named: ['m.nix'] },
          ),
        ),
        [],
      );
    });
  });

  describe('service-follows-stateversion', () => {
    const files = (body: string, args?: string, sv = '23.11', ref = 'nixos-24.05'): Record<string, string> => ({
      'flake.nix': hostFlake(),
      'flake.lock': lockFor(ref),
      'hosts/h/configuration.nix': host(`  system.stateVersion = "${sv}";\n${body}`, args),
    });

    it('hints at an enabled, unpinned PostgreSQL and pins the version in effect', async () => {
      const f = files('  services.postgresql.enable = true;');
      const d = await lintFiles(f);
      assert.deepEqual(codes(d), ['hint:service-follows-stateversion']);
      assert.match(d[0]!.message, /23\.11 → postgresql_15/);
      const fix = d[0]!.fixes![0]!;
      assert.equal(fix.title, 'Pin services.postgresql.package = pkgs.postgresql_15');
      const fixed = applyEdits(f['hosts/h/configuration.nix']!, fix.edits);
      assert.match(
        fixed,
        /services\.postgresql\.enable = true;\n {2}services\.postgresql\.package = pkgs\.postgresql_15;\n/,
      );
    });

    it('writes the pin inside a nested set and adds pkgs to the arguments when missing', async () => {
      const f = files('  services.postgresql = {\n    enable = true;\n  };', '{ config, ... }');
      const d = await lintFiles(f);
      const fixed = applyEdits(f['hosts/h/configuration.nix']!, d[0]!.fixes![0]!.edits);
      assert.match(fixed, /^\{ pkgs, config, \.\.\. \}:/);
      assert.match(fixed, / {4}enable = true;\n {4}package = pkgs\.postgresql_15;\n/);
    });

    it('is quiet when the package is pinned or the service is off', async () => {
      assert.deepEqual(
        codes(
          await lintFiles(
            files('  services.postgresql.enable = true;\n  services.postgresql.package = pkgs.postgresql_16;'),
          ),
        ),
        [],
      );
      assert.deepEqual(codes(await lintFiles(files('  services.postgresql.enable = false;'))), []);
      assert.deepEqual(codes(await lintFiles(files('  services.openssh.enable = true;'))), []);
    });

    it('warns when the default of this stateVersion was removed from the nixpkgs in use', async () => {
      const d = await lintFiles(files('  services.postgresql.enable = true;', undefined, '21.11', 'nixos-25.11'));
      assert.deepEqual(codes(d), ['warning:service-follows-stateversion']);
      assert.match(d[0]!.message, /postgresql_13, which nixpkgs removed in 25\.11/);
      assert.equal(d[0]!.fixes!.length, 0, 'no pin to a package that does not exist');
    });

    it('covers both sides of the threshold, and gives no advice once nothing can flip any more', async () => {
      const before = await lintFiles(files('  services.mysql.enable = true;', undefined, '17.03'));
      assert.match(before[0]!.message, /17\.03 → \/var\/mysql/);
      assert.deepEqual(codes(await lintFiles(files('  services.mysql.enable = true;', undefined, '17.09'))), []);
      assert.deepEqual(codes(await lintFiles(files('  services.syncthing.enable = true;', undefined, '23.11'))), []);
      assert.deepEqual(codes(await lintFiles(files('  services.syncthing.enable = true;', undefined, '18.09'))), [
        'hint:service-follows-stateversion',
      ]);
    });
  });
});
