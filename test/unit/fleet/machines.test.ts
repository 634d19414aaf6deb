/**
 * The machines of a workspace: the flake's deploy-rs nodes, colmena hive or nixosConfigurations (read statically
 * from flakes written in the shape those tools document: deploy-rs 1.0, colmena 0.4; no nixpkgs is reachable here),
 * and the machine-scoped setting, which wins. Targets pass the host validation; a host without one stays listed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readFlakeFleet } from '../../../src/core/fleet/deploy';
import {
  machineTarget,
  parseMachinesSetting,
  parseSshTarget,
  readWorkspaceFleet,
  workspaceMachines,
} from '../../../src/core/fleet/machines';
import { sourceTreeOf } from '../../../src/core/hosts';
import { readSettings } from '../../../src/core/settings';

const DEPLOY_RS_FLAKE = `{
  outputs = { self, nixpkgs, deploy-rs }: {
    nixosConfigurations.web = nixpkgs.lib.nixosSystem { modules = [ ./web.nix ]; };
    nixosConfigurations.db = nixpkgs.lib.nixosSystem { modules = [ ./db.nix ]; };
    deploy.nodes.web = { hostname = "web.example.org"; sshUser = "admin"; profiles.system.path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.web; };
    deploy.nodes.db = { hostname = "10.0.0.5"; profiles.system.path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.db; };
  };
}
`;

const COLMENA_FLAKE = `{
  outputs = { nixpkgs, ... }: {
    colmena = {
      meta.nixpkgs = import nixpkgs { system = "x86_64-linux"; };
      web = { name, nodes, pkgs, ... }: { deployment.targetHost = "web.example.org"; deployment.targetUser = "ops"; };
      cache = { deployment.tags = [ "edge" ]; };
    };
  };
}
`;

const PLAIN_FLAKE = `{
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.laptop = nixpkgs.lib.nixosSystem { modules = [ ./laptop.nix ]; };
    nixosConfigurations.nas = nixpkgs.lib.nixosSystem { modules = [ ./nas.nix ]; };
  };
}
`;

const fleetOf = (text: string, hosts: string[] = []) =>
  readFlakeFleet('/repo/flake.nix', sourceTreeOf(new Map([['/repo/flake.nix', text]])), hosts);

describe('fleet: the machines of a workspace', () => {
  it('parses ssh targets with users, ports and bracketed addresses, and refuses option-like hosts', () => {
    assert.deepEqual(parseSshTarget('root@web'), { destination: 'root@web' });
    assert.deepEqual(parseSshTarget(' admin@web.example.org:2222 '), {
      destination: 'admin@web.example.org',
      port: 2222,
    });
    assert.deepEqual(parseSshTarget('root@[fe80::1]:22'), { destination: 'root@fe80::1', port: 22 });
    assert.match(parseSshTarget('-oProxyCommand=touch /tmp/x') as string, /starts with "-"/);
    assert.match(parseSshTarget('root@web:70000') as string, /between 1 and 65535/);
    assert.match(parseSshTarget('root@${env:HOME}') as string, /\$\{/);
    assert.match(parseSshTarget('') as string, /empty/);
  });

  it('reads the setting as host -> target, keeping only string values', () => {
    assert.deepEqual(parseMachinesSetting({ a: 'root@a', b: 3 }), {
      targets: { a: 'root@a' },
      problems: ['nixosGenerations.machines.b is not a string'],
    });
    assert.equal(parseMachinesSetting(['root@a']).problems.length, 1);
    assert.deepEqual(parseMachinesSetting(undefined), { targets: {}, problems: [] });
    const settings = readSettings((key) => (key === 'machines' ? { web: 'root@web', bad: null } : undefined));
    assert.deepEqual(settings.machines, { web: 'root@web' });
  });

  it('takes deploy-rs nodes with their ssh user, and lets the setting replace one target', () => {
    const machines = workspaceMachines({
      setting: { db: 'root@db.internal:2200', extra: 'root@10.1.1.1' },
      fleet: fleetOf(DEPLOY_RS_FLAKE),
    });
    assert.deepEqual(
      machines.map((m) => [m.name, m.destination, m.port ?? null, m.source]),
      [
        ['db', 'root@db.internal', 2200, 'setting'],
        ['extra', 'root@10.1.1.1', null, 'setting'],
        ['web', 'admin@web.example.org', null, 'deploy-rs'],
      ],
    );
  });

  it("takes a colmena hive's targetHost and targetUser, and colmena's defaults (the node name, root)", () => {
    const machines = workspaceMachines({ setting: {}, fleet: fleetOf(COLMENA_FLAKE) });
    assert.deepEqual(
      machines.map((m) => [m.name, m.destination, m.source]),
      [
        ['cache', 'root@cache', 'colmena'],
        ['web', 'ops@web.example.org', 'colmena'],
      ],
    );
  });

  it('lists nixosConfigurations hosts without a target with the way to give one, leaving out this machine', () => {
    const machines = workspaceMachines({
      setting: {},
      fleet: fleetOf(PLAIN_FLAKE, ['laptop', 'nas']),
      localHostName: 'laptop',
    });
    assert.equal(machines.length, 1);
    assert.equal(machines[0]!.name, 'nas');
    assert.equal(machines[0]!.destination, null);
    assert.match(machines[0]!.problem!, /add "nas": "user@host" to nixosGenerations\.machines/);
    assert.equal(machineTarget(machines[0]!), null);
    const single = fleetOf(PLAIN_FLAKE.replace(/\n.*nas.*\n/, '\n'), ['laptop']);
    assert.deepEqual(workspaceMachines({ setting: {}, fleet: single, localHostName: 'desk' }), []);
    assert.equal(workspaceMachines({ setting: { laptop: 'root@laptop' }, fleet: single }).length, 1);
  });

  it('lists the machines an untrusted flake names without contacting them; the setting still counts', () => {
    const machines = workspaceMachines({ setting: { db: 'root@db' }, fleet: fleetOf(DEPLOY_RS_FLAKE), trusted: false });
    const web = machines.find((m) => m.name === 'web')!;
    assert.equal(web.destination, null);
    assert.match(
      web.problem!,
      /not contacted: the workspace is not trusted \(its flake names admin@web\.example\.org\)/,
    );
    assert.equal(machineTarget(web), null);
    assert.equal(machines.find((m) => m.name === 'db')!.destination, 'root@db');
  });

  it('reads the machines of a flake directory from its files, and nothing from a directory without a flake', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fleet-dir-'));
    try {
      assert.equal(await readWorkspaceFleet(dir), null);
      fs.writeFileSync(path.join(dir, 'flake.nix'), COLMENA_FLAKE);
      const fleet = await readWorkspaceFleet(dir);
      assert.equal(fleet?.engine, 'colmena');
      assert.deepEqual(fleet?.nodes.map((n) => n.name).sort(), ['cache', 'web']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a refused target listed with the reason, and never builds an ssh target from it', () => {
    const [bad] = workspaceMachines({ setting: { evil: '-oProxyCommand=sh' }, fleet: null });
    assert.equal(bad!.destination, null);
    assert.match(bad!.problem!, /starts with "-"/);
    assert.equal(machineTarget(bad!), null);
    const [good] = workspaceMachines({ setting: { ok: 'root@ok:2022' }, fleet: null });
    assert.deepEqual(machineTarget(good!, ['-i', 'key']), {
      kind: 'ssh',
      host: 'root@ok',
      port: 2022,
      sshArgs: ['-i', 'key'],
      reuse: true,
    });
  });
});
