import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../../../scripts/regen-stateversion-table.mjs');

describe('scripts/regen-stateversion-table.mjs', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nixgen-nixpkgs-'));
    const write = (rel: string, text: string): void => {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    };
    write('lib/.version', '24.11\n');
    // Shapes of gates as nixpkgs writes them (written for this test).
    write(
      'nixos/modules/services/databases/postgresql.nix',
      [
        '{ config, lib, pkgs, ... }:',
        '{',
        '  options.services.postgresql.package = lib.mkOption {',
        '    default =',
        '      if lib.versionAtLeast config.system.stateVersion "24.11" then pkgs.postgresql_16',
        '      else if lib.versionAtLeast config.system.stateVersion "23.11" then pkgs.postgresql_15',
        '      else pkgs.postgresql_14;',
        '  };',
        '}',
      ].join('\n'),
    );
    write(
      'nixos/modules/services/misc/newthing.nix',
      '{ config, lib, ... }:\n{\n  options.services.newthing.dataDir = lib.mkOption {\n    default = if lib.versionOlder config.system.stateVersion "25.05" then "/var/old" else "/var/new";\n  };\n}\n',
    );
    write('nixos/modules/misc/unrelated.nix', '{ ... }: { }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the gates of a nixpkgs tree and what the database lacks', () => {
    const out = path.join(dir, 'table.json');
    const r = spawnSync(process.execPath, [SCRIPT, dir, '--out', out, '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    const table = JSON.parse(readFileSync(out, 'utf8')) as {
      nixpkgs: { release: string };
      gates: { module: string; threshold: string; comparison: string; near: string }[];
    };
    assert.equal(table.nixpkgs.release, '24.11');
    assert.deepEqual(
      table.gates.map((g) => `${g.module}|${g.comparison}|${g.threshold}`),
      [
        'nixos/modules/services/databases/postgresql.nix|versionAtLeast|24.11',
        'nixos/modules/services/databases/postgresql.nix|versionAtLeast|23.11',
        'nixos/modules/services/misc/newthing.nix|versionOlder|25.05',
      ],
    );
    assert.equal(table.gates[2]!.near, 'options.services.newthing.dataDir');
    assert.match(r.stdout, /not in the database[^]*newthing\.nix:4 versionOlder "25\.05"/);
    assert.doesNotMatch(r.stdout, /postgresql\.nix:5/, 'known thresholds are not reported');
    assert.match(r.stdout, /not found in this nixpkgs[^]*postgresql\.nix "25\.11"/);
  });

  it('refuses a directory that is not nixpkgs', () => {
    const r = spawnSync(process.execPath, [SCRIPT, path.join(dir, 'lib')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
  });
});
