import assert from 'node:assert/strict';
import {
  absoluteFlakeRef,
  confirmWithoutPreview,
  planSafeSwitch,
  previewWords,
  safeSwitchOutcome,
  safeSwitchTarget,
  SYSTEM_PROFILE,
  type SafeSwitchPlanInput,
} from '../../../src/core/plan/safe-switch';
import type { SafeSwitchResult } from '../../../src/core/safeswitch';
import { facts } from '../../lib/samples';

const next = { storePath: '/nix/store/aaaa-nixos-system-box', generation: 7 };
const settings = {
  elevation: 'sudo' as const,
  runDir: '/tmp/run',
  safeSwitchConfirmSeconds: 30,
  safeSwitchHealthChecks: [{ unit: 'sshd.service' }, { port: 22 }],
};
const local: SafeSwitchPlanInput = {
  target: { kind: 'local' },
  next,
  settings,
  systemProfile: '/p/system',
  facts: facts(false, 'sudo'),
};

describe('planSafeSwitch', () => {
  it('this machine as a user: privileged steps through the terminal, our run dir and profile, kept is recorded', () => {
    const plan = planSafeSwitch(local);
    assert.equal(plan.where, 'this machine');
    assert.deepEqual(plan.elevate, ['sudo', '--']);
    assert.equal(plan.viaTerminal, true);
    assert.equal(plan.profile, '/p/system');
    assert.equal(plan.runDir, '/tmp/run');
    assert.deepEqual(plan.recordWhenKept, {
      action: 'safe switch',
      profile: '/p/system',
      generation: 7,
      storePath: next.storePath,
    });
    assert.deepEqual(plan.healthChecks, [{ kind: 'unit', unit: 'sshd.service' }]);
    assert.deepEqual(plan.healthProblems, ['health check 2 is not {"unit"}, {"url": "http(s)://..."} or {"command"}']);
  });

  it('this machine as root: no prefix, no terminal', () => {
    const plan = planSafeSwitch({ ...local, facts: facts(true, 'sudo') });
    assert.deepEqual(plan.elevate, []);
    assert.equal(plan.viaTerminal, false);
  });

  it('over ssh: non-interactive elevation, the target system profile and /run, nothing recorded here', () => {
    const plan = planSafeSwitch({ ...local, target: safeSwitchTarget(' admin@far ') });
    assert.equal(plan.where, 'admin@far');
    assert.deepEqual(plan.elevate, ['sudo', '-n', '--']);
    assert.equal(plan.viaTerminal, false);
    assert.equal(plan.profile, SYSTEM_PROFILE);
    assert.equal(plan.runDir, '/run');
    assert.equal(plan.recordWhenKept, null);
  });

  it('refuses a host that could be read as an option or a substitution', () => {
    assert.deepEqual(safeSwitchTarget('  '), { kind: 'local' });
    assert.throws(() => safeSwitchTarget('-oProxyCommand=x'));
  });
});

describe('safe switch words', () => {
  it('the preview says where, how long, what is not previewed, and the proposed transitions', () => {
    const remote = planSafeSwitch({ ...local, target: { kind: 'ssh', host: 'far' } });
    const words = previewWords(remote, next, { from: 'NixOS 24.05', dry: false, transitions: ['PostgreSQL 15 → 16'] });
    assert.equal(words.title, 'Safe switch on far to generation 7');
    assert.match(words.note, /^From: the system running on far now \(NixOS 24\.05\)\. On far: activated with "test"/);
    assert.match(words.note, /within 30 s/);
    assert.match(
      words.note,
      /Unit changes could not be previewed: see the warnings\.\) Transition: PostgreSQL 15 → 16$/,
    );
    const here = previewWords(
      planSafeSwitch(local),
      { ...next, generation: null },
      { from: 'x', dry: true, transitions: [] },
    );
    assert.equal(here.title, 'Safe switch to the new configuration');
    assert.doesNotMatch(here.note, /From:|Unit changes/);
  });

  it('without a preview it asks, saying why there is none', () => {
    const c = confirmWithoutPreview(planSafeSwitch(local), next, 'ssh failed');
    assert.equal(c.message, 'Safe switch on this machine?');
    assert.equal(c.action, 'Switch safely');
    assert.match(
      c.detail,
      /^\/nix\/store\/aaaa-nixos-system-box\n\nActivated with "test"; unless kept within 30 s .*\(No preview: ssh failed\.\)$/s,
    );
  });

  it('tells the outcome: kept, refused, reverted (information when not kept, a logged warning when a check failed)', () => {
    const result = (outcome: SafeSwitchResult['outcome']): SafeSwitchResult => ({
      outcome,
      ok: outcome === 'kept',
      reason: 'health check sshd failed',
      id: null,
      launcher: null,
      previous: null,
      health: [],
      events: [],
    });
    assert.equal(safeSwitchOutcome(result('kept'), 'far').level, 'info');
    assert.equal(
      safeSwitchOutcome(result('refused'), 'far').message,
      'NixOS Generations: safe switch refused: health check sshd failed',
    );
    const reverted = safeSwitchOutcome(result('reverted'), 'far');
    assert.equal(reverted.level, 'warning');
    assert.equal(reverted.log, 'safe switch on far reverted: health check sshd failed');
    const unanswered = safeSwitchOutcome(
      { ...result('reverted'), reason: 'reverted to the previous configuration: not confirmed within 30 s' },
      'this machine',
    );
    assert.equal(unanswered.level, 'info', 'not answering is the designed outcome, not an error');
    assert.equal(
      unanswered.message,
      'NixOS Generations: This machine is back on the previous configuration: not confirmed within 30 s.',
    );
    assert.equal(safeSwitchOutcome(result('failed'), 'far').level, 'error');
  });

  it('builds a local flake by its absolute directory, keeping #host', () => {
    assert.equal(absoluteFlakeRef('./cfg#box', '/w/cfg'), '/w/cfg#box');
    assert.equal(absoluteFlakeRef('./cfg', '/w/cfg'), '/w/cfg');
    assert.equal(absoluteFlakeRef('github:o/r#box', undefined), 'github:o/r#box');
    assert.equal(absoluteFlakeRef(undefined, undefined), undefined);
  });
});
