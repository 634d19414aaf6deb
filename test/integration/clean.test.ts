/**
 * Deleting generations for real: plan on a real fixture profile, estimate the freed space from closures, run the
 * elevated clean script (real nix-env, real garbage collection, the fixture's switch-to-configuration for the boot
 * entries), and check that exactly the predicted store paths disappeared.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { CLEAN_SCRIPT, cleanArgv, estimateFreedSpace, planClean } from '../../src/core/deploy/clean';
import { whichExecutable } from '../../src/core/deploy/switch-generation';
import { profileRefFor, readProfile } from '../../src/core/generations';
import { buildFixture, repoRoot } from '../fixtures/fixture';

const FAKE_BIN = path.join(repoRoot(), 'test', 'fixtures', 'fake-bin');

async function valid(paths: readonly string[], env: NodeJS.ProcessEnv): Promise<Set<string>> {
  const r = await runProcess(['nix-store', '--check-validity', '--print-invalid', ...paths], { baseEnv: env });
  assert.equal(r.exitCode, 0, r.stderr);
  const invalid = new Set(r.stdout.split('\n').filter(Boolean));
  return new Set(paths.filter((p) => !invalid.has(p)));
}

describe('delete generations on a real profile', function () {
  this.timeout(240000);

  it('keeps N newest plus the protected ones, frees exactly the predicted paths, refreshes boot entries', async () => {
    // 11 generations; boot default 10, activated 9, booted 8 (all protected), 2 garbage-collected already
    const fx = await buildFixture({ generations: 11, current: 10, activated: 9, booted: 8, missing: 2 });
    const listing = await readProfile(profileRefFor(fx.profile), { runDir: fx.runDir });
    assert.equal(listing.generations.length, 11);
    const plan = planClean(fx.profile, listing.generations, { kind: 'keep', keep: 2 });
    assert.deepEqual(
      plan.remove.map((g) => g.generation),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(
      plan.protected.map((p) => [p.generation.generation, p.reasons.join('+')]),
      [
        [8, 'booted'],
        [9, 'activated'],
      ],
    );
    assert.deepEqual(
      plan.keep.map((g) => g.generation),
      [8, 9, 10, 11],
    );

    const freed = await estimateFreedSpace(
      plan.remove,
      plan.keep.map((g) => g.storePath),
      { env: fx.env },
    );
    assert.equal(freed.upperBound, false, freed.note);
    assert.ok(freed.paths > 0 && freed.bytes > 0, JSON.stringify(freed));

    // what the removed generations reach now, and the sizes nix reports for the predicted paths
    const removedPresent = plan.remove.filter((g) => !g.missing).map((g) => g.storePath);
    const reach = await runProcess(['nix-store', '-qR', ...removedPresent], { baseEnv: fx.env });
    const candidates = reach.stdout.split('\n').filter(Boolean);
    const sizes = await runProcess(['nix-store', '-q', '--size', ...freed.storePaths], { baseEnv: fx.env });
    const expectedBytes = sizes.stdout
      .split('\n')
      .filter(Boolean)
      .reduce((a, b) => a + Number(b), 0);
    assert.equal(freed.bytes, expectedBytes);

    // the script runs as sh -c text, as the product runs it; this directory only holds the fakes' logs
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-clean-'));
    const stcLog = path.join(work, 'stc.log');
    const fakeLog = path.join(work, 'fake.log');
    try {
      const argv = cleanArgv(CLEAN_SCRIPT, {
        nixEnv: (await whichExecutable('nix-env'))!,
        nixStore: (await whichExecutable('nix-store'))!,
        profilePath: fx.profile,
        generations: plan.remove.map((g) => g.generation),
        refreshBoot: true,
        elevation: 'sudo',
      });
      const result = await runProcess(argv, {
        baseEnv: fx.env,
        env: { PATH: `${FAKE_BIN}:${process.env.PATH}`, NIXOS_FIXTURE_STC_LOG: stcLog, NIXGEN_FAKE_LOG: fakeLog },
      });
      assert.equal(result.exitCode, 0, result.stderr + result.stdout);

      // the profile keeps exactly the planned generations
      const after = await readProfile(profileRefFor(fx.profile), { runDir: fx.runDir });
      assert.deepEqual(
        after.generations.map((g) => g.generation),
        [8, 9, 10, 11],
      );
      assert.equal(after.currentGeneration, 10);

      // exactly the predicted paths were collected among what the removed generations reached
      const stillValid = await valid(candidates, fx.env);
      const collected = candidates.filter((p) => !stillValid.has(p)).sort();
      assert.deepEqual(collected, freed.storePaths);
      // and everything the kept generations need is still there
      const keptReach = await runProcess(['nix-store', '-qR', ...after.generations.map((g) => g.storePath)], {
        baseEnv: fx.env,
      });
      assert.equal(keptReach.exitCode, 0, keptReach.stderr);

      // boot entries refreshed from the boot default (generation 10)
      const stc = fs.readFileSync(stcLog, 'utf8').trim().split('\n');
      const bootDefault = listing.generations.find((g) => g.generation === 10)!.storePath;
      assert.deepEqual(
        stc.map((l) => l.split(' ').slice(1).join(' ')),
        [`${bootDefault} boot`],
      );
      const sudo = fs
        .readFileSync(fakeLog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { prog: string });
      assert.deepEqual(
        sudo.map((c) => c.prog),
        ['sudo'],
        'one elevation for the whole clean-up',
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('deletes a selection, refusing protected generations even when selected', async () => {
    const fx = await buildFixture({ generations: 5, current: 5, activated: 4, booted: 4, missing: 0 });
    const listing = await readProfile(profileRefFor(fx.profile), { runDir: fx.runDir });
    const plan = planClean(fx.profile, listing.generations, { kind: 'selection', generations: [2, 4, 5] });
    assert.deepEqual(
      plan.remove.map((g) => g.generation),
      [2],
    );
    const freed = await estimateFreedSpace(plan.remove, [], { env: fx.env });
    const argv = cleanArgv(CLEAN_SCRIPT, {
      nixEnv: (await whichExecutable('nix-env'))!,
      nixStore: (await whichExecutable('nix-store'))!,
      profilePath: fx.profile,
      generations: plan.remove.map((g) => g.generation),
      refreshBoot: false,
      elevation: 'none',
    });
    const result = await runProcess(argv, { baseEnv: fx.env });
    assert.equal(result.exitCode, 0, result.stderr);
    const after = await readProfile(profileRefFor(fx.profile), { runDir: fx.runDir });
    assert.deepEqual(
      after.generations.map((g) => g.generation),
      [1, 3, 4, 5],
    );
    const stillValid = await valid(freed.storePaths, fx.env);
    assert.equal(stillValid.size, 0, 'every predicted path is gone');
  });
});
