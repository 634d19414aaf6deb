/**
 * Hostile profiles: odd entry names, dangling and non-link entries, an unreadable directory (for real, as an
 * unprivileged user), a parent that is a file, an empty profile, 10,000 generations, hostile link targets and
 * broken generation contents. Nothing may throw; results must say what is wrong. Where it makes sense the
 * listing is compared with what nix-env makes of the same directory.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChecked, runProcess } from '../../src/core/exec/process';
import {
  StoreMetaCache,
  listingsToJson,
  loadClosureSizes,
  loadConfigurationRevisions,
  profileRefFor,
  readProfile,
} from '../../src/core/generations';
import { buildFixture, cleanEnv, nixEnvGenerations, repoRoot, type NixFixture } from '../fixtures/fixture';

describe('generations core on hostile profiles', function () {
  this.timeout(300_000);
  let tmp: string;
  let fx: NixFixture;

  before(async () => {
    fx = await buildFixture({ generations: 12, hm: 4, current: 12, activated: 11, booted: 5, missing: 2 });
  });
  beforeEach(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-hostile-')));
  });
  afterEach(() => {
    fs.chmodSync(tmp, 0o755);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('keeps only <name>-N-link symlinks, numerically sorted, like nix-env but without non-links', async () => {
    const dir = path.join(tmp, 'profiles');
    fs.mkdirSync(path.join(dir, 'per-user', 'root'), { recursive: true });
    const link = (name: string, target: string): void => fs.symlinkSync(target, path.join(dir, name));
    link('system-1-link', '/nonexistent/store/aaaa-nixos-system-one');
    link('system-3-link', fx.manifest[4]!.toplevel);
    link('system-10-link', fx.manifest[11]!.toplevel);
    link('system-9-link', '/nonexistent/store/bbbb-nixos-system-nine');
    link('system-007-link', '/nonexistent/store/cccc-seven');
    link('system-x-link', '/nonexistent/x');
    link('system--1-link', '/nonexistent/minus');
    link('system-+5-link', '/nonexistent/plus');
    link('system- 6-link', '/nonexistent/space');
    link('system-99999999999-link', '/nonexistent/overflow');
    link('system-4294967295-link', '/nonexistent/max');
    link('other-4-link', '/nonexistent/other');
    link('system', 'system-10-link');
    fs.writeFileSync(path.join(dir, 'system-2-link'), 'a regular file, not a link\n');
    fs.mkdirSync(path.join(dir, 'system-8-link'));
    fs.writeFileSync(path.join(dir, 'system.lock'), '');

    const listing = await readProfile(profileRefFor(path.join(dir, 'system')), { runDir: fx.runDir });
    assert.equal(listing.problem, undefined);
    const numbers = listing.generations.map((g) => g.generation);
    assert.deepEqual(numbers, [1, 3, 7, 9, 10, 4294967295]);
    assert.equal(listing.currentGeneration, 10);
    assert.deepEqual(
      listing.generations.map((g) => g.missing),
      [true, false, true, true, false, true],
    );
    assert.equal(listing.generations[1]!.booted, true); // fixture generation 5 is the booted one
    assert.equal(listing.generations[1]!.nixosVersion?.startsWith('24.05.'), true);

    // nix-env reads the same names; it also lists non-links (2, 8) and a "+5", which we do not
    const nixEnv = await nixEnvGenerations(path.join(dir, 'system'), fx.env);
    const nixNumbers = nixEnv.map((g) => g.generation);
    assert.deepEqual(
      nixNumbers.filter((n) => !numbers.includes(n)),
      [2, 5, 8],
    );
    assert.deepEqual(
      numbers.filter((n) => !nixNumbers.includes(n)),
      [],
    );
    for (const g of listing.generations) {
      const theirs = nixEnv.find((x) => x.generation === g.generation)!;
      assert.equal(g.date.replace('T', ' ').replace('Z', ''), theirs.date);
      assert.equal(g.current, theirs.current);
    }
  });

  it('reports an unreadable profile directory as permission denied, checked as an unprivileged user', async () => {
    const locked = path.join(tmp, 'locked');
    fs.mkdirSync(locked, { mode: 0o700 });
    fs.symlinkSync('/nonexistent/store/x', path.join(locked, 'system-1-link'));
    fs.chmodSync(tmp, 0o755);
    const profile = path.join(locked, 'system');
    let result: { problem?: { kind: string; message: string }; generations: unknown[] };
    if (process.getuid?.() === 0) {
      // root reads anything, chmod or not: ask the same question as "nobody" (uid 65534), with a copy of the
      // compiled core in a directory nobody can read, so the repository's location does not matter
      const core = path.join(tmp, 'core');
      fs.cpSync(path.join(repoRoot(), 'out', 'src', 'core'), core, { recursive: true });
      fs.chmodSync(core, 0o755);
      const script = `require(${JSON.stringify(path.join(core, 'generations', 'index.js'))})
        .readProfile({ path: ${JSON.stringify(profile)}, kind: 'system', name: 'system' }, { runDir: '/nonexistent' })
        .then((l) => process.stdout.write(JSON.stringify(l)))`;
      const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
      let node = process.execPath;
      const probe = await runProcess([...asNobody, node, '-e', '0'], { baseEnv: cleanEnv(), cwd: '/' });
      if (probe.exitCode !== 0) {
        // node lives where nobody cannot reach it (say, under /root): give nobody a copy
        node = path.join(tmp, 'node');
        fs.copyFileSync(process.execPath, node);
        fs.chmodSync(node, 0o755);
      }
      const run = await runChecked([...asNobody, node, '-e', script], { baseEnv: cleanEnv(), cwd: '/' });
      // the same call as root does read it: the difference is the permission, not the path
      const asRoot = await readProfile(profileRefFor(profile), { runDir: '/nonexistent' });
      assert.equal(asRoot.generations.length, 1);
      result = JSON.parse(run.stdout) as typeof result;
    } else {
      fs.chmodSync(locked, 0o000);
      result = await readProfile(profileRefFor(profile), { runDir: '/nonexistent' });
    }
    assert.deepEqual(result.generations, []);
    assert.equal(result.problem?.kind, 'permission-denied');
    assert.match(result.problem!.message, /permission denied/);
    assert.ok(result.problem!.message.includes(locked));
  });

  it('reports a profile whose parent is a file, a missing directory and an empty profile clearly', async () => {
    fs.writeFileSync(path.join(tmp, 'file'), 'x');
    const underFile = await readProfile(profileRefFor(path.join(tmp, 'file', 'system')));
    assert.deepEqual(underFile.generations, []);
    assert.equal(underFile.problem?.kind, 'not-a-profile');

    const absent = await readProfile(profileRefFor(path.join(tmp, 'no', 'such', 'system')));
    assert.equal(absent.problem?.kind, 'missing');
    assert.match(absent.problem!.message, /does not exist/);

    fs.mkdirSync(path.join(tmp, 'empty'));
    const empty = await readProfile(profileRefFor(path.join(tmp, 'empty', 'system')));
    assert.deepEqual(empty.generations, []);
    assert.equal(empty.currentGeneration, null);
    assert.equal(empty.problem?.kind, 'missing');
    assert.match(empty.problem!.message, /has no generations/);

    // a profile link that points somewhere else entirely, and nothing else
    fs.mkdirSync(path.join(tmp, 'odd'));
    fs.symlinkSync('/etc', path.join(tmp, 'odd', 'system'));
    const odd = await readProfile(profileRefFor(path.join(tmp, 'odd', 'system')));
    assert.equal(odd.problem?.kind, 'missing');
    assert.equal(odd.currentGeneration, null);
  });

  it('lists 10,000 generations whose store paths do not exist, agreeing with nix-env', async () => {
    const dir = path.join(tmp, 'big');
    fs.mkdirSync(dir);
    const base = Date.UTC(2020, 0, 1) / 1000;
    for (let n = 1; n <= 10_000; n++) {
      const p = path.join(dir, `system-${n}-link`);
      fs.symlinkSync(`/nonexistent/store/${String(n).padStart(32, '0')}-nixos-system-big-${n}`, p);
      fs.lutimesSync(p, base + n * 3607, base + n * 3607);
    }
    fs.symlinkSync('system-9999-link', path.join(dir, 'system'));
    const listing = await readProfile(profileRefFor(path.join(dir, 'system')), {
      runDir: '/nonexistent',
      cache: new StoreMetaCache(),
    });
    assert.equal(listing.problem, undefined);
    assert.equal(listing.generations.length, 10_000);
    assert.deepEqual(
      listing.generations.map((g) => g.generation),
      Array.from({ length: 10_000 }, (_, i) => i + 1),
    );
    assert.ok(listing.generations.every((g) => g.missing && g.nixosVersion === null));
    assert.equal(listing.currentGeneration, 9999);
    const nixEnv = await nixEnvGenerations(path.join(dir, 'system'), fx.env);
    assert.deepEqual(
      listing.generations.map((g) => ({
        generation: g.generation,
        date: g.date.replace('T', ' ').replace('Z', ''),
        current: g.current,
      })),
      nixEnv,
    );
    // the lazy loaders have nothing to do for missing paths, and say so without failing
    await loadConfigurationRevisions(listing.generations);
    const sizes = await loadClosureSizes(
      listing.generations.map((g) => g.storePath),
      { env: fx.env },
    );
    assert.equal(sizes.sizes.size, 0);
    assert.deepEqual(sizes.errors, []);
  });

  it('keeps hostile link targets and broken generation contents as data, never as commands', async () => {
    const dir = path.join(tmp, "we ird'dir $(touch pwned); x");
    fs.mkdirSync(dir);
    const evil = `/nonexistent/$(touch ${tmp}/pwned)\n;rm -rf ~; \`id\``;
    fs.symlinkSync(evil, path.join(dir, 'system-1-link'));
    // a "store path" with garbage in every file we read
    const junk = path.join(tmp, 'junk-nixos-system');
    fs.mkdirSync(path.join(junk, 'kernel-modules'), { recursive: true });
    fs.mkdirSync(path.join(junk, 'sw', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(junk, 'nixos-version'), 'my label\u0000\u001b[31m\n');
    fs.writeFileSync(path.join(junk, 'boot.json'), '{"org.nixos.bootspec.v1": [1, 2');
    fs.writeFileSync(path.join(junk, 'specialisation'), 'a file where a directory belongs');
    fs.writeFileSync(
      path.join(junk, 'sw', 'bin', 'nixos-version'),
      `#!/bin/sh\ntouch ${tmp}/ran\necho 'not a revision $(x)'\n`,
      {
        mode: 0o755,
      },
    );
    fs.symlinkSync(junk, path.join(dir, 'system-2-link'));
    // one whose nixos-version never answers
    const slow = path.join(tmp, 'slow-nixos-system');
    fs.mkdirSync(path.join(slow, 'sw', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(slow, 'nixos-version'), '24.05.20240601.abcdef0');
    fs.writeFileSync(path.join(slow, 'sw', 'bin', 'nixos-version'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    fs.symlinkSync(slow, path.join(dir, 'system-3-link'));
    fs.symlinkSync('system-2-link', path.join(dir, 'system'));

    const listing = await readProfile(profileRefFor(path.join(dir, 'system')), {
      runDir: '/nonexistent',
      cache: new StoreMetaCache(),
    });
    assert.equal(listing.problem, undefined);
    const [one, two, three] = listing.generations;
    assert.equal(one!.storePath, evil);
    assert.equal(one!.missing, true);
    assert.equal(two!.missing, false);
    assert.equal(two!.kind, 'nixos');
    assert.equal(two!.label, 'my label\u0000\u001b[31m');
    assert.equal(two!.nixosVersion, null);
    assert.equal(two!.kernelVersion, null);
    assert.deepEqual(two!.specialisations, []);
    assert.equal(three!.nixosVersion, '24.05.20240601.abcdef0');
    assert.equal(three!.codename, 'Uakari');

    const started = Date.now();
    await loadConfigurationRevisions(listing.generations, { timeoutMs: 1000, cache: new StoreMetaCache() });
    assert.ok(Date.now() - started < 20_000, 'the slow nixos-version was cut off');
    assert.equal(fs.existsSync(path.join(tmp, 'ran')), true, 'the generation nixos-version did run');
    assert.equal(two!.configurationRevision, null, 'a line that is not a revision is not taken');
    assert.equal(three!.configurationRevision, null);
    assert.equal(fs.existsSync(path.join(tmp, 'pwned')), false);

    // the JSON form keeps every byte; the CLI's text table shows no control characters
    fs.unlinkSync(path.join(dir, 'system-3-link')); // (the CLI would wait its 10 s timeout for the slow one)
    const json = listingsToJson([listing]);
    assert.equal(json.find((g) => g.generation === 1)!.storePath, evil);
    const cli = await runProcess(
      [
        process.execPath,
        path.join(repoRoot(), 'out', 'src', 'cli', 'main.js'),
        'list',
        '--profile',
        path.join(dir, 'system'),
        '--run-dir',
        '/nonexistent',
      ],
      { baseEnv: { ...cleanEnv(), NIXOS_GENERATIONS_CACHE_DIR: path.join(tmp, 'cache') } },
    );
    assert.equal(cli.exitCode, 0, cli.stderr);
    assert.match(cli.stdout, /my label\?\?\[31m/);
    assert.match(cli.stdout, /we ird'dir \$\(touch pwned\); x\/system/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(cli.stdout, /[\u0000\u001b]/);
    assert.equal(fs.existsSync(path.join(tmp, 'pwned')), false);
    assert.equal(fs.existsSync(path.join(process.cwd(), 'pwned')), false);
  });
});
