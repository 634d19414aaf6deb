/**
 * The store cache kept between processes, on real files: a small store of plain directories named like store
 * paths, a profile of real symlinks, and the cache file in a temporary NIXOS_GENERATIONS_CACHE_DIR.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CACHE_FILE_NAME,
  MAX_AGE_DAYS,
  MAX_ENTRIES,
  StoreMetaCache,
  blockingFs,
  isPersistableStorePath,
  keepStoreCache,
  loadStoreCache,
  loadStoreCacheSync,
  profileRefFor,
  readProfile,
  saveStoreCache,
  saveStoreCacheSync,
  storeCacheFile,
  type FsOps,
  type Generation,
  type StoreMeta,
} from '../../../src/core/generations';

/** Counts the calls made through it, per kind. */
function counting(inner: FsOps): { ops: FsOps; calls: Record<keyof FsOps, number> } {
  const calls: Record<keyof FsOps, number> = { lstat: 0, lstatIfExists: 0, readlink: 0, readdir: 0, readSmall: 0 };
  const ops: FsOps = {
    lstat: (p) => (calls.lstat++, inner.lstat(p)),
    lstatIfExists: (p) => (calls.lstatIfExists++, inner.lstatIfExists(p)),
    readlink: (p) => (calls.readlink++, inner.readlink(p)),
    readdir: (p) => (calls.readdir++, inner.readdir(p)),
    readSmall: (p, max) => (calls.readSmall++, inner.readSmall(p, max)),
  };
  return { ops, calls };
}

const meta = (label: string): StoreMeta => ({
  kind: 'nixos',
  label,
  nixosVersion: label,
  release: label.slice(0, 5),
  codename: null,
  kernelVersion: '6.6.32',
  specialisations: [],
  labelRevision: null,
  bootLabel: null,
  homeManagerVersion: null,
});

