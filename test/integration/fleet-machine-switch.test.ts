/**
 * The explorer's remote switch and rollback, on real machines (systemd as PID 1, sshd, each its own system profile;
 * the fixture systems' switch-to-configuration really moves /run/current-system, the address and sshd): the same
 * pieces the command runs — the store filled by a fleet read, planMachineSwitch, readTargetFacts and the identity
 * guard, then the switch over ssh — minus the editor's dialogs. A's system on B is refused before anything runs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diffSystems, readRemoteSystem } from '../../src/core/diff';
import { readTargetFacts } from '../../src/core/fleet/identity';
import { compareBaseline } from '../../src/core/generations/states';
import { workspaceMachines } from '../../src/core/fleet/machines';
import { readFleet } from '../../src/core/fleet/view';
import { GenerationsStore, type MachineData } from '../../src/core/model/store';
import { machineSwitchArgv, planIdentityGuard, planMachineSwitch } from '../../src/core/plan/machine-switch';
import { runOnTarget, type Target } from '../../src/core/target';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, stopMachines, type Machine } from '../lib/machines';

describe('switch and roll back a remote machine from the explorer, on real machines', function () {
  this.timeout(240_000);
  const names = ['mweb', 'mdb'];
  let machines: Machine[] = [];
  let work = '';
  const systems: Record<string, string[]> = {};

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-machine-switch-'));
    const specs = names.flatMap((host, i) => [
      { host, n: 1, release: '24.05' as const, address: `10.99.${i + 4}.2/24` },
      { host, n: 2, address: `10.99.${i + 4}.2/24` },
    ]);
    const paths = buildFleetSystems(specs);
    names.forEach((host, i) => {
      systems[host] = paths.slice(i * 2, i * 2 + 2);
      makeFleetProfile(path.join(work, host), systems[host]!);
    });
    machines = await bootMachines(
      names.map((name, i) => ({ name, idx: i + 4, binds: fleetBinds(path.join(work, name)) })),
    );
    for (const m of machines) await installFleetProfile(m);
  });

  after(async () => {
    await stopMachines(machines);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const targetOf = (m: Machine): Target => ({ kind: 'ssh', host: m.destination, sshArgs: m.sshArgs });
  const running = async (m: Machine): Promise<{ current: string; profile: string }> => {
    const r = await m.run('readlink /run/current-system; readlink -f /nix/var/nix/profiles/system');
    const [current = '', profile = ''] = r.stdout.trim().split('\n');
    return { current, profile };
  };
  /** What the explorer holds for the machine after a read. */
  const read = async (m: Machine): Promise<MachineData> => {
    const store = new GenerationsStore();
    const list = workspaceMachines({ setting: { [m.name]: m.destination }, fleet: null });
    const [data] = await readFleet(
      list,
      (k) => store.get(k),
      (d) => store.set(d),
      {
        sshArgs: m.sshArgs,
        reuse: false,
        timeoutMs: 30_000,
      },
    );
    assert.equal(data!.remote!.status, 'reachable', data!.remote!.unreachable?.message);
    return data!;
  };

  /** The command's steps after its confirmation; returns what the guard said. */
  async function run(m: Machine, mode: 'switch' | 'rollback', generation?: number): Promise<string> {
    const data = await read(m);
    const plan = planMachineSwitch({
      machine: m.name,
      destination: m.destination,
      listing: data.listings[0]!,
      mode,
      ...(generation !== undefined ? { generation } : {}),
      elevation: 'sudo',
    });
    assert.deepEqual(plan.elevate, [], 'root@ needs no elevation');
    const facts = await readTargetFacts(targetOf(m), plan.generation.storePath);
    const guard = planIdentityGuard(m.name, facts);
    assert.equal(guard.kind, 'go', JSON.stringify(guard));
    const r = await runOnTarget(targetOf(m), machineSwitchArgv(plan, data.listings[0]!.profile.path, facts.nixEnv!), {
      elevate: plan.elevate,
      timeoutMs: 120_000,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    return guard.verdict.status;
  }

  it('rolls the machine back to the generation before, then switches it to the newest again', async () => {
    const [web] = machines;
    const [g1, g2] = systems['mweb']!;
    assert.equal((await running(web!)).current, g2);
    assert.equal(await run(web!, 'rollback'), 'match');
    assert.deepEqual(await running(web!), { current: g1, profile: g1 });
    const after = await read(web!);
    assert.deepEqual(
      after.listings[0]!.generations.map((g) => [g.generation, g.activated, g.current]),
      [
        [1, true, true],
        [2, false, false],
      ],
    );
    assert.equal(await run(web!, 'switch', 2), 'match');
    assert.deepEqual(await running(web!), { current: g2, profile: g2 });
  });

  it("refuses mweb's system on mdb with both names before anything runs, and asks only for a rename", async () => {
    const [, db] = machines;
    const before = await running(db!);
    const webSystem = systems['mweb']![1]!;
    const facts = await readTargetFacts(targetOf(db!), webSystem);
    const guard = planIdentityGuard(db!.name, facts);
    assert.equal(guard.kind, 'ask-rename');
    assert.match(guard.kind === 'ask-rename' ? guard.question.message : '', /built for "mweb", but mdb is "mdb"/);
    assert.deepEqual(await running(db!), before, 'nothing was activated on mdb');
  });

  it('compares a remote generation with the one the machine runs, both read on the machine', async () => {
    const [web] = machines;
    const data = await read(web!);
    const listing = data.listings[0]!;
    const from = compareBaseline(listing.generations, 1, 'system');
    assert.equal(from?.generation, 2, 'the baseline is the activated generation');
    const target = targetOf(web!);
    const [a, b] = await Promise.all([
      readRemoteSystem(target, { systemPath: from!.storePath }),
      readRemoteSystem(target, { systemPath: listing.generations.find((g) => g.generation === 1)!.storePath }),
    ]);
    const diff = await diffSystems(a, b, { generations: { from: 2, to: 1 } });
    assert.deepEqual([diff.kernel.before, diff.kernel.after, diff.kernel.changed], ['6.6.66', '6.6.41', true]);
    assert.equal(diff.from.generation, 2);
    assert.equal(diff.to.generation, 1);
  });
});
