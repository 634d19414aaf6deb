/**
 * The generations core against real Nix: a fixture of 12 NixOS generations (three releases, specialisations,
 * configuration revisions, one garbage-collected store path), a home-manager profile and a user profile,
 * compared with what nix-env, nix-store and the generations' own nixos-version say.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChecked, runProcess } from '../../src/core/exec/process';
import {
  StoreMetaCache,
  defaultProfiles,
  loadClosureSizes,
  loadConfigurationRevisions,
  profileRefFor,
  profileWatchTarget,
  readProfile,
  readRunState,
  rebootNeeded,
  type Generation,
  type ProfileListing,
} from '../../src/core/generations';
import {
  buildFixture,
  expectedRevision,
  nixEnvGenerations,
  removeFixtureDir,
  type NixFixture,
} from '../fixtures/fixture';

/** ISO 8601 UTC -> nix-env's "YYYY-MM-DD HH:MM:SS" in UTC. */
function utcText(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$/, '');
}

describe('generations core on a real Nix profile', function () {
  this.timeout(300_000);
  let fx: NixFixture;
  let system: ProfileListing;
  const cache = new StoreMetaCache();

  before(async () => {
    fx = await buildFixture({ generations: 12, hm: 4, current: 12, activated: 11, booted: 5, missing: 2 });
    system = await readProfile(profileRefFor(fx.profile), { runDir: fx.runDir, cache });
  });

  it('lists every generation link, numerically sorted, with no problem', () => {
    assert.equal(system.problem, undefined);
    assert.deepEqual(
      system.generations.map((g) => g.generation),
      fx.manifest.map((r) => r.generation),
    );
    assert.deepEqual(
      system.generations.map((g) => g.storePath),
      fx.manifest.map((r) => r.toplevel),
    );
    assert.equal(system.currentGeneration, 12);
  });

  it('agrees with nix-env --list-generations on numbers, dates to the second and the current one', async () => {
    const nixEnv = await nixEnvGenerations(fx.profile, fx.env);
    assert.equal(nixEnv.length, 12);
    assert.deepEqual(
      system.generations.map((g) => ({ generation: g.generation, date: utcText(g.date), current: g.current })),
      nixEnv,
    );
    // and with the dates the fixture set
    assert.deepEqual(
      system.generations.map((g) => utcText(g.date)),
      fx.manifest.map((r) => r.createdUtc),
    );
  });

  it('tells boot default, activated and booted apart', async () => {
    const flags = (pick: (g: Generation) => boolean): number[] =>
      system.generations.filter(pick).map((g) => g.generation);
    assert.deepEqual(
      flags((g) => g.current),
      [12],
    );
    assert.deepEqual(
      flags((g) => g.activated),
      [11],
    );
    assert.deepEqual(
      flags((g) => g.booted),
      [5],
    );
    const state = await readRunState(fx.runDir);
    assert.equal(state.activated, fs.realpathSync(path.join(fx.runDir, 'current-system')));
    assert.equal(state.booted, fx.manifest[4]!.toplevel);
  });

  it('marks exactly the garbage-collected generation missing, as nix-store does, and still lists it', async () => {
    for (const g of system.generations) {
      const valid = await runProcess(['nix-store', '--check-validity', g.storePath], { baseEnv: fx.env });
      assert.equal(g.missing, valid.exitCode !== 0, `generation ${g.generation}`);
      assert.equal(g.missing, fx.manifest[g.generation - 1]!.missing);
    }
    const gone = system.generations.find((g) => g.missing)!;
    assert.equal(gone.generation, 2);
    assert.match(gone.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(gone.storePath, fx.manifest[1]!.toplevel);
    assert.equal(gone.nixosVersion, null);
    assert.equal(gone.kind, 'nixos');
  });

  it('reads version, codename, kernel and specialisations as the store has them', async () => {
    for (const g of system.generations.filter((x) => !x.missing)) {
      const row = fx.manifest[g.generation - 1]!;
      // the generation's own nixos-version, run for real
      const json = await runChecked([path.join(g.storePath, 'sw', 'bin', 'nixos-version'), '--json'], {
        baseEnv: fx.env,
      });
      const plain = await runChecked([path.join(g.storePath, 'sw', 'bin', 'nixos-version')], { baseEnv: fx.env });
      assert.equal(g.nixosVersion, (JSON.parse(json.stdout) as { nixosVersion: string }).nixosVersion);
      assert.equal(`${g.nixosVersion} (${g.codename})`, plain.stdout.trim());
      assert.equal(g.release, row.release);
      // the kernel as nix-store sees the closure: linux-<v>-modules
      const closure = await runChecked(['nix-store', '--query', '--requisites', g.storePath], { baseEnv: fx.env });
      const modules = closure.stdout
        .split('\n')
        .map((p) => /-linux-([0-9.]+)-modules$/.exec(p)?.[1])
        .filter((v): v is string => v !== undefined);
      assert.deepEqual(modules, [g.kernelVersion]);
      assert.deepEqual(g.specialisations, row.specialisation ? [row.specialisation] : []);
      assert.equal(g.label, fs.readFileSync(path.join(g.storePath, 'nixos-version'), 'utf8'));
    }
    assert.deepEqual(
      [...new Set(system.generations.filter((g) => !g.missing).map((g) => g.codename))],
      ['Tapir', 'Uakari', 'Vicuña'],
    );
  });

  it('loads configurationRevision lazily, equal to nixos-version --configuration-revision', async () => {
    const before = system.generations.map((g) => g.configurationRevision);
    // cheap reading only knows the short sha some labels carry
    for (const [i, g] of system.generations.entries()) {
      const row = fx.manifest[i]!;
      if (row.labelStyle && row.configurationRevision === 'rev') {
        assert.equal(before[i], expectedRevision(row)!.slice(0, 7), `label sha of ${g.generation}`);
        assert.equal(g.revisionSource, 'label');
      }
      if (!row.labelStyle) assert.equal(before[i], null, `generation ${g.generation} shows no sha`);
    }
    await loadConfigurationRevisions(system.generations, { cache, env: fx.env });
    for (const g of system.generations.filter((x) => !x.missing)) {
      const run = await runProcess([path.join(g.storePath, 'sw', 'bin', 'nixos-version'), '--configuration-revision'], {
        baseEnv: fx.env,
      });
      const truth = run.exitCode === 0 ? run.stdout.trim() : null;
      assert.equal(g.configurationRevision, truth, `generation ${g.generation}`);
      assert.equal(g.configurationRevision, expectedRevision(fx.manifest[g.generation - 1]!));
    }
    // a second read of the profile takes them from the cache
    const again = await readProfile(profileRefFor(fx.profile), { runDir: fx.runDir, cache });
    assert.deepEqual(
      again.generations.map((g) => g.configurationRevision),
      system.generations.map((g) => g.configurationRevision),
    );
  });

  it('needs a reboot when the booted kernel differs from the activated one, not otherwise', async () => {
    const status = await rebootNeeded(fx.runDir);
    assert.equal(status.needed, true);
    assert.deepEqual(status.differs, ['kernel', 'initrd', 'kernel-modules']);

    // activated 11 and 12 share the 24.11 late kernel: same kernel, no reboot
    const run2 = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-run-'));
    try {
      fs.symlinkSync(fx.manifest[10]!.toplevel, path.join(run2, 'booted-system'));
      fs.symlinkSync(fx.manifest[11]!.toplevel, path.join(run2, 'current-system'));
      const same = await rebootNeeded(run2);
      assert.equal(same.needed, false);
      assert.deepEqual(same.differs, []);
      assert.notEqual(same.booted, same.activated);
      const noLinks = await rebootNeeded(path.join(run2, 'nowhere'));
      assert.deepEqual(noLinks, { booted: null, activated: null, needed: false, differs: [] });
    } finally {
      fs.rmSync(run2, { recursive: true, force: true });
    }
  });

  it('gets closure sizes with one nix path-info call, leaving the missing path out', async () => {
    const paths = system.generations.map((g) => g.storePath);
    const result = await loadClosureSizes(paths, { env: fx.env, cache: new StoreMetaCache() });
    assert.deepEqual(result.errors, []);
    const present = system.generations.filter((g) => !g.missing).map((g) => g.storePath);
    assert.deepEqual([...result.sizes.keys()].sort(), [...present].sort());
    const text = await runChecked(
      ['nix', '--extra-experimental-features', 'nix-command', 'path-info', '-S', ...present],
      { baseEnv: fx.env },
    );
    for (const line of text.stdout.trim().split('\n')) {
      const [p, size] = line.trim().split(/\s+/);
      assert.equal(result.sizes.get(p!), Number(size), p);
    }
  });

  it('reads the home-manager profile: hm-version, specialisations, dates as nix-env has them', async () => {
    const hm = await readProfile(profileRefFor(fx.hmProfile!), { runDir: fx.runDir, cache });
    assert.equal(hm.problem, undefined);
    assert.equal(hm.profile.kind, 'home-manager');
    const nixEnv = await nixEnvGenerations(fx.hmProfile!, fx.env);
    assert.deepEqual(
      hm.generations.map((g) => ({ generation: g.generation, date: utcText(g.date), current: g.current })),
      nixEnv,
    );
    assert.deepEqual(
      hm.generations.map((g) => [g.kind, g.homeManagerVersion, g.specialisations, g.storePath]),
      fx.hmManifest.map((r) => ['home-manager', r.hmVersion, r.specialisation ? [r.specialisation] : [], r.storePath]),
    );
    assert.ok(hm.generations.every((g) => !g.activated && !g.booted && g.kernelVersion === null));
    assert.deepEqual(
      hm.generations.map((g) => g.codename),
      fx.hmManifest.map((r) => (r.hmVersion.startsWith('24.05') ? 'Uakari' : 'Vicuña')),
    );
    // the user profile holds plain environments
    const user = await readProfile(profileRefFor(fx.userProfile!), { runDir: fx.runDir, cache });
    assert.equal(user.generations.length, 4);
    assert.ok(user.generations.every((g) => g.kind === 'other' && !g.missing && g.nixosVersion === null));
  });

  it('gives the same listing with blocking reads (the CLI) as with the thread pool (the editor)', async () => {
    for (const profile of [fx.profile, fx.hmProfile!, fx.userProfile!]) {
      const a = await readProfile(profileRefFor(profile), { runDir: fx.runDir, cache: new StoreMetaCache() });
      const b = await readProfile(profileRefFor(profile), {
        runDir: fx.runDir,
        cache: new StoreMetaCache(),
        blocking: true,
      });
      assert.deepEqual(b, a);
      assert.ok(a.generations.length > 0);
    }
  });

  it('recognises an older home-manager generation without hm-version', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-hm-'));
    try {
      const gen = path.join(dir, 'abc-home-manager-generation');
      fs.mkdirSync(path.join(gen, 'home-files'), { recursive: true });
      fs.mkdirSync(path.join(gen, 'home-path'));
      fs.writeFileSync(path.join(gen, 'activate'), '#!/bin/sh\n');
      fs.mkdirSync(path.join(dir, 'profiles'));
      fs.symlinkSync(gen, path.join(dir, 'profiles', 'home-manager-1-link'));
      const listing = await readProfile(profileRefFor(path.join(dir, 'profiles', 'home-manager')));
      assert.equal(listing.generations[0]!.kind, 'home-manager');
      assert.equal(listing.generations[0]!.homeManagerVersion, null);
      assert.equal(listing.currentGeneration, null);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the system, user and home-manager profiles by default', async () => {
    const env = { NIX_STATE_DIR: fx.nixVars.NIX_STATE_DIR, HOME: fx.home, USER: 'alice' };
    const refs = await defaultProfiles(env);
    assert.deepEqual(
      refs.map((r) => [r.kind, r.path]),
      [
        ['system', fx.profile],
        ['user', fx.userProfile],
        ['home-manager', fx.hmProfile],
      ],
    );
    // XDG_STATE_HOME elsewhere and no legacy per-user profiles: only the system profile
    const none = await defaultProfiles({ ...env, XDG_STATE_HOME: path.join(fx.dir, 'nowhere') });
    assert.deepEqual(
      none.map((r) => r.kind),
      ['system'],
    );
  });

  it('tells a watcher which directory and entries concern a profile', () => {
    const target = profileWatchTarget(profileRefFor(fx.profile));
    assert.equal(target.directory, path.dirname(fx.profile));
    const entries = fs.readdirSync(target.directory);
    assert.deepEqual(
      entries.filter((e) => target.matches(e)).sort(),
      ['system', ...fx.manifest.map((r) => `system-${r.generation}-link`)].sort(),
    );
    assert.equal(target.matches('per-user'), false);
  });

  it('sees a generation deleted by nix-env and a store path deleted by nix-store --delete', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-prof-'));
    try {
      // a second profile over the same store, so the shared fixture stays intact
      const profile = path.join(copy, 'system');
      for (const row of fx.manifest.slice(2, 6)) {
        await runChecked(['nix-env', '--profile', profile, '--set', row.toplevel], { baseEnv: fx.env });
      }
      await runChecked(['nix-env', '--profile', profile, '--delete-generations', '2'], { baseEnv: fx.env });
      // generation 5: a fresh store path, then garbage: unrooted and deleted, its link left dangling
      const file = path.join(copy, 'payload.txt');
      fs.writeFileSync(file, `not a system ${copy}\n`);
      const added = (await runChecked(['nix-store', '--add', file], { baseEnv: fx.env })).stdout.trim();
      await runChecked(['nix-env', '--profile', profile, '--set', added], { baseEnv: fx.env });
      await runChecked(['nix-env', '--profile', profile, '--switch-generation', '4'], { baseEnv: fx.env });
      const link5 = `${profile}-5-link`;
      fs.unlinkSync(link5);
      await runChecked(['nix-store', '--delete', added], { baseEnv: fx.env });
      fs.symlinkSync(added, link5);
      assert.equal(fs.existsSync(added), false);

      const listing = await readProfile(profileRefFor(profile), { runDir: fx.runDir, cache });
      assert.equal(listing.problem, undefined);
      assert.deepEqual(
        listing.generations.map((g) => [g.generation, g.missing]),
        [
          [1, false],
          [3, false],
          [4, false],
          [5, true],
        ],
      );
      assert.equal(listing.currentGeneration, 4);
      assert.equal(listing.generations[3]!.storePath, added);
      assert.deepEqual(await nixEnvGenerations(profile, fx.env), [
        ...listing.generations.map((g) => ({ generation: g.generation, date: utcText(g.date), current: g.current })),
      ]);
    } finally {
      removeFixtureDir(copy);
    }
  });
});
