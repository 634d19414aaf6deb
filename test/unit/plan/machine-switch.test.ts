import assert from 'node:assert/strict';
import type { TargetFacts } from '../../../src/core/fleet/identity';
import { machineSwitchArgv, planIdentityGuard, planMachineSwitch } from '../../../src/core/plan/machine-switch';
import { gen, systemListingOf } from '../../lib/samples';

const listing = systemListingOf([
  gen(1, { nixosVersion: '24.05.1' }),
  gen(2, { missing: true }),
  gen(3, { nixosVersion: '24.11.2' }),
  gen(4, { nixosVersion: '24.11.3', current: true, activated: true, booted: true }),
]);

function factsOf(over: { system?: Partial<TargetFacts['system']>; machine?: Partial<TargetFacts['machine']> } = {}) {
  return {
    machine: {
      target: 'root@10.0.0.2',
      hostname: 'web',
      machineId: 'aaaa',
      current: { storePath: '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web-24.11.3', label: '24.11.3' },
      ...over.machine,
    },
    system: {
      storePath: '/nix/store/baaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web-24.11.2',
      label: '24.11.2',
      ...over.system,
    },
    systemPresent: true,
    nixEnv: '/run/current-system/sw/bin/nix-env',
  } satisfies TargetFacts;
}

describe('plan: switch a remote machine of the fleet', () => {
  it('switches to the chosen generation, elevated with sudo -n unless logged in as root, putting the current one back on failure', () => {
    const plan = planMachineSwitch({
      machine: 'web',
      destination: 'admin@web',
      listing,
      mode: 'switch',
      generation: 3,
      elevation: 'sudo',
    });
    assert.equal(plan.generation.generation, 3);
    assert.equal(plan.previous?.generation, 4);
    assert.deepEqual(plan.elevate, ['sudo', '-n', '--']);
    assert.equal(plan.confirm.message, 'Switch web to generation 3?');
    assert.match(plan.confirm.detail, /web \(admin@web\) runs generation 4 now/);
    assert.match(plan.confirm.detail, /the profile goes back to generation 4/);
    assert.match(plan.confirm.detail, /a system built for another host is refused/);
    assert.match(plan.confirm.command!, /^ssh admin@web '\/bin\/sh -s'/);
    const argv = machineSwitchArgv(plan, listing.profile.path, '/bin/nix-env');
    assert.deepEqual(argv.slice(3), [
      'nixgen-switch',
      '/bin/nix-env',
      '/nix/var/nix/profiles/system',
      '3',
      gen(3).storePath,
      'switch',
      '4',
    ]);
    const asRoot = planMachineSwitch({
      machine: 'web',
      destination: 'root@web',
      listing,
      mode: 'switch',
      generation: 1,
      elevation: 'sudo',
    });
    assert.deepEqual(asRoot.elevate, []);
  });

  it('rolls back to the newest present generation below the current one, skipping garbage-collected ones', () => {
    const plan = planMachineSwitch({
      machine: 'web',
      destination: 'root@web',
      listing,
      mode: 'rollback',
      elevation: 'sudo',
    });
    assert.equal(plan.generation.generation, 3);
    assert.equal(plan.confirm.action, 'Roll Back');
    const oldest = systemListingOf([gen(1, { current: true, activated: true })]);
    assert.throws(
      () =>
        planMachineSwitch({
          machine: 'web',
          destination: 'root@web',
          listing: oldest,
          mode: 'rollback',
          elevation: 'sudo',
        }),
      /no generation before 1 to roll back to/,
    );
  });

  it('refuses a garbage-collected, a missing and the running generation in words', () => {
    const base = {
      machine: 'web',
      destination: 'root@web',
      listing,
      mode: 'switch' as const,
      elevation: 'sudo' as const,
    };
    assert.throws(() => planMachineSwitch({ ...base, generation: 2 }), /garbage-collected/);
    assert.throws(() => planMachineSwitch({ ...base, generation: 9 }), /web has no generation 9/);
    assert.throws(() => planMachineSwitch({ ...base, generation: 4 }), /already what web runs/);
  });

  it('lets a system for the same host through, and asks before activating another host’s system', () => {
    assert.equal(planIdentityGuard('web', factsOf()).kind, 'go');
    const other = factsOf({
      system: { storePath: '/nix/store/caaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-db-24.11.2' },
    });
    const step = planIdentityGuard('web', other);
    assert.equal(step.kind, 'ask-rename');
    if (step.kind !== 'ask-rename') return;
    assert.match(step.question.message, /built for "db", but web is "web"/);
    assert.equal(step.question.action, 'Rename web to db');
    assert.doesNotMatch(step.question.detail, /--allow-rename/);
    const confirmed = planIdentityGuard('web', other, true);
    assert.equal(confirmed.kind, 'go');
    assert.equal(confirmed.kind === 'go' && confirmed.verdict.status, 'rename-confirmed');
  });

  it('refuses another machine (machine-id), a system not on the target, and a target without nix-env', () => {
    const otherId = factsOf({ system: { machineId: 'bbbb' } });
    const step = planIdentityGuard('web', otherId, true);
    assert.equal(step.kind, 'refuse');
    assert.match(step.kind === 'refuse' ? step.message : '', /machine-id bbbb.*machine-id aaaa/);
    assert.equal(planIdentityGuard('web', { ...factsOf(), systemPresent: false }).kind, 'refuse');
    assert.match(
      (planIdentityGuard('web', { ...factsOf(), nixEnv: null }) as { message: string }).message,
      /nix-env is not on the PATH of web/,
    );
  });
});