describe('generations: the store cache file', () => {
  let tmp: string;
  let store: string;
  let profiles: string;
  let env: NodeJS.ProcessEnv;
  let file: string;
  /** store paths by generation */
  const paths: string[] = [];

  /** A NixOS-like store path: label file, kernel-modules link, specialisations. */
  const makeSystem = (hash: string, version: string, specs: string[] = []): string => {
    const p = path.join(store, `${hash.repeat(32)}-nixos-system-box-${version}`);
    fs.mkdirSync(path.join(p, 'specialisation'), { recursive: true });
    fs.writeFileSync(path.join(p, 'nixos-version'), version);
    fs.symlinkSync(path.join(store, `${'k'.repeat(32)}-linux-6.6.32-modules`), path.join(p, 'kernel-modules'));
    for (const s of specs) fs.symlinkSync(p, path.join(p, 'specialisation', s));
    return p;
  };

  beforeEach(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-storecache-')));
    store = path.join(tmp, 'store');
    profiles = path.join(tmp, 'profiles');
    fs.mkdirSync(path.join(store, `${'k'.repeat(32)}-linux-6.6.32-modules`, 'lib', 'modules', '6.6.32'), {
      recursive: true,
    });
    fs.mkdirSync(profiles);
    paths.length = 0;
    paths.push(makeSystem('a', '24.05.20240601.abcdef0', ['gpu']));
    paths.push(makeSystem('b', '24.11.20241201.0123456'));
    paths.push(makeSystem('c', '25.05.20250601.fedcba9'));
    paths.forEach((p, i) => fs.symlinkSync(p, path.join(profiles, `system-${i + 1}-link`)));
    fs.symlinkSync('system-3-link', path.join(profiles, 'system'));
    env = { NIXOS_GENERATIONS_CACHE_DIR: path.join(tmp, 'cache'), HOME: path.join(tmp, 'home') };
    file = path.join(tmp, 'cache', CACHE_FILE_NAME);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const ref = (): ReturnType<typeof profileRefFor> => profileRefFor(path.join(profiles, 'system'));

  /**
   * A process's worth of work: load the file, read the profile, save. With `ops`, every call goes through them;
   * without, as the command line reads (blocking, with its synchronous pass for what the cache knows).
   */
  const run = async (ops?: FsOps): Promise<{ generations: Generation[]; wrote: boolean }> => {
    const cache = new StoreMetaCache();
    const pc = loadStoreCacheSync(cache, env);
    const listing = await readProfile(ref(), {
      runDir: path.join(tmp, 'run'),
      cache,
      ...(ops ? { fs: ops } : { blocking: true }),
    });
    return { generations: listing.generations, wrote: saveStoreCacheSync(pc) };
  };

  it('finds its directory: the override, then XDG_CACHE_HOME, then ~/.cache; nothing without an absolute one', () => {
    assert.equal(
      storeCacheFile({ NIXOS_GENERATIONS_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }),
      `/c/${CACHE_FILE_NAME}`,
    );
    assert.equal(storeCacheFile({ XDG_CACHE_HOME: '/x', HOME: '/h' }), `/x/nixos-generations/${CACHE_FILE_NAME}`);
    assert.equal(storeCacheFile({ HOME: '/h' }), `/h/.cache/nixos-generations/${CACHE_FILE_NAME}`);
    assert.equal(storeCacheFile({ XDG_CACHE_HOME: 'rel', HOME: 'rel' }), null);
    assert.equal(storeCacheFile({ NIXOS_GENERATIONS_CACHE_DIR: 'off', HOME: '/h' }), null);
    assert.equal(isPersistableStorePath(paths[0]!), true);
    assert.equal(isPersistableStorePath(path.join(tmp, 'junk-nixos-system')), false);
    assert.equal(isPersistableStorePath(`/${'a'.repeat(32)}-x`), false);
  });

  it('is written by the first run, into the given directory and nowhere else, and reused by the next', async () => {
    const first = await run();
    assert.equal(first.wrote, true);
    assert.ok(fs.existsSync(file));
    assert.equal(fs.existsSync(path.join(tmp, 'home')), false, 'nothing under HOME');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), [CACHE_FILE_NAME], 'no temporary file left behind');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    const counted = counting(blockingFs);
    const second = await run(counted.ops);
    assert.deepEqual(second.generations, first.generations);
    const cli = await run();
    assert.deepEqual(cli.generations, first.generations, 'the synchronous pass gives the same');
    assert.equal(cli.wrote, false);
    assert.equal(second.wrote, false, 'nothing new learned: the file is not written again');
    // per generation only the link's lstat and readlink and the store path's lstat: no file of the store is read
    assert.equal(counted.calls.readSmall, 0);
    assert.equal(counted.calls.readdir, 1, 'the profile directory only');
    assert.equal(counted.calls.lstatIfExists, 2 * paths.length);
  });

  it('serves the cached label even when the file in the store changed in place, and re-reads a path made anew', async () => {
    const first = await run();
    assert.equal(first.generations[0]!.label, '24.05.20240601.abcdef0');
    assert.deepEqual(first.generations[0]!.specialisations, ['gpu']);
    // store paths never change, so the cache never looks at their files again: proven by changing one in place
    fs.writeFileSync(path.join(paths[0]!, 'nixos-version'), '99.99.changed-in-place');
    const second = await run();
    assert.equal(second.generations[0]!.label, '24.05.20240601.abcdef0');

    // a path deleted and made again (another inode) is read again; made beside it first, so the inode differs
    const made = makeSystem('a', '24.05.20240601.abcdef0-new');
    fs.writeFileSync(path.join(made, 'nixos-version'), '23.11.20231201.1111111');
    fs.rmSync(path.join(made, 'specialisation'), { recursive: true });
    fs.rmSync(paths[0]!, { recursive: true });
    fs.renameSync(made, paths[0]!);
    const third = await run();
    assert.equal(third.wrote, true);
    assert.equal(third.generations[0]!.label, '23.11.20231201.1111111');
    assert.deepEqual(third.generations[0]!.specialisations, []);
  });

  it('follows a generation link replaced by another (as nix-env does: a new link renamed over the old one)', async () => {
    const cache = new StoreMetaCache();
    const read = (): Promise<Generation[]> =>
      readProfile(ref(), { runDir: path.join(tmp, 'run'), cache }).then((l) => l.generations);
    assert.equal((await read())[1]!.storePath, paths[1]);
    const link = path.join(profiles, 'system-2-link');
    fs.symlinkSync(paths[0]!, `${link}.tmp`);
    fs.renameSync(`${link}.tmp`, link);
    const after = await read();
    assert.equal(after[1]!.storePath, paths[0]);
    assert.equal(after[1]!.label, '24.05.20240601.abcdef0');
  });

  it('shows a garbage-collected path as missing despite its cache entry, and drops the entry', async () => {
    await run();
    assert.ok(fs.readFileSync(file, 'utf8').includes(path.basename(paths[1]!)));
    fs.rmSync(paths[1]!, { recursive: true });
    // both ways of reading, each starting from the file that still has the entry
    const saved = path.join(tmp, 'saved.json');
    fs.copyFileSync(file, saved);
    const viaOps = await run(blockingFs);
    assert.equal(viaOps.generations.find((g) => g.generation === 2)!.missing, true);
    assert.equal(viaOps.wrote, true);
    fs.copyFileSync(saved, file);
    const after = await run();
    const g2 = after.generations.find((g) => g.generation === 2)!;
    assert.equal(g2.missing, true);
    assert.equal(g2.label, null);
    assert.equal(g2.nixosVersion, null);
    assert.equal(after.wrote, true);
    assert.ok(!fs.readFileSync(file, 'utf8').includes(path.basename(paths[1]!)));
    assert.equal(after.generations.find((g) => g.generation === 1)!.missing, false);
  });

  it('ignores a corrupt file, gives the right listing anyway, and rewrites it', async () => {
    const truth = (await run()).generations;
    for (const garbage of [
      'not json {',
      '[]',
      '{"version":2,"stores":{}}',
      '\u0000\u0001binary',
      JSON.stringify({ version: 1, stores: { relative: {} } }),
    ]) {
      fs.writeFileSync(file, garbage);
      const cache = new StoreMetaCache();
      const pc = loadStoreCacheSync(cache, env);
      assert.notEqual(pc!.loaded, 'ok', garbage);
      const listing = await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache, blocking: true });
      assert.deepEqual(listing.generations, truth);
      assert.equal(saveStoreCacheSync(pc), true);
      assert.equal(loadStoreCacheSync(new StoreMetaCache(), env)!.loaded, 'ok');
    }
  });

  it('checks every entry: a hostile or malformed one is dropped, the others kept', async () => {
    await run();
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      stores: Record<string, Record<string, unknown[]>>;
    };
    const entries = doc.stores[store]!;
    const [a, b, c] = paths.map((p) => path.basename(p));
    (entries[a!] as unknown[])[3] = ['$(touch pwned); rm -rf ~', 'nixos-version']; // not a revision
    (entries[b!] as unknown[])[2] = ['nixos', 'not-a-list', null, null, null, null, null, null, null, null];
    entries['no-hash-here'] = entries[c!]!;
    fs.writeFileSync(file, JSON.stringify(doc));
    const cache = new StoreMetaCache();
    const pc = loadStoreCacheSync(cache, env);
    assert.equal(pc!.loaded, 'ok', 'the file as a whole is sound; its rows are checked when used');
    assert.equal(cache.entry(paths[0]!), undefined, 'the row with a hostile revision is dropped');
    assert.equal(cache.entry(paths[1]!), undefined, 'the malformed row is dropped');
    assert.equal(cache.entry(paths[2]!)?.meta?.label, '25.05.20250601.fedcba9');
    const listing = await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache, blocking: true });
    assert.equal(listing.generations[0]!.configurationRevision, null);
    assert.equal(listing.generations[0]!.label, '24.05.20240601.abcdef0', 'read again from the store');
    assert.equal(listing.generations[1]!.label, '24.11.20241201.0123456');
    assert.equal(saveStoreCacheSync(pc), true, 'rewritten without the bad rows');
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes('pwned') && !text.includes('no-hash-here') && !text.includes('not-a-list'), text);
    const again = loadStoreCacheSync(new StoreMetaCache(), env)!;
    assert.equal(again.loaded, 'ok');
    assert.equal(again.cache.size, 3);
  });

  it('removes temporary files that a killed writer left behind, once they are old', async () => {
    await run();
    const dir = path.dirname(file);
    const stale = path.join(dir, `${CACHE_FILE_NAME}.999999.dead.tmp`);
    const fresh = path.join(dir, `${CACHE_FILE_NAME}.999998.busy.tmp`);
    fs.writeFileSync(stale, '{"half": ');
    fs.writeFileSync(fresh, '{"half": ');
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(stale, hourAgo, hourAgo);
    fs.rmSync(paths[0]!, { recursive: true }); // something to write
    assert.equal((await run()).wrote, true);
    assert.deepEqual(fs.readdirSync(dir).sort(), [CACHE_FILE_NAME, path.basename(fresh)].sort());
  });

  it("writes nothing into a directory that is not this user's (sudo with the caller's HOME)", async function () {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
      // unprivileged: a directory of someone else's is what any other user's home is
      const cache = new StoreMetaCache();
      const pc = loadStoreCacheSync(cache, { NIXOS_GENERATIONS_CACHE_DIR: '/' })!;
      cache.setMeta(paths[0]!, '1:1', meta('24.05.x'));
      assert.equal(saveStoreCacheSync(pc), false);
      return;
    }
    const theirs = path.join(tmp, 'theirs');
    fs.mkdirSync(theirs);
    fs.chownSync(theirs, 65534, 65534);
    const cache = new StoreMetaCache();
    const pc = loadStoreCacheSync(cache, { NIXOS_GENERATIONS_CACHE_DIR: path.join(theirs, 'cache') })!;
    await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache, blocking: true });
    assert.equal(cache.dirty, true);
    assert.equal(saveStoreCacheSync(pc), false);
    assert.equal(await saveStoreCache(pc), false);
    assert.deepEqual(fs.readdirSync(theirs), [], 'nothing created there');
  });

  it('does not follow a symlink planted where the file belongs', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const elsewhere = path.join(tmp, 'elsewhere.json');
    fs.writeFileSync(elsewhere, '{"version":1,"stores":{}}');
    fs.symlinkSync(elsewhere, file);
    const cache = new StoreMetaCache();
    const pc = loadStoreCacheSync(cache, env);
    assert.equal(pc!.loaded, 'rejected');
    await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache, blocking: true });
    assert.equal(saveStoreCacheSync(pc), true);
    assert.equal(fs.lstatSync(file).isSymbolicLink(), false, 'replaced by a plain file');
    assert.equal(fs.readFileSync(elsewhere, 'utf8'), '{"version":1,"stores":{}}', 'the link target is untouched');
  });

  it('keeps only store paths, at most MAX_ENTRIES of them, the ones used lately first, none older than MAX_AGE_DAYS', () => {
    const cache = new StoreMetaCache();
    const pc = loadStoreCacheSync(cache, env)!;
    const fake = (i: number): string => path.join(store, `${String(i).padStart(32, '0')}-nixos-system-${i}`);
    for (let i = 0; i < MAX_ENTRIES + 150; i++) cache.setMeta(fake(i), `${i}:1`, meta(`24.05.${i}`));
    cache.setMeta(path.join(tmp, 'not-a-store-path'), '1:1', meta('24.05.x'));
    // this run used the last 10 only; the others' last use is what the file said (here: long ago or yesterday)
    for (let i = MAX_ENTRIES + 140; i < MAX_ENTRIES + 150; i++) cache.used.add(fake(i));
    const today = Math.floor(Date.now() / 86_400_000);
    for (let i = 0; i < 100; i++) cache.entry(fake(i))!.lastUse = today - MAX_AGE_DAYS - 1;
    for (let i = 100; i < MAX_ENTRIES + 140; i++) cache.entry(fake(i))!.lastUse = today - 1;
    assert.equal(saveStoreCacheSync(pc), true);
    const back = loadStoreCacheSync(new StoreMetaCache(), env)!;
    assert.equal(back.loaded, 'ok');
    assert.equal(back.cache.size, MAX_ENTRIES);
    assert.equal(back.cache.entry(path.join(tmp, 'not-a-store-path')), undefined);
    for (let i = 0; i < 100; i++) assert.equal(back.cache.entry(fake(i)), undefined, `old entry ${i}`);
    for (let i = MAX_ENTRIES + 140; i < MAX_ENTRIES + 150; i++) {
      assert.equal(back.cache.entry(fake(i))?.meta?.label, `24.05.${i}`);
      assert.equal(back.cache.entry(fake(i))?.lastUse, today);
    }
  });

  it('keeps revisions and closure sizes with the entry, and the editor path (async) reads what the CLI wrote', async () => {
    const cache = new StoreMetaCache();
    const pc = loadStoreCacheSync(cache, env);
    await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache, blocking: true });
    cache.setRevision(paths[0]!, { value: '0123456789abcdef0123456789abcdef01234567', source: 'nixos-version' });
    cache.setClosureSize(paths[1]!, 123_456_789);
    assert.equal(saveStoreCacheSync(pc), true);

    const editor = new StoreMetaCache();
    const loaded = await loadStoreCache(editor, env);
    assert.equal(loaded!.loaded, 'ok');
    const listing = await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache: editor });
    assert.equal(listing.generations[0]!.configurationRevision, '0123456789abcdef0123456789abcdef01234567');
    assert.equal(listing.generations[0]!.revisionSource, 'nixos-version');
    assert.equal(listing.generations[1]!.closureSize, 123_456_789);
    assert.equal(await saveStoreCache(loaded), false, 'nothing new');
    fs.rmSync(paths[2]!, { recursive: true });
    await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache: editor });
    assert.equal(await saveStoreCache(loaded), true);
    assert.equal(loadStoreCacheSync(new StoreMetaCache(), env)!.cache.size, 2);
  });

  it('keeps the file in step for a long-lived process (the editor): read once, written after something is learned', async () => {
    const cache = new StoreMetaCache();
    const keeper = keepStoreCache(cache, env, 20);
    await keeper.ready;
    await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache });
    // the debounced write happens by itself
    for (let i = 0; i < 500 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(fs.existsSync(file), 'written after the read');
    keeper.dispose();

    // a new window: everything comes from the file, nothing from the store's files
    const next = new StoreMetaCache();
    const again = keepStoreCache(next, env);
    await again.ready;
    const counted = counting(blockingFs);
    const listing = await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache: next, fs: counted.ops });
    assert.equal(counted.calls.readSmall, 0);
    assert.equal(listing.generations[0]!.label, '24.05.20240601.abcdef0');
    fs.rmSync(paths[0]!, { recursive: true });
    await readProfile(ref(), { runDir: path.join(tmp, 'run'), cache: next });
    await again.flush();
    again.dispose();
    assert.equal(loadStoreCacheSync(new StoreMetaCache(), env)!.cache.entry(paths[0]!), undefined);
  });

  it('stays whole under concurrent writers (each writes a temporary file and renames it)', async function () {
    this.timeout(60_000);
    const modulePath = require.resolve('../../../src/core/generations');
    // each writer: 15 times load, learn one new entry, save; a reader checks the file meanwhile
    const writer = (w: number): string => `
      const g = require(${JSON.stringify(modulePath)});
      const env = { NIXOS_GENERATIONS_CACHE_DIR: ${JSON.stringify(path.dirname(file))} };
      for (let i = 0; i < 15; i++) {
        const cache = new g.StoreMetaCache();
        const pc = g.loadStoreCacheSync(cache, env);
        if (pc.loaded === 'rejected') { console.error('rejected'); process.exit(3); }
        const p = ${JSON.stringify(store)} + '/' + String(${w} * 100 + i).padStart(32, '0') + '-w${w}';
        cache.setMeta(p, '1:' + i, { kind: 'other', label: 'w${w}-' + i, nixosVersion: null, release: null,
          codename: null, kernelVersion: null, specialisations: [], labelRevision: null, bootLabel: null,
          homeManagerVersion: null });
        cache.used.add(p);
        if (!g.saveStoreCacheSync(pc)) process.exit(4);
      }`;
    const spawnNode = (code: string): Promise<number | null> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('close', resolve);
      });
    const writers = Array.from({ length: 6 }, (_, w) => spawnNode(writer(w)));
    let done = false;
    void Promise.all(writers).then(() => (done = true));
    let reads = 0;
    while (!done) {
      const got = loadStoreCacheSync(new StoreMetaCache(), env)!;
      assert.notEqual(got.loaded, 'rejected', 'a reader never sees half a file');
      reads++;
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.deepEqual(await Promise.all(writers), [0, 0, 0, 0, 0, 0]);
    assert.ok(reads > 0);
    const final = loadStoreCacheSync(new StoreMetaCache(), env)!;
    assert.equal(final.loaded, 'ok');
    assert.ok(final.cache.size >= 15, `the last writer's entries at least (${final.cache.size})`);
    for (const [p, e] of final.cache.all()) assert.match(e.meta!.label!, /^w\d-\d+$/, p);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), [CACHE_FILE_NAME], 'no temporary file left behind');
  });
});
