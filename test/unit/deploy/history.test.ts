import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ActivationHistory,
  parseHistory,
  rollbackTarget,
  stateDir,
  type ActivationRecord,
} from '../../../src/core/deploy/history';
import { gen } from '../../lib/samples';

function record(storePath: string, extra: Partial<ActivationRecord> = {}): ActivationRecord {
  return {
    time: '2025-01-01T00:00:00.000Z',
    profile: '/nix/var/nix/profiles/system',
    generation: null,
    storePath,
    action: 'switch',
    source: 'performed',
    ...extra,
  };
}

describe('activation history', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-history-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lives in the XDG state dir unless NIXOS_GENERATIONS_STATE_DIR says otherwise', () => {
    assert.equal(stateDir({ HOME: '/home/u' }), '/home/u/.local/state/nixos-generations');
    assert.equal(stateDir({ HOME: '/home/u', XDG_STATE_HOME: '/xdg' }), '/xdg/nixos-generations');
    assert.equal(stateDir({ HOME: '/home/u', XDG_STATE_HOME: 'relative' }), '/home/u/.local/state/nixos-generations');
    assert.equal(stateDir({ NIXOS_GENERATIONS_STATE_DIR: '/t/s', XDG_STATE_HOME: '/xdg' }), '/t/s');
  });

  it('appends JSON lines and reads them back, skipping broken lines', async () => {
    const history = new ActivationHistory(path.join(dir, 'nested'));
    await history.append({ profile: '/p', generation: 3, storePath: '/s/3', action: 'switch', source: 'performed' });
    fs.appendFileSync(history.file, 'not json\n{"storePath": 5}\n[]\n');
    await history.append({
      profile: null,
      generation: null,
      storePath: '/s/"x"\n',
      action: 'test',
      source: 'performed',
    });
    const records = await history.read();
    assert.equal(records.length, 2);
    assert.equal(records[0]!.generation, 3);
    assert.equal(records[1]!.storePath, '/s/"x"\n');
    assert.equal(fs.statSync(history.file).mode & 0o777, 0o600);
  });

  it('observes an activation only when current-system changed', async () => {
    const history = new ActivationHistory(dir);
    const locate = (p: string) => (p === '/s/7' ? { profile: '/p', generation: 7 } : null);
    assert.ok(await history.observe('/s/7', locate));
    assert.equal(await history.observe('/s/7', locate), null);
    assert.equal(await history.observe(null), null);
    const again = await history.observe('/s/8', locate);
    assert.equal(again?.generation, null);
    const records = await history.read();
    assert.deepEqual(
      records.map((r) => [r.storePath, r.generation, r.source]),
      [
        ['/s/7', 7, 'observed'],
        ['/s/8', null, 'observed'],
      ],
    );
  });

  it('tolerates a missing file', async () => {
    assert.deepEqual(await new ActivationHistory(path.join(dir, 'none')).read(), []);
    assert.deepEqual(parseHistory(''), []);
  });
});

describe('rollback target', () => {
  const gens = [1, 2, 3, 4, 5].map((n) => gen(n));
  gens[4]!.current = true;

  it('is the previously activated generation, not the one numbered below', () => {
    // activated 2, then 5: roll back to 2 although 4 is numbered below 5
    const records = [record(gens[1]!.storePath), record(gens[4]!.storePath)];
    const target = rollbackTarget(records, gens, gens[4]!.storePath);
    assert.equal(target?.generation.generation, 2);
    assert.equal(target?.fromHistory, true);
  });

  it('skips records of garbage-collected or deleted generations', () => {
    const withMissing = gens.map((g) => (g.generation === 2 ? { ...g, missing: true } : g));
    const records = [record(gens[2]!.storePath), record(gens[1]!.storePath), record(gens[4]!.storePath)];
    assert.equal(rollbackTarget(records, withMissing, gens[4]!.storePath)?.generation.generation, 3);
    const foreign = [record('/nix/store/gone'), record(gens[4]!.storePath)];
    assert.equal(rollbackTarget(foreign, gens, gens[4]!.storePath)?.fromHistory, false);
  });

  it('prefers the recorded generation number when several generations share a store path', () => {
    const shared = [gen(1), { ...gen(2), storePath: gen(1).storePath }, gen(3)];
    const records = [record(gen(1).storePath, { generation: 1 }), record(gen(3).storePath)];
    assert.equal(rollbackTarget(records, shared, gen(3).storePath)?.generation.generation, 1);
    const unnumbered = [record(gen(1).storePath), record(gen(3).storePath)];
    assert.equal(rollbackTarget(unnumbered, shared, gen(3).storePath)?.generation.generation, 2);
  });

  it('falls back to the nearest existing generation below the activated one, and says so', () => {
    const withMissing = gens.map((g) => (g.generation === 4 ? { ...g, missing: true } : g));
    const target = rollbackTarget([], withMissing, gens[4]!.storePath);
    assert.equal(target?.generation.generation, 3);
    assert.equal(target?.fromHistory, false);
    assert.match(target!.reason, /no earlier activation is recorded/);
    assert.equal(rollbackTarget([], gens, null)?.generation.generation, 4);
  });

  it('has nothing to offer with one generation', () => {
    assert.equal(rollbackTarget([], [gen(1)], gen(1).storePath), null);
  });
});

describe('specialisations in the history', () => {
  it('rolls back to the specialisation that was active, and treats its child path as activated', () => {
    const gens = [1, 2, 3].map((n) => gen(n));
    const child = '/nix/store/child-of-2';
    const records = [
      record(gens[1]!.storePath, { specialisation: 'no-gpu', activatedPath: child, generation: 2 }),
      record(gens[2]!.storePath, { generation: 3 }),
    ];
    const target = rollbackTarget(records, gens, gens[2]!.storePath);
    assert.equal(target?.generation.generation, 2);
    assert.equal(target?.specialisation, 'no-gpu');
    // while the specialisation runs, current-system is the child: the record counts as the activated one
    const back = rollbackTarget(records.slice(0, 1), gens, child);
    assert.equal(back?.fromHistory, false);
  });

  it('keeps specialisation fields through the file, and observe does not repeat a specialisation activation', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-history-'));
    try {
      const history = new ActivationHistory(dir);
      assert.equal(
        await history.observe('/s/1', undefined, { onlyIfExists: true }),
        null,
        'nothing written before use',
      );
      assert.equal(fs.existsSync(history.file), false);
      await history.append({
        profile: '/p',
        generation: 2,
        storePath: '/s/2',
        action: 'test',
        source: 'performed',
        specialisation: 'no-gpu',
        activatedPath: '/s/2-child',
      });
      assert.equal(await history.observe('/s/2-child', undefined, { onlyIfExists: true }), null);
      const [r] = await history.read();
      assert.equal(r!.specialisation, 'no-gpu');
      assert.equal(r!.activatedPath, '/s/2-child');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
