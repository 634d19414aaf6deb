import assert from 'node:assert/strict';
import { SWITCH_GENERATION_SCRIPT } from '../../../src/core/deploy/switch-generation';
import { planRollback } from '../../../src/core/plan/rollback';
import {
  checkActivatable,
  chooseSpecialisation,
  MAIN_CONFIGURATION,
  planSwitch,
  type SwitchPlanInput,
} from '../../../src/core/plan/switch';
import { facts, gen, systemListingOf } from '../../lib/samples';

const listing = systemListingOf([
  gen(1),
  gen(2, { nixosVersion: '24.05.1' }),
  gen(3, { current: true, activated: true }),
]);
const input: SwitchPlanInput = {
  target: { profile: listing.profile, generation: listing.generations[1]!, listing },
  action: 'switch',
  specialisation: undefined,
  kernel: { target: '6.6.1', booted: '6.6.1', differs: false },
  nixEnv: '/bin/nix-env',
  elevation: 'sudo',
  facts: facts(false, 'sudo'),
};

describe('planSwitch', () => {
  it('switch: asks in words, runs the script elevated with the previous generation, records the activation', () => {
    const plan = planSwitch(input);
    assert.equal(plan.confirm.message, 'Switch to generation 2 of system?');
    assert.equal(plan.confirm.action, 'Switch');
    assert.match(
      plan.confirm.detail,
      /^NixOS 24\.05\.1, from .+ ago \(\d{4}-\d\d-\d\d \d\d:\d\d\)\.\n\nIt is activated now and becomes the boot default \(the system profile points at it again\)\./,
    );
    assert.doesNotMatch(
      plan.confirm.detail,
      /<script>|sh |nix-env|T\d\d:\d\d:\d\d/,
      'in words: no command, no raw timestamp',
    );
    assert.match(
      plan.confirm.command!,
      /^\/run\/wrappers\/bin\/sudo -- sh -c '<script>' nixos-generations-switch \/bin\/nix-env /,
    );
    assert.ok(plan.confirm.command!.includes(SWITCH_GENERATION_SCRIPT.trimEnd()));
    assert.equal(plan.task.scriptText, SWITCH_GENERATION_SCRIPT);
    const argv = plan.task.argvFor('/tmp/x/switch-generation.sh');
    assert.deepEqual(argv.slice(0, 6), [
      '/run/wrappers/bin/sudo',
      '--',
      'sh',
      '-c',
      '/tmp/x/switch-generation.sh',
      'nixos-generations-switch',
    ]);
    assert.deepEqual(argv.slice(7), [
      '/nix/var/nix/profiles/system',
      '2',
      listing.generations[1]!.storePath,
      'switch',
      '3',
    ]);
    assert.deepEqual(plan.record, {
      action: 'switch',
      profile: '/nix/var/nix/profiles/system',
      generation: 2,
      storePath: listing.generations[1]!.storePath,
    });
  });

  it('boot records nothing; test keeps the boot default; a kernel change and a reason are said first', () => {
    assert.equal(planSwitch({ ...input, action: 'boot' }).record, null);
    assert.equal(planSwitch({ ...input, action: 'boot' }).confirm.action, 'Set as Boot Default');
    const test = planSwitch({
      ...input,
      action: 'test',
      why: 'Because.',
      kernel: { target: '6.1', booted: '6.6', differs: true },
    });
    assert.equal(test.confirm.action, 'Activate');
    assert.equal(test.confirm.message, 'Activate generation 2 of system until the next boot?');
    const lines = test.confirm.detail.split('\n\n');
    assert.equal(lines[0], 'Because.');
    assert.equal(lines[2], 'It is activated now, until the next boot; the boot default stays as it is.');
    assert.match(lines[3]!, /^Warning: it was built for kernel 6\.1, the booted kernel is 6\.6/);
    const back = planSwitch({ ...input, rollback: true, why: 'Generation 2 was activated before the current one.' });
    assert.equal(back.confirm.message, 'Roll back to generation 2 of system?', 'a roll back is not titled "Switch"');
    assert.equal(back.confirm.action, 'Roll Back');
  });

  it('a specialisation is named in the question, passed to the script and recorded', () => {
    const plan = planSwitch({ ...input, specialisation: 'gaming' });
    assert.match(plan.confirm.detail, /^NixOS 24\.05\.1, specialisation gaming, from /);
    assert.equal(plan.task.argvFor('/s').at(-1), 'gaming');
    assert.equal(plan.record?.specialisation, 'gaming');
  });

  it('refuses garbage-collected generations and ones that are not NixOS systems', () => {
    assert.throws(() => checkActivatable(gen(4, { missing: true }), true), /garbage-collected/);
    assert.throws(() => checkActivatable(gen(4), false), /not a NixOS system/);
    assert.doesNotThrow(() => checkActivatable(gen(4), true));
  });

  it('chooses the specialisation: the one asked for, a question when there are some, else the main one', () => {
    const g = gen(4);
    assert.deepEqual(chooseSpecialisation(g, 'a', ['a', 'b']), { specialisation: 'a' });
    assert.throws(() => chooseSpecialisation(g, 'c', ['a']), /has no specialisation "c"/);
    assert.deepEqual(chooseSpecialisation(g, undefined, ['a']), { ask: [MAIN_CONFIGURATION, 'a'] });
    assert.deepEqual(chooseSpecialisation(g, null, ['a']), { specialisation: undefined });
    assert.deepEqual(chooseSpecialisation(g, undefined, []), { specialisation: undefined });
  });
});

describe('planRollback', () => {
  it('without history: the generation below the activated one, with a warning saying so', () => {
    const activated = listing.generations[2]!.storePath;
    const plan = planRollback({ history: [], listing, activated, options: {} });
    assert.equal(plan.target.generation.generation, 2);
    assert.equal(plan.action, 'switch');
    assert.equal(plan.specialisation, null);
    assert.match(plan.why, /^No earlier activation is recorded/);
    assert.match(plan.warning!, /offering generation 2, the one numbered below the activated one/);
  });

  it('from the history: the previous activation, its specialisation, no warning; options win', () => {
    const record = {
      time: '2025-01-02T00:00:00Z',
      profile: listing.profile.path,
      generation: 1,
      storePath: listing.generations[0]!.storePath,
      action: 'switch',
      source: 'performed' as const,
      specialisation: 'gaming',
    };
    const activated = listing.generations[2]!.storePath;
    const plan = planRollback({ history: [record], listing, activated, options: { action: 'test' } });
    assert.equal(plan.target.generation.generation, 1);
    assert.equal(plan.specialisation, 'gaming');
    assert.equal(plan.action, 'test');
    assert.equal(plan.warning, null);
    assert.equal(
      planRollback({ history: [record], listing, activated, options: { specialisation: null } }).specialisation,
      'gaming',
    );
  });

  it('says plainly when there is nothing to roll back to', () => {
    assert.throws(
      () => planRollback({ history: [], listing: undefined, activated: null, options: {} }),
      /no system profile could be read/,
    );
    const one = systemListingOf([gen(1, { activated: true })]);
    assert.throws(
      () => planRollback({ history: [], listing: one, activated: gen(1).storePath, options: {} }),
      /no earlier generation of \/nix\/var\/nix\/profiles\/system/,
    );
  });
});
