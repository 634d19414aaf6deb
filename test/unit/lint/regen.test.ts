import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../../../scripts/regen-stateversion-table.mjs');

interface Row {
  module: string;
  line: number;
  comparison: string;
  threshold: string;
  near: string | null;
  then?: string;
  else?: string;
  usedBy?: string[];
  flag?: string;
}

/**
 * Small modules written for this test. Each one has the structure of a stateVersion gate found in real
 * nixos/modules text (postgresql's chained package default, dovecot's mkPackageOption // { default },
 * stalwart's let-bound flag, immich's mkEnableOption // { default }, firefox-syncserver's compareVersions,
 * transmission's mkIf … mkOptionDefault throw, unifi's assertion, nixos-containers' optionalString), with
 * made-up names and values.
 */
const MODULES: Record<string, string> = {
  // The newer mechanism: a stateRevision option whose default follows stateVersion through a migrations table
  // (structure of nixpkgs' seerr module), read as `cfg.stateRevision >= 1`.
  'services/misc/revisioned.nix': `{ config, lib, utils, ... }:
let
  cfg = config.services.revisioned;
  useNewLocation = cfg.stateRevision >= 1;
in
{
  options.services.revisioned = {
    enable = lib.mkEnableOption "revisioned";
    stateRevision = utils.mkStateRevisionOption {
      migrations."26.05" = "configuration moves to /var/lib/revisioned";
    };
    configDir = lib.mkOption {
      type = lib.types.str;
      default = if useNewLocation then "/var/lib/revisioned" else "/var/lib/old-name/config";
    };
  };
}
`,
  // A chain under a let-bound `base`, wrapped in mkDefault.
  'services/databases/widgetdb.nix': `{ config, lib, pkgs, ... }:
with lib;
let
  cfg = config.services.widgetdb;
in
{
  config = mkIf cfg.enable {
    services.widgetdb.package =
      let
        mkThrow = ver: throw "widgetdb_\${ver} is gone";
        base =
          # keep defaultText in sync
          if versionAtLeast config.system.stateVersion "25.11" then
            pkgs.widgetdb_7
          else if versionAtLeast config.system.stateVersion "24.11" then
            pkgs.widgetdb_6
          else if versionAtLeast config.system.stateVersion "21.11" then
            mkWarn "5" pkgs.widgetdb_5
          else
            mkThrow "4";
      in
      mkDefault (if cfg.fast then base.fast else base);
  };
}
`,
  // mkPackageOption // { default = if … ; defaultText = literalExpression ''if …''; } — one gate, not two.
  'services/mail/postbox.nix': `{ config, lib, pkgs, ... }:
with lib;
{
  options.services.postbox = {
    enable = mkEnableOption "postbox";

    package = mkPackageOption pkgs "postbox" { } // {
      default =
        if versionAtLeast config.system.stateVersion "26.05" then pkgs.postbox else pkgs.postbox_1;
      defaultText = lib.literalExpression ''if versionAtLeast config.system.stateVersion "26.05" then pkgs.postbox else pkgs.postbox_1'';
    };

    # versionAtLeast config.system.stateVersion "19.03" is only mentioned in this comment
    dataDir = mkOption {
      type = types.str;
      defaultText = lib.literalExpression ''
        if lib.versionOlder config.system.stateVersion "20.09" then "/old" else "/new"
      '';
      default = "/var/lib/postbox";
    };
  };
}
`,
  // A let-bound flag, read by an option default further down; a comparison split over two lines.
  'services/web-apps/gallery.nix': `{ config, lib, pkgs, ... }:
let
  cfg = config.services.gallery;
  useLegacyStorage = lib.versionOlder config.system.stateVersion "24.11";
  useLegacyName =
    lib.versionOlder
      config.system.stateVersion "26.05";
in
{
  options.services.gallery = {
    dataDir = lib.mkOption {
      type = lib.types.path;
      default = if useLegacyName then "/var/lib/gallery-old" else "/var/lib/gallery";
    };
    enableVectors =
      lib.mkEnableOption "the vector extension"
      // {
        default = lib.versionOlder config.system.stateVersion "25.11";
      };
  };
  config = lib.mkIf cfg.enable {
    services.gallery.settings.store = if useLegacyStorage then "sqlite" else "rocksdb";
  };
}
`,
  // A versionOlder chain on a stateVersion inherited from config.system, after a guard that throws.
  'services/web-apps/notes.nix': `{ config, lib, pkgs, ... }:
with lib;
let
  cfg = config.services.notes;
  inherit (config.system) stateVersion;
in
{
  config = mkIf cfg.enable {
    services.notes.package =
      with pkgs;
      mkDefault (
        if pkgs ? notes then
          throw ''
            pkgs.notes is gone
          ''
        else if versionOlder stateVersion "25.11" then
          notes31
        else if versionOlder stateVersion "26.05" then
          notes32
        else
          notes33
      );
  };
}
`,
  // A flag bound in a let … in around one option's mkOption.
  'services/networking/relay.nix': `{ config, lib, ... }:
let
  cfg = config.services.relay;
in
{
  options = {
    services.relay = {
      configDir =
        let
          cond = lib.versionAtLeast config.system.stateVersion "19.03";
        in
        lib.mkOption {
          default = cfg.dataDir + lib.optionalString cond "/.config/relay";
        };
    };
  };
}
`,
  // compareVersions inside optionalAttrs; mkIf (versionOlder …) (mkOptionDefault (throw …)); an assertion;
  // optionalString around a prefix.
  'services/misc/assorted.nix': `{ config, lib, pkgs, options, ... }:
{
  options.services.assorted = {
    database.type = lib.mkOption (
      {
        type = lib.types.enum [ "mysql" "pgsql" ];
      }
      // lib.optionalAttrs (builtins.compareVersions config.system.stateVersion "26.05" < 0) {
        default = "mysql";
      }
    );
  };
  config = {
    services.assorted.package = lib.mkIf (lib.versionOlder config.system.stateVersion "25.11") (
      lib.mkOptionDefault (throw "set services.assorted.package")
    );
    assertions = [
      {
        assertion =
          lib.versionAtLeast config.system.stateVersion "24.11"
          || options.services.assorted.package.highestPrio < 1500;
        message = "pin the packages";
      }
    ];
    environment.etc.assorted.text = lib.optionalString (lib.versionAtLeast config.system.stateVersion "22.05") "new-";
  };
}
`,
};

