import assert from 'node:assert/strict';
import type { ProfileListing } from '../../../src/core/generations/types';
import { locate, resolveGeneration, systemListing } from '../../../src/core/plan/generations';
import { gen, systemListingOf } from '../../lib/samples';

const system = systemListingOf([gen(1, { missing: true }), gen(2), gen(3, { activated: true, nixosVersion: '24.11' })]);
const user: ProfileListing = {
  profile: { path: '/home/a/.local/state/nix/profiles/profile', name: 'profile', kind: 'user' },
  generations: [gen(8)],
  currentGeneration: 8,
};
const broken: ProfileListing = {
  profile: { path: '/nix/var/nix/profiles/system', name: 'system', kind: 'system' },
  generations: [],
  currentGeneration: null,
  problem: { kind: 'missing', message: 'gone' },
};

describe('generation arguments', () => {
  it('the system listing is the readable system profile, else the first readable one', () => {
    assert.equal(systemListing([user, system]), system);
    assert.equal(systemListing([broken, user]), user);
    assert.equal(systemListing([broken]), undefined);
  });

  it('resolves a tree item, {profile, generation} and numbers', () => {
    const fromItem = resolveGeneration([system, user], { profile: user.profile, generation: user.generations[0] });
    assert.ok(!('pick' in fromItem));
    assert.equal(fromItem.listing, user);
    const fromPath = resolveGeneration([system, user], { profile: user.profile.path, generation: 8 });
    assert.ok(!('pick' in fromPath) && fromPath.generation.generation === 8);
    for (const arg of [2, '2', ' 2 ']) {
      const r = resolveGeneration([user, system], arg);
      assert.ok(!('pick' in r) && r.generation.generation === 2 && r.listing === system);
    }
  });

  it('says which generation is missing', () => {
    assert.throws(() => resolveGeneration([system], 9), /the system profile has no generation 9/);
    assert.throws(
      () => resolveGeneration([system], { profile: '/x', generation: 2 }),
      /generation 2 of \/x was not found/,
    );
    assert.throws(() => resolveGeneration([], undefined), /no profile could be read/);
  });

  it('no argument: the choices, newest first, garbage-collected ones left out unless the filter wants them', () => {
    const r = resolveGeneration([system], undefined);
    assert.ok('pick' in r);
    assert.deepEqual(
      r.pick.map((c) => c.label),
      ['3', '2'],
    );
    assert.match(r.pick[0]!.description, /^24\.11 · \d{4}-\d\d-\d\d · \(activated\)$/);
    const all = resolveGeneration([system], undefined, () => true);
    assert.ok('pick' in all && all.pick.length === 3);
    assert.throws(() => resolveGeneration([system], undefined, () => false), /has no generation to choose/);
  });

  it('locates a store path: the newest generation holding it', () => {
    const twice = systemListingOf([gen(1), gen(2, { storePath: gen(1).storePath })]);
    assert.deepEqual(locate([user, twice], gen(1).storePath), { profile: twice.profile.path, generation: 2 });
    assert.equal(locate([user], '/nix/store/none'), null);
  });
});
