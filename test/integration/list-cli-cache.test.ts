/**
 * `nixos-generations list` with its store cache, as processes on a real Nix fixture: the cache lands only in
 * NIXOS_GENERATIONS_CACHE_DIR, changes nothing in the output, is what later runs use, never hides a
 * garbage-collected path, survives corruption and concurrent runs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChecked, runProcess, type RunResult } from '../../src/core/exec/process';
import { CACHE_FILE_NAME, StoreMetaCache, loadStoreCacheSync, type GenerationJson } from '../../src/core/generations';
import { buildFixture, removeFixtureDir, repoRoot, type NixFixture } from '../fixtures/fixture';

describe('nixos-generations list: the store cache between runs', function () {
  this.timeout(300_000);
  let fx: NixFixture;
  let tmp: string;
  let cacheDir: string;
  let home: string;

  before(async () => {
    fx = await buildFixture({ generations: 12, hm: 4, current: 12, activated: 11, booted: 5, missing: 2 });
  });
  beforeEach(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-list-cache-')));
    cacheDir = path.join(tmp, 'cache');
    home = path.join(tmp, 'home');
    fs.mkdirSync(home);
  });
  afterEach(() => removeFixtureDir(tmp));

  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...fx.env, HOME: home, NIXOS_GENERATIONS_CACHE_DIR: cacheDir };
    delete e.XDG_CACHE_HOME;
    return e;
  };
  const cli = (args: string[]): Promise<RunResult> =>
    runProcess([process.execPath, path.join(repoRoot(), 'out', 'src', 'cli', 'main.js'), 'list', ...args], {
      baseEnv: env(),
      timeoutMs: 120_000,
    });
  const listJson = async (profile = fx.profile, extra: string[] = []): Promise<GenerationJson[]> => {
    const r = await cli(['--profile', profile, '--run-dir', fx.runDir, '--json', ...extra]);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as GenerationJson[];
  };
  const file = (): string => path.join(cacheDir, CACHE_FILE_NAME);
  const fileId = (): string => {
    const st = fs.statSync(file());
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  };

  it('is written by the first run, only where NIXOS_GENERATIONS_CACHE_DIR says; later runs agree and leave it be', async () => {
    const cold = await listJson();
    assert.ok(fs.existsSync(file()), 'the first run wrote the cache');
    assert.deepEqual(fs.readdirSync(home), [], 'nothing in HOME');
    const written = fileId();
    const warm = await listJson();
    assert.deepEqual(warm, cold);
    assert.equal(fileId(), written, 'nothing new learned: the file is not written again');
    assert.deepEqual(await listJson(fx.profile, ['--no-cache']), cold);
    // the table too
    const table = await cli(['--profile', fx.profile, '--run-dir', fx.runDir]);
    const tableNoCache = await cli(['--profile', fx.profile, '--run-dir', fx.runDir, '--no-cache']);
    assert.equal(table.stdout, tableNoCache.stdout);
    assert.match(table.stdout, /Vicuña/);
    // the revisions (from each generation's nixos-version) are in the file: a warm run has none to load
    const pc = loadStoreCacheSync(new StoreMetaCache(), env())!;
    assert.equal(pc.loaded, 'ok');
    const present = cold.filter((g) => !g.missing);
    for (const g of present) assert.ok(pc.cache.entry(g.storePath)?.revision, `revision of ${g.generation} cached`);
    assert.equal(pc.cache.entry(cold.find((g) => g.missing)!.storePath), undefined);
  });

  it('shows what the cache holds (the store is not read again) until the store path is made anew', async () => {
    const cold = await listJson();
    const five = cold.find((g) => g.generation === 5)!;
    const doc = JSON.parse(fs.readFileSync(file(), 'utf8')) as { stores: Record<string, Record<string, unknown[]>> };
    const entry = doc.stores[path.dirname(five.storePath)]![path.basename(five.storePath)]!;
    const meta = entry[2] as unknown[];
    meta[2] = 'edited-in-the-cache'; // the label
    fs.writeFileSync(file(), JSON.stringify(doc));
    const warm = await listJson();
    assert.equal(warm.find((g) => g.generation === 5)!.label, 'edited-in-the-cache');
    // another identity (as after garbage collection and a new download): read from the store again
    entry[0] = '1:1';
    fs.writeFileSync(file(), JSON.stringify(doc));
    const again = await listJson();
    assert.deepEqual(again, cold);
    assert.ok(!fs.readFileSync(file(), 'utf8').includes('edited-in-the-cache'), 'the stale entry was replaced');
  });

  it('shows a store path that was garbage-collected as missing, whatever the cache says', async () => {
    // a private copy of a real generation, so it can be deleted without touching the shared fixture
    const original = fx.manifest[5]!.toplevel;
    const store = path.join(tmp, 'store');
    const copy = path.join(store, path.basename(original));
    fs.mkdirSync(store);
    await runChecked(['cp', '-a', original, copy]);
    const profiles = path.join(tmp, 'profiles');
    fs.mkdirSync(profiles);
    fs.symlinkSync(copy, path.join(profiles, 'system-1-link'));
    fs.symlinkSync(fx.manifest[6]!.toplevel, path.join(profiles, 'system-2-link'));
    fs.symlinkSync('system-2-link', path.join(profiles, 'system'));
    const profile = path.join(profiles, 'system');

    const before = await listJson(profile);
    const one = before.find((g) => g.generation === 1)!;
    assert.equal(one.missing, false);
    assert.equal(one.nixosVersion!.slice(0, 5), fx.manifest[5]!.release);
    assert.ok(fs.readFileSync(file(), 'utf8').includes(path.basename(copy)));

    removeFixtureDir(copy);
    const after = await listJson(profile);
    const gone = after.find((g) => g.generation === 1)!;
    assert.equal(gone.missing, true);
    assert.equal(gone.nixosVersion, null);
    assert.equal(gone.label, null);
    assert.equal(gone.configurationRevision, null);
    assert.deepEqual(gone.specialisations, []);
    assert.equal(after.find((g) => g.generation === 2)!.missing, false);
    const pc = loadStoreCacheSync(new StoreMetaCache(), env())!;
    assert.equal(pc.cache.entry(copy), undefined, 'the entry of the collected path was dropped');
  });

  it('keeps closure sizes: a later run shows them without running nix', async () => {
    const sized = await listJson(fx.profile, ['--closure-size']);
    assert.ok(sized.filter((g) => !g.missing).every((g) => typeof g.closureSize === 'number' && g.closureSize > 0));
    // no nix on PATH now: the sizes can only come from the cache
    const r = await runProcess(
      [
        process.execPath,
        path.join(repoRoot(), 'out', 'src', 'cli', 'main.js'),
        'list',
        '--profile',
        fx.profile,
        '--run-dir',
        fx.runDir,
        '--json',
        '--closure-size',
      ],
      { baseEnv: { ...env(), PATH: path.join(tmp, 'empty-path') }, timeoutMs: 120_000 },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(JSON.parse(r.stdout), sized);
  });

  it('ignores a corrupt cache file and rewrites it', async () => {
    const truth = await listJson(fx.profile, ['--no-cache']);
    assert.equal(fs.existsSync(file()), false, '--no-cache writes nothing');
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(file(), '{"version":1,"stores":{"/nix/store":{"x":');
    assert.deepEqual(await listJson(), truth);
    assert.equal(loadStoreCacheSync(new StoreMetaCache(), env())!.loaded, 'ok');
  });

  it('stays whole when several runs write it at once', async () => {
    const runs = await Promise.all(Array.from({ length: 5 }, () => listJson()));
    for (const r of runs.slice(1)) assert.deepEqual(r, runs[0]);
    const pc = loadStoreCacheSync(new StoreMetaCache(), env())!;
    assert.equal(pc.loaded, 'ok');
    assert.equal(pc.cache.size, runs[0]!.filter((g) => !g.missing).length);
    assert.deepEqual(fs.readdirSync(cacheDir), [CACHE_FILE_NAME], 'no temporary file left behind');
    assert.deepEqual(await listJson(), runs[0]);
  });
});
