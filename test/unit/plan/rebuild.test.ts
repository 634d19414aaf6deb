import assert from 'node:assert/strict';
import { DEFAULT_FLAVOR } from '../../../src/core/deploy/rebuild';
import { planRebuild, type RebuildPlanInput } from '../../../src/core/plan/rebuild';
import { facts } from '../../lib/samples';

const base: RebuildPlanInput = {
  action: 'switch',
  settings: { targetHost: '', buildHost: '', elevation: 'sudo', rebuildExtraArgs: [] },
  target: { flake: '/etc/nixos', dir: '/etc/nixos', cwd: '/etc/nixos' },
  host: 'box',
  program: '/run/current-system/sw/bin/nixos-rebuild',
  flavor: { ng: false, sudoFlag: null },
  nom: null,
  facts: facts(false, 'sudo'),
};

describe('planRebuild', () => {
  it('switch: the elevated argv with the absolute sudo, a confirmation showing it, the activation recorded', () => {
    const plan = planRebuild(base);
    assert.deepEqual(plan.argv, [
      '/run/wrappers/bin/sudo',
      '--',
      '/run/current-system/sw/bin/nixos-rebuild',
      'switch',
      '--flake',
      '/etc/nixos#box',
    ]);
    assert.equal(plan.name, 'nixos-rebuild switch');
    assert.equal(plan.cwd, '/etc/nixos');
    assert.equal(plan.confirm?.message, 'Run nixos-rebuild switch?');
    assert.equal(plan.confirm?.action, 'Switch');
    assert.equal(plan.confirm!.detail, 'The new generation is activated now.');
    assert.match(plan.confirm!.command!, /^\/run\/wrappers\/bin\/sudo -- /);
    assert.equal(plan.recordActivatedAs, 'rebuild switch');
  });

  it('boot is confirmed as "Build for Boot" and records nothing (nothing runs now)', () => {
    const plan = planRebuild({ ...base, action: 'boot' });
    assert.equal(plan.confirm?.action, 'Build for Boot');
    assert.match(plan.confirm!.detail, /boot default; it is activated at the next boot/);
    assert.equal(plan.recordActivatedAs, null);
  });

  it('a build asks nothing, is not elevated and records nothing', () => {
    const plan = planRebuild({ ...base, action: 'build' });
    assert.equal(plan.confirm, null);
    assert.equal(plan.argv[0], base.program);
    assert.equal(plan.recordActivatedAs, null);
  });

  it('a target host: named in the question, its notes shown, the activation not recorded here', () => {
    const plan = planRebuild({
      ...base,
      settings: { ...base.settings, targetHost: 'admin@far', elevation: 'doas' },
    });
    assert.equal(plan.confirm?.message, 'Run nixos-rebuild switch on admin@far?');
    assert.equal(plan.notes.length, 1);
    assert.ok(plan.confirm!.detail.includes(plan.notes[0]!));
    assert.equal(plan.recordActivatedAs, null);
  });

  it('nom wraps the elevated command in the pipeline with nom resolved', () => {
    const plan = planRebuild({ ...base, nom: '/bin/nom' });
    assert.equal(plan.argv[0], 'sh');
    assert.equal(plan.argv[4], '/bin/nom');
    assert.deepEqual(plan.argv.slice(5, 7), ['/run/wrappers/bin/sudo', '--']);
    assert.ok(plan.argv.includes('internal-json'));
    assert.match(plan.confirm!.command!, /\|& \/bin\/nom --json$/);
  });

  it('as root without sudo installed, sudo is dropped and said so', () => {
    const plan = planRebuild({ ...base, facts: facts(true) });
    assert.equal(plan.argv[0], base.program);
    assert.equal(plan.dropped, 'sudo');
  });

  it('with the flavor flag, sudo goes through nixos-rebuild itself', () => {
    const plan = planRebuild({ ...base, flavor: DEFAULT_FLAVOR });
    assert.equal(plan.argv[0], base.program);
    assert.ok(plan.argv.includes('--use-remote-sudo'));
  });
});
