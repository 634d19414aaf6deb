/**
 * The explorer's fleet data against real machines (systemd as PID 1, sshd, each its own system profile of
 * NixOS-shaped generations): the machines of a flake with deploy-rs nodes and of the setting, read side by side
 * into the store the tree draws; each machine arrives on its own, a mute one (TCP without ssh) and a refused one
 * end up unreachable with the reason and their last-seen time, after the ones that answered; drift against HEAD.
 * The tree itself draws these rows in the extension host (test/vscode/fleet.test.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { openRepository } from '../../src/core/exec/git';
import { readWorkspaceFleet, workspaceMachines, type FleetMachine } from '../../src/core/fleet/machines';
import { closeSharedConnections } from '../../src/core/target';
import {
  describeMachine,
  fleetMachineKey,
  fleetSummaryOf,
  readFleet,
  updateLastSeen,
  type LastSeenBook,
} from '../../src/core/fleet/view';
import { GenerationsStore, type MachineData } from '../../src/core/model/store';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, stopMachines, type Machine } from '../lib/machines';

describe('fleet view data on real machines', function () {
  this.timeout(240_000);
  const names = ['vweb', 'vdb'];
  let machines: Machine[] = [];
  let work = '';
  let repo = '';
  let commits: string[] = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fleet-view-'));
    repo = path.join(work, 'flake');
    fs.mkdirSync(repo);
    const git = (...a: string[]): string =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...a], {
        cwd: repo,
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    for (const n of [1, 2, 3]) {
      // deploy-rs nodes, as its README writes them; the targets are the test machines' addresses
      fs.writeFileSync(
        path.join(repo, 'flake.nix'),
        `{
  outputs = { self, nixpkgs, deploy-rs }: {
    # revision ${n}
    nixosConfigurations.vweb = nixpkgs.lib.nixosSystem { modules = [ ./vweb.nix ]; };
    nixosConfigurations.vdb = nixpkgs.lib.nixosSystem { modules = [ ./vdb.nix ]; };
    deploy.nodes.vweb = { hostname = "10.99.6.2"; sshUser = "root"; profiles.system.path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.vweb; };
    deploy.nodes.vdb = { hostname = "10.99.7.2"; sshUser = "root"; profiles.system.path = deploy-rs.lib.x86_64-linux.activate.nixos self.nixosConfigurations.vdb; };
  };
}
`,
      );
      git('add', '.');
      git('commit', '-q', '-m', `commit ${n}`);
      commits.push(git('rev-parse', 'HEAD'));
    }
    // vweb runs the first commit (2 behind), vdb runs HEAD
    const revs = [commits[0]!, commits[2]!];
    const specs = names.flatMap((host, i) => [
      { host, n: 1, release: '24.05' as const, address: `10.99.${i + 6}.2/24` },
      { host, n: 2, address: `10.99.${i + 6}.2/24`, rev: revs[i]! },
    ]);
    const paths = buildFleetSystems(specs);
    const profiles = names.map((host, i) => makeFleetProfile(path.join(work, host), paths.slice(i * 2, i * 2 + 2)));
    machines = await bootMachines(names.map((name, i) => ({ name, idx: i + 6, binds: fleetBinds(profiles[i]!) })));
    for (const m of machines) await installFleetProfile(m);
  });

  after(async () => {
    for (const m of machines) {
      await closeSharedConnections({ kind: 'ssh', host: m.destination, sshArgs: m.sshArgs, reuse: true }).catch(
        () => undefined,
      );
    }
    await stopMachines(machines);
    if (work) fs.rmSync(work, { recursive: true, force: true });
    commits = [];
  });

  it('reads each machine of the flake and the setting into the store, the mute and refused ones last, with why and when last seen', async () => {
    // accepts TCP and never speaks ssh (a hung machine); and a port nothing listens on
    const mute = net.createServer(() => undefined);
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const mutePort = (mute.address() as net.AddressInfo).port;
      const fleet = await readWorkspaceFleet(repo);
      assert.equal(fleet?.engine, 'deploy-rs');
      const list: FleetMachine[] = workspaceMachines({
        setting: { hung: `root@127.0.0.1:${mutePort}`, off: `root@127.0.0.1:${closedPort}` },
        fleet,
        trusted: true,
      });
      assert.deepEqual(
        list.map((m) => [m.name, m.destination, m.source]),
        [
          ['hung', 'root@127.0.0.1', 'setting'],
          ['off', 'root@127.0.0.1', 'setting'],
          ['vdb', 'root@10.99.7.2', 'deploy-rs'],
          ['vweb', 'root@10.99.6.2', 'deploy-rs'],
        ],
      );
      // "hung" was seen yesterday (the record the editor keeps between sessions)
      const yesterday = Date.now() - 86_400_000;
      const book: LastSeenBook = { [fleetMachineKey(list[0]!)]: { at: yesterday, hostname: 'hung-1' } };
      const store = new GenerationsStore();
      const arrivals: string[] = [];
      const { repo: git } = await openRepository(repo);
      const results = await readFleet(
        list,
        (key) => store.get(key),
        (data) => {
          store.set(data);
          if (data.remote!.status !== 'loading') arrivals.push(data.remote!.name);
        },
        { sshArgs: machines[0]!.sshArgs, timeoutMs: 15_000, lastSeen: book, ...(git ? { repo: git } : {}) },
      );
      assert.equal(results.length, 4);
      // the two real machines answered before the mute one gave up
      assert.ok(arrivals.indexOf('hung') > arrivals.indexOf('vweb'), arrivals.join(','));
      assert.ok(arrivals.indexOf('hung') > arrivals.indexOf('vdb'), arrivals.join(','));

      const byName = (name: string): MachineData => results.find((d) => d.remote!.name === name)!;
      const web = byName('vweb');
      assert.equal(web.remote!.status, 'reachable');
      assert.equal(web.remote!.hostname, 'vweb');
      assert.equal(describeMachine(web.remote!), '2 commits behind');
      const gens = web.listings[0]!.generations;
      assert.deepEqual(
        gens.map((g) => [g.generation, g.activated, g.current, g.booted, g.kernelVersion]),
        [
          [1, false, false, false, '6.6.41'],
          [2, true, true, true, '6.6.66'],
        ],
      );
      assert.equal(gens[1]!.configurationRevision, commits[0]);
      assert.ok((gens[1]!.closureSize ?? 0) > 0, 'closure size read on the machine');
      assert.equal(web.reboot?.needed, false);
      assert.equal(describeMachine(byName('vdb').remote!), 'up to date');
      // the store holds each under its key, as the tree reads it
      assert.equal(store.get(fleetMachineKey(list[3]!))?.listings[0]?.generations.length, 2);

      const hung = byName('hung');
      assert.equal(hung.remote!.status, 'unreachable');
      assert.equal(hung.remote!.unreachable!.kind, 'timeout');
      assert.equal(hung.remote!.lastSeen, yesterday);
      // ssh's own ConnectTimeout (10 s, banner exchange) or our timeout, whichever comes first
      assert.match(
        describeMachine(hung.remote!),
        /^unreachable \((no answer within 15 s|connection timed out: .*banner exchange)\) · last seen 1 day ago$/,
      );
      const off = byName('off');
      assert.equal(off.remote!.unreachable!.kind, 'refused');
      assert.match(describeMachine(off.remote!), /^unreachable \(connection refused .*\) · never seen$/);

      assert.equal(
        fleetSummaryOf(results),
        '4 machines: 1 up to date, 1 2 commits behind, 2 unknown (machine unreachable)',
      );
      // the record after this read: the two that answered, and "hung" as it was
      const next = updateLastSeen(book, results);
      assert.equal(next[fleetMachineKey(list[0]!)]!.at, yesterday);
      assert.ok(next['ssh:root@10.99.6.2']!.at > yesterday);
      assert.equal(next['ssh:root@10.99.6.2']!.hostname, 'vweb');
      assert.equal(next[fleetMachineKey(list[1]!)], undefined);
    } finally {
      mute.close();
    }
  });

  it('keeps what a machine listed before when it stops answering, marked unreachable', async () => {
    const [web] = workspaceMachines({ setting: { vweb: machines[0]!.destination }, fleet: null });
    const store = new GenerationsStore();
    const options = { sshArgs: machines[0]!.sshArgs, timeoutMs: 15_000 };
    await readFleet(
      [web!],
      (k) => store.get(k),
      (d) => store.set(d),
      options,
    );
    const first = store.get(fleetMachineKey(web!))!;
    assert.equal(first.remote!.status, 'reachable');
    await closeSharedConnections({
      kind: 'ssh',
      host: machines[0]!.destination,
      sshArgs: machines[0]!.sshArgs,
      reuse: true,
    });
    await machines[0]!.stop();
    const [after] = await readFleet(
      [web!],
      (k) => store.get(k),
      (d) => store.set(d),
      options,
    );
    assert.equal(after!.remote!.status, 'unreachable');
    assert.equal(after!.remote!.lastSeen, first.remote!.lastSeen);
    assert.equal(after!.listings[0]!.generations.length, 2, 'the generations read before stay listed');
    assert.match(describeMachine(after!.remote!), /^unreachable \(.+\) · last seen \d+ seconds? ago$/);
  });
});
