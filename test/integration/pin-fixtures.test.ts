/**
 * pin on the committed flake shapes under test/fixtures/flakes (written the way real repositories lay them out):
 * hosts built by helpers in lib/ and hosts/default.nix, genAttrs and readDir over host lists, flake-parts with
 * withSystem, the "dendritic" import-tree layout, seven literal nixosSystem calls. For each: the edit goes where
 * the hosts are built (one edit per helper), every touched file is accepted by the real `nix-instantiate --parse`,
 * each host ends with exactly one definition of each option, and a second run changes nothing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { PIN_BINDING, PIN_FILE, pinDefinitions, pinFlake, readFlakeFiles } from '../../src/core/deploy/pin';
import { cleanEnv } from '../fixtures/fixture';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/flakes');
const NIX_ENV = { ...cleanEnv(), NIX_REMOTE: 'dummy://' };

async function nixParse(file: string): Promise<void> {
  const r = await runProcess(['nix-instantiate', '--parse', file], { baseEnv: NIX_ENV });
  assert.equal(
    r.exitCode,
    0,
    `nix-instantiate --parse rejected ${file}:\n${r.stderr}\n${fs.readFileSync(file, 'utf8')}`,
  );
}

interface Expect {
  /** Files edited (relative), sorted. */
  files: string[];
  /** Hosts whose label pin must leave to the user (they share a helper with hosts that set one). */
  labelByHand?: string[];
  /** At most this many added lines in the whole diff. */
  maxAdded: number;
  /** At least this many hosts found before (2 unless said). */
  minHosts?: number;
}

const SHAPES: Record<string, Expect> = {
  'mkhost-lib': { files: ['lib/default.nix'], maxAdded: 14 },
  'hosts-readdir': { files: ['flake.nix'], maxAdded: 16 },
  'base-module-helper': { files: ['hosts/default.nix'], maxAdded: 16 },
  'flake-parts-helper': { files: ['parts/hosts.nix'], labelByHand: ['build'], maxAdded: 4 },
  'seven-hosts': { files: ['flake.nix'], maxAdded: 24 },
  dendritic: { files: ['modules/hosts/mini.nix', 'modules/hosts/tower.nix', PIN_FILE].sort(), maxAdded: 17 },
  // host names the flake computes from what is not in the repository: the builder they all share is edited once
  'facts-mapattrs': { files: ['lib/default.nix'], maxAdded: 16, minHosts: 1 },
  'computed-name': { files: ['flake.nix'], maxAdded: 18 },
  'flake-utils-packages': { files: ['flake.nix'], maxAdded: 14 },
  'merged-args': { files: ['flake.nix'], maxAdded: 14 },
  // snowfall-lib: the module goes into systems.modules.nixos, which every host shares
  snowfall: { files: ['flake.nix'], maxAdded: 14 },
  // nixos-unified autoWire: no list shared by the hosts, so each host's own file imports the module
  'nixos-unified': { files: ['configurations/nixos/box/default.nix', 'configurations/nixos/vm.nix'], maxAdded: 30 },
};

function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) copyDir(a, b);
    else fs.copyFileSync(a, b);
  }
}

