import assert from 'node:assert/strict';
import { describeDrift, fleetSummary, driftOf } from '../../../src/core/fleet/drift';

describe('fleet: drift in words', () => {
  it('says each state plainly', () => {
    assert.equal(describeDrift({ kind: 'up-to-date', revision: 'a' }), 'up to date');
    assert.equal(describeDrift({ kind: 'behind', revision: 'a', commits: 1 }), '1 commit behind');
    assert.equal(describeDrift({ kind: 'behind', revision: 'a', commits: 3 }), '3 commits behind');
    assert.equal(describeDrift({ kind: 'dirty' }), 'runs a dirty tree');
    assert.equal(describeDrift({ kind: 'unknown', why: 'no-revision' }), 'unknown (no revision recorded: pin it)');
    assert.match(describeDrift({ kind: 'not-in-repository', revision: 'f'.repeat(40) }), /does not have/);
  });

  it('a dirty or missing revision needs no git', async () => {
    assert.deepEqual(await driftOf('dirty', undefined), { kind: 'dirty' });
    assert.deepEqual(await driftOf(`${'a'.repeat(40)}-dirty`, undefined), { kind: 'dirty' });
    assert.deepEqual(await driftOf(null, undefined), { kind: 'unknown', why: 'no-revision' });
    assert.deepEqual(await driftOf('not-a-sha', undefined), { kind: 'unknown', why: 'no-revision' });
    assert.deepEqual(await driftOf('a'.repeat(40), undefined), { kind: 'unknown', why: 'no-repository' });
  });

  it('sums up the fleet, up to date first and unknown last', () => {
    assert.equal(
      fleetSummary([
        { kind: 'unknown', why: 'unreachable' },
        { kind: 'behind', revision: 'a', commits: 3 },
        { kind: 'up-to-date', revision: 'b' },
        { kind: 'up-to-date', revision: 'b' },
      ]),
      '4 machines: 2 up to date, 1 3 commits behind, 1 unknown (machine unreachable)',
    );
    assert.equal(fleetSummary([{ kind: 'dirty' }]), '1 machine: 1 runs a dirty tree');
  });
});
