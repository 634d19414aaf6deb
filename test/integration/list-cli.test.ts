/** `nixos-generations list` as a process, on a real Nix fixture, compared with nix-env and the store. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChecked, runProcess, type RunResult } from '../../src/core/exec/process';
import type { GenerationJson } from '../../src/core/generations';
import { buildFixture, expectedRevision, nixEnvGenerations, repoRoot, type NixFixture } from '../fixtures/fixture';

describe('nixos-generations list', function () {
  this.timeout(300_000);
  let fx: NixFixture;
  let cacheDir: string;
  // the store cache goes to a temporary directory, never to the $HOME of whoever runs the tests
  const cli = (args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> =>
    runProcess([process.execPath, path.join(repoRoot(), 'out', 'src', 'cli', 'main.js'), 'list', ...args], {
      baseEnv: { ...(env ?? fx.env), NIXOS_GENERATIONS_CACHE_DIR: cacheDir },
      timeoutMs: 120_000,
    });

  before(async () => {
    fx = await buildFixture({ generations: 12, hm: 4, current: 12, activated: 11, booted: 5, missing: 2 });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-list-cache-'));
  });
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  it('--json gives the contract fields, agreeing with nix-env and the store', async () => {
    const result = await cli(['--profile', fx.profile, '--run-dir', fx.runDir, '--json']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, '');
    const rows = JSON.parse(result.stdout) as GenerationJson[];
    assert.deepEqual(
      rows.map((r) => r.generation),
      [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    );
    const nixEnv = await nixEnvGenerations(fx.profile, fx.env);
    let labelled = 0;
    for (const r of rows) {
      const theirs = nixEnv.find((g) => g.generation === r.generation)!;
      assert.equal(r.date.replace('T', ' ').replace('Z', ''), theirs.date);
      assert.equal(r.current, theirs.current);
      const m = fx.manifest[r.generation - 1]!;
      assert.equal(r.profile, fx.profile);
      assert.equal(r.storePath, m.toplevel);
      assert.equal(r.missing, m.missing);
      assert.equal(r.activated, r.generation === 11);
      assert.equal(r.booted, r.generation === 5);
      if (m.missing) {
        assert.equal(r.nixosVersion, null);
        assert.equal(r.configurationRevision, null);
        continue;
      }
      assert.equal(r.configurationRevision, expectedRevision(m), `revision of ${r.generation}`);
      assert.deepEqual(r.specialisations, m.specialisation ? [m.specialisation] : []);
      // nixosVersion keeps nixos-rebuild's meaning: the generation's nixos-version file (the label); the bare
      // release and version are fields of their own
      assert.equal(r.nixosVersion, fs.readFileSync(path.join(r.storePath, 'nixos-version'), 'utf8').trim());
      assert.equal(r.release, m.release);
      assert.equal(r.version!.slice(0, 5), m.release);
      const version = await runChecked([path.join(r.storePath, 'sw', 'bin', 'nixos-version')], { baseEnv: fx.env });
      assert.equal(`${r.version} (${r.codename})`, version.stdout.trim());
      assert.match(r.kernelVersion!, /^6\.\d+\.\d+$/);
      assert.ok(r.label!.includes(r.version!));
      if (m.labelStyle !== null) {
        labelled++;
        assert.notEqual(r.nixosVersion, r.version, `generation ${r.generation} carries a label`);
      }
    }
    assert.ok(labelled > 0, 'the fixture has labelled generations');
  });

  it('lists the system, user and home-manager profiles by default', async () => {
    const env: NodeJS.ProcessEnv = { ...fx.env, HOME: fx.home, USER: 'alice' };
    delete env.XDG_STATE_HOME;
    const result = await cli(['--run-dir', fx.runDir, '--json'], env);
    assert.equal(result.exitCode, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as GenerationJson[];
    const byProfile = new Map<string, number[]>();
    for (const r of rows) byProfile.set(r.profile, [...(byProfile.get(r.profile) ?? []), r.generation]);
    assert.deepEqual(
      [...byProfile.entries()],
      [
        [fx.profile, [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]],
        [fx.userProfile, [4, 3, 2, 1]],
        [fx.hmProfile, [4, 3, 2, 1]],
      ],
    );
    const hm = rows.filter((r) => r.profile === fx.hmProfile);
    assert.deepEqual(
      hm.map((r) => [r.kind, r.homeManagerVersion]),
      [...fx.hmManifest].reverse().map((m) => ['home-manager', m.hmVersion]),
    );
  });

  it('prints a table newest first with boot default, activated, booted, missing and reboot marks', async () => {
    const result = await cli(['--profile', fx.profile, '--run-dir', fx.runDir]);
    assert.equal(result.exitCode, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.equal(lines[0], `system: ${fx.profile}`);
    assert.match(lines[1]!, /GEN\s+DATE\s+NIXOS VERSION\s+KERNEL\s+REVISION\s+LABEL\s+SPECIALISATIONS\s+STATE/);
    const rows = lines.slice(2, 14);
    assert.deepEqual(
      rows.map((l) => Number(l.slice(1).trim().split(/\s+/)[0])),
      [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    );
    const row = (n: number): string => rows.find((l) => Number(l.slice(1).trim().split(/\s+/)[0]) === n)!;
    assert.match(row(12), /^\*.*2025-04-08 07:00:00.*Vicuña.*no-gpu\s+boot default$/);
    assert.match(row(11), /^>.*activated$/);
    assert.match(row(5), /^ .*24\.05\.20240601\.\S+ \(Uakari\)\s+6\.6\.32.*booted$/);
    assert.match(row(2), /^!.*missing \(garbage-collected\)$/);
    assert.match(row(8), /git-80c6fb3-24\.05/);
    assert.match(
      result.stdout,
      /reboot needed: the activated system has another kernel, initrd and kernel modules than the booted one/,
    );
  });

  it('adds closure sizes on request', async () => {
    const result = await cli(['--profile', fx.profile, '--run-dir', fx.runDir, '--json', '--closure-size']);
    assert.equal(result.exitCode, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as GenerationJson[];
    for (const r of rows) {
      if (r.missing) assert.equal(r.closureSize, null);
      else assert.ok(typeof r.closureSize === 'number' && r.closureSize > 100_000, `${r.generation}`);
    }
  });

  it('still lists the readable profiles when one is not, and exits 1', async () => {
    const bad = path.join(fx.dir, 'no', 'such', 'system');
    const result = await cli(['--profile', bad, '--profile', fx.hmProfile!, '--json']);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /no\/such does not exist/);
    const rows = JSON.parse(result.stdout) as GenerationJson[];
    assert.equal(rows.length, 4);
    const text = await cli(['--profile', bad]);
    assert.equal(text.exitCode, 1);
    assert.match(text.stdout, /\(profile directory .*no\/such does not exist\)/);
  });

  it('rejects unknown options and arguments with usage errors', async () => {
    const unknown = await cli(['--bogus']);
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, /unknown option --bogus/);
    const extra = await cli(['stray']);
    assert.equal(extra.exitCode, 2);
    assert.match(extra.stderr, /unexpected argument 'stray'/);
  });
});
