import assert from 'node:assert/strict';
import { cleanArgv, parseRoots, planClean, protectionReasons } from '../../../src/core/deploy/clean';
import { gen } from '../../lib/samples';

const DAY = 86400000;
const now = new Date(Date.UTC(2025, 5, 1));
/** Ten generations, one every 10 days, the newest 5 days ago. */
function profile() {
  return [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) =>
    gen(n, { date: new Date(now.getTime() - (5 + (10 - n) * 10) * DAY).toISOString() }),
  );
}
const numbers = (gs: Array<{ generation: number }>) => gs.map((g) => g.generation);

describe('clean plan', () => {
  it('keeps the N newest', () => {
    const plan = planClean('/p', profile(), { kind: 'keep', keep: 3 });
    assert.deepEqual(numbers(plan.remove), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(numbers(plan.keep), [8, 9, 10]);
    assert.match(plan.summary, /keep the 3 newest/);
  });

  it('never removes the activated, booted or boot-default generation', () => {
    const gens = profile();
    gens[1]!.booted = true;
    gens[3]!.activated = true;
    gens[9]!.current = true;
    const plan = planClean('/p', gens, { kind: 'keep', keep: 1 });
    assert.deepEqual(numbers(plan.remove), [1, 3, 5, 6, 7, 8, 9]);
    assert.deepEqual(
      plan.protected.map((p) => [p.generation.generation, p.reasons]),
      [
        [2, ['booted']],
        [4, ['activated']],
      ],
    );
    const all = planClean('/p', gens, { kind: 'selection', generations: [2, 4, 10] });
    assert.deepEqual(numbers(all.remove), []);
    assert.equal(all.protected.length, 3);
    assert.deepEqual(protectionReasons({ ...gens[0]!, activated: true, booted: true, current: true }), [
      'activated',
      'booted',
      'boot default',
    ]);
  });

  it('deletes what was replaced before the cutoff, like nix-env --delete-generations Nd', () => {
    // generation n was created (5 + (10-n)*10) days ago; with 30d, generations created 35, 45, ... days ago were
    // replaced more than 30 days ago when their successor is older than 30 days: successor of 7 was created 25 days ago
    const plan = planClean('/p', profile(), { kind: 'olderThan', days: 30, now });
    assert.deepEqual(numbers(plan.remove), [1, 2, 3, 4, 5, 6]);
    assert.ok(numbers(plan.keep).includes(7), 'generation 7 was still in use at the cutoff');
    assert.deepEqual(numbers(planClean('/p', profile(), { kind: 'olderThan', days: 1000, now }).remove), []);
  });

  it('takes a selection and reports numbers the profile does not have', () => {
    const plan = planClean('/p', profile(), { kind: 'selection', generations: [3, 3, 42, 5] });
    assert.deepEqual(numbers(plan.remove), [3, 5]);
    assert.deepEqual(plan.unknown, [42]);
  });

  it('keeps everything with keep >= count', () => {
    assert.deepEqual(planClean('/p', profile(), { kind: 'keep', keep: 99 }).remove, []);
  });
});

describe('clean command line', () => {
  it('passes the values as positional parameters to one elevated script', () => {
    const argv = cleanArgv('/tmp/x/clean.sh', {
      nixEnv: '/bin/nix-env',
      nixStore: '/bin/nix-store',
      profilePath: "/p/it's $(x)",
      generations: [1, 3],
      refreshBoot: true,
      elevation: 'doas',
    });
    assert.deepEqual(argv, [
      'doas',
      '--',
      'sh',
      '-c',
      '/tmp/x/clean.sh',
      'nixos-generations-clean',
      '/bin/nix-env',
      '/bin/nix-store',
      "/p/it's $(x)",
      '1',
      '1',
      '3',
    ]);
  });
  it('refuses an empty or bad list', () => {
    const r = { nixEnv: 'a', nixStore: 'b', profilePath: '/p', refreshBoot: false, elevation: 'none' as const };
    assert.throws(() => cleanArgv('/s', { ...r, generations: [] }), /nothing to delete/);
    assert.throws(() => cleanArgv('/s', { ...r, generations: [1.5] }), /not a generation number/);
  });
  it('reads GC roots', () => {
    assert.deepEqual(parseRoots('/a b -> /nix/store/x\n{temp:12} -> /nix/store/y\nnoise\n'), [
      { root: '/a b', storePath: '/nix/store/x' },
      { root: '{temp:12}', storePath: '/nix/store/y' },
    ]);
  });
});
