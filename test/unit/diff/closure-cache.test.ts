import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  closureCacheDir,
  MAX_CLOSURE_FILES,
  readCachedClosure,
  writeCachedClosure,
  type Closure,
} from '../../../src/core/diff';

const hash = (i: number): string =>
  String(i)
    .padStart(32, '0')
    .replace(/[eotu]/g, 'a');

describe('closures kept between processes', () => {
  let tmp: string;
  let store: string;
  let dir: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-closure-cache-'));
    store = path.join(tmp, 'store');
    dir = path.join(tmp, 'cache', 'closures-v1');
    fs.mkdirSync(store);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A root (made to exist) with `n` dependencies, NAR sizes 100, 101, ... */
  function closure(i: number, n = 3): Closure {
    const root = path.join(store, `${hash(i)}-nixos-system-x-${i}`);
    fs.mkdirSync(root, { recursive: true });
    const paths = new Map<string, number>([[root, 100]]);
    for (let k = 1; k <= n; k++) paths.set(path.join(store, `${hash(1000 + k)}-dep-${k}`), 100 + k);
    let size = 0;
    for (const s of paths.values()) size += s;
    return { root, paths, size };
  }

  it('gives back exactly what was kept while the root exists, and nothing once it is gone', () => {
    const c = closure(1);
    assert.equal(readCachedClosure(dir, c.root), null);
    writeCachedClosure(dir, c);
    assert.deepEqual(readCachedClosure(dir, c.root), c);
    assert.equal((fs.statSync(dir).mode & 0o777).toString(8), '700');
    fs.rmSync(c.root, { recursive: true });
    assert.equal(readCachedClosure(dir, c.root), null, 'a garbage-collected root is never answered from the file');
  });

  it('believes no file that is not a closure of that very root', () => {
    const c = closure(2);
    writeCachedClosure(dir, c);
    const file = path.join(dir, `${path.basename(c.root)}.json`);
    const good = JSON.parse(fs.readFileSync(file, 'utf8')) as { paths: unknown[] };
    const bad: unknown[] = [
      'not json',
      { ...good, version: 2 },
      { ...good, root: closure(3).root },
      { ...good, paths: [...good.paths, ['../../etc/passwd', 1]] },
      { ...good, paths: [...good.paths, [`${hash(9)}-x`, -1]] },
      { ...good, paths: [...good.paths, [`${hash(9)}-x`, 1.5]] },
      { ...good, paths: good.paths.slice(1) }, // the root itself missing
      [],
    ];
    for (const doc of bad) {
      fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
      assert.equal(readCachedClosure(dir, c.root), null, JSON.stringify(doc).slice(0, 80));
    }
    fs.writeFileSync(file, `${' '.repeat(8 * 1024 * 1024)}${JSON.stringify(good)}`);
    assert.equal(readCachedClosure(dir, c.root), null, 'too large');
  });

  it('keeps no closure reaching outside its store directory, and no root that is not a store path', () => {
    const c = closure(4);
    c.paths.set('/elsewhere/store/' + `${hash(5)}-y`, 1);
    writeCachedClosure(dir, c);
    assert.equal(fs.existsSync(dir), false);
    const plain = { root: path.join(tmp, 'not-a-store-path'), paths: new Map([[path.join(tmp, 'x'), 1]]), size: 1 };
    writeCachedClosure(dir, plain);
    assert.equal(fs.existsSync(dir), false);
  });

  it(`holds at most ${MAX_CLOSURE_FILES} closures, dropping the least recently written`, () => {
    const all: Closure[] = [];
    for (let i = 0; i < MAX_CLOSURE_FILES + 3; i++) {
      const c = closure(100 + i, 1);
      writeCachedClosure(dir, c);
      const t = new Date(Date.now() - (MAX_CLOSURE_FILES + 3 - i) * 60_000);
      fs.utimesSync(path.join(dir, `${path.basename(c.root)}.json`), t, t);
      all.push(c);
    }
    writeCachedClosure(dir, all[all.length - 1]!); // rewritten now: the newest
    assert.equal(fs.readdirSync(dir).length, MAX_CLOSURE_FILES);
    for (const c of all.slice(0, 3)) assert.equal(readCachedClosure(dir, c.root), null);
    for (const c of all.slice(3)) assert.deepEqual(readCachedClosure(dir, c.root), c);
  });

  it('lives next to the store cache, and is off with it', () => {
    assert.equal(closureCacheDir({ NIXOS_GENERATIONS_CACHE_DIR: '/c' }), '/c/closures-v1');
    assert.equal(closureCacheDir({ HOME: '/h' }), '/h/.cache/nixos-generations/closures-v1');
    assert.equal(closureCacheDir({ NIXOS_GENERATIONS_CACHE_DIR: 'off', HOME: '/h' }), null);
  });
});
