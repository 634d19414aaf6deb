/**
 * The explorer's remote switch of a system that cuts you off, on a real machine (systemd as PID 1, sshd, its own
 * address; the fixture systems' activation really sets the address): the steps the command runs after the identity
 * guard — readSwitchReach on the machine and planCutOff's question — minus the modal itself, then what each answer
 * runs. The safe switch's preview reads both systems on the machine. "Safe Switch": the machine is lost, puts the previous system back by itself and is reached again; a system
 * that keeps the machine reachable is switched without a question.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { previewMachineSwitch, readSwitchReach } from '../../src/core/diff';
import { readTargetFacts } from '../../src/core/fleet/identity';
import { workspaceMachines } from '../../src/core/fleet/machines';
import { SYSTEM_PROFILE } from '../../src/core/fleet/remote-list';
import { readFleet } from '../../src/core/fleet/view';
import { GenerationsStore, type MachineData } from '../../src/core/model/store';
import { ANYWAY_CHOICE, planCutOff, SAFE_CHOICE, type CutOffPlan } from '../../src/core/plan/cut-off';
import { planIdentityGuard, planMachineSwitch, type MachineSwitchPlan } from '../../src/core/plan/machine-switch';
import { safeSwitch } from '../../src/core/safeswitch';
import type { Target } from '../../src/core/target';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, stopMachines, type Machine } from '../lib/machines';

const IDX = 30;

describe('the explorer asks before a remote switch that cuts you off, on a real machine', function () {
  this.timeout(600_000);
  let machine: Machine;
  let work = '';
  let sys: { g1: string; noAddress: string; g3: string };

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-machine-cut-'));
    const host = 'mcut';
    const address = `10.99.${IDX}.2/24`;
    const [g1, noAddress, g3] = buildFleetSystems([
      { host, n: 1, address, rev: 'a'.repeat(40) },
      { host, n: 2, address: null, rev: 'b'.repeat(40) },
      { host, n: 3, address, rev: 'c'.repeat(40) },
    ]) as [string, string, string];
    sys = { g1, noAddress, g3 };
    // generation 2 declares no address; generation 3 runs
    makeFleetProfile(path.join(work, host), [g1, noAddress, g3]);
    [machine] = (await bootMachines([{ name: host, idx: IDX, binds: fleetBinds(path.join(work, host)) }])) as [Machine];
    await installFleetProfile(machine);
  });

  after(async () => {
    if (machine) await stopMachines([machine]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const target = (): Target => ({ kind: 'ssh', host: machine.destination, sshArgs: machine.sshArgs });
  const current = async (): Promise<string> => (await machine.run('readlink /run/current-system')).stdout.trim();
  const read = async (): Promise<MachineData> => {
    const store = new GenerationsStore();
    const [data] = await readFleet(
      workspaceMachines({ setting: { [machine.name]: machine.destination }, fleet: null }),
      (k) => store.get(k),
      (d) => store.set(d),
      { sshArgs: machine.sshArgs, reuse: false, timeoutMs: 30_000 },
    );
    assert.equal(data!.remote!.status, 'reachable', data!.remote!.unreachable?.message);
    return data!;
  };

  /** The command's steps from its plan to the cut-off decision (what the modal would ask, or not). */
  async function decide(mode: 'switch' | 'rollback', generation?: number): Promise<[MachineSwitchPlan, CutOffPlan]> {
    const data = await read();
    const plan = planMachineSwitch({
      machine: machine.name,
      destination: machine.destination,
      listing: data.listings[0]!,
      mode,
      ...(generation !== undefined ? { generation } : {}),
      elevation: 'sudo',
    });
    const guard = planIdentityGuard(machine.name, await readTargetFacts(target(), plan.generation.storePath));
    assert.equal(guard.kind, 'go', JSON.stringify(guard));
    const reach = await readSwitchReach(target(), plan.generation.storePath);
    assert.equal(reach.problem, null);
    const cutOff = planCutOff({
      findings: reach.findings,
      remote: true,
      safe: false,
      insist: false,
      action: plan.action,
      where: machine.name,
      interactive: true,
    });
    return [plan, cutOff];
  }

  it('asks, with the removed address in words, for a switch and a rollback to the system without it', async () => {
    for (const [mode, generation] of [['switch', 2], ['rollback']] as const) {
      const [plan, cutOff] = await decide(mode, generation);
      assert.equal(plan.generation.storePath, sys.noAddress);
      assert.equal(cutOff.kind, 'ask', `${mode}: ${JSON.stringify(cutOff)}`);
      if (cutOff.kind !== 'ask') return;
      assert.equal(cutOff.message, 'The new system may cut you off from mcut');
      assert.match(cutOff.detail, new RegExp(`^- address 10\\.99\\.${IDX}\\.2/24 removed from host0$`, 'm'));
      assert.match(cutOff.detail, /puts the previous system back by itself/);
      assert.deepEqual(cutOff.choices, [SAFE_CHOICE, ANYWAY_CHOICE]);
    }
    assert.equal(await current(), sys.g3, 'asking activated nothing');
  });

  it('does not ask for a system that keeps the machine reachable', async () => {
    const [plan, cutOff] = await decide('switch', 1);
    assert.equal(plan.generation.storePath, sys.g1);
    assert.deepEqual(cutOff, { kind: 'proceed', note: null });
  });

  it("the safe switch's preview reads both systems on the machine: the cut-off first, dry-activate run there", async () => {
    const preview = await previewMachineSwitch(target(), sys.noAddress, { generation: 2 });
    assert.equal(preview.problem, null);
    assert.deepEqual(
      preview.diff?.reach?.filter((f) => f.cutsOff).map((f) => f.message),
      [`address 10.99.${IDX}.2/24 removed from host0`],
    );
    assert.equal(preview.diff?.from.storePath, sys.g3);
    assert.equal(preview.diff?.to.generation, 2);
    assert.notEqual(preview.diff?.units ?? null, null, 'dry-activate ran on the machine');
    assert.equal(await current(), sys.g3, 'the preview activated nothing');
  });

  it('"Safe Switch": the machine is lost, puts the previous system back by itself, and is reached again', async () => {
    const [plan, cutOff] = await decide('switch', 2);
    assert.equal(cutOff.kind, 'ask');
    // what safeSwitchOnMachine hands the core safe switch: the machine's target, its generation's store path
    const result = await safeSwitch({
      target: target(),
      toplevel: plan.generation.storePath,
      profile: SYSTEM_PROFILE,
      runDir: '/run',
      confirmSeconds: 4,
      healthChecks: [],
      elevate: plan.elevate,
      decide: () => Promise.resolve('keep'),
    });
    assert.notEqual(result.outcome, 'kept', JSON.stringify(result));
    let back = false;
    for (const until = Date.now() + 15_000; !back && Date.now() < until;) {
      back = await machine.reachable(3_000);
      if (!back) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(back, true, 'the machine is reachable again');
    assert.equal(await current(), sys.g3, 'the previous system runs again');
  });
});
