import assert from 'node:assert/strict';
import { DEFAULT_FLAVOR } from '../../../src/core/deploy/rebuild';
import {
  machineConfiguration,
  planRebuild,
  rebuildProblem,
  type RebuildPlanInput,
} from '../../../src/core/plan/rebuild';
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

describe('rebuildProblem (checked before the action is asked)', () => {
  const noFlake = { flake: undefined, dir: undefined, cwd: '/w' };
  it('no flake anywhere and no configuration of the machine: says so and points at the flake setting', () => {
    const p = rebuildProblem({
      target: noFlake,
      machineConfig: null,
      program: '/bin/nixos-rebuild',
      command: 'nixos-rebuild',
    });
    assert.equal(p?.setting, 'nixosGenerations.flake');
    assert.match(p!.message, /no configuration to rebuild/);
    assert.match(p!.message, /no workspace folder holds a flake\.nix/);
  });
  it('a missing program points at the rebuildCommand setting, naming the value', () => {
    const p = rebuildProblem({ target: base.target, machineConfig: null, program: null, command: 'nixos-rebuild-ng' });
    assert.equal(p?.setting, 'nixosGenerations.rebuildCommand');
    assert.match(p!.message, /"nixos-rebuild-ng" \(setting nixosGenerations\.rebuildCommand\) is not on PATH/);
  });
  it("a flake, or the machine's own configuration, is enough", () => {
    assert.equal(rebuildProblem({ target: base.target, machineConfig: null, program: '/p', command: 'x' }), null);
    assert.equal(
      rebuildProblem({ target: noFlake, machineConfig: '/etc/nixos/configuration.nix', program: '/p', command: 'x' }),
      null,
    );
  });
  it('machineConfiguration: NIXOS_CONFIG, nixos-config in NIX_PATH, then /etc/nixos', () => {
    const none = (): boolean => false;
    assert.equal(machineConfiguration({ NIXOS_CONFIG: '/c.nix' }, none), 'NIXOS_CONFIG');
    assert.equal(machineConfiguration({ NIX_PATH: 'nixpkgs=/n:nixos-config=/c.nix' }, none), 'NIX_PATH nixos-config');
    assert.equal(machineConfiguration({ NIX_PATH: 'nixpkgs=/n' }, none), null);
    assert.equal(
      machineConfiguration({}, (f) => f === '/etc/nixos/configuration.nix'),
      '/etc/nixos/configuration.nix',
    );
  });
});
