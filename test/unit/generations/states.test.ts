import assert from 'node:assert/strict';
import { compareBaseline, generationStates } from '../../../src/core/generations/states';
import { gen } from '../../lib/samples';

describe('generation states and the compare baseline', () => {
  it('calls a system profile current generation the boot default, any other profile\'s just "current"', () => {
    const g = gen(3, { current: true });
    assert.deepEqual(generationStates(g, 'system'), ['boot default']);
    assert.deepEqual(generationStates(g, 'home-manager'), ['current']);
    assert.deepEqual(generationStates(g, 'user'), ['current']);
    assert.deepEqual(generationStates(gen(4, { activated: true, booted: true }), 'system'), ['activated', 'booted']);
    assert.deepEqual(generationStates(gen(5, { missing: true }), 'home-manager'), ['garbage-collected']);
  });

  it('compares against what runs now: the activated system, the current home-manager generation', () => {
    const system = [gen(1), gen(2, { activated: true }), gen(3, { current: true }), gen(4)];
    assert.equal(compareBaseline(system, 4, 'system')?.generation, 2);
    assert.equal(compareBaseline(system, 2, 'system')?.generation, 1, 'the activated one itself: its predecessor');
    const home = [gen(1), gen(2, { current: true }), gen(3)];
    assert.equal(compareBaseline(home, 3, 'home-manager')?.generation, 2);
    assert.equal(compareBaseline(home, 1, 'home-manager')?.generation, 2);
  });

  it('falls back to the previous present generation, skipping garbage-collected ones, then to any other', () => {
    const list = [gen(1), gen(2, { missing: true }), gen(3)];
    assert.equal(compareBaseline(list, 3, 'system')?.generation, 1);
    assert.equal(compareBaseline([gen(5), gen(6)], 5, 'home-manager')?.generation, 6);
    assert.equal(compareBaseline([gen(5)], 5, 'system'), undefined);
  });
});
