/**
 * switchToGeneration and rollback on real Nix profiles: the elevated script switches a real profile with the real
 * nix-env and runs the fixture generation's switch-to-configuration (which records its calls), through the fake
 * sudo on PATH (which records its argv). The profile lives in a directory with a hostile name.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { ActivationHistory, rollbackTarget } from '../../src/core/deploy/history';
import {
  checkKernel,
  listSpecialisations,
  SWITCH_GENERATION_SCRIPT,
  switchArgv,
  whichExecutable,
  type SwitchRequest,
} from '../../src/core/deploy/switch-generation';
import { profileRefFor, readProfile } from '../../src/core/generations';
import { buildFixture, repoRoot, type NixFixture } from '../fixtures/fixture';

const FAKE_BIN = path.join(repoRoot(), 'test', 'fixtures', 'fake-bin');
const HOSTILE_DIR = `prof it's "q" $(touch PWNED); x \`id\` & y\nnext line`;

interface Calls {
  stc: Array<{ toplevel: string; action: string }>;
  fake: Array<{ prog: string; argv: string[]; command?: string[] }>;
}

describe('switch to any generation on a real profile', function () {
  this.timeout(180000);
  let fx: NixFixture;
  let work: string;
  let profile: string;
  let nixEnv: string;
  /** hostile profile generation -> fixture generation */
  const source = [1, 3, 4, 5, 6];

  before(async () => {
    fx = await buildFixture({ generations: 6 });
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-switch-')));
    fs.mkdirSync(path.join(work, HOSTILE_DIR));
    profile = path.join(work, HOSTILE_DIR, 'system');
    nixEnv = (await whichExecutable('nix-env'))!;
    assert.ok(nixEnv, 'nix-env on PATH');
    for (const n of source) {
      const toplevel = fx.manifest.find((r) => r.generation === n)!.toplevel;
      const r = await runProcess([nixEnv, '-p', profile, '--set', toplevel], { baseEnv: fx.env });
      assert.equal(r.exitCode, 0, r.stderr);
    }
  });
  after(async () => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  async function run(request: Partial<SwitchRequest>, env: Record<string, string> = {}) {
    const logDir = fs.mkdtempSync(path.join(work, 'log-'));
    const stcLog = path.join(logDir, 'stc.log');
    const fakeLog = path.join(logDir, 'fake.log');
    const full: SwitchRequest = {
      nixEnv,
      profilePath: profile,
      generation: 2,
      toplevel: toplevelOf(3),
      action: 'switch',
      previousGeneration: 5,
      elevation: 'sudo',
      ...request,
    };
    const argv = switchArgv(SWITCH_GENERATION_SCRIPT, full);
    const result = await runProcess(argv, {
      baseEnv: fx.env,
      env: {
        PATH: `${FAKE_BIN}:${process.env.PATH}`,
        NIXOS_FIXTURE_STC_LOG: stcLog,
        NIXGEN_FAKE_LOG: fakeLog,
        ...env,
      },
      cwd: work,
    });
    const calls: Calls = {
      stc: fs.existsSync(stcLog)
        ? fs
            .readFileSync(stcLog, 'utf8')
            .trim()
            .split('\n')
            .map((l) => {
              const [, toplevel, action] = l.split(' ');
              return { toplevel: toplevel!, action: action! };
            })
        : [],
      fake: fs.existsSync(fakeLog)
        ? fs
            .readFileSync(fakeLog, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
        : [],
    };
    return { result, calls, argv };
  }

  function toplevelOf(fixtureGeneration: number): string {
    return fx.manifest.find((r) => r.generation === fixtureGeneration)!.toplevel;
  }
  const currentLink = () => fs.readlinkSync(profile);

  it('switches the profile and runs switch-to-configuration switch, elevated once', async () => {
    assert.equal(currentLink(), 'system-5-link');
    const { result, calls, argv } = await run({ generation: 2, toplevel: toplevelOf(3), previousGeneration: 5 });
    assert.equal(result.exitCode, 0, result.stderr + result.stdout);
    assert.equal(currentLink(), 'system-2-link');
    assert.deepEqual(calls.stc, [{ toplevel: toplevelOf(3), action: 'switch' }]);
    assert.equal(calls.fake.length, 1);
    assert.deepEqual(calls.fake[0]!.command, argv.slice(2), 'sudo ran exactly our argv');
    assert.equal(calls.fake[0]!.command![5], profile, 'the hostile profile path arrived byte for byte');
    assert.equal(fs.existsSync(path.join(work, 'PWNED')), false);
    assert.equal(fs.existsSync(path.join(work, HOSTILE_DIR, 'PWNED')), false);
  });

  it('activates a specialisation with test, leaving the boot default alone', async () => {
    const withSpec = fx.manifest.find((r) => r.specialisation && !r.missing)!;
    const n = source.indexOf(withSpec.generation) + 1;
    assert.ok(n > 0, 'the fixture has a specialisation in a copied generation');
    assert.deepEqual(await listSpecialisations(withSpec.toplevel), [withSpec.specialisation]);
    const before = currentLink();
    const { result, calls } = await run({
      generation: n,
      toplevel: withSpec.toplevel,
      action: 'test',
      specialisation: withSpec.specialisation!,
    });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(currentLink(), before);
    const child = fs.realpathSync(path.join(withSpec.toplevel, 'specialisation', withSpec.specialisation!));
    assert.deepEqual(calls.stc, [{ toplevel: child, action: 'test' }]);
  });

  it('puts the profile back and restores the boot default when activation fails', async () => {
    await run({ generation: 5, toplevel: toplevelOf(6), previousGeneration: 2 });
    assert.equal(currentLink(), 'system-5-link');
    const { result, calls } = await run(
      { generation: 3, toplevel: toplevelOf(4), previousGeneration: 5 },
      { NIXOS_FIXTURE_STC_EXIT: '7' },
    );
    assert.equal(result.exitCode, 7, 'the activation exit code is kept');
    assert.equal(currentLink(), 'system-5-link', 'profile restored');
    assert.deepEqual(calls.stc, [
      { toplevel: toplevelOf(4), action: 'switch' },
      { toplevel: toplevelOf(6), action: 'boot' },
    ]);
    assert.match(result.stdout, /putting [\s\S]* back to generation 5/);
  });

  it('changes nothing when the generation was garbage-collected', async () => {
    const missing = fx.manifest.find((r) => r.missing)!;
    const { result, calls } = await run({ generation: 1, toplevel: missing.toplevel, previousGeneration: 5 });
    assert.equal(result.exitCode, 3);
    assert.equal(currentLink(), 'system-5-link');
    assert.deepEqual(calls.stc, []);
    assert.match(result.stderr, /missing or not executable; nothing was changed/);
  });

  it('runs unelevated with elevation none, and through doas and run0', async () => {
    for (const elevation of ['none', 'doas', 'run0'] as const) {
      const { result, calls } = await run({ generation: 4, toplevel: toplevelOf(5), action: 'boot', elevation });
      assert.equal(result.exitCode, 0, result.stderr);
      assert.deepEqual(
        calls.fake.map((c) => c.prog),
        elevation === 'none' ? [] : [elevation],
      );
      assert.deepEqual(calls.stc, [{ toplevel: toplevelOf(5), action: 'boot' }]);
    }
    assert.equal(currentLink(), 'system-4-link');
  });

  it('rolls back to the previously activated generation from the history', async () => {
    const stateDir = fs.mkdtempSync(path.join(work, 'state-'));
    const history = new ActivationHistory(stateDir);
    const listing = await readProfile(profileRefFor(profile), { runDir: fx.runDir });
    const byNumber = (n: number) => listing.generations.find((g) => g.generation === n)!;
    await history.append({
      profile,
      generation: 2,
      storePath: byNumber(2).storePath,
      action: 'switch',
      source: 'performed',
    });
    await history.append({
      profile,
      generation: 5,
      storePath: byNumber(5).storePath,
      action: 'switch',
      source: 'performed',
    });
    const target = rollbackTarget(await history.read(), listing.generations, byNumber(5).storePath);
    assert.equal(target?.generation.generation, 2, 'generation 2, not 4 (numbered below)');
    const { result, calls } = await run({
      generation: target!.generation.generation,
      toplevel: target!.generation.storePath,
      previousGeneration: listing.currentGeneration,
    });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(currentLink(), 'system-2-link');
    assert.deepEqual(calls.stc, [{ toplevel: toplevelOf(3), action: 'switch' }]);
  });

  it('tells when a generation was built for another kernel than the booted one', async () => {
    const same = await checkKernel(toplevelOf(6), toplevelOf(6));
    assert.equal(same.differs, false);
    assert.ok(same.target);
    // the fixture's 23.11 generations run 6.1.x, its 24.11 ones 6.6.x
    const older = await checkKernel(toplevelOf(1), toplevelOf(6));
    assert.equal(older.differs, true);
    assert.match(older.target ?? '', /^6\.1\./);
    assert.match(older.booted ?? '', /^6\.6\./);
    assert.equal((await checkKernel(toplevelOf(1), null)).differs, false);
  });
});
