/**
 * Deploying many machines through deploy-rs, colmena or nixos-rebuild: the nodes read statically from flakes written
 * the way those tools document them (deploy-rs 1.0 `deploy.nodes`, colmena 0.4 hive with `deployment.*`; no nixpkgs
 * or engine is reachable here, so the flakes are our own in their shape), and the argv handed to each engine checked
 * against what fake `deploy`, `colmena` and `nixos-rebuild` executables recorded when run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deploySummary, planDeploy, readFlakeFleet, runDeploy, type DeployStep } from '../../../src/core/fleet/deploy';
import { runProcess } from '../../../src/core/exec/process';
import { sourceTreeOf } from '../../../src/core/hosts';

const DEPLOY_RS_FLAKE = `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
  inputs.deploy-rs.url = "github:serokell/deploy-rs";
  outputs = { self, nixpkgs, deploy-rs }: let
    node = host: {
      hostname = "\${host}.example.org";
      profiles.system = {
        user = "root";
        path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.\${host};
      };
    };
  in {
    nixosConfigurations.web = nixpkgs.lib.nixosSystem { system = "x86_64-linux"; modules = [ ./web.nix ]; };
    nixosConfigurations.db = nixpkgs.lib.nixosSystem { system = "x86_64-linux"; modules = [ ./db.nix ]; };
    deploy.nodes.web = { hostname = "web.example.org"; sshUser = "admin"; profiles.system.path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.web; };
    deploy.nodes.db = node "db";
    checks = builtins.mapAttrs (system: deployLib: deployLib.deployChecks self.deploy) deploy-rs.lib;
  };
}
`;

const COLMENA_FLAKE = `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
  outputs = { nixpkgs, ... }: {
    colmena = {
      meta.nixpkgs = import nixpkgs { system = "x86_64-linux"; };
      defaults = { pkgs, ... }: { environment.systemPackages = [ pkgs.vim ]; };
      web = { name, nodes, pkgs, ... }: {
        deployment.targetHost = "web.example.org";
        deployment.targetUser = "admin";
        imports = [ ./web.nix ];
      };
      db = { deployment = { targetHost = "10.0.0.5"; tags = [ "data" ]; }; imports = [ ./db.nix ]; };
    };
  };
}
`;

const PLAIN_FLAKE = `{
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.web = nixpkgs.lib.nixosSystem { modules = [ ./web.nix ]; };
  };
}
`;

const fleetOf = (text: string, hosts: string[] = []) =>
  readFlakeFleet('/repo/flake.nix', sourceTreeOf(new Map([['/repo/flake.nix', text]])), hosts);

describe('fleet: deploy through deploy-rs, colmena or nixos-rebuild', () => {
  let bin = '';
  let log = '';
  before(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fake-engines-'));
    log = path.join(bin, 'calls.log');
    for (const name of ['deploy', 'colmena', 'nixos-rebuild']) {
      // records its argv, one word a line, and fails for a target named "broken"
      fs.writeFileSync(
        path.join(bin, name),
        `#!/bin/sh\n{ echo "$0"; for a in "$@"; do echo "$a"; done; echo --; } >> "${log}"\ncase "$*" in *broken*) exit 7 ;; esac\nexit 0\n`,
        { mode: 0o755 },
      );
    }
  });
  after(() => fs.rmSync(bin, { recursive: true, force: true }));
  beforeEach(() => fs.rmSync(log, { force: true }));
  const calls = (): string[][] =>
    fs
      .readFileSync(log, 'utf8')
      .split('--\n')
      .filter(Boolean)
      .map((c) => {
        const [exe, ...argv] = c.trim().split('\n');
        return [path.basename(exe!), ...argv];
      });
  const runWithFakes = (step: DeployStep) =>
    runProcess([path.join(bin, step.argv[0]!), ...step.argv.slice(1)], { cwd: bin });

  it('reads deploy-rs nodes (hostname, sshUser), also through a helper, and hands deploy one call', async () => {
    const fleet = fleetOf(DEPLOY_RS_FLAKE);
    assert.equal(fleet.engine, 'deploy-rs');
    assert.deepEqual(fleet.nodes, [
      { name: 'web', hostname: 'web.example.org', user: 'admin' },
      { name: 'db', hostname: 'db.example.org', user: null },
    ]);
    const steps = planDeploy(fleet, ['web', 'db']);
    assert.ok(Array.isArray(steps));
    const outcomes = await runDeploy(steps, { run: runWithFakes });
    assert.deepEqual(calls(), [['deploy', '--targets', '.#web', '.#db']]);
    assert.match(deploySummary(outcomes), /web: deployed\n {2}db: deployed\n2 of 2 machines deployed/);
  });

  it('reads a colmena hive (modules as functions or sets) and hands colmena apply --on', async () => {
    const fleet = fleetOf(COLMENA_FLAKE);
    assert.equal(fleet.engine, 'colmena');
    assert.deepEqual(fleet.nodes, [
      { name: 'web', hostname: 'web.example.org', user: 'admin' },
      { name: 'db', hostname: '10.0.0.5', user: 'root' },
    ]);
    const steps = planDeploy(fleet, ['db', 'web']);
    assert.ok(Array.isArray(steps));
    await runDeploy(steps, { run: runWithFakes });
    assert.deepEqual(calls(), [['colmena', 'apply', '--on', 'db,web']]);
  });

  it('otherwise nixos-rebuild per machine, a few at once, stopping at the first failure unless told', async () => {
    const fleet = fleetOf(PLAIN_FLAKE, ['web', 'broken', 'db', 'mail']);
    assert.equal(fleet.engine, 'nixos-rebuild');
    const targets = { web: 'root@10.0.0.1', broken: 'root@10.0.0.9', db: 'admin@10.0.0.5', mail: 'root@10.0.0.7' };
    const steps = planDeploy(fleet, ['web', 'broken', 'db', 'mail'], { targets, remoteSudo: true });
    assert.ok(Array.isArray(steps));
    assert.deepEqual(steps[2]!.argv, [
      'nixos-rebuild',
      'switch',
      '--flake',
      '.#db',
      '--target-host',
      'admin@10.0.0.5',
      '--use-remote-sudo',
    ]);
    const stopped = await runDeploy(steps, { run: runWithFakes, parallel: 1 });
    assert.deepEqual(
      stopped.map((o) => o.status),
      ['ok', 'failed', 'skipped', 'skipped'],
    );
    assert.equal(calls().length, 2);
    assert.match(deploySummary(stopped), /broken: FAILED \(exit 7\)\n {2}db: not started/);
    fs.rmSync(log);
    const all = await runDeploy(steps, { run: runWithFakes, parallel: 2, keepGoing: true });
    assert.deepEqual(
      all.map((o) => o.status),
      ['ok', 'failed', 'ok', 'ok'],
    );
    assert.deepEqual(
      calls()
        .map((c) => c[3])
        .sort(),
      ['.#broken', '.#db', '.#mail', '.#web'],
    );
  });

  it('refuses what must not reach an engine', () => {
    const fleet = fleetOf(DEPLOY_RS_FLAKE);
    assert.match(String(planDeploy(fleet, ['mail'])), /not a deploy-rs node/);
    assert.match(String(planDeploy(fleet, ['--help'])), /not a node name/);
    assert.match(String(planDeploy(fleet, [])), /no machine selected/);
    const plain = fleetOf(PLAIN_FLAKE, ['web']);
    assert.match(String(planDeploy(plain, ['web'])), /no ssh target for web/);
    assert.match(String(planDeploy(plain, ['web'], { targets: { web: '-oProxyCommand=x' } })), /starts with "-"/);
  });
});
