/**
 * The pin edit on real flake layouts: each result parses with our parser AND with the real `nix-instantiate
 * --parse` (which also rejects undefined variables, so `self`, `lib` and `config` must be in scope), a second run
 * changes nothing, and the label expression is evaluated by real Nix. The CLI runs on real git repositories.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import type { CliIO } from '../../src/cli/io';
import { runProcess } from '../../src/core/exec/process';
import { flakeHostNames, pinModuleText, planPinEdit, PIN_COMMENT } from '../../src/core/deploy/pin';
import { parse } from '../../src/core/nix';
import { cleanEnv } from '../fixtures/fixture';

const NIX_ENV = { ...cleanEnv(), NIX_REMOTE: 'dummy://' };

async function nixParse(text: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-pin-parse-'));
  try {
    const file = path.join(dir, 'flake.nix');
    fs.writeFileSync(file, text);
    const r = await runProcess(['nix-instantiate', '--parse', file], { baseEnv: NIX_ENV });
    assert.equal(r.exitCode, 0, `nix-instantiate --parse rejected:\n${r.stderr}\n${text}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const LAYOUTS: Record<string, { text: string; hosts: string[]; modules?: Record<string, string> }> = {
  'one host, the template layout': {
    hosts: ['box'],
    text: `{
  description = "my machines";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }: {
    nixosConfigurations.box = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [
        ./configuration.nix
      ];
    };
  };
}
`,
  },
  'several hosts, one-line lists, a let': {
    hosts: ['laptop', 'server'],
    text: `{
  inputs = { nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11"; };
  outputs = { self, nixpkgs, ... }:
    let
      system = "x86_64-linux";
    in {
      nixosConfigurations = {
        laptop = nixpkgs.lib.nixosSystem { inherit system; modules = [ ./hosts/laptop.nix ]; };
        server = nixpkgs.lib.nixosSystem {
          inherit system;
          modules = [ ./hosts/server.nix { networking.hostName = "server"; } ];
        };
      };
    };
}
`,
  },
  'modules in other files, one already pinned there': {
    hosts: ['a', 'b'],
    modules: {
      'hosts/a/default.nix': `{ self, ... }: { system.configurationRevision = self.rev or "dirty"; imports = [ ../common.nix ]; }\n`,
      'hosts/b.nix': `{ pkgs, ... }: { environment.systemPackages = [ pkgs.git ]; }\n`,
    },
    text: `{
  outputs = { self, nixpkgs, ... }@inputs: {
    nixosConfigurations.a = nixpkgs.lib.nixosSystem {
      specialArgs = { inherit self; };
      modules = [ ./hosts/a ];
    };
    nixosConfigurations.b = nixpkgs.lib.nixosSystem {
      modules = [ ./hosts/b.nix ];
    };
  };
}
`,
  },
  'self missing from the arguments': {
    hosts: ['box'],
    text: `{
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.box = nixpkgs.lib.nixosSystem { modules = [ ./configuration.nix ]; };
  };
}
`,
  },
  'self missing, multi-line formals': {
    hosts: ['box'],
    text: `{
  outputs =
    {
      nixpkgs,
      home-manager,
      ...
    }:
    {
      nixosConfigurations.box = nixpkgs.lib.nixosSystem {
        modules = [
          ./configuration.nix
          home-manager.nixosModules.home-manager
        ];
      };
    };
}
`,
  },
  'outputs = inputs:': {
    hosts: ['box'],
    text: `{
  outputs = inputs: {
    nixosConfigurations.box = inputs.nixpkgs.lib.nixosSystem {
      modules = [ ./configuration.nix ];
    };
  };
}
`,
  },
  'an existing configurationRevision': {
    hosts: ['box'],
    text: `{
  outputs = { self, nixpkgs }: {
    nixosConfigurations.box = nixpkgs.lib.nixosSystem {
      modules = [
        ./configuration.nix
        { system.configurationRevision = self.rev or "dirty"; }
      ];
    };
  };
}
`,
  },
  'modules built with ++, a variable, no modules, an if': {
    hosts: ['a', 'b', 'c', 'd'],
    text: `{
  outputs = { self, nixpkgs }:
    let
      common = [ ./common.nix ];
    in
    {
      nixosConfigurations.a = nixpkgs.lib.nixosSystem { modules = common ++ [ ./a.nix ]; };
      nixosConfigurations.b = nixpkgs.lib.nixosSystem { modules = common; };
      nixosConfigurations.c = nixpkgs.lib.nixosSystem { system = "aarch64-linux"; };
      nixosConfigurations.d = nixpkgs.lib.nixosSystem {
        modules = if true then common else [ ];
      };
    };
}
`,
  },
  'a helper function for every host': {
    hosts: ['x', 'y'],
    text: `{
  outputs = { self, nixpkgs }:
    let
      mkHost = name: nixpkgs.lib.nixosSystem {
        modules = [ ./hosts/\${name}.nix { networking.hostName = name; } ];
      };
    in {
      nixosConfigurations = nixpkgs.lib.genAttrs [ "x" "y" ] mkHost // { };
    };
}
`,
  },
};

describe('pin: edit real flake layouts', function () {
  this.timeout(60000);

  for (const [name, layout] of Object.entries(LAYOUTS)) {
    it(`${name}: pins, parses with nix-instantiate, and a second run changes nothing`, async () => {
      const files = layout.modules ?? {};
      await nixParse(layout.text);
      const first = planPinEdit(layout.text, { files });
      assert.equal(first.status, 'changed', first.messages.join('\n'));
      assert.deepEqual(parse(first.after).errors, []);
      await nixParse(first.after);
      assert.ok(first.diff.startsWith('--- a/flake.nix\n+++ b/flake.nix\n@@ '), first.diff);
      // only additions (and the bracket of a one-line list moving to its own line)
      const removed = first.diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));
      for (const l of removed) assert.match(l, /\]|\}|modules|outputs|nixpkgs/, `unexpected removal ${l}`);
      assert.ok(first.after.includes(PIN_COMMENT));
      const second = planPinEdit(first.after, { files });
      assert.equal(second.status, 'unchanged', second.diff);
      assert.equal(second.after, first.after);
      assert.equal(second.diff, '');
      if (!name.startsWith('a helper')) {
        assert.deepEqual(
          first.hosts.map((h) => h.name),
          layout.hosts,
        );
      }
    });
  }

  it('uses inputs.self when outputs takes one argument, and adds self to formals when missing', () => {
    const inputs = planPinEdit(LAYOUTS['outputs = inputs:']!.text);
    assert.match(inputs.after, /inputs\.self\.rev or inputs\.self\.dirtyRev or null/);
    const missing = planPinEdit(LAYOUTS['self missing from the arguments']!.text);
    assert.match(missing.after, /outputs = \{ self, nixpkgs, \.\.\. \}:/);
    const multi = planPinEdit(LAYOUTS['self missing, multi-line formals']!.text);
    assert.match(multi.after, /\{\n {6}self,\n {6}nixpkgs,/);
  });

  it('keeps an existing configurationRevision and adds only the label', () => {
    const r = planPinEdit(LAYOUTS['an existing configurationRevision']!.text);
    assert.deepEqual(
      r.hosts.map((h) => [h.revision, h.label]),
      [['present', 'added']],
    );
    assert.equal(r.after.match(/configurationRevision/g)?.length, 1);
    assert.match(r.hosts[0]!.note ?? '', /flake\.nix:6/);
  });

  it('sees a configurationRevision set in a module file', () => {
    const layout = LAYOUTS['modules in other files, one already pinned there']!;
    const r = planPinEdit(layout.text, { files: layout.modules! });
    assert.deepEqual(
      r.hosts.map((h) => [h.name, h.revision, h.label]),
      [
        ['a', 'present', 'added'],
        ['b', 'added', 'added'],
      ],
    );
    assert.match(r.hosts[0]!.note ?? '', /hosts\/a\/default\.nix:1/);
  });

  it('refuses a file that does not parse, naming the place', () => {
    const r = planPinEdit('{ outputs = { self }: { nixosConfigurations.x = nixosSystem { modules = [ ]; ; }\n');
    assert.equal(r.status, 'refused');
    assert.match(r.messages[0]!, /^flake\.nix:1:\d+: /);
    assert.match(r.messages[1]!, /does not parse.*nothing was changed/);
    assert.equal(r.after, r.before);
    const badModule = planPinEdit(LAYOUTS['one host, the template layout']!.text, {
      files: { 'configuration.nix': '{ a = ; }' },
    });
    assert.equal(badModule.status, 'refused');
    assert.match(badModule.messages.join('\n'), /^configuration\.nix:1:\d+: .*\n.*does not parse/);
  });

  it('refuses a flake without nixosSystem, offering the module to add by hand', async () => {
    const r = planPinEdit('{ outputs = { self, flake-parts, ... }: flake-parts.lib.mkFlake { } { }; }\n');
    assert.equal(r.status, 'refused');
    assert.match(r.messages.join('\n'), /no `nixosSystem/);
    const snippet = r.messages[r.messages.length - 1]!;
    await nixParse(`{ self }: [\n${snippet}\n]\n`);
  });

  it('finds host names for the rebuild picker', () => {
    assert.deepEqual(flakeHostNames(LAYOUTS['several hosts, one-line lists, a let']!.text), ['laptop', 'server']);
    assert.deepEqual(flakeHostNames(LAYOUTS['one host, the template layout']!.text), ['box']);
    assert.equal(flakeHostNames(LAYOUTS['a helper function for every host']!.text), null);
    assert.equal(flakeHostNames('{ broken'), null);
  });
});

describe('pin: the module evaluates in real Nix', function () {
  this.timeout(60000);
  // Just enough of nixpkgs' lib, written with builtins, to evaluate the module as NixOS would call it.
  const LIB = `{
    concatStringsSep = builtins.concatStringsSep;
    sort = builtins.sort;
    lessThan = a: b: a < b;
    optional = c: x: if c then [ x ] else [ ];
    concatMapStrings = f: l: builtins.concatStringsSep "" (map f l);
    stringToCharacters = s: builtins.genList (i: builtins.substring i 1 s) (builtins.stringLength s);
  }`;

  async function evaluate(selfExpr: string): Promise<{ rev: string | null; label: string }> {
    const module = pinModuleText('self', { revision: true, label: true }, '');
    const expr = `let self = ${selfExpr}; lib = ${LIB}; m = ${module}; r = m { inherit lib; config.system.nixos = { tags = [ "zeta" "alpha" ]; version = "24.11.20250224.0e2dba1"; }; }; in { rev = r.system.configurationRevision; label = r.system.nixos.label; }`;
    const out = await runProcess(['nix-instantiate', '--eval', '--strict', '--json', '-E', expr], { baseEnv: NIX_ENV });
    assert.equal(out.exitCode, 0, out.stderr);
    return JSON.parse(out.stdout) as { rev: string | null; label: string };
  }

  it('labels a clean tree with the short revision', async () => {
    assert.deepEqual(await evaluate('{ rev = "80c6fb3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; shortRev = "80c6fb3"; }'), {
      rev: '80c6fb3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      label: 'alpha-zeta-24.11.20250224.0e2dba1-80c6fb3',
    });
  });
  it('labels a dirty tree with dirtyShortRev', async () => {
    assert.deepEqual(await evaluate('{ dirtyRev = "80c6fb3aaaa-dirty"; dirtyShortRev = "80c6fb3-dirty"; }'), {
      rev: '80c6fb3aaaa-dirty',
      label: 'alpha-zeta-24.11.20250224.0e2dba1-80c6fb3-dirty',
    });
  });
  it('leaves the default label alone outside git', async () => {
    assert.deepEqual(await evaluate('{ }'), { rev: null, label: 'alpha-zeta-24.11.20250224.0e2dba1' });
  });
  it('sanitises to [a-zA-Z0-9:_.-]', async () => {
    const r = await evaluate(`{ rev = "x"; shortRev = "a b$(c);\\"d'e/f"; }`);
    assert.equal(r.label, 'alpha-zeta-24.11.20250224.0e2dba1-a_b__c___d_e_f');
    assert.match(r.label, /^[a-zA-Z0-9:_.-]+$/);
  });
});

describe('nixos-generations pin (CLI) on real git repositories', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "nixgen pin 'cli' ")));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function io(cwd: string) {
    const out: string[] = [];
    const err: string[] = [];
    const cli: CliIO = { out: (t) => out.push(t), err: (t) => err.push(t), cwd, env: process.env };
    return { cli, out, err };
  }
  async function git(...args: string[]) {
    const r = await runProcess(['git', ...args], {
      cwd: dir,
      env: {
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@x',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@x',
      },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout;
  }

  it('prints the diff with --dry-run and changes nothing, then pins, then changes nothing', async () => {
    const flake = path.join(dir, 'flake.nix');
    fs.writeFileSync(flake, LAYOUTS['several hosts, one-line lists, a let']!.text);
    fs.chmodSync(flake, 0o640);
    await git('init', '-q');
    await git('add', 'flake.nix');
    await git('commit', '-qm', 'init');
    const before = fs.readFileSync(flake, 'utf8');

    const dry = io('/');
    assert.equal(await main(['pin', dir, '--dry-run'], dry.cli), 0);
    assert.match(dry.out.join(''), /^--- a\/flake\.nix\n\+\+\+ b\/flake\.nix\n/);
    assert.match(dry.err.join(''), /dry run/);
    assert.equal(fs.readFileSync(flake, 'utf8'), before);
    assert.equal(await git('status', '--porcelain'), '');

    const real = io(dir);
    assert.equal(await main(['pin'], real.cli), 0);
    assert.equal(real.out.join(''), dry.out.join(''), 'the dry run showed exactly this edit');
    const after = fs.readFileSync(flake, 'utf8');
    assert.notEqual(after, before);
    assert.equal(fs.statSync(flake).mode & 0o777, 0o640, 'mode kept');
    await nixParse(after);
    const gitDiff = await git('diff', '--stat');
    assert.match(gitDiff, /flake\.nix \| \d+ \+/);

    const again = io(dir);
    assert.equal(await main(['pin', '.'], again.cli), 0);
    assert.equal(again.out.join(''), '');
    assert.match(again.err.join(''), /already pins the commit/);
    assert.equal(fs.readFileSync(flake, 'utf8'), after);
  });

  it('explains the impure route for a classic configuration', async () => {
    fs.writeFileSync(path.join(dir, 'configuration.nix'), '{ ... }: { }\n');
    const r = io(dir);
    assert.equal(await main(['pin'], r.cli), 1);
    assert.match(r.err.join(''), /not a flake.*\n(.*\n)*.*NIXOS_CONFIGURATION_REVISION/);
    assert.equal(fs.readFileSync(path.join(dir, 'configuration.nix'), 'utf8'), '{ ... }: { }\n');
  });

  it('refuses a broken flake with its position', async () => {
    fs.writeFileSync(path.join(dir, 'flake.nix'), '{ outputs = { self }: {\n  x = ;\n}; }\n');
    const r = io(dir);
    assert.equal(await main(['pin', path.join(dir, 'flake.nix')], r.cli), 1);
    assert.match(r.err.join(''), /flake\.nix:2:\d+: /);
  });
});
