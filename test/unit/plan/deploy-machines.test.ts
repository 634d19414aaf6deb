/**
 * Deploy Machines: the flake read from disk (deploy-rs 1.0 nodes, a colmena 0.4 hive, plain nixosConfigurations; our
 * own flakes in those tools' documented shapes, no engine is installable here), the machines offered, the programs
 * from the machine-scoped settings, and the argv that fake `deploy` / `colmena` / `nixos-rebuild` executables
 * recorded when the plan's steps ran through the real runner.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run as deployCli } from '../../../src/cli/commands/deploy';
import { readFlakeFleetAt, runDeploy } from '../../../src/core/fleet/deploy';
import { workspaceMachines } from '../../../src/core/fleet/machines';
import { deployChoices, deployReport, planDeployMachines } from '../../../src/core/plan/deploy-machines';

const DEPLOY_RS = `{
  inputs.deploy-rs.url = "github:serokell/deploy-rs";
  outputs = { self, nixpkgs, deploy-rs }: {
    nixosConfigurations.web = nixpkgs.lib.nixosSystem { modules = [ ./web.nix ]; };
    deploy.nodes.web = { hostname = "web.example.org"; sshUser = "admin"; profiles.system.path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.web; };
    deploy.nodes.db = { hostname = "db.example.org"; profiles.system.path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.db; };
  };
}
`;
const COLMENA = `{
  outputs = { nixpkgs, ... }: {
    colmena = {
      meta.nixpkgs = import nixpkgs { system = "x86_64-linux"; };
      web = { deployment.targetHost = "web.example.org"; imports = [ ./web.nix ]; };
      db = { name, ... }: { deployment.targetHost = "10.0.0.5"; };
    };
  };
}
`;
const PLAIN = `{
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.web = nixpkgs.lib.nixosSystem { modules = [ ./web.nix ]; };
    nixosConfigurations.db = nixpkgs.lib.nixosSystem { modules = [ ./db.nix ]; };
    nixosConfigurations.broken = nixpkgs.lib.nixosSystem { modules = [ ./db.nix ]; };
    nixosConfigurations.laptop = nixpkgs.lib.nixosSystem { modules = [ ./laptop.nix ]; };
  };
}
`;

const SETTINGS = {
  rebuildCommand: 'nixos-rebuild',
  deployRsCommand: 'deploy',
  colmenaCommand: 'colmena',
  deployParallel: 4,
  deployKeepGoing: false,
  elevation: 'sudo' as const,
};

describe('plan: deploy machines', () => {
  let dir = '';
  let log = '';
  let bin = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-deploy-machines-'));
    bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    log = path.join(dir, 'calls.log');
    for (const name of ['deploy', 'colmena', 'nixos-rebuild']) {
      fs.writeFileSync(
        path.join(bin, name),
        `#!/bin/sh\n{ echo "$0"; for a in "$@"; do echo "$a"; done; echo --; } >> "${log}"\ncase "$*" in *broken*) exit 7 ;; esac\n`,
        { mode: 0o755 },
      );
    }
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const calls = (): string[][] =>
    (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')
      .split('--\n')
      .filter(Boolean)
      .map((c) => {
        const [exe, ...argv] = c.trim().split('\n');
        return [path.basename(exe!), ...argv];
      });
  const flake = (text: string): void => fs.writeFileSync(path.join(dir, 'flake.nix'), text);
  const fromSettings = {
    ...SETTINGS,
    deployRsCommand: '', // filled per test with the fake's absolute path
  };

  it('deploy-rs: one deploy call with the settings executable, its magic rollback left on', async () => {
    flake(DEPLOY_RS);
    const fleet = await readFlakeFleetAt(dir);
    const machines = workspaceMachines({ setting: {}, fleet });
    assert.deepEqual(
      deployChoices(fleet, machines).map((c) => [c.name, c.description]),
      [
        ['web', 'admin@web.example.org'],
        ['db', 'db.example.org'],
      ],
    );
    const plan = planDeployMachines({
      fleet,
      machines,
      selection: ['web', 'db'],
      flake: dir,
      settings: { ...fromSettings, deployRsCommand: path.join(bin, 'deploy') },
    });
    assert.ok(typeof plan !== 'string', String(plan));
    assert.equal(plan.confirm.message, 'Deploy 2 machines?');
    assert.match(plan.confirm.detail, /deploy-rs .*magic rollback/);
    assert.equal(plan.confirm.command, `${path.join(bin, 'deploy')} --targets '${dir}#web' '${dir}#db'`);
    const outcomes = await runDeploy(plan.steps, { parallel: plan.parallel, cwd: dir });
    assert.deepEqual(calls(), [['deploy', '--targets', `${dir}#web`, `${dir}#db`]]);
    assert.deepEqual(deployReport(outcomes), {
      level: 'info',
      message: 'NixOS Generations: 2 machines deployed.',
      lines: ['web: deployed', 'db: deployed'],
    });
  });

  it('colmena: one colmena apply --on with the selection', async () => {
    flake(COLMENA);
    const fleet = await readFlakeFleetAt(dir);
    const plan = planDeployMachines({
      fleet,
      machines: workspaceMachines({ setting: {}, fleet }),
      selection: ['db'],
      flake: dir,
      settings: { ...SETTINGS, colmenaCommand: path.join(bin, 'colmena') },
    });
    assert.ok(typeof plan !== 'string', String(plan));
    assert.equal(plan.confirm.action, 'Deploy');
    await runDeploy(plan.steps, { cwd: dir });
    assert.deepEqual(calls(), [['colmena', 'apply', '--on', 'db']]);
  });

  it('nixos-rebuild per machine: targets from the setting, root@ without sudo, a port refused, stop at a failure', async () => {
    flake(PLAIN);
    const fleet = await readFlakeFleetAt(dir);
    assert.equal(fleet.engine, 'nixos-rebuild');
    const machines = workspaceMachines({
      setting: { web: 'root@10.0.0.1', db: 'ops@10.0.0.5', broken: 'root@10.0.0.9', mail: 'root@10.0.0.7:2222' },
      fleet,
      localHostName: 'laptop',
    });
    const choices = deployChoices(fleet, machines);
    assert.deepEqual(
      choices.map((c) => [c.name, c.problem === null]),
      [
        ['broken', true],
        ['db', true],
        ['laptop', false],
        ['mail', false],
        ['web', true],
      ],
    );
    assert.match(
      String(planDeployMachines({ fleet, machines, selection: ['mail'], flake: dir, settings: SETTINGS })),
      /mail: nixos-rebuild --target-host takes no port/,
    );
    const settings = { ...SETTINGS, rebuildCommand: path.join(bin, 'nixos-rebuild'), deployParallel: 1 };
    const plan = planDeployMachines({
      fleet,
      machines,
      selection: ['web', 'broken', 'db'],
      flake: dir,
      settings,
    });
    assert.ok(typeof plan !== 'string', String(plan));
    assert.match(plan.confirm.detail, /at most 1 at once; no new one starts after a failure/);
    const outcomes = await runDeploy(plan.steps, { parallel: plan.parallel, keepGoing: plan.keepGoing, cwd: dir });
    assert.deepEqual(calls(), [
      ['nixos-rebuild', 'switch', '--flake', `${dir}#web`, '--target-host', 'root@10.0.0.1'],
      ['nixos-rebuild', 'switch', '--flake', `${dir}#broken`, '--target-host', 'root@10.0.0.9'],
    ]);
    const report = deployReport(outcomes);
    assert.equal(report.level, 'error');
    assert.equal(report.message, 'NixOS Generations: 1 of 3 machines deployed; failed: broken; not started: 1.');
    assert.deepEqual(report.lines, [
      'web: deployed',
      'broken: FAILED (exit 7)',
      'db: not started (an earlier one failed)',
    ]);
    // told to go on: the third one runs too, with sudo on the other side for a non-root login
    fs.rmSync(log);
    const going = planDeployMachines({
      fleet,
      machines,
      selection: ['broken', 'db'],
      flake: dir,
      settings: { ...settings, deployKeepGoing: true },
    });
    assert.ok(typeof going !== 'string');
    await runDeploy(going.steps, { parallel: going.parallel, keepGoing: going.keepGoing, cwd: dir });
    assert.deepEqual(calls()[1], [
      'nixos-rebuild',
      'switch',
      '--flake',
      `${dir}#db`,
      '--target-host',
      'ops@10.0.0.5',
      '--use-remote-sudo',
    ]);
  });

  it('nixos-generations deploy: the same plan from the command line, engines from PATH, a summary and the exit code', async () => {
    flake(PLAIN);
    let out = '';
    let err = '';
    const io = {
      out: (t: string) => (out += t),
      err: (t: string) => (err += t),
      cwd: dir,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    };
    const args = ['--target', 'web=root@10.0.0.1', '--target', 'broken=root@10.0.0.9', '--parallel', '1', '--yes'];
    assert.equal(await deployCli(['web', 'broken', ...args], io), 1, err);
    assert.deepEqual(calls(), [
      ['nixos-rebuild', 'switch', '--flake', `${dir}#web`, '--target-host', 'root@10.0.0.1'],
      ['nixos-rebuild', 'switch', '--flake', `${dir}#broken`, '--target-host', 'root@10.0.0.9'],
    ]);
    assert.match(out, /web: deployed\nbroken: FAILED \(exit 7\)\n1 of 2 machines deployed; failed: broken\./);
    // without a node: every machine with a target (db and laptop have none); JSON
    fs.rmSync(log);
    out = '';
    assert.equal(await deployCli(['--target', 'web=root@10.0.0.1', '--yes', '--json'], io), 0, err);
    assert.deepEqual(
      (JSON.parse(out) as Array<{ nodes: string[]; status: string }>).map((o) => [o.nodes, o.status]),
      [[['web'], 'ok']],
    );
    // not a terminal and no --yes: nothing runs
    fs.rmSync(log);
    assert.equal(await deployCli(['web', '--target', 'web=root@10.0.0.1'], io), 1);
    assert.equal(fs.existsSync(log), false);
    assert.match(err, /pass --yes/);
  });
});