describe('scripts/regen-stateversion-table.mjs', () => {
  let dir: string;
  const write = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  const run = (...extra: string[]): { status: number | null; stdout: string; rows: Row[] } => {
    const out = path.join(dir, 'table.json');
    const r = spawnSync(process.execPath, [SCRIPT, dir, '--out', out, ...extra], { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    const table = JSON.parse(readFileSync(out, 'utf8')) as { count: number; gates: Row[] };
    assert.equal(table.count, table.gates.length);
    return { status: r.status, stdout: r.stdout, rows: table.gates };
  };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nixgen-nixpkgs-'));
    for (const [rel, text] of Object.entries(MODULES)) write(`nixos/modules/${rel}`, text);
    write('nixos/modules/misc/unrelated.nix', '{ ... }: { }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads utils.mkStateRevisionOption: each migration release is a threshold, with what reads the revision', () => {
    const rows = run().rows.filter((g) => g.module.endsWith('revisioned.nix'));
    assert.deepEqual(
      rows.map((g) => [g.line, g.comparison, g.threshold, g.near, g.usedBy]),
      [[10, 'stateRevision', '26.05', 'services.revisioned.stateRevision', ['useNewLocation (>= 1)']]],
    );
  });

  it('reads a chained package default: every threshold, the option it sets, each branch', () => {
    const rows = run().rows.filter((g) => g.module.endsWith('widgetdb.nix'));
    assert.deepEqual(
      rows.map((g) => [g.threshold, g.comparison, g.near, g.then, g.else]),
      [
        ['25.11', 'versionAtLeast', 'services.widgetdb.package', 'pkgs.widgetdb_7', undefined],
        ['24.11', 'versionAtLeast', 'services.widgetdb.package', 'pkgs.widgetdb_6', undefined],
        ['21.11', 'versionAtLeast', 'services.widgetdb.package', 'mkWarn "5" pkgs.widgetdb_5', 'mkThrow "4"'],
      ],
    );
    assert.deepEqual(
      rows.map((g) => g.line),
      [13, 15, 17],
    );
  });

  it('counts a default once: defaultText strings and comments are not gates', () => {
    const rows = run().rows.filter((g) => g.module.endsWith('postbox.nix'));
    assert.deepEqual(
      rows.map((g) => [g.threshold, g.near, g.then, g.else]),
      [['26.05', 'services.postbox.package', 'pkgs.postbox', 'pkgs.postbox_1']],
    );
  });

  it('names what a let-bound flag changes, and finds a comparison split over two lines', () => {
    const rows = run().rows.filter((g) => g.module.endsWith('gallery.nix'));
    assert.deepEqual(
      rows.map((g) => [g.line, g.comparison, g.threshold, g.near, g.usedBy]),
      [
        [4, 'versionOlder', '24.11', 'useLegacyStorage', ['services.gallery.settings.store']],
        [6, 'versionOlder', '26.05', 'useLegacyName', ['services.gallery.dataDir']],
        [18, 'versionOlder', '25.11', 'services.gallery.enableVectors', undefined],
      ],
    );
  });

  it('reads a versionOlder chain on an inherited stateVersion, below the option it sets', () => {
    const rows = run().rows.filter((g) => g.module.endsWith('notes.nix'));
    assert.deepEqual(
      rows.map((g) => [g.line, g.comparison, g.threshold, g.near, g.then, g.else]),
      [
        [16, 'versionOlder', '25.11', 'services.notes.package', 'notes31', undefined],
        [18, 'versionOlder', '26.05', 'services.notes.package', 'notes32', 'notes33'],
      ],
    );
  });

  it('gives a flag bound in let … in around an option to that option', () => {
    const rows = run().rows.filter((g) => g.module.endsWith('relay.nix'));
    assert.deepEqual(
      rows.map((g) => [g.line, g.threshold, g.near, g.flag]),
      [[10, '19.03', 'services.relay.configDir', 'cond']],
    );
  });

  it('reads compareVersions, mkIf around a throwing default, assertions and optionalString', () => {
    const rows = run().rows.filter((g) => g.module.endsWith('assorted.nix'));
    assert.deepEqual(
      rows.map((g) => [g.comparison, g.threshold, g.near]),
      [
        ['compareVersions < 0', '26.05', 'services.assorted.database.type'],
        ['versionOlder', '25.11', 'services.assorted.package'],
        ['versionAtLeast', '24.11', 'assertions'],
        ['versionAtLeast', '22.05', 'environment.etc.assorted.text'],
      ],
    );
  });

  it('compares with the database: new, deliberately left out, moved, and absent apart', () => {
    // Real module paths the database and excluded-gates.json name, with synthetic text: a threshold the
    // database does not have (25.11 for dovecot, as drafts of that module had) and one it leaves out.
    write(
      'nixos/modules/services/mail/dovecot.nix',
      '{ config, lib, pkgs, ... }:\n{\n  options.services.dovecot2.package = lib.mkOption {\n    default = if lib.versionAtLeast config.system.stateVersion "25.11" then pkgs.dovecot else pkgs.dovecot_2_3;\n  };\n}\n',
    );
    write(
      'nixos/modules/services/web-apps/immich.nix',
      '{ config, lib, ... }:\n{\n  options.services.immich.database.enableVectors = lib.mkOption {\n    default = lib.versionOlder config.system.stateVersion "25.11";\n  };\n}\n',
    );
    // The renamed Stalwart module: its storage gate sits in a database entry that opens with a comment.
    write(
      'nixos/modules/services/mail/stalwart.nix',
      '{ config, lib, ... }:\nlet\n  useLegacyStorage = lib.versionOlder config.system.stateVersion "24.11";\nin\n{ }\n',
    );
    write('lib/.version', '26.05\n');
    try {
      const r = run('--check');
      assert.equal(r.status, 1, 'the tree and the database disagree');
      const section = (title: string): string => {
        const start = r.stdout.indexOf(title);
        assert.ok(start >= 0, `section "${title}" in:\n${r.stdout}`);
        const end = r.stdout.indexOf('\n\n', start);
        return r.stdout.slice(start, end < 0 ? undefined : end);
      };
      const fresh = section('not in the database (review');
      assert.match(fresh, /dovecot\.nix:4 versionAtLeast "25\.11" \(services\.dovecot2\.package\) then pkgs\.dovecot/);
      assert.match(fresh, /widgetdb\.nix:13 versionAtLeast "25\.11"/);
      assert.doesNotMatch(fresh, /immich|stalwart/);
      assert.match(section('left out of the database on purpose'), /immich\.nix:4 versionOlder "25\.11"/);
      assert.match(section('not found in this nixpkgs module'), /dovecot\.nix "26\.05"/);
      const absent = section('module not in this tree');
      assert.match(absent, /postgresql\.nix "25\.11"/);
      // lib/.version says 26.05: the 26.11 chain of PostgreSQL is not expected in this tree.
      assert.doesNotMatch(absent, /postgresql\.nix "26\.11"/);
      assert.doesNotMatch(r.stdout, /agree/);
      // Without --check the same report exits 0.
      assert.equal(run().status, 0);
    } finally {
      rmSync(path.join(dir, 'nixos/modules/services/mail/dovecot.nix'));
      rmSync(path.join(dir, 'nixos/modules/services/web-apps/immich.nix'));
      rmSync(path.join(dir, 'nixos/modules/services/mail/stalwart.nix'));
      rmSync(path.join(dir, 'lib/.version'));
    }
  });

  it('refuses a directory that is not nixpkgs', () => {
    const r = spawnSync(process.execPath, [SCRIPT, path.join(dir, 'nixos')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a nixpkgs checkout/);
  });
});
