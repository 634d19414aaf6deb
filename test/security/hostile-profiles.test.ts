/**
 * Hostile profile directories: a generation link that loops on itself (or through another link) must be listed
 * as broken (missing), never as a present system, by the reader and by the shipped CLI; listing must not hang.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readProfile } from '../../src/core/generations/read';
import { StoreMetaCache } from '../../src/core/generations/store-meta';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

describe('security: hostile profile links', () => {
  let dir: string;
  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-loop-profile-')));
    fs.symlinkSync('system-1-link', path.join(dir, 'system-1-link')); // loops on itself
    fs.symlinkSync(path.join(dir, 'b'), path.join(dir, 'system-2-link')); // loops through a and b
    fs.symlinkSync(path.join(dir, 'b'), path.join(dir, 'a'));
    fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    const system = path.join(dir, 'store', 'x-nixos-system');
    fs.mkdirSync(system, { recursive: true });
    fs.writeFileSync(path.join(system, 'nixos-version'), '24.11.20241201.abcdef0');
    fs.symlinkSync(system, path.join(dir, 'system-3-link')); // a real one
    fs.symlinkSync('system-1-link', path.join(dir, 'system'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists a link that loops as broken, not present', async () => {
    for (const blocking of [false, true]) {
      const listing = await readProfile(
        { path: path.join(dir, 'system'), name: 'system', kind: 'system' },
        { cache: new StoreMetaCache(), blocking, runDir: dir },
      );
      const state = listing.generations.map((g) => [g.generation, g.missing]);
      assert.deepEqual(state, [
        [1, true],
        [2, true],
        [3, false],
      ]);
      assert.equal(listing.currentGeneration, 1);
    }
  });

  it('the shipped CLI marks them missing and ends', () => {
    const r = spawnSync(process.execPath, [CLI, 'list', '--json', '--profile', path.join(dir, 'system')], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, XDG_CACHE_HOME: dir },
    });
    assert.equal(r.status, 0, r.stderr);
    const gens = JSON.parse(r.stdout) as Array<{ generation: number; missing: boolean }>;
    const state = gens.map((g) => [g.generation, g.missing]).sort((x, y) => Number(x[0]) - Number(y[0]));
    assert.deepEqual(state, [
      [1, true],
      [2, true],
      [3, false],
    ]);
  });
});