describe('pin on committed flake shapes', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-pin-shapes-')));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [shape, expect] of Object.entries(SHAPES)) {
    it(`${shape}: one edit where the hosts are built, real Nix parses it, one definition per host, idempotent`, async () => {
      copyDir(path.join(FIXTURES, shape), dir);
      const before = await readFlakeFiles(dir);
      const defsBefore = pinDefinitions(path.join(dir, 'flake.nix'), before);
      assert.ok(
        defsBefore.length >= (expect.minHosts ?? 2),
        `hosts found: ${defsBefore.map((d) => d.host).join(', ')}`,
      );

      const r = await pinFlake(dir);
      assert.equal(r.status, 'changed', r.messages.join('\n'));
      assert.deepEqual(r.edits.map((e) => path.relative(dir, e.file)).sort(), expect.files);
      const added = r.diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
      assert.ok(added <= expect.maxAdded, `${added} added lines:\n${r.diff}`);
      for (const e of r.edits) {
        assert.equal(fs.readFileSync(e.file, 'utf8'), e.after, 'written as planned');
        await nixParse(e.file);
      }

      const after = await readFlakeFiles(dir);
      for (const d of pinDefinitions(path.join(dir, 'flake.nix'), after)) {
        assert.equal(d.revision.length, 1, `${d.host}: configurationRevision at ${d.revision.join(', ')}`);
        if (expect.labelByHand?.includes(d.host)) {
          assert.equal(d.label.length, 0, `${d.host}: label left to the user`);
          assert.match(r.messages.join('\n'), new RegExp(`add it by hand to ${d.host}`));
        } else assert.equal(d.label.length, 1, `${d.host}: label at ${d.label.join(', ')}`);
      }

      const again = await pinFlake(dir);
      assert.equal(again.status, 'unchanged', again.diff);
      assert.deepEqual(again.edits, []);
    });
  }

  it('seven literal calls: the module once in a let binding, one line per host', async () => {
    copyDir(path.join(FIXTURES, 'seven-hosts'), dir);
    const r = await pinFlake(dir, { dryRun: true });
    assert.equal(r.after.match(/system\.configurationRevision/g)?.length, 1);
    assert.equal(r.after.match(new RegExp(`\\b${PIN_BINDING}\\b`, 'g'))?.length, 8, 'bound once, used seven times');
    assert.equal(fs.readFileSync(path.join(dir, 'flake.nix'), 'utf8'), r.before, 'dry run writes nothing');
  });

  it('leaves existing labels alone and says where they are (self.sourceInfo, behind mkIf)', async () => {
    copyDir(path.join(FIXTURES, 'flake-parts-helper'), dir);
    const r = await pinFlake(dir, { dryRun: true });
    const byName = new Map(r.hosts.map((h) => [h.name, h]));
    assert.equal(byName.get('web')!.label, 'present');
    assert.match(byName.get('web')!.note!, /label already set at hosts\/web\/default\.nix:5/);
    assert.equal(byName.get('db')!.label, 'present');
    assert.match(byName.get('db')!.note!, /label already set at modules\/branding\.nix:\d+ \(under a condition\)/);
    assert.deepEqual(
      r.hosts.map((h) => h.revision),
      ['added', 'added', 'added'],
    );
    assert.doesNotMatch(r.diff, /system\.nixos\.label/, 'no second label in the shared helper');
    assert.match(r.diff, /inputs\.self\.rev or inputs\.self\.dirtyRev or null/, 'self reached through inputs');
  });

  it('snowfall-lib without systems.modules.nixos: the option is added to the mkFlake argument', async () => {
    copyDir(path.join(FIXTURES, 'snowfall'), dir);
    const flake = path.join(dir, 'flake.nix');
    const text = fs.readFileSync(flake, 'utf8');
    const without = text.replace(/\n\s*systems\.modules\.nixos = with inputs; \[\n[^\]]*\];\n/, '\n');
    assert.notEqual(without, text);
    fs.writeFileSync(flake, without);
    const r = await pinFlake(dir);
    assert.equal(r.status, 'changed', r.messages.join('\n'));
    assert.match(r.diff, /\+ {6}systems\.modules\.nixos = \[\n/);
    await nixParse(flake);
    assert.deepEqual(
      r.hosts.map((h) => `${h.name}:${h.revision}:${h.label}`),
      ['atlas:added:added', 'boreas:added:added'],
    );
    assert.match(r.messages.join('\n'), /mac: a nix-darwin host/);
    assert.equal((await pinFlake(dir)).status, 'unchanged');
  });

  it('a new module file for builder calls in several files, to be git-added', async () => {
    copyDir(path.join(FIXTURES, 'dendritic'), dir);
    const r = await pinFlake(dir, { dryRun: true });
    const created = r.edits.find((e) => e.file.endsWith(PIN_FILE))!;
    assert.equal(created.before, '');
    assert.match(created.diff, /^--- \/dev\/null\n/);
    assert.match(r.messages.join('\n'), new RegExp(`git add ${PIN_FILE}`));
    assert.match(r.diff, /\(import \.\.\/\.\.\/nixos-generations-pin\.nix inputs\.self\)/);
  });
});
