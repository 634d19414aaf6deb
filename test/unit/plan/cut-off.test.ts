import assert from 'node:assert/strict';
import type { ReachFinding } from '../../../src/core/diff/reach';
import { ANYWAY_CHOICE, planCutOff, SAFE_CHOICE, type CutOffInput } from '../../../src/core/plan/cut-off';

const CUT: ReachFinding = { subject: 'sshd', cutsOff: true, message: 'sshd moves from port 22 to 2222' };
const HARMLESS: ReachFinding = { subject: 'hosts', cutsOff: false, message: '/etc/hosts names db as 10.0.0.8' };

const input = (over: Partial<CutOffInput>): CutOffInput => ({
  findings: [CUT, HARMLESS],
  remote: true,
  safe: false,
  insist: false,
  action: 'switch',
  where: 'ops@web1',
  interactive: false,
  ...over,
});

describe('plan: a switch that may cut you off goes through safe switch', () => {
  it('the command line turns a remote switch into a safe switch, naming what cuts off', () => {
    const plan = planCutOff(input({}));
    assert.equal(plan.kind, 'safe');
    assert.match(
      plan.kind === 'safe' ? plan.note : '',
      /cut you off from ops@web1.*--switch-anyway[^]*- sshd moves from port 22 to 2222/,
    );
    assert.doesNotMatch(plan.kind === 'safe' ? plan.note : '', /etc\/hosts/, 'only what cuts off is listed');
  });

  it('the editor asks, safe switch first', () => {
    const plan = planCutOff(input({ interactive: true }));
    assert.equal(plan.kind, 'ask');
    if (plan.kind !== 'ask') return;
    assert.deepEqual(plan.choices, [SAFE_CHOICE, ANYWAY_CHOICE]);
    assert.match(plan.message, /may cut you off from ops@web1/);
    assert.match(plan.detail, /sshd moves from port 22 to 2222/);
  });

  it('goes on as asked: locally, already safe, nothing that cuts off, insisted on (with the list), boot (warned)', () => {
    assert.deepEqual(planCutOff(input({ remote: false })), { kind: 'proceed', note: null });
    assert.deepEqual(planCutOff(input({ safe: true })), { kind: 'proceed', note: null });
    assert.deepEqual(planCutOff(input({ findings: [HARMLESS] })), { kind: 'proceed', note: null });
    const insisted = planCutOff(input({ insist: true }));
    assert.equal(insisted.kind, 'proceed');
    assert.match(insisted.kind === 'proceed' ? (insisted.note ?? '') : '', /as asked.*\n- sshd moves/);
    const boot = planCutOff(input({ action: 'boot' }));
    assert.match(boot.kind === 'proceed' ? (boot.note ?? '') : '', /after its next boot/);
  });

  it('refuses a plain test of such a system on the command line; says when nothing could be compared', () => {
    const test = planCutOff(input({ action: 'test' }));
    assert.equal(test.kind, 'refuse');
    assert.match(test.kind === 'refuse' ? test.note : '', /--safe.*--switch-anyway/);
    const unknown = planCutOff(input({ findings: null }));
    assert.equal(unknown.kind, 'proceed');
    assert.match(unknown.kind === 'proceed' ? (unknown.note ?? '') : '', /could not be compared/);
  });
});
