import assert from 'node:assert/strict';
import type { PinResult } from '../../../src/core/deploy/pin';
import { checkoutOutcome, revisionToCheckOut } from '../../../src/core/plan/checkout';
import { planPin } from '../../../src/core/plan/pin';
import { gen } from '../../lib/samples';

const sha = '0123456789abcdef0123456789abcdef01234567';

describe('checkout planning', () => {
  it('takes a commit, refuses none, dirty and non-commits with the reason', () => {
    assert.equal(revisionToCheckOut(gen(5, { configurationRevision: sha })), sha);
    assert.throws(() => revisionToCheckOut(gen(5)), /records no configurationRevision \(pin the label/);
    assert.throws(
      () => revisionToCheckOut(gen(5, { configurationRevision: 'dirty' })),
      /built from uncommitted changes/,
    );
    assert.throws(
      () => revisionToCheckOut(gen(5, { configurationRevision: 'v1.0; rm' })),
      /configurationRevision "v1\.0; rm" is not a git commit/,
    );
  });

  it('tells where it was checked out and that the working tree was not touched', () => {
    const result = { commit: sha, worktree: '/w/gen-5', flakeDir: '/w/gen-5', reused: true, dirty: true };
    const outcome = checkoutOutcome(gen(5), result);
    assert.equal(outcome.log, `generation 5: ${sha} already checked out in /w/gen-5`);
    assert.equal(
      outcome.message,
      "NixOS Generations: generation 5's commit 0123456789ab is checked out in /w/gen-5 (the generation was built with uncommitted changes on top of it). Your working tree was not touched.",
    );
  });
});

describe('pin planning', () => {
  const result = (status: PinResult['status'], extra: Partial<PinResult> = {}): PinResult => ({
    status,
    file: '/f/flake.nix',
    before: 'a',
    after: 'b',
    diff: '--- a\n+++ b',
    edits: [],
    messages: ['first problem', 'second'],
    hosts: [
      { name: 'box', line: 3, revision: 'added', label: 'added' },
      { name: null, line: 9, revision: 'added', label: 'present' },
    ],
    ...extra,
  });

  it('asks with the hosts when there is an edit; the diff goes to the log (the diff view shows it)', () => {
    const step = planPin(result('changed'));
    assert.equal(step.kind, 'ask');
    if (step.kind !== 'ask') return;
    assert.equal(step.confirm.message, 'Apply this edit to flake.nix?');
    assert.equal(step.confirm.action, 'Apply');
    assert.match(step.confirm.detail, /^Every future generation of box, line 9 records system\.configurationRevision/);
    assert.ok(!step.confirm.detail.includes('+++ b'), 'no diff in the question text');
    assert.ok(step.log.includes('--- a\n+++ b'), step.log);
  });

  it('tells instead of asking: refused (an error with the first reason), unchanged (ok), not a flake', () => {
    assert.deepEqual(planPin(result('refused')), {
      kind: 'tell',
      level: 'error',
      message: 'NixOS Generations: cannot pin: first problem',
      log: 'first problem\nsecond',
      ok: false,
    });
    const unchanged = planPin(result('unchanged'));
    assert.ok(unchanged.kind === 'tell' && unchanged.ok && unchanged.level === 'info');
    assert.match(unchanged.kind === 'tell' ? unchanged.message : '', /flake\.nix already records the commit/);
    const classic = planPin(result('not-a-flake'));
    assert.ok(classic.kind === 'tell' && !classic.ok && classic.log === 'first problem\nsecond');
  });
});
